// JobClient: the customer side of NIP-90, for `pylon job submit|status`. It builds and signs a
// job request (an `i` text input, `param`s, `bid`, `relays`, `p` when a provider is named),
// connects to every relay given in parallel, subscribes to the request's feedback (7000) and
// result (kind + 1000) by `#e` and waits for each relay's EOSE, so nothing is missed, then
// publishes the request and reports what arrives: OKs, feedback (partial text included) and the
// result, which is checked (signature, kind, `e` = the request id, from the named provider when
// one was asked for) before it counts. Relays that do not filter live events by tag (the npm
// test relay) are handled: events for other requests are ignored. A named provider's events are
// the only ones that count; without one, the first result wins.
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
    std::string last_feedback;  // the latest feedback status seen
    std::string error;          // failed: the provider's reason
    std::string result;         // completed: the content
    std::string result_event_id;
    std::string provider;  // who answered (hex)
    std::vector<std::string> relay_errors;
};

// Follows request `id` of kind `kind`, publishing `request` first when it is given. Errors only
// for setup failures (no relay given, TLS); relay failures are in the outcome.
Result<JobOutcome> run_job(const proto::EventId& id, std::uint32_t kind,
                           const proto::Event* request, const JobWatch& watch, JobWatcher* watcher);

}  // namespace pylon::engine
