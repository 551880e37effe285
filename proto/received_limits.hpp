// received_limits(): the bounds for job requests as relays deliver them (a relay link reads its
// messages with them) and as the store gives them back after a restart. One message of at most
// received_message_bytes_max holds a prompt of [provider] prompt_bytes_max's whole range (1 MiB,
// in an `i` tag or the content) plus the rest of the event, and each part of the event (an
// encrypted content too) is bounded by it; the other Limits defaults stay (they also bound what we
// emit). Plain data.
#pragma once

#include <cstddef>

#include "proto/limits.hpp"

namespace pylon::proto {

inline constexpr size_t received_message_bytes_max = 1024 * 1024 + 64 * 1024;

inline Limits received_limits() noexcept {
    Limits l;
    l.message_bytes_max = received_message_bytes_max;
    l.event_bytes_max = received_message_bytes_max;
    l.content_bytes_max = received_message_bytes_max;
    l.tag_element_bytes_max = received_message_bytes_max;
    // An encrypted request's content as far as the message allows: NIP-04's base64 holds a
    // prompt of ~780 KiB there, so one above prompt_bytes_max is read and refused with an error
    // feedback ("prompt too long") like a clear one, not dropped unread. (NIP-44 bounds its own
    // plaintext at 65,535 bytes.)
    l.encrypted_payload_bytes_max = received_message_bytes_max;
    return l;
}

}  // namespace pylon::proto
