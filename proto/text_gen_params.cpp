#include "proto/text_gen_params.hpp"

#include <charconv>
#include <cmath>

namespace pylon::proto {
namespace {

enum Key : uint32_t {
    k_model = 1u << 0,
    k_max_tokens = 1u << 1,
    k_temperature = 1u << 2,
    k_top_p = 1u << 3,
    k_top_k = 1u << 4,
    k_seed = 1u << 5,
    k_frequency_penalty = 1u << 6,
};

std::string normalise_key(std::string_view key) {
    std::string out(key);
    for (char& c : out) {
        c = c == '-' ? '_' : c;
    }
    return out;
}

bool parse_double(std::string_view text, double lo, double hi, std::optional<double>& out) {
    double v = 0;
    auto res = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || res.ec != std::errc() || res.ptr != text.data() + text.size() ||
        !std::isfinite(v) || v < lo || v > hi) {
        return false;
    }
    out = v;
    return true;
}

template <typename T>
bool parse_unsigned(std::string_view text, T lo, T hi, std::optional<T>& out) {
    T v = 0;
    auto res = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || res.ec != std::errc() || res.ptr != text.data() + text.size() || v < lo ||
        v > hi) {
        return false;
    }
    out = v;
    return true;
}

}  // namespace

Reject TextGenParams::read_one(std::string_view key, const JobParam& param,
                               const TextGenBounds& bounds, uint32_t& seen) {
    std::string_view v = param.values.front();
    auto once = [&](uint32_t bit) {
        bool first = (seen & bit) == 0;
        seen |= bit;
        return first;
    };
    bool ok = true;
    if (key == "model") {
        ok = once(k_model) && !v.empty() && v.size() <= bounds.model_bytes_max;
        model.assign(v);
    } else if (key == "max_tokens") {
        ok =
            once(k_max_tokens) && parse_unsigned<uint32_t>(v, 1, bounds.max_tokens_max, max_tokens);
    } else if (key == "temperature") {
        ok = once(k_temperature) && parse_double(v, 0.0, bounds.temperature_max, temperature);
    } else if (key == "top_p") {
        ok = once(k_top_p) && parse_double(v, 0.0, 1.0, top_p);
    } else if (key == "top_k") {
        ok = once(k_top_k) && parse_unsigned<uint32_t>(v, 0, bounds.top_k_max, top_k);
    } else if (key == "seed") {
        ok = once(k_seed) && parse_unsigned<uint64_t>(v, 0, UINT64_MAX, seed);
    } else if (key == "frequency_penalty") {
        double m = bounds.frequency_penalty_abs_max;
        ok = once(k_frequency_penalty) && parse_double(v, -m, m, frequency_penalty);
    } else if (key == "stop") {
        for (const std::string& s : param.values) {
            ok = ok && !s.empty() && s.size() <= bounds.stop_bytes_max &&
                 stop.size() < bounds.stop_sequences_max;
            if (ok) {
                stop.push_back(s);
            }
        }
    }
    return ok ? Reject::none : Reject::bad_param;
}

Reject TextGenParams::read(const JobRequest& request, const TextGenBounds& bounds) {
    *this = TextGenParams{};
    uint32_t seen = 0;
    for (const JobParam& p : request.params) {
        std::string key = normalise_key(p.key);
        if (read_one(key, p, bounds, seen) != Reject::none) {
            bad_key_ = p.key;
            return Reject::bad_param;
        }
    }
    return Reject::none;
}

}  // namespace pylon::proto
