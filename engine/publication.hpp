// Publication: one signed event on its way to relays, built once on the shard that signed it
// (the frame ["EVENT",{...}] is written once) and shared read-only with every relay link that
// sends it, on whatever shard that link lives (hence shared_ptr<const>: the last link to finish
// frees it). It names the extra relays to use beyond the node's own (a request's `relays` tag)
// and, for a tracked publication (a job's result), the shard and ticket to which each link
// reports whether its relay accepted it. Its class tells a full publish queue what may give way
// (PublishQueue): terminal events of accepted jobs never do, progress feedback does first, and a
// courtesy answer to a refused request is only queued while the queue is below its high-water
// mark. Immutable once shared; any shard.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proto/event.hpp"

namespace pylon::engine {

enum class PublishClass : std::uint8_t {
    terminal,  // a result, the success/error feedback of an accepted job, the announcement
    progress,  // processing/partial feedback: replaced by the job's newer one, dropped first
    courtesy,  // the error feedback to a request that was not accepted (busy, unknown model...)
};

struct Publication {
    proto::EventId id{};
    std::uint32_t kind = 0;
    PublishClass cls = PublishClass::terminal;
    proto::EventId job{};                     // the request it answers (zero: none)
    std::string frame;                        // ["EVENT",{...}]
    std::vector<std::string> extra_relays;    // normalised, not among the node's own relays
    std::array<std::uint8_t, 32> customer{};  // whose request named them (their share of links)
    unsigned owner_shard = 0;                 // where outcomes go (tracked only)
    std::uint64_t ticket = 0;                 // 0: nobody waits for the outcome
    std::int64_t created_ms = 0;              // monotonic; the TTL counts from here
};

using PublicationRef = std::shared_ptr<const Publication>;

}  // namespace pylon::engine
