// AuthEvent: the NIP-42 authentication event (kind 22242, ephemeral) a client sends in
// ["AUTH", event] after a relay's ["AUTH", challenge]: tags ["relay", url] and
// ["challenge", string], empty content, created_at = now. build() makes a signed one; check()
// is what a relay (or our relay simulator) verifies: kind, both tags, the challenge exactly, the
// relay URL (scheme, host and port, ignoring a trailing slash), the created_at window and the
// signature. Values; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/event.hpp"
#include "proto/keys.hpp"
#include "proto/random_source.hpp"
#include "proto/reject.hpp"

namespace pylon::proto {

inline constexpr uint32_t auth_event_kind = 22242;
inline constexpr int64_t auth_window_seconds = 600;  // NIP-42 suggests about ten minutes

struct AuthEvent {
    std::string relay_url;
    std::string challenge;

    void build(int64_t created_at, const Keypair& keys, RandomSource& random, Event& out) const;
    // Reads the tags of a kind-22242 event (no verification).
    Reject read(const Event& event);
    // Full relay-side check of an AUTH event against the challenge we issued.
    static Reject check(const Event& event, std::string_view relay_url, std::string_view challenge,
                        int64_t now, int64_t window_seconds = auth_window_seconds);
};

}  // namespace pylon::proto
