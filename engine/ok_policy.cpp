#include "engine/ok_policy.hpp"

#include <algorithm>

namespace pylon::engine {

OkAction ok_action(bool accepted, proto::MachinePrefix prefix) noexcept {
    using P = proto::MachinePrefix;
    if (accepted || prefix == P::duplicate) {
        return OkAction::delivered;
    }
    switch (prefix) {
        case P::auth_required:
            return OkAction::auth_then_retry;
        case P::rate_limited:
        case P::error:
        case P::none:
        case P::other:
            return OkAction::retry;
        case P::invalid:
        case P::blocked:
        case P::restricted:
        case P::pow:
        case P::mute:
        case P::unsupported:
        case P::duplicate:
            return OkAction::give_up;
    }
    return OkAction::give_up;
}

std::int64_t publish_retry_delay_ms(unsigned attempt) noexcept {
    unsigned shift = attempt >= 2 ? std::min(attempt - 2, 10u) : 0;
    return std::min(publish_retry_delay_ms_initial << shift, publish_retry_delay_ms_max);
}

}  // namespace pylon::engine
