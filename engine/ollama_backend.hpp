// OllamaBackend: an Ollama server (default http://127.0.0.1:11434) through its native API.
// probe(): GET /api/version (liveness), /api/tags (models it has), /api/ps (loaded now); slots
// come from configuration (Ollama does not report OLLAMA_NUM_PARALLEL). generate(): POST
// /api/generate (or /api/chat when `use_chat`) streamed as NDJSON; an `error` line mid-stream
// is an error event; a stream that ends without its `done` line is an error. Ollama is never
// spawned by Pylon (it has its own service manager). One shard.
#pragma once

#include "engine/http_backend.hpp"
#include "proto/ollama_codec.hpp"

namespace pylon::engine {

struct OllamaOptions {
    HttpBackendOptions http;
    std::uint32_t slots = 1;  // OLLAMA_NUM_PARALLEL of the server
    bool use_chat = false;    // /api/chat instead of /api/generate
};

class OllamaBackend final : public HttpBackend {
  public:
    explicit OllamaBackend(OllamaOptions options);
    BackendKind kind() const noexcept override { return BackendKind::ollama; }
    reactor::Task<BackendProbe> probe(reactor::CancelToken token) override;
    reactor::Task<Result<std::unique_ptr<Generation>>> generate(
        proto::GenerationParams params, reactor::CancelToken token) override;

  private:
    OllamaOptions ollama_;
    proto::OllamaCodec codec_;  // for probe bodies (generations have their own)
};

}  // namespace pylon::engine
