#include "engine/runtime_status.hpp"

namespace pylon::engine {

std::string_view run_mode_name(RunMode mode) noexcept {
    switch (mode) {
        case RunMode::provider:
            return "provider";
        case RunMode::host:
            return "host";
        case RunMode::both:
            return "both";
    }
    return "both";
}

std::optional<RunMode> parse_run_mode(std::string_view text) noexcept {
    if (text == "provider") {
        return RunMode::provider;
    }
    if (text == "host") {
        return RunMode::host;
    }
    if (text == "both") {
        return RunMode::both;
    }
    return std::nullopt;
}

}  // namespace pylon::engine
