// Generation: the backend-neutral description of one text-generation request and of one decoded
// piece of a backend's streamed answer. The Ollama and llama-server codecs (ollama_codec.hpp,
// llamacpp_codec.hpp) translate between these and the servers' wire formats. Plain values; a
// StreamEvent's string_views point into the decoder's parser and are valid until its next decode.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pylon::proto {

// How to generate: the length bound, sampling and stop sequences (what a queued job keeps).
struct GenerationOptions {
    std::optional<std::uint32_t> max_tokens;
    std::optional<double> temperature;
    std::optional<double> top_p;
    std::optional<std::uint32_t> top_k;
    std::optional<std::int64_t> seed;
    std::optional<double> frequency_penalty;
    std::vector<std::string> stop;
};

// One request to a backend: the options, the model and the prompt.
struct GenerationParams : GenerationOptions {
    std::string model;
    std::string prompt;
};

enum class FinishReason : std::uint8_t { none, stop, length, cancelled, error };
std::string_view finish_reason_name(FinishReason reason) noexcept;

struct StreamEvent {
    enum class Kind : std::uint8_t {
        token,  // `text` is the next piece of output (may be empty)
        done,   // the stream ended normally; finish, usage below
        error,  // the backend reported an error in the stream; `error_text` says what
        skip,   // nothing to act on (role-only chunk, keep-alive, usage-only chunk)
    };
    Kind kind = Kind::skip;
    std::string_view text;
    std::string_view error_text;
    FinishReason finish = FinishReason::none;
    bool has_usage = false;
    std::uint32_t prompt_tokens = 0;
    std::uint32_t completion_tokens = 0;
    // A token event that also ends the stream (llama-server's last /completion event carries
    // content and stop:true together).
    bool last = false;
};

struct ModelInfo {
    std::string name;  // as the backend names it ("llama3.2:latest", a path, an alias)
    std::uint64_t size_bytes = 0;
    bool loaded = false;  // in memory now (Ollama /api/ps)
};

// Ollama's rule: a name without a tag means name:latest. True when `requested` names `available`.
bool model_name_matches(std::string_view requested, std::string_view available) noexcept;

}  // namespace pylon::proto
