#include "proto/control_protocol.hpp"

#include <algorithm>
#include <vector>

#include "proto/json_reader.hpp"
#include "proto/json_writer.hpp"

namespace pylon::proto {
namespace {

constexpr std::size_t text_bytes_max = 1 << 20;

bool is_job_status(std::string_view s) {
    return s == "pending" || s == "processing" || s == "completed" || s == "failed" ||
           s == "cancelled";
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return s;
}

// Reads the limit/status arguments of Jobs and Earnings.
Reject parse_list_args(simdjson::dom::object args, ControlRequest& out, std::string& detail) {
    for (auto [key, value] : args) {
        if (key == "limit") {
            std::uint64_t limit = 0;
            if (json_uint(value, UINT64_MAX, limit) != Reject::none || limit == 0 ||
                limit > control_list_limit_max) {
                detail =
                    "limit must be an integer from 1 to " + std::to_string(control_list_limit_max);
                return Reject::bad_param;
            }
            out.limit = limit;
        } else if (key == "status" && out.name == "Jobs") {
            std::string_view s;
            if (json_string(value, 32, s) != Reject::none || !is_job_status(s)) {
                detail = "status must be one of pending, processing, completed, failed, cancelled";
                return Reject::bad_param;
            }
            out.status.assign(s);
        } else {
            detail = "unknown argument '" + std::string(key) + "' for " + out.name;
            return Reject::unknown_field;
        }
    }
    return Reject::none;
}

// The first key that appears twice in `args`, or "" (JSON leaves duplicates undefined; a request
// that says two things is refused rather than read one way). Sorted copy: a 64 KiB line may carry
// thousands of keys.
std::string_view duplicate_key(simdjson::dom::object args) {
    std::vector<std::string_view> keys;
    keys.reserve(args.size());
    for (auto [key, value] : args) {
        keys.push_back(key);
    }
    std::sort(keys.begin(), keys.end());
    auto dup = std::adjacent_find(keys.begin(), keys.end());
    return dup == keys.end() ? std::string_view() : *dup;
}

// Requests that take no arguments: a tagged form may only carry null or {}.
bool takes_no_arguments(std::string_view name) {
    constexpr std::string_view names[] = {"Ping",   "Shutdown",    "Status",     "Health",
                                          "Relays", "Backends",    "Intake",     "Shards",
                                          "Store",  "Reload",      "Subscribe",  "Supervisor",
                                          "Memory", "StartWorker", "StopWorker", "RestartWorker"};
    for (std::string_view n : names) {
        if (n == name) {
            return true;
        }
    }
    return false;
}

// Reads the reset argument of Metrics.
Reject parse_metrics_args(simdjson::dom::object args, ControlRequest& out, std::string& detail) {
    for (auto [key, value] : args) {
        if (key != "reset") {
            detail = "unknown argument '" + std::string(key) + "' for Metrics";
            return Reject::unknown_field;
        }
        if (value.get_bool().get(out.reset) != simdjson::SUCCESS) {
            detail = "reset must be true or false";
            return Reject::bad_param;
        }
    }
    return Reject::none;
}

// Field readers for the decoders: absent fields keep their defaults, a wrong type fails.
struct FieldReader {
    simdjson::dom::object obj;
    Reject result = Reject::none;

    simdjson::dom::element get(std::string_view key, bool& found) {
        simdjson::dom::element e;
        found = obj.at_key(key).get(e) == simdjson::SUCCESS && !e.is_null();
        return e;
    }
    void fail() {
        if (result == Reject::none) {
            result = Reject::wrong_type;
        }
    }
    void text(std::string_view key, std::string& out) {
        bool found = false;
        simdjson::dom::element e = get(key, found);
        std::string_view s;
        if (found && json_string(e, text_bytes_max, s) == Reject::none) {
            out.assign(s);
        } else if (found) {
            fail();
        }
    }
    void boolean(std::string_view key, bool& out) {
        bool found = false;
        simdjson::dom::element e = get(key, found);
        if (found && e.get_bool().get(out) != simdjson::SUCCESS) {
            fail();
        }
    }
    void u64(std::string_view key, std::uint64_t& out) {
        bool found = false;
        simdjson::dom::element e = get(key, found);
        if (found && json_uint(e, UINT64_MAX, out) != Reject::none) {
            fail();
        }
    }
    void u32(std::string_view key, std::uint32_t& out) {
        std::uint64_t v = out;
        u64(key, v);
        out = static_cast<std::uint32_t>(v);
    }
    void i64(std::string_view key, std::int64_t& out) {
        bool found = false;
        simdjson::dom::element e = get(key, found);
        if (found && e.get_int64().get(out) != simdjson::SUCCESS) {
            fail();
        }
    }
    void opt_i64(std::string_view key, std::optional<std::int64_t>& out) {
        bool found = false;
        simdjson::dom::element e = get(key, found);
        std::int64_t v = 0;
        if (!found) {
            out.reset();
        } else if (e.get_int64().get(v) == simdjson::SUCCESS) {
            out = v;
        } else {
            fail();
        }
    }
    void list(std::string_view key, std::vector<std::string>& out) {
        bool found = false;
        simdjson::dom::element e = get(key, found);
        simdjson::dom::array arr;
        if (!found) {
            return;
        }
        if (json_array(e, arr) != Reject::none) {
            fail();
            return;
        }
        for (simdjson::dom::element item : arr) {
            std::string_view s;
            if (json_string(item, text_bytes_max, s) != Reject::none) {
                fail();
                return;
            }
            out.emplace_back(s);
        }
    }
};

void opt_int(JsonWriter& w, std::string_view key, const std::optional<std::int64_t>& v) {
    w.key(key);
    if (v) {
        w.int64(*v);
    } else {
        w.null();
    }
}

void opt_text(JsonWriter& w, std::string_view key, const std::string& v) {
    w.key(key);
    if (v.empty()) {
        w.null();
    } else {
        w.string(v);
    }
}

void write_job(JsonWriter& w, const JobInfo& j) {
    w.begin_object();
    w.field("id", j.id);
    opt_text(w, "request_id", j.request_id);
    w.field_int("kind", j.kind);
    w.field("customer_pubkey", j.customer_pubkey);
    w.field("status", j.status);
    w.field_int("price_msats", j.price_msats);
    opt_text(w, "error_message", j.error_message);
    w.field_int("created_at", j.created_at);
    opt_int(w, "started_at", j.started_at);
    opt_int(w, "completed_at", j.completed_at);
    opt_text(w, "backend", j.backend);
    opt_text(w, "model", j.model);
    opt_int(w, "prompt_tokens", j.prompt_tokens);
    opt_int(w, "completion_tokens", j.completion_tokens);
    opt_int(w, "queue_ms", j.queue_ms);
    opt_int(w, "first_token_ms", j.first_token_ms);
    opt_int(w, "total_ms", j.total_ms);
    w.end_object();
}

void read_job(FieldReader& f, JobInfo& j) {
    f.text("id", j.id);
    f.text("request_id", j.request_id);
    f.u32("kind", j.kind);
    f.text("customer_pubkey", j.customer_pubkey);
    f.text("status", j.status);
    f.i64("price_msats", j.price_msats);
    f.text("error_message", j.error_message);
    f.i64("created_at", j.created_at);
    f.opt_i64("started_at", j.started_at);
    f.opt_i64("completed_at", j.completed_at);
    f.text("backend", j.backend);
    f.text("model", j.model);
    f.opt_i64("prompt_tokens", j.prompt_tokens);
    f.opt_i64("completion_tokens", j.completion_tokens);
    f.opt_i64("queue_ms", j.queue_ms);
    f.opt_i64("first_token_ms", j.first_token_ms);
    f.opt_i64("total_ms", j.total_ms);
}

void write_relay(JsonWriter& w, const RelayInfo& r) {
    w.begin_object();
    w.field("url", r.url);
    w.field("state", r.state);
    opt_text(w, "last_error", r.last_error);
    w.field_int("connected_since_ms", r.connected_since_ms);
    w.key("connects");
    w.uint64(r.connects);
    w.key("disconnects");
    w.uint64(r.disconnects);
    w.key("events_received");
    w.uint64(r.events_received);
    w.key("events_published");
    w.uint64(r.events_published);
    w.key("progress_dropped");
    w.uint64(r.progress_dropped);
    w.key("publish_refused");
    w.uint64(r.publish_refused);
    w.key("unreadable");
    w.uint64(r.unreadable);
    w.end_object();
}

void write_backend(JsonWriter& w, const BackendInfo& b) {
    w.begin_object();
    w.field("id", b.id);
    w.field("url", b.url);
    w.key("available");
    w.boolean(b.available);
    w.key("default");
    w.boolean(b.is_default);
    w.key("loading");
    w.boolean(b.loading);
    w.key("models");
    w.begin_array();
    for (const std::string& m : b.models) {
        w.string(m);
    }
    w.end_array();
    w.field_int("slots", b.slots);
    w.field_int("slots_busy", b.slots_busy);
    w.field_int("queued", b.queued);
    opt_text(w, "last_error", b.last_error);
    w.end_object();
}

// Parses `body` as an array and calls fn(FieldReader&) for each object in it.
template <typename Fn>
Reject for_each_object(std::string_view body, JsonReader& reader, Fn fn) {
    simdjson::dom::element root;
    if (Reject r = reader.parse(body, root); r != Reject::none) {
        return r;
    }
    simdjson::dom::array arr;
    if (Reject r = json_array(root, arr); r != Reject::none) {
        return r;
    }
    for (simdjson::dom::element item : arr) {
        FieldReader f;
        if (Reject r = json_object(item, f.obj); r != Reject::none) {
            return r;
        }
        fn(f);
        if (f.result != Reject::none) {
            return f.result;
        }
    }
    return Reject::none;
}

Reject object_body(std::string_view body, JsonReader& reader, FieldReader& f) {
    simdjson::dom::element root;
    if (Reject r = reader.parse(body, root); r != Reject::none) {
        return r;
    }
    return json_object(root, f.obj);
}

}  // namespace

Reject parse_control_request(std::string_view line, JsonReader& reader, ControlRequest& out,
                             std::string& detail) {
    out = ControlRequest{};
    simdjson::dom::element root;
    if (Reject r = reader.parse(trim(line), root); r != Reject::none) {
        detail = r == Reject::too_large ? "request too large" : "malformed JSON";
        return r;
    }
    std::string_view name;
    if (root.get_string().get(name) == simdjson::SUCCESS) {
        out.name.assign(name);
        out.form = ControlForm::bare;
        return Reject::none;
    }
    simdjson::dom::object obj;
    if (root.get_object().get(obj) != simdjson::SUCCESS || obj.size() == 0) {
        detail = "a request is a JSON string (\"Status\") or an object with one key";
        return Reject::wrong_type;
    }
    simdjson::dom::element type;
    if (obj.at_key("type").get(type) == simdjson::SUCCESS) {
        // autopilotd's form (serde, internally tagged): other keys are ignored as serde ignores
        // them, but a second `type` would make the request say two things, and it is refused
        // rather than read one way.
        if (!type.is_string()) {
            detail = "type must be a string (autopilotd's form: {\"type\":\"Status\"})";
            return Reject::wrong_type;
        }
        std::size_t types = 0;
        for (auto field : obj) {
            types += field.key == "type" ? 1u : 0u;
        }
        if (types > 1) {
            detail = "type given twice";
            return Reject::bad_param;
        }
        out.form = ControlForm::typed;
        out.name.assign(type.get_string().value_unsafe());
        return Reject::none;
    }
    if (obj.size() != 1) {
        detail = "a request object has exactly one key, the request name";
        return Reject::bad_arity;
    }
    auto [key, value] = *obj.begin();
    out.name.assign(key);
    out.form = ControlForm::tagged;
    out.args_json = simdjson::minify(value);
    simdjson::dom::object args;
    if (value.is_null()) {
        return Reject::none;
    }
    if (value.get_object().get(args) != simdjson::SUCCESS) {
        detail = "the arguments of " + out.name + " must be an object";
        return Reject::wrong_type;
    }
    if (std::string_view dup = duplicate_key(args); !dup.empty()) {
        detail = "argument '" + std::string(dup) + "' given twice for " + out.name;
        return Reject::bad_param;
    }
    if (out.name == "Jobs" || out.name == "Earnings") {
        return parse_list_args(args, out, detail);
    }
    if (out.name == "Metrics") {
        return parse_metrics_args(args, out, detail);
    }
    if (args.size() > 0 && takes_no_arguments(out.name)) {
        detail = out.name + " takes no arguments";
        return Reject::unknown_field;
    }
    return Reject::none;
}

void encode_pong(std::string& out) {
    out += "\"Pong\"";
}

void encode_ok(std::string& out) {
    out += "\"Ok\"";
}

void encode_error(std::string_view message, std::string& out) {
    JsonWriter w(out);
    w.begin_object();
    w.field("Error", message);
    w.end_object();
}

void encode_status(const StatusReply& s, std::string& out) {
    JsonWriter w(out);
    w.begin_object();
    w.key("Status");
    w.begin_object();
    w.key("running");
    w.boolean(s.running);
    w.key("uptime_secs");
    w.uint64(s.uptime_secs);
    w.key("provider_active");
    w.boolean(s.provider_active);
    w.key("host_active");
    w.boolean(s.host_active);
    w.key("jobs_completed");
    w.uint64(s.jobs_completed);
    w.key("earnings_msats");
    w.uint64(s.earnings_msats);
    w.end_object();
    w.end_object();
}

void encode_health(const HealthReply& h, std::string& out) {
    JsonWriter w(out);
    w.begin_object();
    w.key("Health");
    w.begin_object();
    w.field_int("pid", h.pid);
    w.key("uptime_secs");
    w.uint64(h.uptime_secs);
    w.field_int("protocol_version", h.protocol_version);
    w.field_int("shards", h.shards);
    w.field("version", h.version);
    w.field("mode", h.mode);
    w.field_int("started_at_ms", h.started_at_ms);
    w.field("home", h.home);
    w.key("events_dropped");
    w.uint64(h.events_dropped);
    w.field("config", h.config);
    w.end_object();
    w.end_object();
}

void encode_relay_list(const std::vector<RelayInfo>& relays, std::string& out) {
    JsonWriter w(out);
    w.begin_array();
    for (const RelayInfo& r : relays) {
        write_relay(w, r);
    }
    w.end_array();
}

void encode_relays(const std::vector<RelayInfo>& relays, std::string& out) {
    out += "{\"Relays\":";
    encode_relay_list(relays, out);
    out += "}";
}

void encode_backend_list(const std::vector<BackendInfo>& backends, std::string& out) {
    JsonWriter w(out);
    w.begin_array();
    for (const BackendInfo& b : backends) {
        write_backend(w, b);
    }
    w.end_array();
}

void encode_backends(const std::vector<BackendInfo>& backends, std::string& out) {
    out += "{\"Backends\":";
    encode_backend_list(backends, out);
    out += "}";
}

void encode_job_list(const std::vector<JobInfo>& jobs, std::string& out) {
    JsonWriter w(out);
    w.begin_array();
    for (const JobInfo& j : jobs) {
        write_job(w, j);
    }
    w.end_array();
}

void encode_jobs(const std::vector<JobInfo>& jobs, std::string& out) {
    out += "{\"Jobs\":";
    encode_job_list(jobs, out);
    out += "}";
}

void encode_earnings_body(const EarningsReport& e, std::string& out) {
    JsonWriter w(out);
    w.begin_object();
    w.key("summary");
    w.begin_object();
    w.field_int("total_sats", e.total_msats / 1000);
    w.field_int("total_msats", e.total_msats);
    w.field_int("job_count", e.job_count);
    w.key("by_source");
    w.begin_object();
    for (const auto& [source, msats] : e.by_source) {
        w.field_int(source, msats);
    }
    w.end_object();
    w.end_object();
    w.key("recent");
    w.begin_array();
    for (const EarningInfo& r : e.recent) {
        w.begin_object();
        w.field("id", r.id);
        opt_text(w, "job_id", r.job_id);
        w.field_int("amount_msats", r.amount_msats);
        w.field("source", r.source);
        w.field_int("earned_at", r.earned_at);
        w.end_object();
    }
    w.end_array();
    w.end_object();
}

void encode_earnings(const EarningsReport& report, std::string& out) {
    out += "{\"Earnings\":";
    encode_earnings_body(report, out);
    out += "}";
}

void encode_shards(const std::vector<ShardInfo>& shards, std::string& out) {
    JsonWriter w(out);
    w.begin_object();
    w.key("Shards");
    w.begin_array();
    for (const ShardInfo& s : shards) {
        w.begin_object();
        w.field_int("id", s.id);
        const std::pair<const char*, std::uint64_t> counters[] = {
            {"loops", s.loops},
            {"waits", s.waits},
            {"cqes", s.cqes},
            {"tasks_resumed", s.tasks_resumed},
            {"timers_fired", s.timers_fired},
            {"messages_in", s.messages_in},
            {"messages_out", s.messages_out},
            {"wakes_sent", s.wakes_sent},
            {"wakes_received", s.wakes_received},
            {"foreign_posts", s.foreign_posts},
            {"mailbox_full", s.mailbox_full},
            {"stalls", s.stalls},
            {"stall_max_us", s.stall_max_us},
            {"events_emitted", s.events_emitted},
            {"events_dropped", s.events_dropped},
            {"store_requests", s.store_requests},
        };
        for (const auto& [name, value] : counters) {
            w.key(name);
            w.uint64(value);
        }
        w.end_object();
    }
    w.end_array();
    w.end_object();
}

void encode_worker_reply(const WorkerReply& r, std::string& out) {
    JsonWriter w(out);
    w.begin_object();
    w.key("success");
    w.boolean(r.success);
    w.field("message", r.message);
    if (r.has_data) {
        w.key("data");
        w.begin_object();
        w.field("worker_status", r.worker_status);
        opt_int(w, "worker_pid", r.worker_pid);
        w.key("uptime_seconds");
        w.uint64(r.uptime_seconds);
        w.key("total_restarts");
        w.uint64(r.total_restarts);
        w.key("consecutive_failures");
        w.uint64(r.consecutive_failures);
        w.key("memory_available_bytes");
        w.uint64(r.memory_available_bytes);
        w.key("memory_total_bytes");
        w.uint64(r.memory_total_bytes);
        w.end_object();
    }
    w.end_object();
}

Reject parse_control_reply(std::string_view line, JsonReader& reader, ControlReply& out) {
    out = ControlReply{};
    simdjson::dom::element root;
    if (Reject r = reader.parse(trim(line), root); r != Reject::none) {
        return r;
    }
    std::string_view tag;
    if (root.get_string().get(tag) == simdjson::SUCCESS) {
        out.tag.assign(tag);
        return Reject::none;
    }
    simdjson::dom::object obj;
    if (root.get_object().get(obj) != simdjson::SUCCESS || obj.size() == 0) {
        return Reject::wrong_type;
    }
    if (obj.size() != 1) {
        simdjson::dom::element success;
        if (obj.at_key("success").get(success) == simdjson::SUCCESS) {
            out.tag = "success";
            out.body_json = simdjson::minify(root);
            return Reject::none;
        }
        return Reject::bad_arity;
    }
    auto [key, value] = *obj.begin();
    out.tag.assign(key);
    out.body_json = simdjson::minify(value);
    if (out.tag == "Error") {
        std::string_view msg;
        if (value.get_string().get(msg) == simdjson::SUCCESS) {
            out.error.assign(msg);
        }
    }
    return Reject::none;
}

Reject decode_status(std::string_view body, JsonReader& reader, StatusReply& out) {
    FieldReader f;
    if (Reject r = object_body(body, reader, f); r != Reject::none) {
        return r;
    }
    f.boolean("running", out.running);
    f.u64("uptime_secs", out.uptime_secs);
    f.boolean("provider_active", out.provider_active);
    f.boolean("host_active", out.host_active);
    f.u64("jobs_completed", out.jobs_completed);
    f.u64("earnings_msats", out.earnings_msats);
    return f.result;
}

Reject decode_health(std::string_view body, JsonReader& reader, HealthReply& out) {
    FieldReader f;
    if (Reject r = object_body(body, reader, f); r != Reject::none) {
        return r;
    }
    f.i64("pid", out.pid);
    f.u64("uptime_secs", out.uptime_secs);
    std::int64_t version = out.protocol_version;
    f.i64("protocol_version", version);
    out.protocol_version = static_cast<int>(version);
    std::uint32_t shards = out.shards;
    f.u32("shards", shards);
    out.shards = shards;
    f.text("version", out.version);
    f.text("mode", out.mode);
    f.i64("started_at_ms", out.started_at_ms);
    f.text("home", out.home);
    f.u64("events_dropped", out.events_dropped);
    f.text("config", out.config);  // absent from Pylon v0.1 and older nodes: ""
    return f.result;
}

Reject decode_relays(std::string_view body, JsonReader& reader, std::vector<RelayInfo>& out) {
    out.clear();
    return for_each_object(body, reader, [&out](FieldReader& f) {
        RelayInfo r;
        f.text("url", r.url);
        f.text("state", r.state);
        f.text("last_error", r.last_error);
        f.i64("connected_since_ms", r.connected_since_ms);
        f.u64("connects", r.connects);
        f.u64("disconnects", r.disconnects);
        f.u64("events_received", r.events_received);
        f.u64("events_published", r.events_published);
        f.u64("progress_dropped", r.progress_dropped);
        f.u64("publish_refused", r.publish_refused);
        f.u64("unreadable", r.unreadable);
        out.push_back(std::move(r));
    });
}

Reject decode_backends(std::string_view body, JsonReader& reader, std::vector<BackendInfo>& out) {
    out.clear();
    return for_each_object(body, reader, [&out](FieldReader& f) {
        BackendInfo b;
        f.text("id", b.id);
        f.text("url", b.url);
        f.boolean("available", b.available);
        f.boolean("default", b.is_default);
        f.boolean("loading", b.loading);
        f.list("models", b.models);
        f.u32("slots", b.slots);
        f.u32("slots_busy", b.slots_busy);
        f.u32("queued", b.queued);
        f.text("last_error", b.last_error);
        out.push_back(std::move(b));
    });
}

Reject decode_jobs(std::string_view body, JsonReader& reader, std::vector<JobInfo>& out) {
    out.clear();
    return for_each_object(body, reader, [&out](FieldReader& f) {
        JobInfo j;
        read_job(f, j);
        out.push_back(std::move(j));
    });
}

Reject decode_earnings(std::string_view body, JsonReader& reader, EarningsReport& out) {
    out = EarningsReport{};
    FieldReader f;
    if (Reject r = object_body(body, reader, f); r != Reject::none) {
        return r;
    }
    simdjson::dom::object summary;
    if (f.obj.at_key("summary").get(summary) == simdjson::SUCCESS) {
        FieldReader s{summary};
        s.i64("total_msats", out.total_msats);
        s.i64("job_count", out.job_count);
        simdjson::dom::object by_source;
        if (summary.at_key("by_source").get(by_source) == simdjson::SUCCESS) {
            for (auto [key, value] : by_source) {
                std::int64_t msats = 0;
                if (value.get_int64().get(msats) != simdjson::SUCCESS) {
                    return Reject::wrong_type;
                }
                out.by_source.emplace_back(std::string(key), msats);
            }
        }
        if (s.result != Reject::none) {
            return s.result;
        }
    }
    simdjson::dom::array recent;
    if (f.obj.at_key("recent").get(recent) == simdjson::SUCCESS) {
        for (simdjson::dom::element item : recent) {
            FieldReader r;
            if (Reject rej = json_object(item, r.obj); rej != Reject::none) {
                return rej;
            }
            EarningInfo e;
            r.text("id", e.id);
            r.text("job_id", e.job_id);
            r.i64("amount_msats", e.amount_msats);
            r.text("source", e.source);
            r.i64("earned_at", e.earned_at);
            if (r.result != Reject::none) {
                return r.result;
            }
            out.recent.push_back(std::move(e));
        }
    }
    return Reject::none;
}

// The StoreInfo fields by name, for encode_store and decode_store.
template <typename Info, typename Fn>
void store_fields(Info& s, Fn&& fn) {
    fn("requests", s.requests);
    fn("transactions", s.transactions);
    fn("transaction_max", s.transaction_max);
    fn("failed_commits", s.failed_commits);
    fn("transaction_reruns", s.transaction_reruns);
    fn("pruned_requests", s.pruned_requests);
    fn("queued", s.queued);
    fn("waited_transactions", s.waited_transactions);
    fn("lock_wait_ms", s.lock_wait_ms);
    fn("reads_in_lock_waits", s.reads_in_lock_waits);
}

void encode_store_body(const StoreInfo& store, std::string& out) {
    JsonWriter w(out);
    w.begin_object();
    store_fields(store, [&w](const char* name, std::uint64_t v) {
        w.key(name);
        w.uint64(v);
    });
    w.end_object();
}

void encode_store(const StoreInfo& store, std::string& out) {
    out += "{\"Store\":";
    encode_store_body(store, out);
    out += "}";
}

Reject decode_store(std::string_view body, JsonReader& reader, StoreInfo& out) {
    FieldReader f;
    if (Reject r = object_body(body, reader, f); r != Reject::none) {
        return r;
    }
    store_fields(out, [&f](const char* name, std::uint64_t& v) { f.u64(name, v); });
    return f.result;
}

Reject decode_shards(std::string_view body, JsonReader& reader, std::vector<ShardInfo>& out) {
    out.clear();
    return for_each_object(body, reader, [&out](FieldReader& f) {
        ShardInfo s;
        f.u32("id", s.id);
        f.u64("loops", s.loops);
        f.u64("waits", s.waits);
        f.u64("cqes", s.cqes);
        f.u64("tasks_resumed", s.tasks_resumed);
        f.u64("timers_fired", s.timers_fired);
        f.u64("messages_in", s.messages_in);
        f.u64("messages_out", s.messages_out);
        f.u64("wakes_sent", s.wakes_sent);
        f.u64("wakes_received", s.wakes_received);
        f.u64("foreign_posts", s.foreign_posts);
        f.u64("mailbox_full", s.mailbox_full);
        f.u64("stalls", s.stalls);
        f.u64("stall_max_us", s.stall_max_us);
        f.u64("events_emitted", s.events_emitted);
        f.u64("events_dropped", s.events_dropped);
        f.u64("store_requests", s.store_requests);
        out.push_back(std::move(s));
    });
}

}  // namespace pylon::proto

namespace pylon::proto {

void encode_intake_body(const std::vector<IntakeCounter>& counters, std::string& out) {
    JsonWriter w(out);
    w.begin_object();
    for (const IntakeCounter& c : counters) {
        w.key(c.reason);
        w.uint64(c.count);
    }
    w.end_object();
}

void encode_intake(const std::vector<IntakeCounter>& counters, std::string& out) {
    out += "{\"Intake\":";
    encode_intake_body(counters, out);
    out += "}";
}

Reject decode_intake(std::string_view body, JsonReader& reader, std::vector<IntakeCounter>& out) {
    out.clear();
    simdjson::dom::element root;
    if (Reject r = reader.parse(body, root); r != Reject::none) {
        return r;
    }
    simdjson::dom::object obj;
    if (Reject r = json_object(root, obj); r != Reject::none) {
        return r;
    }
    for (auto [key, value] : obj) {
        std::uint64_t n = 0;
        if (value.get_uint64().get(n) != simdjson::SUCCESS) {
            return Reject::wrong_type;
        }
        out.push_back({std::string(key), n});
    }
    return Reject::none;
}

}  // namespace pylon::proto
