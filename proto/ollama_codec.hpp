// OllamaCodec: Ollama's native HTTP API as pure functions (../shared/reference/
// backends-and-supervision.md §8). Request bodies for POST /api/generate and /api/chat (always
// streamed as NDJSON), decoding of one NDJSON line into a StreamEvent (an `error` line mid-stream
// is an error event; stats only on the final `done` line), and the GET /api/tags, /api/ps,
// /api/version and error bodies. The decoder owns a JsonReader; one per stream consumer (per
// shard) keeps decoding allocation-free once warm. Not thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proto/generation.hpp"
#include "proto/json_reader.hpp"
#include "proto/reject.hpp"

namespace pylon::proto {

class OllamaCodec {
  public:
    OllamaCodec() = default;
    // A codec whose JSON bound is `limits` (the probe's: a model list may pass the 128 KiB
    // bound a stream line keeps).
    explicit OllamaCodec(const Limits& limits) : reader_(limits) {}

    // Appends the JSON body of POST /api/generate (`chat` false) or /api/chat (`chat` true).
    // Sampling params map to `options`: max_tokens -> num_predict, temperature, top_p, top_k,
    // seed, stop, frequency_penalty.
    static void write_request(const GenerationParams& params, bool chat, std::string& out);

    // Decodes one NDJSON line of a generate or chat stream.
    Reject decode_line(std::string_view line, StreamEvent& out);

    // GET /api/tags and /api/ps bodies: {"models":[{"name":..,"size":..},...]}.
    Reject parse_models(std::string_view body, bool loaded, std::vector<ModelInfo>& out);
    // GET /api/version: {"version":"0.x.y"}.
    Reject parse_version(std::string_view body, std::string& out);
    // An error body {"error":"..."} (404, 503, 400); empty if the body is not one.
    std::string error_text(std::string_view body);

  private:
    JsonReader reader_;
};

}  // namespace pylon::proto
