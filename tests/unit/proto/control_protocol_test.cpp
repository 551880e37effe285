#include "proto/control_protocol.hpp"

#include <gtest/gtest.h>

#include "proto/json_reader.hpp"

namespace pylon::proto {
namespace {

ControlRequest parse_ok(std::string_view line) {
    JsonReader reader;
    ControlRequest req;
    std::string detail;
    Reject r = parse_control_request(line, reader, req, detail);
    EXPECT_EQ(r, Reject::none) << line << ": " << detail;
    return req;
}

TEST(ControlProtocol, PylonRequestStrings) {
    for (const char* name : {"Ping", "Status", "Shutdown"}) {
        ControlRequest req = parse_ok(std::string("\"") + name + "\"");
        EXPECT_EQ(req.name, name);
        EXPECT_EQ(req.form, ControlForm::bare);
    }
    EXPECT_EQ(parse_ok("  \"Status\"\r").name, "Status");
}

TEST(ControlProtocol, PylonReplyStrings) {
    std::string out;
    encode_pong(out);
    EXPECT_EQ(out, "\"Pong\"");
    out.clear();
    encode_ok(out);
    EXPECT_EQ(out, "\"Ok\"");
    out.clear();
    encode_error("no \"such\" request", out);
    EXPECT_EQ(out, "{\"Error\":\"no \\\"such\\\" request\"}");
    out.clear();
    encode_status({true, 3723, true, false, 7, 7000}, out);
    EXPECT_EQ(out,
              "{\"Status\":{\"running\":true,\"uptime_secs\":3723,\"provider_active\":true,"
              "\"host_active\":false,\"jobs_completed\":7,\"earnings_msats\":7000}}");
}

TEST(ControlProtocol, TaggedJobsWithArguments) {
    ControlRequest req = parse_ok("{\"Jobs\":{\"limit\":5,\"status\":\"completed\"}}");
    EXPECT_EQ(req.name, "Jobs");
    EXPECT_EQ(req.form, ControlForm::tagged);
    EXPECT_EQ(req.limit, 5u);
    EXPECT_EQ(req.status, "completed");
    EXPECT_EQ(req.args_json, "{\"limit\":5,\"status\":\"completed\"}");
    req = parse_ok("\"Jobs\"");
    EXPECT_EQ(req.limit, control_list_limit_default);
    EXPECT_EQ(req.status, "");
    req = parse_ok("{\"Earnings\":{\"limit\":3}}");
    EXPECT_EQ(req.limit, 3u);
    req = parse_ok("{\"Earnings\":null}");
    EXPECT_EQ(req.name, "Earnings");
}

TEST(ControlProtocol, MetricsResetAndEmptyArguments) {
    EXPECT_TRUE(parse_ok("{\"Metrics\":{\"reset\":true}}").reset);
    EXPECT_FALSE(parse_ok("{\"Metrics\":{\"reset\":false}}").reset);
    EXPECT_FALSE(parse_ok("\"Metrics\"").reset);
    // Requests that take no arguments accept null and an empty object.
    EXPECT_EQ(parse_ok("{\"Status\":{}}").name, "Status");
    EXPECT_EQ(parse_ok("{\"Relays\":null}").name, "Relays");
    // Commands the parser does not know keep their arguments for their service.
    EXPECT_EQ(parse_ok("{\"ChildStart\":{\"name\":\"llamacpp\"}}").args_json,
              "{\"name\":\"llamacpp\"}");
}

TEST(ControlProtocol, AutopilotTypedForm) {
    ControlRequest req = parse_ok("{\"type\":\"Status\"}");
    EXPECT_EQ(req.name, "Status");
    EXPECT_EQ(req.form, ControlForm::typed);
    req = parse_ok("{\"type\":\"RestartWorker\",\"extra\":1}");  // serde ignores it too
    EXPECT_EQ(req.name, "RestartWorker");
    // A second type says two things (serde: duplicate field); a type that is no string is wrong.
    JsonReader reader;
    std::string detail;
    EXPECT_EQ(
        parse_control_request("{\"type\":\"Shutdown\",\"type\":\"Status\"}", reader, req, detail),
        Reject::bad_param);
    EXPECT_EQ(detail, "type given twice");
    EXPECT_EQ(parse_control_request("{\"type\":1}", reader, req, detail), Reject::wrong_type);
    EXPECT_NE(detail.find("type must be a string"), std::string::npos) << detail;
}

TEST(ControlProtocol, BadRequestsAreTypedRejectionsWithDetail) {
    struct Case {
        const char* line;
        Reject reject;
    };
    const Case cases[] = {
        {"Status", Reject::json_syntax},
        {"{\"Jobs\":{\"limit\":0}}", Reject::bad_param},
        {"{\"Jobs\":{\"limit\":100000}}", Reject::bad_param},
        {"{\"Jobs\":{\"status\":\"done\"}}", Reject::bad_param},
        {"{\"Jobs\":{\"colour\":\"red\"}}", Reject::unknown_field},
        {"{\"Jobs\":5}", Reject::wrong_type},
        {"{\"Relays\":{\"x\":1}}", Reject::unknown_field},
        {"{\"Status\":{\"x\":1}}", Reject::unknown_field},
        {"{\"Intake\":{\"x\":1}}", Reject::unknown_field},
        {"{\"Metrics\":{\"reset\":\"yes\"}}", Reject::bad_param},
        {"{\"Metrics\":{\"clear\":true}}", Reject::unknown_field},
        {"{\"Jobs\":{\"limit\":1,\"limit\":2}}", Reject::bad_param},  // said twice
        {"{\"Metrics\":{\"reset\":true,\"reset\":false}}", Reject::bad_param},
        {"{\"JobStatus\":{\"id\":\"a\",\"id\":\"b\"}}", Reject::bad_param},
        {"{\"A\":1,\"B\":2}", Reject::bad_arity},
        {"[\"Status\"]", Reject::wrong_type},
        {"{}", Reject::wrong_type},
        {"42", Reject::wrong_type},
    };
    JsonReader reader;
    for (const Case& c : cases) {
        ControlRequest req;
        std::string detail;
        EXPECT_EQ(parse_control_request(c.line, reader, req, detail), c.reject) << c.line;
        EXPECT_FALSE(detail.empty()) << c.line;
    }
}

TEST(ControlProtocol, RepliesRoundTrip) {
    JsonReader reader;
    std::string line;
    HealthReply h{
        4242, 10,           control_protocol_version, 2, "0.1.0", "both", 1700000000000, "/h",
        3,    "/h/alt.toml"};
    encode_health(h, line);
    ControlReply reply;
    ASSERT_EQ(parse_control_reply(line, reader, reply), Reject::none);
    EXPECT_EQ(reply.tag, "Health");
    HealthReply back;
    ASSERT_EQ(decode_health(reply.body_json, reader, back), Reject::none);
    EXPECT_EQ(back.pid, 4242);
    EXPECT_EQ(back.shards, 2u);
    EXPECT_EQ(back.mode, "both");
    EXPECT_EQ(back.events_dropped, 3u);
    EXPECT_EQ(back.config, "/h/alt.toml");

    JobInfo j;
    j.id = "job_0123456789abcdef";
    j.request_id = std::string(64, 'a');
    j.kind = 5050;
    j.status = "completed";
    j.price_msats = 1000;
    j.created_at = 1700000000;
    j.started_at = 1700000001;
    j.prompt_tokens = 12;
    j.backend = "ollama";
    line.clear();
    encode_jobs({j, JobInfo{}}, line);
    ASSERT_EQ(parse_control_reply(line, reader, reply), Reject::none);
    EXPECT_EQ(reply.tag, "Jobs");
    std::vector<JobInfo> jobs;
    ASSERT_EQ(decode_jobs(reply.body_json, reader, jobs), Reject::none);
    ASSERT_EQ(jobs.size(), 2u);
    EXPECT_EQ(jobs[0].id, j.id);
    EXPECT_EQ(jobs[0].request_id, j.request_id);
    EXPECT_EQ(jobs[0].started_at, j.started_at);
    EXPECT_FALSE(jobs[0].completed_at.has_value());
    EXPECT_EQ(jobs[0].prompt_tokens, 12);
    EXPECT_EQ(jobs[0].backend, "ollama");

    EarningsReport e;
    e.total_msats = 5500;
    e.job_count = 2;
    e.by_source = {{"job", 5000}, {"tip", 500}};
    e.recent = {{"earn-1", "job_1", 5000, "job", 1700000000}};
    line.clear();
    encode_earnings(e, line);
    EXPECT_NE(line.find("\"summary\":{\"total_sats\":5,\"total_msats\":5500,\"job_count\":2,"
                        "\"by_source\":{\"job\":5000,\"tip\":500}}"),
              std::string::npos)
        << line;
    ASSERT_EQ(parse_control_reply(line, reader, reply), Reject::none);
    EarningsReport eb;
    ASSERT_EQ(decode_earnings(reply.body_json, reader, eb), Reject::none);
    EXPECT_EQ(eb.total_msats, 5500);
    EXPECT_EQ(eb.by_source, e.by_source);
    ASSERT_EQ(eb.recent.size(), 1u);
    EXPECT_EQ(eb.recent[0].job_id, "job_1");
}

TEST(ControlProtocol, ErrorAndAutopilotReplies) {
    JsonReader reader;
    ControlReply reply;
    ASSERT_EQ(parse_control_reply("{\"Error\":\"boom\"}", reader, reply), Reject::none);
    EXPECT_EQ(reply.tag, "Error");
    EXPECT_EQ(reply.error, "boom");
    ASSERT_EQ(parse_control_reply("\"Pong\"\n", reader, reply), Reject::none);
    EXPECT_EQ(reply.tag, "Pong");
    std::string line;
    WorkerReply w;
    w.message = "Status";
    w.has_data = true;
    w.worker_pid = 77;
    encode_worker_reply(w, line);
    EXPECT_EQ(line,
              "{\"success\":true,\"message\":\"Status\",\"data\":{\"worker_status\":\"stopped\","
              "\"worker_pid\":77,\"uptime_seconds\":0,\"total_restarts\":0,"
              "\"consecutive_failures\":0,\"memory_available_bytes\":0,"
              "\"memory_total_bytes\":0}}");
    ASSERT_EQ(parse_control_reply(line, reader, reply), Reject::none);
    EXPECT_EQ(reply.tag, "success");
}

TEST(ControlProtocol, ShardsAndListsRoundTrip) {
    JsonReader reader;
    std::string line;
    ShardInfo s;
    s.id = 1;
    s.loops = 99;
    s.events_dropped = 4;
    encode_shards({ShardInfo{}, s}, line);
    ControlReply reply;
    ASSERT_EQ(parse_control_reply(line, reader, reply), Reject::none);
    std::vector<ShardInfo> shards;
    ASSERT_EQ(decode_shards(reply.body_json, reader, shards), Reject::none);
    ASSERT_EQ(shards.size(), 2u);
    EXPECT_EQ(shards[1].loops, 99u);
    EXPECT_EQ(shards[1].events_dropped, 4u);

    line.clear();
    StoreInfo store;
    store.requests = 20418;
    store.transactions = 2051;
    store.transaction_max = 64;
    store.failed_commits = 1;
    store.transaction_reruns = 2;
    store.pruned_requests = 7;
    store.queued = 3;
    store.waited_transactions = 5;
    store.lock_wait_ms = 1200;
    store.reads_in_lock_waits = 4;
    encode_store(store, line);
    EXPECT_EQ(line,
              "{\"Store\":{\"requests\":20418,\"transactions\":2051,\"transaction_max\":64,"
              "\"failed_commits\":1,\"transaction_reruns\":2,\"pruned_requests\":7,"
              "\"queued\":3,\"waited_transactions\":5,\"lock_wait_ms\":1200,"
              "\"reads_in_lock_waits\":4}}");
    ASSERT_EQ(parse_control_reply(line, reader, reply), Reject::none);
    EXPECT_EQ(reply.tag, "Store");
    StoreInfo back;
    ASSERT_EQ(decode_store(reply.body_json, reader, back), Reject::none);
    EXPECT_EQ(back.requests, 20418u);
    EXPECT_EQ(back.transactions, 2051u);
    EXPECT_EQ(back.transaction_max, 64u);
    EXPECT_EQ(back.failed_commits, 1u);
    EXPECT_EQ(back.transaction_reruns, 2u);
    EXPECT_EQ(back.pruned_requests, 7u);
    EXPECT_EQ(back.queued, 3u);
    EXPECT_EQ(back.waited_transactions, 5u);
    EXPECT_EQ(back.lock_wait_ms, 1200u);
    EXPECT_EQ(back.reads_in_lock_waits, 4u);
    EXPECT_NE(decode_store("[1]", reader, back), Reject::none);

    line.clear();
    BackendInfo b;
    b.id = "ollama";
    b.url = "http://127.0.0.1:11434";
    b.available = true;
    b.is_default = true;
    b.models = {"llama3.2"};
    b.slots = 2;
    b.slots_busy = 1;
    BackendInfo loading;
    loading.id = "llamacpp";
    loading.loading = true;
    encode_backends({b, loading}, line);
    ASSERT_EQ(parse_control_reply(line, reader, reply), Reject::none);
    std::vector<BackendInfo> backends;
    ASSERT_EQ(decode_backends(reply.body_json, reader, backends), Reject::none);
    ASSERT_EQ(backends.size(), 2u);
    EXPECT_TRUE(backends[0].is_default);
    EXPECT_FALSE(backends[0].loading);
    EXPECT_EQ(backends[0].models, (std::vector<std::string>{"llama3.2"}));
    EXPECT_EQ(backends[0].slots_busy, 1u);
    EXPECT_TRUE(backends[1].loading);
    EXPECT_FALSE(backends[1].available);

    line.clear();
    RelayInfo r{"wss://r", "connected", "", 5, 1, 0, 10, 2};
    r.progress_dropped = 7;
    r.publish_refused = 3;
    r.unreadable = 4;
    encode_relays({r}, line);
    ASSERT_EQ(parse_control_reply(line, reader, reply), Reject::none);
    std::vector<RelayInfo> relays;
    ASSERT_EQ(decode_relays(reply.body_json, reader, relays), Reject::none);
    ASSERT_EQ(relays.size(), 1u);
    EXPECT_EQ(relays[0].events_received, 10u);
    EXPECT_EQ(relays[0].progress_dropped, 7u);
    EXPECT_EQ(relays[0].publish_refused, 3u);
    EXPECT_EQ(relays[0].unreadable, 4u);
}

}  // namespace
}  // namespace pylon::proto
