// Publication: one signed event on its way to relays, built once on the shard that signed it
// (the frame ["EVENT",{...}] is written once) and shared read-only with every relay link that
// sends it, on whatever shard that link lives (hence shared_ptr<const>: the last link to finish
// frees it). It names the extra relays to use beyond the node's own (a request's `relays` tag)
// and, for a tracked publication (a job's result), the shard and ticket to which each link
// reports whether its relay accepted it. Immutable once shared; any shard.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proto/event.hpp"

namespace pylon::engine {

struct Publication {
    proto::EventId id{};
    std::uint32_t kind = 0;
    std::string frame;                      // ["EVENT",{...}]
    std::vector<std::string> extra_relays;  // normalised, not among the node's own relays
    unsigned owner_shard = 0;               // where outcomes go (tracked only)
    std::uint64_t ticket = 0;               // 0: nobody waits for the outcome
    std::int64_t created_ms = 0;            // monotonic; the TTL counts from here
};

using PublicationRef = std::shared_ptr<const Publication>;

}  // namespace pylon::engine
