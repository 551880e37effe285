// LlamaCppCodec: llama.cpp's llama-server HTTP API as pure functions (../shared/reference/
// backends-and-supervision.md §9). Request bodies for POST /completion (native; SSE that ends at
// an event with stop:true and no [DONE]) and POST /v1/chat/completions (OpenAI shape; SSE of
// choices[].delta chunks that ends with `data: [DONE]`), decoding of one SSE `data:` payload
// into a StreamEvent (an {"error":{...}} payload mid-stream is an error event), and the bodies
// of GET /health, /props and /v1/models. Pylon v0.1 decoded a non-OpenAI shape here and got
// empty deltas; this codec reads `choices[0]` as the server sends it.
// The decoder owns a JsonReader; one per consumer. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/generation.hpp"
#include "proto/json_reader.hpp"
#include "proto/reject.hpp"

namespace pylon::proto {

struct LlamaProps {
    std::uint32_t total_slots = 0;
    std::string model_path;
    std::uint32_t n_ctx = 0;
};

class LlamaCppCodec {
  public:
    LlamaCppCodec() = default;
    // A codec whose JSON bound is `limits` (the probe's, for /v1/models and /props).
    explicit LlamaCppCodec(const Limits& limits) : reader_(limits) {}
    enum class Route : std::uint8_t { completion, chat };

    // Appends the JSON body for `route` (always streamed). /completion maps max_tokens ->
    // n_predict and sets cache_prompt; chat sends one user message and max_tokens.
    static void write_request(const GenerationParams& params, Route route, std::string& out);

    // Decodes one SSE data payload ("[DONE]" included) of the given route.
    Reject decode_event(Route route, std::string_view data, StreamEvent& out);

    // GET /props: total_slots, model_path, default_generation_settings.n_ctx.
    Reject parse_props(std::string_view body, LlamaProps& out);
    // GET /v1/models: {"data":[{"id":...}]} (also a bare array).
    Reject parse_models(std::string_view body, std::vector<ModelInfo>& out);
    // The message of an error envelope {"error":{"code":..,"message":..,"type":..}}, or empty.
    std::string error_text(std::string_view body);

  private:
    Reject decode_completion(simdjson::dom::object obj, StreamEvent& out);
    Reject decode_chat(simdjson::dom::object obj, StreamEvent& out);

    JsonReader reader_;
};

}  // namespace pylon::proto
