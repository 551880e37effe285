#include "proto/domain_event.hpp"

#include <cstdio>

#include "proto/json_reader.hpp"
#include "proto/json_writer.hpp"
#include "reactor/assert.hpp"

namespace pylon::proto {
namespace {

// The fields of each kind, in the order they are written.
enum Field : std::uint32_t {
    f_npub = 1u << 0,
    f_relays = 1u << 1,
    f_job_id = 1u << 2,
    f_job_kind = 1u << 3,
    f_customer = 1u << 4,
    f_model = 1u << 5,
    f_progress = 1u << 6,
    f_amount = 1u << 7,  // optional: null when absent
    f_duration = 1u << 8,
    f_error = 1u << 9,
    f_reason = 1u << 10,  // null when empty
    f_bolt11 = 1u << 11,
    f_url = 1u << 12,
    f_backend = 1u << 13,
    f_ids = 1u << 14,
    f_models = 1u << 15,
    f_balance = 1u << 16,
    f_pid = 1u << 17,  // optional: null when absent
    f_name = 1u << 18,
    f_state = 1u << 19,
    f_available = 1u << 20,
    f_total = 1u << 21,
    f_rss = 1u << 22,
    f_keys = 1u << 23,
    f_not_applied = 1u << 24,
};

struct KindInfo {
    EventKind kind;
    std::string_view name;
    std::uint32_t fields;
};

constexpr KindInfo k_kinds[event_kind_count] = {
    {EventKind::identity_created, "IdentityCreated", f_npub},
    {EventKind::identity_loaded, "IdentityLoaded", f_npub},
    {EventKind::went_online, "WentOnline", f_relays},
    {EventKind::went_offline, "WentOffline", 0},
    {EventKind::job_received, "JobReceived", f_job_id | f_job_kind | f_customer},
    {EventKind::job_started, "JobStarted", f_job_id | f_model},
    {EventKind::job_progress, "JobProgress", f_job_id | f_progress},
    {EventKind::job_completed, "JobCompleted", f_job_id | f_amount | f_duration},
    {EventKind::job_failed, "JobFailed", f_job_id | f_error},
    {EventKind::job_cancelled, "JobCancelled", f_job_id | f_reason},
    {EventKind::payment_received, "PaymentReceived", f_job_id | f_amount},
    {EventKind::invoice_created, "InvoiceCreated", f_job_id | f_bolt11 | f_amount},
    {EventKind::relay_connected, "RelayConnected", f_url},
    {EventKind::relay_disconnected, "RelayDisconnected", f_url | f_reason},
    {EventKind::backend_available, "BackendAvailable", f_backend},
    {EventKind::backend_unavailable, "BackendUnavailable", f_backend | f_reason},
    {EventKind::backends_registered, "BackendsRegistered", f_ids},
    {EventKind::models_refreshed, "ModelsRefreshed", f_backend | f_models},
    {EventKind::balance_updated, "BalanceUpdated", f_balance},
    {EventKind::memory_low, "MemoryLow", f_available | f_total},
    {EventKind::memory_critical, "MemoryCritical", f_available | f_total},
    {EventKind::memory_normal, "MemoryNormal", f_available | f_total},
    {EventKind::process_killed, "ProcessKilled", f_pid | f_name | f_rss | f_reason},
    {EventKind::child_state_changed, "ChildStateChanged", f_name | f_state | f_pid | f_reason},
    {EventKind::config_reloaded, "ConfigReloaded", f_keys | f_not_applied},
    {EventKind::shutting_down, "ShuttingDown", f_reason},
};

const KindInfo& info(EventKind kind) {
    auto i = static_cast<std::size_t>(kind);
    PYLON_ASSERT(i < event_kind_count && k_kinds[i].kind == kind);
    return k_kinds[i];
}

void write_list(JsonWriter& w, std::string_view key, const std::vector<std::string>& list) {
    w.key(key);
    w.begin_array();
    for (const std::string& s : list) {
        w.string(s);
    }
    w.end_array();
}

void write_fields_a(const DomainEvent& e, std::uint32_t f, JsonWriter& w) {
    if ((f & f_npub) != 0) {
        w.field("npub", e.npub);
    }
    if ((f & f_relays) != 0) {
        write_list(w, "relays", e.relays);
    }
    if ((f & f_job_id) != 0) {
        w.field("job_id", e.job_id);
    }
    if ((f & f_job_kind) != 0) {
        w.field_int("kind", e.job_kind);
    }
    if ((f & f_customer) != 0) {
        w.field("customer_pubkey", e.customer_pubkey);
    }
    if ((f & f_model) != 0) {
        w.field("model", e.model);
    }
    if ((f & f_progress) != 0) {
        w.key("progress");
        w.number(e.progress);
    }
    if ((f & f_amount) != 0) {
        w.key("amount_msats");
        if (e.amount_msats) {
            w.uint64(*e.amount_msats);
        } else {
            w.null();
        }
    }
    if ((f & f_duration) != 0) {
        w.key("duration_ms");
        w.uint64(e.duration_ms);
    }
    if ((f & f_error) != 0) {
        w.field("error", e.error);
    }
    if ((f & f_bolt11) != 0) {
        w.field("bolt11", e.bolt11);
    }
    if ((f & f_url) != 0) {
        w.field("url", e.url);
    }
    if ((f & f_backend) != 0) {
        w.field("backend_id", e.backend_id);
    }
}

void write_fields_b(const DomainEvent& e, std::uint32_t f, JsonWriter& w) {
    if ((f & f_ids) != 0) {
        write_list(w, "ids", e.ids);
    }
    if ((f & f_models) != 0) {
        write_list(w, "models", e.models);
    }
    if ((f & f_balance) != 0) {
        w.field_int("balance_sats", e.balance_sats);
    }
    if ((f & f_pid) != 0) {
        w.key("pid");
        if (e.pid) {
            w.int64(*e.pid);
        } else {
            w.null();
        }
    }
    if ((f & f_name) != 0) {
        w.field("name", e.name);
    }
    if ((f & f_state) != 0) {
        w.field("state", e.state);
    }
    if ((f & f_available) != 0) {
        w.key("available_bytes");
        w.uint64(e.available_bytes);
    }
    if ((f & f_total) != 0) {
        w.key("total_bytes");
        w.uint64(e.total_bytes);
    }
    if ((f & f_rss) != 0) {
        w.key("rss_bytes");
        w.uint64(e.rss_bytes);
    }
    if ((f & f_keys) != 0) {
        write_list(w, "keys", e.keys);
    }
    if ((f & f_not_applied) != 0) {
        write_list(w, "not_applied", e.not_applied);
    }
    if ((f & f_reason) != 0) {
        w.key("reason");
        if (e.reason.empty()) {
            w.null();
        } else {
            w.string(e.reason);
        }
    }
}

Reject read_list(simdjson::dom::element v, std::vector<std::string>& out) {
    simdjson::dom::array arr;
    if (Reject r = json_array(v, arr); r != Reject::none) {
        return r;
    }
    out.clear();
    for (simdjson::dom::element item : arr) {
        std::string_view s;
        if (Reject r = json_string(item, 65536, s); r != Reject::none) {
            return r;
        }
        out.emplace_back(s);
    }
    return Reject::none;
}

Reject read_text(simdjson::dom::element v, std::string& out) {
    if (v.is_null()) {
        out.clear();
        return Reject::none;
    }
    std::string_view s;
    if (Reject r = json_string(v, 65536, s); r != Reject::none) {
        return r;
    }
    out.assign(s);
    return Reject::none;
}

Reject read_u64(simdjson::dom::element v, std::uint64_t& out) {
    return json_uint(v, UINT64_MAX, out);
}

Reject read_field(std::string_view key, simdjson::dom::element v, DomainEvent& e) {
    std::uint64_t n = 0;
    if (key == "npub") {
        return read_text(v, e.npub);
    } else if (key == "relays") {
        return read_list(v, e.relays);
    } else if (key == "job_id") {
        return read_text(v, e.job_id);
    } else if (key == "kind") {
        Reject r = json_uint(v, UINT32_MAX, n);
        e.job_kind = static_cast<std::uint32_t>(n);
        return r;
    } else if (key == "customer_pubkey") {
        return read_text(v, e.customer_pubkey);
    } else if (key == "model") {
        return read_text(v, e.model);
    } else if (key == "progress") {
        return v.get_double().get(e.progress) == simdjson::SUCCESS ? Reject::none
                                                                   : Reject::wrong_type;
    } else if (key == "amount_msats") {
        if (v.is_null()) {
            e.amount_msats.reset();
            return Reject::none;
        }
        Reject r = read_u64(v, n);
        e.amount_msats = n;
        return r;
    } else if (key == "duration_ms") {
        return read_u64(v, e.duration_ms);
    } else if (key == "error") {
        return read_text(v, e.error);
    } else if (key == "reason") {
        return read_text(v, e.reason);
    } else if (key == "bolt11") {
        return read_text(v, e.bolt11);
    } else if (key == "url") {
        return read_text(v, e.url);
    } else if (key == "backend_id") {
        return read_text(v, e.backend_id);
    }
    return Reject::unknown_field;
}

Reject read_field_b(std::string_view key, simdjson::dom::element v, DomainEvent& e) {
    if (key == "ids") {
        return read_list(v, e.ids);
    } else if (key == "models") {
        return read_list(v, e.models);
    } else if (key == "keys") {
        return read_list(v, e.keys);
    } else if (key == "not_applied") {
        return read_list(v, e.not_applied);
    } else if (key == "balance_sats") {
        return v.get_int64().get(e.balance_sats) == simdjson::SUCCESS ? Reject::none
                                                                      : Reject::wrong_type;
    } else if (key == "pid") {
        if (v.is_null()) {
            e.pid.reset();
            return Reject::none;
        }
        std::int64_t pid = 0;
        if (v.get_int64().get(pid) != simdjson::SUCCESS) {
            return Reject::wrong_type;
        }
        e.pid = pid;
        return Reject::none;
    } else if (key == "name") {
        return read_text(v, e.name);
    } else if (key == "state") {
        return read_text(v, e.state);
    } else if (key == "available_bytes") {
        return read_u64(v, e.available_bytes);
    } else if (key == "total_bytes") {
        return read_u64(v, e.total_bytes);
    } else if (key == "rss_bytes") {
        return read_u64(v, e.rss_bytes);
    } else if (key == "at_ms") {
        return v.get_int64().get(e.at_ms) == simdjson::SUCCESS ? Reject::none : Reject::wrong_type;
    }
    return Reject::none;  // unknown fields are ignored (newer daemons may add some)
}

std::string short_key(std::string_view hex) {
    if (hex.size() <= 12) {
        return std::string(hex);
    }
    return std::string(hex.substr(0, 8)) + "..";
}

}  // namespace

std::string_view event_kind_name(EventKind kind) noexcept {
    return info(kind).name;
}

std::optional<EventKind> event_kind_from_name(std::string_view name) noexcept {
    for (const KindInfo& k : k_kinds) {
        if (k.name == name) {
            return k.kind;
        }
    }
    return std::nullopt;
}

DomainEvent DomainEvent::job_received(std::string job_id, std::uint32_t job_kind,
                                      std::string customer_pubkey) {
    DomainEvent e;
    e.kind = EventKind::job_received;
    e.job_id = std::move(job_id);
    e.job_kind = job_kind;
    e.customer_pubkey = std::move(customer_pubkey);
    return e;
}

DomainEvent DomainEvent::job_started(std::string job_id, std::string model) {
    DomainEvent e;
    e.kind = EventKind::job_started;
    e.job_id = std::move(job_id);
    e.model = std::move(model);
    return e;
}

DomainEvent DomainEvent::job_progress(std::string job_id, double progress) {
    DomainEvent e;
    e.kind = EventKind::job_progress;
    e.job_id = std::move(job_id);
    e.progress = progress;
    return e;
}

DomainEvent DomainEvent::job_completed(std::string job_id,
                                       std::optional<std::uint64_t> amount_msats,
                                       std::uint64_t duration_ms) {
    DomainEvent e;
    e.kind = EventKind::job_completed;
    e.job_id = std::move(job_id);
    e.amount_msats = amount_msats;
    e.duration_ms = duration_ms;
    return e;
}

DomainEvent DomainEvent::job_failed(std::string job_id, std::string error) {
    DomainEvent e;
    e.kind = EventKind::job_failed;
    e.job_id = std::move(job_id);
    e.error = std::move(error);
    return e;
}

DomainEvent DomainEvent::relay_connected(std::string url) {
    DomainEvent e;
    e.kind = EventKind::relay_connected;
    e.url = std::move(url);
    return e;
}

DomainEvent DomainEvent::relay_disconnected(std::string url, std::string reason) {
    DomainEvent e;
    e.kind = EventKind::relay_disconnected;
    e.url = std::move(url);
    e.reason = std::move(reason);
    return e;
}

DomainEvent DomainEvent::backend_available(std::string backend_id) {
    DomainEvent e;
    e.kind = EventKind::backend_available;
    e.backend_id = std::move(backend_id);
    return e;
}

DomainEvent DomainEvent::backend_unavailable(std::string backend_id, std::string reason) {
    DomainEvent e;
    e.kind = EventKind::backend_unavailable;
    e.backend_id = std::move(backend_id);
    e.reason = std::move(reason);
    return e;
}

void encode_domain_event(const DomainEvent& event, std::string& out) {
    const KindInfo& k = info(event.kind);
    JsonWriter w(out);
    w.begin_object();
    w.key(k.name);
    w.begin_object();
    write_fields_a(event, k.fields, w);
    write_fields_b(event, k.fields, w);
    w.field_int("at_ms", event.at_ms);
    w.end_object();
    w.end_object();
}

std::string domain_event_json(const DomainEvent& event) {
    std::string out;
    encode_domain_event(event, out);
    return out;
}

Reject decode_domain_event(std::string_view json, JsonReader& reader, DomainEvent& out) {
    simdjson::dom::element root;
    if (Reject r = reader.parse(json, root); r != Reject::none) {
        return r;
    }
    simdjson::dom::object obj;
    if (Reject r = json_object(root, obj); r != Reject::none) {
        return r;
    }
    if (obj.size() != 1) {
        return Reject::bad_arity;
    }
    auto [name, body] = *obj.begin();
    std::optional<EventKind> kind = event_kind_from_name(name);
    if (!kind) {
        return Reject::unknown_message;
    }
    out = DomainEvent{};
    out.kind = *kind;
    simdjson::dom::object fields;
    if (Reject r = json_object(body, fields); r != Reject::none) {
        return r;
    }
    for (auto [key, value] : fields) {
        Reject r = read_field(key, value, out);
        if (r == Reject::unknown_field) {
            r = read_field_b(key, value, out);
        }
        if (r != Reject::none) {
            return r;
        }
    }
    return Reject::none;
}

std::string describe_domain_event(const DomainEvent& e) {
    char amount[48] = "";
    if (e.amount_msats) {
        std::snprintf(amount, sizeof amount, "%llu msats",
                      static_cast<unsigned long long>(*e.amount_msats));
    }
    switch (e.kind) {
        case EventKind::identity_created:
            return "identity created: " + e.npub;
        case EventKind::identity_loaded:
            return "identity loaded: " + e.npub;
        case EventKind::went_online:
            return "online on " + std::to_string(e.relays.size()) + " relay(s)";
        case EventKind::went_offline:
            return "offline";
        case EventKind::job_received:
            return "job " + e.job_id + " received (kind " + std::to_string(e.job_kind) + ") from " +
                   short_key(e.customer_pubkey);
        case EventKind::job_started:
            return "job " + e.job_id + " started on model " + e.model;
        case EventKind::job_progress: {
            char pct[16];
            std::snprintf(pct, sizeof pct, "%.0f%%", e.progress * 100);
            return "job " + e.job_id + " progress " + pct;
        }
        case EventKind::job_completed:
            return "job " + e.job_id + " completed in " + std::to_string(e.duration_ms) + " ms" +
                   (e.amount_msats ? std::string(", earned ") + amount : std::string());
        case EventKind::job_failed:
            return "job " + e.job_id + " failed: " + e.error;
        case EventKind::job_cancelled:
            return "job " + e.job_id + " cancelled: " + e.reason;
        case EventKind::payment_received:
            return "payment for job " + e.job_id + ": " + amount;
        case EventKind::invoice_created:
            return "invoice for job " + e.job_id + ": " + amount;
        case EventKind::relay_connected:
            return "relay connected: " + e.url;
        case EventKind::relay_disconnected:
            return "relay disconnected: " + e.url + (e.reason.empty() ? "" : " (" + e.reason + ")");
        case EventKind::backend_available:
            return "backend available: " + e.backend_id;
        case EventKind::backend_unavailable:
            return "backend unavailable: " + e.backend_id +
                   (e.reason.empty() ? "" : " (" + e.reason + ")");
        case EventKind::backends_registered:
            return "backends registered: " + std::to_string(e.ids.size());
        case EventKind::models_refreshed:
            return "models of " + e.backend_id + ": " + std::to_string(e.models.size());
        case EventKind::balance_updated:
            return "balance: " + std::to_string(e.balance_sats) + " sats";
        case EventKind::memory_low:
        case EventKind::memory_critical:
        case EventKind::memory_normal:
            return std::string(e.kind == EventKind::memory_low        ? "memory low: "
                               : e.kind == EventKind::memory_critical ? "memory critical: "
                                                                      : "memory normal: ") +
                   std::to_string(e.available_bytes / (1024 * 1024)) + " MiB available";
        case EventKind::process_killed:
            return "killed " + e.name + " (pid " + std::to_string(e.pid.value_or(0)) + ", " +
                   std::to_string(e.rss_bytes / (1024 * 1024)) + " MiB RSS): " + e.reason;
        case EventKind::child_state_changed:
            return "child " + e.name + ": " + e.state +
                   (e.reason.empty() ? "" : " (" + e.reason + ")");
        case EventKind::config_reloaded:
            return "config reloaded: " + std::to_string(e.keys.size()) + " change(s) applied, " +
                   std::to_string(e.not_applied.size()) + " need a restart";
        case EventKind::shutting_down:
            return "shutting down" + (e.reason.empty() ? "" : ": " + e.reason);
    }
    return "?";
}

}  // namespace pylon::proto
