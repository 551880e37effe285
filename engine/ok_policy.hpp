// OkPolicy: what a relay link does with the OK a relay sends for an event it published
// (NIP-01 machine-readable prefixes, NIP-42 auth-required): accepted, or `duplicate:` with
// either flag, is delivered; `rate-limited:` and `error:` (and a refusal without a known
// reason) are retried with backoff up to the attempt bound; `auth-required:` is sent again
// once the link has authenticated; `invalid:`, `blocked:`, `restricted:`, `pow:`, `mute:`
// and `unsupported:` are given up at once (and logged with the relay's reason). Pure.
#pragma once

#include <cstdint>

#include "proto/relay_message.hpp"

namespace pylon::engine {

enum class OkAction : std::uint8_t { delivered, retry, auth_then_retry, give_up };

OkAction ok_action(bool accepted, proto::MachinePrefix prefix) noexcept;

// The pause before send attempt `attempt` (2, 3, ...) after a retryable refusal: 1 s doubling,
// at most publish_retry_delay_ms_max.
inline constexpr std::int64_t publish_retry_delay_ms_initial = 1000;
inline constexpr std::int64_t publish_retry_delay_ms_max = 16000;
std::int64_t publish_retry_delay_ms(unsigned attempt) noexcept;

}  // namespace pylon::engine
