// IntakeCounters: why requests were taken or turned away, one counter per reason, kept by each
// shard's Intake (a shard counts what its relay links dropped before routing and what its own
// jobs' checks decided) and summed over the shards by the `Intake` control request and
// `pylon status`. Reasons come in three groups: dropped silently (spam, invalid or not for us),
// refused with an `error` feedback that tells the customer why, and bookkeeping. One shard.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace pylon::engine {

enum class IntakeReason : std::uint8_t {
    // seen
    received,  // job requests delivered by relays (before any check)
    accepted,  // written to the store as pending and queued to run
    rerun,     // unfinished jobs from a previous run started again
    // dropped and counted, never answered
    malformed,            // not a job request we can read (shape, tags, sizes)
    wrong_kind,           // a kind this node does not serve
    stale,                // created_at older than request_age_max_s
    future,               // created_at further ahead than request_future_max_s
    not_for_us,           // `p` names other providers (or encrypted for someone else)
    duplicate,            // seen before (another relay, a replay, before a restart)
    bad_id,               // the id is not the hash of the event
    bad_signature,        // the signature does not verify
    undecryptable,        // encrypted to us but it does not decrypt
    rate_limited_pubkey,  // this customer sent more than pubkey_requests_per_minute
    closed,               // intake not open (starting or stopping)
    unreadable,           // relay messages the link could not read (over its message bound,
                          // bad JSON, an event out of bounds): logged, rate-limited
    // refused with an `error` feedback
    refused_overloaded,       // global request rate or memory pressure
    refused_bad_param,        // a param is malformed or out of bounds
    refused_bad_bid,          // the bid is not a whole number of millisats
    refused_no_prompt,        // no text input
    refused_prompt_too_long,  // above prompt_bytes_max
    refused_max_tokens,       // max_tokens above max_tokens_max
    refused_bid_below_price,  // bid < min_price_msats
    refused_unknown_model,    // the model param names no model a backend has
    refused_no_backend,       // no backend available
    refused_queue_full,       // the backend's queue is full
    refused_busy,             // no longer counted: a paused intake leaves it for the relay
    feedback_suppressed,      // a refusal not answered (refusal_feedback_per_second)
    store_retried,            // a failed write of a job's row tried again (store_retries_max)
    store_failed,             // the job could not be written even then: error feedback, logged
    // backpressure (a relay's publish queue is busy: PublishPressure)
    paused,    // times intake paused (job subscriptions closed)
    resumed,   // times it resumed (subscribed again from the cursors)
    deferred,  // requests that arrived while paused, left for the relay to send again (unread,
               // or read and forgotten beyond held_requests_max)
    held,      // requests past the prescreen when it paused, admitted on resume
    // cancellation
    deletions,      // kind-5 deletions received that name an open job's request
    cancellations,  // jobs cancelled by their customer
    count_,
};

inline constexpr std::size_t intake_reason_count = static_cast<std::size_t>(IntakeReason::count_);

// A stable snake_case name ("rate_limited_pubkey").
std::string_view intake_reason_name(IntakeReason reason) noexcept;

class IntakeCounters {
  public:
    void add(IntakeReason reason, std::uint64_t n = 1) noexcept {
        counts_[static_cast<std::size_t>(reason)] += n;
    }
    std::uint64_t get(IntakeReason reason) const noexcept {
        return counts_[static_cast<std::size_t>(reason)];
    }
    const std::array<std::uint64_t, intake_reason_count>& all() const noexcept { return counts_; }

  private:
    std::array<std::uint64_t, intake_reason_count> counts_{};
};

}  // namespace pylon::engine
