// LlamaCppBackend: a llama.cpp llama-server (default http://127.0.0.1:8080), either one the
// operator runs or one Pylon supervises. probe(): GET /health (503 "Loading model" while it
// loads: reported as loading, not available), /props (total_slots = its --parallel), /v1/models
// (the model id). generate(): POST /completion (native SSE ending at stop:true) or, with
// `use_chat`, /v1/chat/completions (SSE of choices[].delta ending with [DONE]). llama-server
// queues requests beyond its slots without limit, so admission is ours: the provider must not
// send more than `slots` at once. One shard.
#pragma once

#include "engine/http_backend.hpp"
#include "proto/llamacpp_codec.hpp"

namespace pylon::engine {

struct LlamaCppOptions {
    HttpBackendOptions http;
    bool use_chat = false;
    std::string api_key;  // sent as "Authorization: Bearer" when set
};

class LlamaCppBackend final : public HttpBackend {
  public:
    explicit LlamaCppBackend(LlamaCppOptions options);
    BackendKind kind() const noexcept override { return BackendKind::llamacpp; }
    reactor::Task<BackendProbe> probe(reactor::CancelToken token) override;
    reactor::Task<Result<std::unique_ptr<Generation>>> generate(
        proto::GenerationParams params, reactor::CancelToken token) override;

  private:
    LlamaCppOptions llama_;
    proto::LlamaCppCodec codec_;
};

}  // namespace pylon::engine
