#include "proto/supervision_protocol.hpp"

#include "proto/json_reader.hpp"
#include "proto/json_writer.hpp"

namespace pylon::proto {
namespace {

constexpr std::size_t text_bytes_max = 4096;
constexpr std::size_t children_max = 1024;

// Reads optional fields of one object; the first type error sticks in `result`.
struct Fields {
    simdjson::dom::object obj;
    Reject result = Reject::none;

    void text(std::string_view key, std::string& out) {
        simdjson::dom::element e;
        if (obj[key].get(e) != simdjson::SUCCESS || e.is_null()) {
            return;
        }
        std::string_view v;
        Reject r = json_string(e, text_bytes_max, v);
        if (r == Reject::none) {
            out.assign(v);
        } else if (result == Reject::none) {
            result = r;
        }
    }
    void u64(std::string_view key, std::uint64_t& out) {
        simdjson::dom::element e;
        if (obj[key].get(e) != simdjson::SUCCESS) {
            return;
        }
        if (e.get_uint64().get(out) != simdjson::SUCCESS && result == Reject::none) {
            result = Reject::wrong_type;
        }
    }
    void i64(std::string_view key, std::int64_t& out) {
        simdjson::dom::element e;
        if (obj[key].get(e) != simdjson::SUCCESS) {
            return;
        }
        if (e.get_int64().get(out) != simdjson::SUCCESS && result == Reject::none) {
            result = Reject::wrong_type;
        }
    }
    void opt_i64(std::string_view key, std::optional<std::int64_t>& out) {
        simdjson::dom::element e;
        if (obj[key].get(e) != simdjson::SUCCESS || e.is_null()) {
            return;
        }
        std::int64_t v = 0;
        if (e.get_int64().get(v) == simdjson::SUCCESS) {
            out = v;
        } else if (result == Reject::none) {
            result = Reject::wrong_type;
        }
    }
    void boolean(std::string_view key, bool& out) {
        simdjson::dom::element e;
        if (obj[key].get(e) != simdjson::SUCCESS) {
            return;
        }
        if (e.get_bool().get(out) != simdjson::SUCCESS && result == Reject::none) {
            result = Reject::wrong_type;
        }
    }
};

Reject object_of(std::string_view json, JsonReader& reader, Fields& f) {
    simdjson::dom::element root;
    if (Reject r = reader.parse(json, root); r != Reject::none) {
        return r;
    }
    return json_object(root, f.obj);
}

void u64_field(JsonWriter& w, std::string_view key, std::uint64_t v) {
    w.key(key);
    w.uint64(v);
}

void bool_field(JsonWriter& w, std::string_view key, bool v) {
    w.key(key);
    w.boolean(v);
}

void encode_child(JsonWriter& w, const ChildInfo& c) {
    w.begin_object();
    w.field("name", c.name);
    w.field("kind", c.kind);
    w.field("state", c.state);
    w.key("pid");
    if (c.pid) {
        w.int64(*c.pid);
    } else {
        w.null();
    }
    u64_field(w, "uptime_secs", c.uptime_secs);
    u64_field(w, "restarts", c.restarts);
    u64_field(w, "consecutive_failures", c.consecutive_failures);
    w.field("last_error", c.last_error);
    w.field("reason", c.reason);
    w.field("last_exit", c.last_exit);
    w.field_int("next_restart_in_ms", c.next_restart_in_ms);
    w.field_int("priority", c.priority);
    w.field("health", c.health);
    w.field("log", c.log_path);
    w.end_object();
}

Reject decode_child(simdjson::dom::element e, ChildInfo& c) {
    Fields f;
    if (Reject r = json_object(e, f.obj); r != Reject::none) {
        return r;
    }
    f.text("name", c.name);
    f.text("kind", c.kind);
    f.text("state", c.state);
    f.opt_i64("pid", c.pid);
    f.u64("uptime_secs", c.uptime_secs);
    f.u64("restarts", c.restarts);
    f.u64("consecutive_failures", c.consecutive_failures);
    f.text("last_error", c.last_error);
    f.text("reason", c.reason);
    f.text("last_exit", c.last_exit);
    f.i64("next_restart_in_ms", c.next_restart_in_ms);
    f.i64("priority", c.priority);
    f.text("health", c.health);
    f.text("log", c.log_path);
    return f.result;
}

}  // namespace

void encode_supervisor_body(const SupervisorInfo& info, std::string& out) {
    JsonWriter w(out);
    w.begin_object();
    w.field("exit_watch", info.exit_watch);
    u64_field(w, "orphans_reaped", info.orphans_reaped);
    u64_field(w, "stale_terminated", info.stale_terminated);
    w.key("children");
    w.begin_array();
    for (const ChildInfo& c : info.children) {
        encode_child(w, c);
    }
    w.end_array();
    w.end_object();
}

void encode_supervisor(const SupervisorInfo& info, std::string& out) {
    out += "{\"Supervisor\":";
    encode_supervisor_body(info, out);
    out += "}";
}

void encode_memory_body(const MemoryInfo& m, std::string& out) {
    JsonWriter w(out);
    w.begin_object();
    bool_field(w, "enabled", m.enabled);
    w.field("level", m.level);
    bool_field(w, "admitting", m.admitting);
    u64_field(w, "available_bytes", m.available_bytes);
    u64_field(w, "total_bytes", m.total_bytes);
    u64_field(w, "low_threshold_bytes", m.low_threshold_bytes);
    u64_field(w, "critical_threshold_bytes", m.critical_threshold_bytes);
    bool_field(w, "psi_armed", m.psi_armed);
    u64_field(w, "polls", m.polls);
    u64_field(w, "psi_wakes", m.psi_wakes);
    u64_field(w, "signals_sent", m.signals_sent);
    u64_field(w, "kills_aborted", m.kills_aborted);
    u64_field(w, "poll_cost_ns_last", m.poll_cost_ns_last);
    w.field("last_event", m.last_event);
    w.field_int("last_event_at_ms", m.last_event_at_ms);
    w.end_object();
}

void encode_memory(const MemoryInfo& info, std::string& out) {
    out += "{\"Memory\":";
    encode_memory_body(info, out);
    out += "}";
}

Reject decode_supervisor(std::string_view body, JsonReader& reader, SupervisorInfo& out) {
    Fields f;
    if (Reject r = object_of(body, reader, f); r != Reject::none) {
        return r;
    }
    f.text("exit_watch", out.exit_watch);
    f.u64("orphans_reaped", out.orphans_reaped);
    f.u64("stale_terminated", out.stale_terminated);
    simdjson::dom::array children;
    if (f.obj["children"].get_array().get(children) != simdjson::SUCCESS) {
        return Reject::missing_field;
    }
    for (simdjson::dom::element e : children) {
        if (out.children.size() >= children_max) {
            return Reject::too_large;
        }
        ChildInfo c;
        if (Reject r = decode_child(e, c); r != Reject::none) {
            return r;
        }
        out.children.push_back(std::move(c));
    }
    return f.result;
}

Reject decode_memory(std::string_view body, JsonReader& reader, MemoryInfo& out) {
    Fields f;
    if (Reject r = object_of(body, reader, f); r != Reject::none) {
        return r;
    }
    f.boolean("enabled", out.enabled);
    f.text("level", out.level);
    f.boolean("admitting", out.admitting);
    f.u64("available_bytes", out.available_bytes);
    f.u64("total_bytes", out.total_bytes);
    f.u64("low_threshold_bytes", out.low_threshold_bytes);
    f.u64("critical_threshold_bytes", out.critical_threshold_bytes);
    f.boolean("psi_armed", out.psi_armed);
    f.u64("polls", out.polls);
    f.u64("psi_wakes", out.psi_wakes);
    f.u64("signals_sent", out.signals_sent);
    f.u64("kills_aborted", out.kills_aborted);
    f.u64("poll_cost_ns_last", out.poll_cost_ns_last);
    f.text("last_event", out.last_event);
    f.i64("last_event_at_ms", out.last_event_at_ms);
    return f.result;
}

Reject decode_worker_reply(std::string_view line, JsonReader& reader, WorkerReply& out) {
    Fields f;
    if (Reject r = object_of(line, reader, f); r != Reject::none) {
        return r;
    }
    simdjson::dom::element success;
    if (f.obj["success"].get(success) != simdjson::SUCCESS) {
        return Reject::missing_field;
    }
    f.boolean("success", out.success);
    f.text("message", out.message);
    simdjson::dom::element data;
    out.has_data = f.obj["data"].get(data) == simdjson::SUCCESS && data.is_object();
    if (out.has_data) {
        Fields d;
        d.obj = data.get_object().value_unsafe();
        d.text("worker_status", out.worker_status);
        d.opt_i64("worker_pid", out.worker_pid);
        d.u64("uptime_seconds", out.uptime_seconds);
        d.u64("total_restarts", out.total_restarts);
        d.u64("consecutive_failures", out.consecutive_failures);
        d.u64("memory_available_bytes", out.memory_available_bytes);
        d.u64("memory_total_bytes", out.memory_total_bytes);
        if (d.result != Reject::none) {
            return d.result;
        }
    }
    return f.result;
}

Reject decode_child_name(std::string_view args_json, JsonReader& reader, std::string& name) {
    Fields f;
    if (Reject r = object_of(args_json, reader, f); r != Reject::none) {
        return r;
    }
    simdjson::dom::element e;
    if (f.obj["name"].get(e) != simdjson::SUCCESS) {
        return Reject::missing_field;
    }
    if (f.obj.size() != 1) {
        return Reject::unknown_field;  // `name` is the one argument
    }
    std::string_view v;
    if (Reject r = json_string(e, child_name_bytes_max, v); r != Reject::none) {
        return r;
    }
    name.assign(v);
    return Reject::none;
}

}  // namespace pylon::proto
