#include "engine/backend.hpp"

namespace pylon::engine {

std::string_view backend_kind_name(BackendKind kind) noexcept {
    switch (kind) {
        case BackendKind::ollama:
            return "ollama";
        case BackendKind::llamacpp:
            return "llamacpp";
    }
    return "unknown";
}

}  // namespace pylon::engine
