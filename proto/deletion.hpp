// Deletion: a NIP-09 deletion request (kind 5) read into data: the event ids (`e`), addresses
// (`a`) and kinds (`k`) it names, its author and reason. For NIP-90 a kind-5 from the requester
// naming an open request cancels that job; proto only exposes the data and the test the engine
// must apply (cancels(): same author as the request AND the id is named), never acts on it.
// A deletion of a deletion has no effect; that is the engine's rule too. Values; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proto/event.hpp"
#include "proto/keys.hpp"
#include "proto/limits.hpp"
#include "proto/reject.hpp"

namespace pylon::proto {

inline constexpr uint32_t deletion_kind = 5;

struct Deletion {
    PublicKey author;
    std::vector<EventId> event_ids;
    std::vector<std::string> addresses;  // "<kind>:<pubkey>:<d>"
    std::vector<uint32_t> kinds;
    std::string reason;  // the content

    // Reject::wrong_kind if not kind 5, bad_tag for an `e` that is not 64 lowercase hex.
    Reject read(const Event& event, const Limits& limits = Limits{});

    bool names(const EventId& id) const noexcept;
    // The NIP-90 cancellation rule: the deletion's author wrote the request and names it.
    bool cancels(const EventId& request_id, const PublicKey& request_author) const noexcept;
};

}  // namespace pylon::proto
