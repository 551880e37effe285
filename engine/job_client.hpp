// JobClient: the customer side of NIP-90, for `pylon job submit|status`. It builds and signs a
// job request (an `i` text input, `param`s, `bid`, `relays`, `p` when a provider is named),
// connects to every relay given in parallel, subscribes to the request's feedback (7000) and
// result (kind + 1000) by `#e` and waits for each relay's EOSE, so nothing is missed, then
// publishes the request and reports what arrives: OKs, feedback (partial text included) and the
// result, which is checked (signature, kind, `e` = the request id, from the named provider when
// one was asked for) before it counts. Relays that do not filter live events by tag (the npm
// test relay) are handled: events for other requests are ignored. A named provider's events are
// the only ones that count, and its `error` feedback ends the wait; without one the request is
// open to every provider: the first result wins, and an `error` from one provider is collected
// (provider_errors) while the wait goes on; at the timeout, a job with errors and no result is
// `failed` with those errors. After the result, the answering provider's `success` feedback is
// awaited a short bounded while, so last_feedback tells what it said. A request that no relay
// accepts (none reachable, all refused) ends at once `failed` with each relay's reason.
//
// Runs its own short-lived reactor (a ShardSet of one shard) on the calling thread: call it from
// the CLI's main thread, never from a shard. The watcher is called on that shard, in order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proto/event.hpp"
#include "proto/job_feedback.hpp"
#include "proto/keys.hpp"
#include "reactor/result.hpp"

namespace pylon::engine {

inline constexpr std::int64_t job_client_connect_timeout_ms = 10000;
inline constexpr std::int64_t job_client_eose_timeout_ms = 5000;
inline constexpr std::int64_t job_client_ok_wait_ms = 5000;
// After a result: how long to wait for its author's `success` feedback (last_feedback).
inline constexpr std::int64_t job_client_result_linger_ms = 500;

struct JobSpec {
    std::string prompt;
    std::uint32_t kind = 5050;
    std::string model;
    std::vector<std::pair<std::string, std::string>> params;
    std::optional<std::uint64_t> bid_msats;
    std::optional<proto::PublicKey> provider;
    std::vector<std::string> relays_tag;  // the request's `relays` (where answers should go)
};

// Signs the request event for `spec`.
proto::Event build_job_request(const JobSpec& spec, const proto::Keypair& keys,
                               std::int64_t created_at);

class JobWatcher {
  public:
    virtual ~JobWatcher() = default;
    virtual void on_published(const std::string& relay, bool accepted, const std::string& text) {
        (void)relay, (void)accepted, (void)text;
    }
    virtual void on_relay_error(const std::string& relay, const std::string& error) {
        (void)relay, (void)error;
    }
    virtual void on_feedback(const proto::JobFeedback& feedback, const std::string& provider) {
        (void)feedback, (void)provider;
    }
};

struct JobWatch {
    std::vector<std::string> relays;
    bool wait_result = true;  // false: return once the OKs are in
    std::int64_t timeout_ms = 60000;
    std::optional<proto::PublicKey> provider;  // only this provider's events count
};

struct JobOutcome {
    std::string request_id;
    unsigned relays_connected = 0;
    unsigned relays_accepted = 0;    // OK true (publish)
    std::string status = "pending";  // pending|processing|completed|failed
    bool timed_out = false;
    std::string last_feedback;  // the latest feedback status (of the result's author, if any)
    std::string error;          // failed: the provider's reason (or every provider's, joined)
    bool published = false;     // a request was given and at least one relay accepted it
    std::vector<std::string> provider_errors;  // "<hex>: reason" for each `error` feedback
    std::string result;                        // completed: the content
    std::string result_event_id;
    std::string provider;                   // who answered (hex)
    std::vector<std::string> relay_errors;  // "<url>: reason" (connect failed, refused, no OK)
};

// Follows request `id` of kind `kind`, publishing `request` first when it is given. Errors only
// for setup failures (no relay given, TLS); relay failures are in the outcome.
Result<JobOutcome> run_job(const proto::EventId& id, std::uint32_t kind,
                           const proto::Event* request, const JobWatch& watch, JobWatcher* watcher);

}  // namespace pylon::engine
