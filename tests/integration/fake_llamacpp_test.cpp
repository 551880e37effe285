// Wire-format tests of tools/fake_llamacpp against the documented llama-server API (loading,
// probes, SSE framing of /completion and the OpenAI routes, [DONE] rules, errors, slots that
// queue instead of rejecting, pings, cancellation, and the supervisor's failure modes).
#include <signal.h>

#include <array>
#include <thread>

#include "tests/integration/fake_backend_util.hpp"

namespace pylon::test {
namespace {

constexpr std::string_view tool = "fake_llamacpp";
constexpr std::string_view loading_body =
    R"({"error":{"code":503,"message":"Loading model","type":"unavailable_error"}})";
constexpr std::string_view chat_body =
    R"({"messages":[{"role":"user","content":"say hi"}],"stream":true)";

TEST(FakeLlamacpp, LoadsThenHealthy) {
    ReadyChild fake = start_fake(std::string(tool), {"--load-ms", "400"});
    ASSERT_NE(fake.port, 0);
    RawResponse h = fetch(fake.port, "GET", "/health");
    EXPECT_EQ(h.status, 503);
    EXPECT_EQ(h.body, loading_body);
    EXPECT_EQ(fetch(fake.port, "GET", "/props").status, 503) << "every endpoint 503s while loading";
    EXPECT_EQ(fetch(fake.port, "POST", "/completion", R"({"prompt":"x"})").status, 503);
    EXPECT_TRUE(wait_until([&] { return fetch(fake.port, "GET", "/health").status == 200; }, 3000));
    RawResponse ok = fetch(fake.port, "GET", "/health");
    EXPECT_EQ(ok.body, R"({"status":"ok"})");
    EXPECT_EQ(ok.header("content-type"), "application/json; charset=utf-8");
}

TEST(FakeLlamacpp, PropsSlotsModelsAndMetrics) {
    ReadyChild fake =
        start_fake(std::string(tool), {"--slots", "3", "--models", "tiny", "--ctx-size", "6000"});
    ASSERT_NE(fake.port, 0);
    Json props(fetch(fake.port, "GET", "/props").body);
    EXPECT_EQ(props.num("/total_slots"), 3);
    EXPECT_EQ(props.str("/model_path"), "/models/tiny.gguf");
    EXPECT_EQ(props.num("/default_generation_settings/n_ctx"), 2000);
    Json models(fetch(fake.port, "GET", "/v1/models").body);
    EXPECT_EQ(models.str("/object"), "list");
    EXPECT_EQ(models.str("/data/0/id"), "tiny");
    EXPECT_EQ(models.str("/data/0/owned_by"), "llamacpp");
    Json slots(fetch(fake.port, "GET", "/slots").body);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(slots.num("/" + std::to_string(i) + "/id"), i);
        EXPECT_EQ(slots.boolean("/" + std::to_string(i) + "/is_processing"), 0);
    }
    EXPECT_EQ(fetch(fake.port, "GET", "/slots?fail_on_no_slot=1").status, 200);
    RawResponse no_metrics = fetch(fake.port, "GET", "/metrics");
    EXPECT_EQ(no_metrics.status, 501);
    EXPECT_EQ(Json(no_metrics.body).str("/error/type"), "not_supported_error");
    RawResponse unknown = fetch(fake.port, "GET", "/nope");
    EXPECT_EQ(unknown.status, 404);
    EXPECT_EQ(Json(unknown.body).str("/error/type"), "not_found_error");

    ReadyChild with = start_fake(std::string(tool), {"--metrics"});
    ASSERT_NE(with.port, 0);
    RawResponse m = fetch(with.port, "GET", "/metrics");
    EXPECT_EQ(m.status, 200);
    EXPECT_NE(m.body.find("\nllamacpp:requests_deferred 0\n"), std::string::npos) << m.body;
    EXPECT_NE(m.body.find("# TYPE llamacpp:requests_processing gauge\n"), std::string::npos);
}

TEST(FakeLlamacpp, CompletionStreamsSseWithoutDone) {
    ReadyChild fake = start_fake(std::string(tool), {"--tokens", "4", "--token-delay-ms", "50"});
    ASSERT_NE(fake.port, 0);
    RawResponse r = fetch(fake.port, "POST", "/completion", R"({"prompt":"Say hi","stream":true})");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-type"), "text/event-stream");
    EXPECT_TRUE(r.chunked);
    EXPECT_TRUE(r.complete);
    SseParse sse = sse_parse(r.body);
    ASSERT_EQ(sse.data.size(), 5u);
    std::string text;
    for (std::size_t i = 0; i < 4; ++i) {
        Json j(sse.data[i]);
        EXPECT_EQ(j.boolean("/stop"), 0);
        EXPECT_EQ(j.num("/tokens_predicted"), static_cast<std::int64_t>(i + 1));
        EXPECT_EQ(j.num("/tokens_evaluated"), 2);
        EXPECT_EQ(j.num("/id_slot"), 0);
        EXPECT_FALSE(j.has("timings"));
        text += j.str("/content");
        if (i > 0) {
            EXPECT_GE(ms_between(r.chunks[i - 1].at, r.chunks[i].at), 25);
        }
    }
    EXPECT_EQ(text, "alpha bravo charlie delta");
    EXPECT_GE(ms_between(r.chunks[0].at, r.chunks[3].at), 3 * 50 - 15);
    Json fin(sse.data[4]);
    EXPECT_EQ(fin.boolean("/stop"), 1);
    EXPECT_EQ(fin.str("/stop_type"), "eos");
    EXPECT_EQ(fin.str("/content"), "");
    EXPECT_EQ(fin.num("/timings/predicted_n"), 4);
    EXPECT_EQ(fin.num("/timings/prompt_n"), 2);
    EXPECT_EQ(r.body.find("[DONE]"), std::string::npos) << "/completion never sends [DONE]";

    RawResponse lim =
        fetch(fake.port, "POST", "/completion", R"({"prompt":"x","n_predict":2,"stream":true})");
    SseParse l = sse_parse(lim.body);
    ASSERT_EQ(l.data.size(), 3u);
    EXPECT_EQ(Json(l.data[2]).str("/stop_type"), "limit");

    RawResponse whole = fetch(fake.port, "POST", "/completion", R"({"prompt":"x","n_predict":3})");
    EXPECT_FALSE(whole.chunked);
    Json w(whole.body);
    EXPECT_EQ(w.str("/content"), "alpha bravo charlie");
    EXPECT_EQ(w.boolean("/stop"), 1);
    EXPECT_EQ(w.str("/stop_type"), "limit");
}

TEST(FakeLlamacpp, ChatCompletionsStreamChunksThenDone) {
    ReadyChild fake = start_fake(std::string(tool), {"--tokens", "3", "--token-delay-ms", "5"});
    ASSERT_NE(fake.port, 0);
    RawResponse r = fetch(fake.port, "POST", "/v1/chat/completions", std::string(chat_body) + "}");
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.complete);
    SseParse sse = sse_parse(r.body);
    ASSERT_EQ(sse.data.size(), 6u);  // role, 3 contents, finish, [DONE]
    Json role(sse.data[0]);
    EXPECT_EQ(role.str("/object"), "chat.completion.chunk");
    EXPECT_EQ(role.str("/choices/0/delta/role"), "assistant");
    EXPECT_TRUE(role.is_null("/choices/0/finish_reason"));
    std::string text;
    for (std::size_t i = 1; i <= 3; ++i) {
        Json j(sse.data[i]);
        EXPECT_TRUE(j.is_null("/choices/0/finish_reason"));
        EXPECT_EQ(j.str("/id"), role.str("/id"));
        text += j.str("/choices/0/delta/content");
    }
    EXPECT_EQ(text, "alpha bravo charlie");
    Json fin(sse.data[4]);
    EXPECT_EQ(fin.str("/choices/0/finish_reason"), "stop");
    EXPECT_EQ(fin.num("/usage/completion_tokens"), 3);
    EXPECT_EQ(fin.num("/timings/predicted_n"), 3);
    EXPECT_EQ(sse.data[5], "[DONE]");

    RawResponse lim = fetch(fake.port, "POST", "/v1/chat/completions",
                            std::string(chat_body) + R"(,"max_tokens":2})");
    SseParse l = sse_parse(lim.body);
    ASSERT_EQ(l.data.size(), 5u);
    EXPECT_EQ(Json(l.data[3]).str("/choices/0/finish_reason"), "length");

    RawResponse whole = fetch(fake.port, "POST", "/v1/chat/completions",
                              R"({"messages":[{"role":"user","content":"x"}],"max_tokens":2})");
    Json w(whole.body);
    EXPECT_EQ(w.str("/object"), "chat.completion");
    EXPECT_EQ(w.str("/choices/0/message/content"), "alpha bravo");
    EXPECT_EQ(w.str("/choices/0/finish_reason"), "length");
    EXPECT_EQ(w.num("/usage/total_tokens"), 3);

    RawResponse text_route = fetch(fake.port, "POST", "/v1/completions",
                                   R"({"prompt":"x","max_tokens":1,"stream":true})");
    SseParse t = sse_parse(text_route.body);
    ASSERT_EQ(t.data.size(), 3u);
    EXPECT_EQ(Json(t.data[0]).str("/choices/0/text"), "alpha");
    EXPECT_EQ(Json(t.data[1]).str("/choices/0/finish_reason"), "length");
    EXPECT_EQ(t.data[2], "[DONE]");
    EXPECT_EQ(fetch(fake.port, "POST", "/v1/chat/completions", "{}").status, 400);
}

TEST(FakeLlamacpp, ApiKeyGuardsEverythingButHealth) {
    ReadyChild fake = start_fake(std::string(tool), {"--api-key", "sekrit"});
    ASSERT_NE(fake.port, 0);
    RawResponse denied = fetch(fake.port, "GET", "/props");
    EXPECT_EQ(denied.status, 401);
    EXPECT_EQ(
        denied.body,
        R"({"error":{"code":401,"message":"Invalid API Key","type":"authentication_error"}})");
    EXPECT_EQ(fetch(fake.port, "GET", "/props", {}, {"Authorization: Bearer wrong"}).status, 401);
    EXPECT_EQ(fetch(fake.port, "GET", "/props", {}, {"Authorization: Bearer sekrit"}).status, 200);
    EXPECT_EQ(fetch(fake.port, "GET", "/health").status, 200);
}

TEST(FakeLlamacpp, SsePingsWhileSilent) {
    ReadyChild fake =
        start_fake(std::string(tool),
                   {"--sse-ping-ms", "50", "--first-token-delay-ms", "300", "--tokens", "1"});
    ASSERT_NE(fake.port, 0);
    RawResponse r = fetch(fake.port, "POST", "/completion", R"({"prompt":"x","stream":true})");
    EXPECT_TRUE(r.complete);
    SseParse sse = sse_parse(r.body);
    EXPECT_GE(sse.comments.size(), 3u);
    EXPECT_EQ(sse.comments.front(), ": ping");
    EXPECT_EQ(r.body.find("data:"), r.body.rfind(": ping\n\n") + 8) << "pings come first";
    ASSERT_EQ(sse.data.size(), 2u);
}

TEST(FakeLlamacpp, ErrorMidStreamIsAnSseEventThenClose) {
    ReadyChild fake = start_fake(std::string(tool), {"--fault", "error-mid-stream", "--fault-after",
                                                     "1", "--token-delay-ms", "1"});
    ASSERT_NE(fake.port, 0);
    auto conn = RawHttpConnection::connect(fake.port);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(
        conn->send_request("POST", "/v1/chat/completions", std::string(chat_body) + "}").ok());
    auto r = conn->read_response(5000);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200);
    SseParse sse = sse_parse(r->body);
    ASSERT_EQ(sse.data.size(), 3u);  // role, one token, the error
    Json err(sse.data[2]);
    EXPECT_EQ(err.num("/error/code"), 500);
    EXPECT_EQ(err.str("/error/type"), "server_error");
    EXPECT_EQ(err.str("/error/message"), "fake_llamacpp: injected error after 1 tokens");
    EXPECT_EQ(r->body.find("[DONE]"), std::string::npos);
    EXPECT_EQ(conn->wait_peer(2000), PeerEvent::closed) << "the connection closes after the error";

    RawResponse whole = fetch(fake.port, "POST", "/completion", R"({"prompt":"x"})");
    EXPECT_EQ(whole.status, 500);
    EXPECT_EQ(Json(whole.body).str("/error/type"), "server_error");
}

TEST(FakeLlamacpp, FaultsResetHangModel404Busy503) {
    ReadyChild reset =
        start_fake(std::string(tool),
                   {"--fault", "reset-mid-stream", "--fault-after", "2", "--token-delay-ms", "1"});
    ASSERT_NE(reset.port, 0);
    RawResponse r = fetch(reset.port, "POST", "/completion", R"({"prompt":"x","stream":true})");
    EXPECT_TRUE(r.peer_reset);
    EXPECT_FALSE(r.complete);
    EXPECT_EQ(sse_parse(r.body).data.size(), 2u);

    ReadyChild hang = start_fake(std::string(tool), {"--fault", "hang"});
    ASSERT_NE(hang.port, 0);
    auto conn = RawHttpConnection::connect(hang.port);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(conn->send_request("POST", "/completion", R"({"prompt":"x","stream":true})").ok());
    auto h = conn->read_response(400);
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.error().code(), Errc::timeout);
    EXPECT_EQ(fetch(hang.port, "GET", "/health").status, 200);

    ReadyChild nf = start_fake(std::string(tool), {"--fault", "model-404"});
    ASSERT_NE(nf.port, 0);
    RawResponse m = fetch(nf.port, "POST", "/completion", R"({"prompt":"x"})");
    EXPECT_EQ(m.status, 404);
    EXPECT_EQ(Json(m.body).str("/error/type"), "not_found_error");

    ReadyChild busy = start_fake(std::string(tool), {"--fault", "busy-503"});
    ASSERT_NE(busy.port, 0);
    RawResponse b = fetch(busy.port, "POST", "/completion", R"({"prompt":"x"})");
    EXPECT_EQ(b.status, 503);
    EXPECT_EQ(b.body, loading_body);
}

// N slots generate at once; request N+1 is queued (not rejected) and starts only when one ends.
TEST(FakeLlamacpp, SlotsQueueInsteadOfRejecting) {
    ReadyChild fake = start_fake(std::string(tool), {"--slots", "2", "--tokens", "6",
                                                     "--token-delay-ms", "50", "--metrics"});
    ASSERT_NE(fake.port, 0);
    std::array<RawResponse, 3> results;
    std::array<TestClock::time_point, 3> sent{};
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < 3; ++i) {
        threads.emplace_back([&, i] {
            auto conn = RawHttpConnection::connect(fake.port);
            ASSERT_TRUE(conn.ok());
            sent[i] = TestClock::now();
            ASSERT_TRUE(
                conn->send_request("POST", "/completion", R"({"prompt":"x","stream":true})").ok());
            auto r = conn->read_response(10000);
            ASSERT_TRUE(r.ok());
            results[i] = std::move(r).value();
        });
        if (i < 2) {
            ASSERT_TRUE(wait_until(
                [&] {
                    return fake_stat(fake.port, "slots_busy") == static_cast<std::int64_t>(i + 1);
                },
                3000));
        }
    }
    ASSERT_TRUE(wait_until([&] { return fake_stat(fake.port, "in_flight") == 3; }, 3000));
    EXPECT_EQ(fetch(fake.port, "GET", "/slots?fail_on_no_slot=1").status, 503);
    RawResponse metrics = fetch(fake.port, "GET", "/metrics");
    EXPECT_NE(metrics.body.find("llamacpp:requests_deferred 1\n"), std::string::npos);
    EXPECT_NE(metrics.body.find("llamacpp:requests_processing 2\n"), std::string::npos);
    for (auto& t : threads) {
        t.join();
    }
    for (const auto& r : results) {
        EXPECT_EQ(r.status, 200);
        EXPECT_TRUE(r.complete);
        EXPECT_EQ(sse_parse(r.body).data.size(), 7u);
    }
    // The queued job's first token follows a whole job of the others (6 x 50 ms). Reader
    // threads stamp arrivals with some jitter, hence the slack against the others' last chunk.
    auto first_end = std::min(results[0].chunks.back().at, results[1].chunks.back().at);
    EXPECT_GE(ms_between(sent[2], results[2].chunks.front().at), 200);
    EXPECT_GE(results[2].chunks.front().at, first_end - std::chrono::milliseconds(20))
        << "the queued job started too early";
    EXPECT_LT(results[2].head_at, first_end) << "a queued stream gets its headers at once";
    EXPECT_EQ(fake_stat(fake.port, "max_slots_busy"), 2);
    EXPECT_EQ(fake_stat(fake.port, "max_in_flight"), 3);
    // The fake counts a completion after its last write, so the client may be first.
    EXPECT_TRUE(wait_until([&] { return fake_stat(fake.port, "streams_completed") == 3; }, 2000));
    EXPECT_EQ(fake_stat(fake.port, "rejected"), 0);
}

TEST(FakeLlamacpp, ClientCloseWhileGeneratingOrQueuedIsCounted) {
    ReadyChild fake = start_fake(std::string(tool), {"--tokens", "200", "--token-delay-ms", "20"});
    ASSERT_NE(fake.port, 0);
    auto gen = RawHttpConnection::connect(fake.port);
    ASSERT_TRUE(gen.ok());
    ASSERT_TRUE(gen->send_request("POST", "/completion", R"({"prompt":"x","stream":true})").ok());
    int seen = 0;
    ASSERT_TRUE(gen->read_response(5000, false, [&](const RawChunk&) { return ++seen < 2; }).ok());
    auto queued = RawHttpConnection::connect(fake.port);
    ASSERT_TRUE(queued.ok());
    ASSERT_TRUE(
        queued->send_request("POST", "/completion", R"({"prompt":"y","stream":true})").ok());
    ASSERT_TRUE(wait_until([&] { return fake_stat(fake.port, "in_flight") == 2; }, 3000));
    queued->close();
    EXPECT_TRUE(
        wait_until([&] { return fake_stat(fake.port, "waits_cancelled_by_client") == 1; }, 3000));
    gen->close();
    EXPECT_TRUE(
        wait_until([&] { return fake_stat(fake.port, "streams_cancelled_by_client") == 1; }, 3000));
    EXPECT_EQ(fake_stat(fake.port, "in_flight"), 0);
    EXPECT_EQ(fake_stat(fake.port, "streams_started"), 1);
}

TEST(FakeLlamacpp, ExitsWithCodeAfterKRequests) {
    ReadyChild fake =
        start_fake(std::string(tool), {"--exit-after-requests", "2", "--exit-code", "3"});
    ASSERT_NE(fake.port, 0);
    EXPECT_EQ(fetch(fake.port, "GET", "/health").status, 200);
    EXPECT_EQ(fake_stat(fake.port, "requests"), 1) << "/_fake/stats does not count";
    EXPECT_EQ(fetch(fake.port, "GET", "/health").status, 200) << "the K-th request is answered";
    auto e = fake.process->wait_exit(5000);
    ASSERT_TRUE(e.has_value());
    EXPECT_TRUE(e->exited);
    EXPECT_EQ(e->code, 3) << fake.process->describe();
}

TEST(FakeLlamacpp, CrashesWithSigsegvOnTheKthRequest) {
    ReadyChild fake = start_fake(std::string(tool), {"--crash-after-requests", "2"});
    ASSERT_NE(fake.port, 0);
    EXPECT_EQ(fetch(fake.port, "GET", "/health").status, 200);
    auto conn = RawHttpConnection::connect(fake.port);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(conn->send_request("GET", "/health").ok());
    auto r = conn->read_response(5000);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Errc::closed);
    auto e = fake.process->wait_exit(5000);
    ASSERT_TRUE(e.has_value());
    EXPECT_FALSE(e->exited);
    EXPECT_EQ(e->signal, SIGSEGV);
}

TEST(FakeLlamacpp, HangHealthNeverAnswersHealthOnly) {
    ReadyChild fake = start_fake(std::string(tool), {"--hang-health"});
    ASSERT_NE(fake.port, 0);
    auto conn = RawHttpConnection::connect(fake.port);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(conn->send_request("GET", "/health").ok());
    auto r = conn->read_response(400);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Errc::timeout);
    EXPECT_EQ(fetch(fake.port, "GET", "/props").status, 200);
    ASSERT_TRUE(fake.process->signal(SIGTERM).ok());
    auto e = fake.process->wait_exit(5000);
    ASSERT_TRUE(e.has_value()) << "a hanging request must not block shutdown";
    EXPECT_EQ(e->code, 0);
}

}  // namespace
}  // namespace pylon::test
