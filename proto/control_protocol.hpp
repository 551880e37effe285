// ControlProtocol: the wire format of the control socket (control.sock), pure. One JSON document
// per line in each direction, many requests per connection, in serde's externally tagged style
// as Pylon v0.1 spoke it (reference/pylon-v0.1.md §4):
//
//   "Ping" -> "Pong"        "Shutdown" -> "Ok"        errors -> {"Error":"..."}
//   "Status" -> {"Status":{"running":true,"uptime_secs":N,"provider_active":B,
//                          "host_active":B,"jobs_completed":N,"earnings_msats":N}}
//
// plus our requests in the same style: "Health", "Relays", "Backends", "Intake", "Jobs" or
// {"Jobs":{"limit":N,"status":"completed"}}, "Earnings" or {"Earnings":{"limit":N}}, "Shards",
// "Store", "Metrics" or {"Metrics":{"reset":true}}, "Subscribe" (then the connection streams
// DomainEvents, see domain_event.hpp), and autopilotd's internally tagged form {"type":"Status"}
// whose replies are {"success":B,"message":"..", "data":{...}}. docs/control-socket.md
// documents every request and reply.
//
// This file holds the request parser, the reply types and their encoders (the daemon side) and
// decoders (the CLI side). Pure: any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/reject.hpp"

namespace pylon::proto {

class JsonReader;

inline constexpr int control_protocol_version = 1;
inline constexpr std::uint64_t control_list_limit_max = 1000;  // Jobs/Earnings "limit"
inline constexpr std::uint64_t control_list_limit_default = 10;

// How a request was written.
enum class ControlForm : std::uint8_t {
    bare,    // "Status"
    tagged,  // {"Jobs":{"limit":5}}
    typed,   // {"type":"Status"} (autopilotd)
};

struct ControlRequest {
    std::string name;  // "Status", "Jobs", "StartWorker", ...
    ControlForm form = ControlForm::bare;
    std::string args_json;  // tagged form: the value after the tag (for extension commands)
    // Jobs / Earnings / Metrics arguments (validated by the parser; requests that take none,
    // "Status", "Relays", ..., are refused with arguments other than null or {}).
    std::uint64_t limit = control_list_limit_default;
    std::string status;  // Jobs: "" or pending|processing|completed|failed|cancelled
    bool reset = false;  // Metrics: clear the latency histograms after reading them
};

// The worker's requests, in autopilotd's form as in the others: StartWorker, StopWorker,
// RestartWorker.
inline constexpr std::string_view worker_requests[] = {"StartWorker", "StopWorker",
                                                       "RestartWorker"};
inline bool is_worker_request(std::string_view name) noexcept {
    for (std::string_view w : worker_requests) {
        if (w == name) {
            return true;
        }
    }
    return false;
}

// A request line (without its newline; surrounding whitespace is ignored). On a rejection,
// `detail` says what is wrong in words a client can act on.
Reject parse_control_request(std::string_view line, JsonReader& reader, ControlRequest& out,
                             std::string& detail);

// -- Replies --

struct StatusReply {
    bool running = true;
    std::uint64_t uptime_secs = 0;
    bool provider_active = false;
    bool host_active = false;
    std::uint64_t jobs_completed = 0;
    std::uint64_t earnings_msats = 0;
};

struct HealthReply {
    std::int64_t pid = 0;
    std::uint64_t uptime_secs = 0;
    int protocol_version = control_protocol_version;
    unsigned shards = 0;
    std::string version;
    std::string mode;  // "provider" | "host" | "both"
    std::int64_t started_at_ms = 0;
    std::string home;
    std::uint64_t events_dropped = 0;  // domain events lost to full queues since start
    std::string config;  // the config file the node loaded (absolute); "" for none (embedded)
};

struct RelayInfo {
    std::string url;
    std::string state;  // "connecting" | "connected" | "backoff" | "disconnected" | "failed"
    std::string last_error;
    std::int64_t connected_since_ms = 0;  // unix ms, 0 when not connected
    std::uint64_t connects = 0;
    std::uint64_t disconnects = 0;
    std::uint64_t events_received = 0;
    std::uint64_t events_published = 0;
    // Progress feedback (processing, partial) given up for this relay: replaced by a newer one
    // of the same job, or evicted for room, before it was sent.
    std::uint64_t progress_dropped = 0;
    // Courtesy events (e.g. a refusal's error feedback) not queued for this relay because its
    // publish queue was busy.
    std::uint64_t publish_refused = 0;
    // Messages from this relay dropped unread: above the message bound, not JSON, or an event out
    // of bounds (the intake's `unreadable` counts them over all relays).
    std::uint64_t unreadable = 0;
};

struct BackendInfo {
    std::string id;  // "ollama" | "llamacpp"
    std::string url;
    bool available = false;
    bool is_default = false;
    // Not available yet because it is loading its model (a llama-server answering 503 "Loading
    // model", or the supervised one starting or restarting): requests for it wait.
    bool loading = false;
    std::vector<std::string> models;
    std::uint32_t slots = 0;
    std::uint32_t slots_busy = 0;
    std::uint32_t queued = 0;
    std::string last_error;
};

struct JobInfo {
    std::string id;          // "job_" + 16 hex of the request id (Pylon's form)
    std::string request_id;  // the full request event id (64 hex), "" for rows from Pylon v0.1
    std::uint32_t kind = 0;
    std::string customer_pubkey;
    std::string status;  // pending|processing|completed|failed|cancelled
    std::int64_t price_msats = 0;
    std::string error_message;
    std::int64_t created_at = 0;  // unix seconds
    std::optional<std::int64_t> started_at;
    std::optional<std::int64_t> completed_at;
    std::string backend;
    std::string model;
    std::optional<std::int64_t> prompt_tokens;
    std::optional<std::int64_t> completion_tokens;
    std::optional<std::int64_t> queue_ms;
    std::optional<std::int64_t> first_token_ms;
    std::optional<std::int64_t> total_ms;
};

struct EarningInfo {
    std::string id;
    std::string job_id;
    std::int64_t amount_msats = 0;
    std::string source;          // job|tip|other
    std::int64_t earned_at = 0;  // unix seconds
};

struct EarningsReport {
    std::int64_t total_msats = 0;
    std::int64_t job_count = 0;                                   // distinct jobs with earnings
    std::vector<std::pair<std::string, std::int64_t>> by_source;  // source -> msats
    std::vector<EarningInfo> recent;
};

struct ShardInfo {
    unsigned id = 0;
    std::uint64_t loops = 0;
    std::uint64_t waits = 0;
    std::uint64_t cqes = 0;
    std::uint64_t tasks_resumed = 0;
    std::uint64_t timers_fired = 0;
    std::uint64_t messages_in = 0;
    std::uint64_t messages_out = 0;
    std::uint64_t wakes_sent = 0;
    std::uint64_t wakes_received = 0;
    std::uint64_t foreign_posts = 0;
    std::uint64_t mailbox_full = 0;
    std::uint64_t stalls = 0;
    std::uint64_t stall_max_us = 0;
    std::uint64_t events_emitted = 0;
    std::uint64_t events_dropped = 0;
    std::uint64_t store_requests = 0;
};

// The store thread's counters (engine/store.hpp StoreStats), cumulative since start, and the
// requests waiting for it now.
struct StoreInfo {
    std::uint64_t requests = 0;
    std::uint64_t transactions = 0;
    std::uint64_t transaction_max = 0;  // requests in the largest transaction
    std::uint64_t failed_commits = 0;
    std::uint64_t transaction_reruns = 0;  // run again with savepoints after a request failed
    std::uint64_t pruned_requests = 0;
    std::uint64_t queued = 0;
    std::uint64_t waited_transactions = 0;  // waited [store] group_commit_wait_us for company
    // Another process holds pylon.db's write lock: for how long a transaction has waited for it
    // now (0: none waits), and the reads answered during such waits since start.
    std::uint64_t lock_wait_ms = 0;
    std::uint64_t reads_in_lock_waits = 0;
};

// One intake counter (engine/intake_counters.hpp): why requests were taken or turned away.
struct IntakeCounter {
    std::string reason;  // "accepted", "duplicate", "refused_unknown_model", ...
    std::uint64_t count = 0;
};

// autopilotd's reply ({"success":..,"message":..,"data":{...}}); data only when has_data.
struct WorkerReply {
    bool success = true;
    std::string message;
    bool has_data = false;
    std::string worker_status = "stopped";  // stopped|starting|running|stopping|restarting|failed
    std::optional<std::int64_t> worker_pid;
    std::uint64_t uptime_seconds = 0;
    std::uint64_t total_restarts = 0;
    std::uint64_t consecutive_failures = 0;
    std::uint64_t memory_available_bytes = 0;
    std::uint64_t memory_total_bytes = 0;
};

// Encoders: each appends one complete reply (no newline).
void encode_pong(std::string& out);
void encode_ok(std::string& out);
void encode_error(std::string_view message, std::string& out);
void encode_status(const StatusReply& reply, std::string& out);
void encode_health(const HealthReply& reply, std::string& out);
void encode_relays(const std::vector<RelayInfo>& relays, std::string& out);
void encode_backends(const std::vector<BackendInfo>& backends, std::string& out);
void encode_jobs(const std::vector<JobInfo>& jobs, std::string& out);
void encode_earnings(const EarningsReport& report, std::string& out);
void encode_shards(const std::vector<ShardInfo>& shards, std::string& out);
void encode_store(const StoreInfo& store, std::string& out);
void encode_store_body(const StoreInfo& store, std::string& out);  // the inner object
void encode_worker_reply(const WorkerReply& reply, std::string& out);
// {"Intake":{"received":N,"accepted":N,...}} (counters in the order given).
void encode_intake(const std::vector<IntakeCounter>& counters, std::string& out);
void encode_intake_body(const std::vector<IntakeCounter>& counters, std::string& out);
// The bodies alone (the CLI's --json output reuses them): [{job}...] and
// {"summary":..,"recent":..}.
void encode_job_list(const std::vector<JobInfo>& jobs, std::string& out);
void encode_earnings_body(const EarningsReport& report, std::string& out);
void encode_relay_list(const std::vector<RelayInfo>& relays, std::string& out);
void encode_backend_list(const std::vector<BackendInfo>& backends, std::string& out);

// -- Client side --

// A reply line split into its tag and body: "Pong" -> {"Pong", ""}; {"Status":{..}} ->
// {"Status", "{..}"}; {"Error":"x"} -> {"Error", "\"x\""} with error = "x"; autopilotd's
// {"success":..} -> {"success", whole line}.
struct ControlReply {
    std::string tag;
    std::string body_json;
    std::string error;  // the message of an Error reply
};
Reject parse_control_reply(std::string_view line, JsonReader& reader, ControlReply& out);

Reject decode_status(std::string_view body_json, JsonReader& reader, StatusReply& out);
Reject decode_health(std::string_view body_json, JsonReader& reader, HealthReply& out);
Reject decode_relays(std::string_view body_json, JsonReader& reader, std::vector<RelayInfo>& out);
Reject decode_backends(std::string_view body_json, JsonReader& reader,
                       std::vector<BackendInfo>& out);
Reject decode_jobs(std::string_view body_json, JsonReader& reader, std::vector<JobInfo>& out);
Reject decode_earnings(std::string_view body_json, JsonReader& reader, EarningsReport& out);
Reject decode_shards(std::string_view body_json, JsonReader& reader, std::vector<ShardInfo>& out);
Reject decode_store(std::string_view body_json, JsonReader& reader, StoreInfo& out);
Reject decode_intake(std::string_view body_json, JsonReader& reader,
                     std::vector<IntakeCounter>& out);

}  // namespace pylon::proto
