// DomainEvent: what happened in the node, as one value: Pylon v0.1's DomainEvent set
// (reference/pylon-v0.1.md §5.8: IdentityLoaded, WentOnline, JobReceived, JobStarted,
// JobProgress, JobCompleted, JobFailed, PaymentReceived, InvoiceCreated, RelayConnected,
// RelayDisconnected, BackendAvailable, BackendUnavailable, ...) plus ours (JobCancelled, memory
// and supervision events, ConfigReloaded, ShuttingDown). Events travel from the shard where they
// happen to shard 0 (engine/event_bus.hpp), which streams them to `Subscribe` connections of
// the control socket as NDJSON in serde's externally tagged form:
//
//   {"JobReceived":{"job_id":"job_0123456789abcdef","kind":5050,"customer_pubkey":"..","at_ms":..}}
//
// One flat struct (only the fields of its kind are meaningful; domain_event.cpp lists them) so
// that events are cheap to build and move. Encoding and decoding are pure: any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/reject.hpp"

namespace pylon::proto {

class JsonReader;

enum class EventKind : std::uint8_t {
    identity_created,     // npub
    identity_loaded,      // npub
    went_online,          // relays
    went_offline,         //
    job_received,         // job_id, job_kind, customer_pubkey
    job_started,          // job_id, model
    job_progress,         // job_id, progress (0..1)
    job_completed,        // job_id, amount_msats?, duration_ms
    job_failed,           // job_id, error
    job_cancelled,        // job_id, reason
    payment_received,     // job_id, amount_msats
    invoice_created,      // job_id, bolt11, amount_msats
    relay_connected,      // url
    relay_disconnected,   // url, reason?
    backend_available,    // backend_id
    backend_unavailable,  // backend_id, reason?
    backends_registered,  // ids
    models_refreshed,     // backend_id, models
    balance_updated,      // balance_sats
    memory_low,           // available_bytes, total_bytes
    memory_critical,      // available_bytes, total_bytes
    memory_normal,        // available_bytes, total_bytes
    process_killed,       // pid, name, rss_bytes, reason
    child_state_changed,  // name, state, pid?, reason?
    config_reloaded,      // keys (applied), not_applied
    shutting_down,        // reason
};
inline constexpr std::size_t event_kind_count = 26;

// "JobReceived" etc.; nullopt for an unknown name.
std::string_view event_kind_name(EventKind kind) noexcept;
std::optional<EventKind> event_kind_from_name(std::string_view name) noexcept;

struct DomainEvent {
    EventKind kind = EventKind::went_offline;
    std::int64_t at_ms = 0;  // unix milliseconds

    std::string job_id;
    std::uint32_t job_kind = 0;
    std::string customer_pubkey;
    std::string model;
    double progress = 0;
    std::optional<std::uint64_t> amount_msats;
    std::uint64_t duration_ms = 0;
    std::string error;   // JobFailed
    std::string reason;  // JobCancelled, RelayDisconnected, BackendUnavailable, ...
    std::string bolt11;
    std::string url;
    std::string backend_id;
    std::vector<std::string> relays;
    std::vector<std::string> ids;
    std::vector<std::string> models;
    std::vector<std::string> keys;
    std::vector<std::string> not_applied;
    std::int64_t balance_sats = 0;
    std::string npub;
    std::optional<std::int64_t> pid;
    std::string name;
    std::string state;
    std::uint64_t available_bytes = 0;
    std::uint64_t total_bytes = 0;
    std::uint64_t rss_bytes = 0;

    // Builders for the common ones (at_ms is set by whoever emits).
    static DomainEvent job_received(std::string job_id, std::uint32_t job_kind,
                                    std::string customer_pubkey);
    static DomainEvent job_started(std::string job_id, std::string model);
    static DomainEvent job_progress(std::string job_id, double progress);
    static DomainEvent job_completed(std::string job_id, std::optional<std::uint64_t> amount_msats,
                                     std::uint64_t duration_ms);
    static DomainEvent job_failed(std::string job_id, std::string error);
    static DomainEvent relay_connected(std::string url);
    static DomainEvent relay_disconnected(std::string url, std::string reason);
    static DomainEvent backend_available(std::string backend_id);
    static DomainEvent backend_unavailable(std::string backend_id, std::string reason);
};

// Appends {"Kind":{...fields...,"at_ms":N}} (no newline).
void encode_domain_event(const DomainEvent& event, std::string& out);
std::string domain_event_json(const DomainEvent& event);

// Parses one encoded event (unknown fields are ignored; an unknown kind is
// Reject::unknown_message).
Reject decode_domain_event(std::string_view json, JsonReader& reader, DomainEvent& out);

// One human line, like Pylon's description(): "job job_01.. received (kind 5050) from 3bf0..".
std::string describe_domain_event(const DomainEvent& event);

}  // namespace pylon::proto
