// TextGenParams: the NIP-90 kind-5050 (text generation) params read from a JobRequest and
// validated: model, max_tokens, temperature, top_p (or top-p), top_k (or top-k), seed, stop (any
// number of values, also over repeated params) and frequency_penalty. The 5050 documentation
// writes top-k/top-p in its example and top_k/top_p in its prose, so both spellings (and '-' for
// '_' in every key) are accepted. Unknown params are allowed and ignored (extras are normal).
// Numbers must parse completely and be finite and within TextGenBounds; a param given twice is
// refused. Values; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proto/job_request.hpp"
#include "proto/reject.hpp"

namespace pylon::proto {

struct TextGenBounds {
    uint32_t max_tokens_max = 131072;
    double temperature_max = 2.0;
    double frequency_penalty_abs_max = 2.0;
    uint32_t top_k_max = 1000;
    size_t stop_sequences_max = 8;
    size_t stop_bytes_max = 64;
    size_t model_bytes_max = 256;
};

struct TextGenParams {
    std::string model;                   // "" = the provider's default
    std::optional<uint32_t> max_tokens;  // 1..max_tokens_max
    std::optional<double> temperature;   // 0..temperature_max
    std::optional<double> top_p;         // 0..1
    std::optional<uint32_t> top_k;       // 0..top_k_max (0 = disabled)
    std::optional<uint64_t> seed;
    std::optional<double> frequency_penalty;  // -abs_max..abs_max
    std::vector<std::string> stop;            // each 1..stop_bytes_max bytes

    // Reject::bad_param (the engine answers with an `error` feedback naming the key; see
    // bad_key()) when a value is malformed or out of bounds.
    Reject read(const JobRequest& request, const TextGenBounds& bounds = TextGenBounds{});
    // The key of the param that was refused by the last read(), "" if none.
    const std::string& bad_key() const noexcept { return bad_key_; }

  private:
    Reject read_one(std::string_view key, const JobParam& param, const TextGenBounds& bounds,
                    uint32_t& seen);
    std::string bad_key_;
};

}  // namespace pylon::proto
