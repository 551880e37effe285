#include "proto/generation.hpp"

namespace pylon::proto {

std::string_view finish_reason_name(FinishReason reason) noexcept {
    switch (reason) {
        case FinishReason::none:
            return "none";
        case FinishReason::stop:
            return "stop";
        case FinishReason::length:
            return "length";
        case FinishReason::cancelled:
            return "cancelled";
        case FinishReason::error:
            return "error";
    }
    return "none";
}

bool model_name_matches(std::string_view requested, std::string_view available) noexcept {
    if (requested.empty()) {
        return false;
    }
    if (requested == available) {
        return true;
    }
    constexpr std::string_view latest = ":latest";
    bool req_tagged = requested.find(':') != std::string_view::npos;
    bool avail_tagged = available.find(':') != std::string_view::npos;
    if (!req_tagged && avail_tagged && available.size() == requested.size() + latest.size() &&
        available.substr(0, requested.size()) == requested &&
        available.substr(requested.size()) == latest) {
        return true;
    }
    if (req_tagged && !avail_tagged && requested.size() == available.size() + latest.size() &&
        requested.substr(0, available.size()) == available &&
        requested.substr(available.size()) == latest) {
        return true;
    }
    return false;
}

}  // namespace pylon::proto
