// Wire-format tests of tools/fake_ollama against the documented Ollama API (status lines,
// headers, chunked NDJSON, fields per line, timing gaps, faults, queueing, cancellation).
#include <signal.h>

#include <thread>

#include "tests/integration/fake_backend_util.hpp"

namespace pylon::test {
namespace {

constexpr std::string_view tool = "fake_ollama";
constexpr std::string_view busy_text =
    "server busy, please try again.  maximum pending requests exceeded";

std::string generate_body(std::string_view model, std::string_view prompt, int num_predict = -2,
                          std::string_view extra = "") {
    std::string b =
        R"({"model":")" + std::string(model) + R"(","prompt":")" + std::string(prompt) + "\"";
    if (num_predict != -2) {
        b += R"(,"options":{"num_predict":)" + std::to_string(num_predict) + "}";
    }
    if (!extra.empty()) {
        b += "," + std::string(extra);
    }
    return b + "}";
}

TEST(FakeOllama, ProbesAnswerLikeOllama) {
    ReadyChild fake = start_fake(std::string(tool), {"--models", "llama3.2,qwen2.5:7b"});
    ASSERT_NE(fake.port, 0);
    auto conn = RawHttpConnection::connect(fake.port);
    ASSERT_TRUE(conn.ok());
    // Keep-alive: every probe on one connection.
    ASSERT_TRUE(conn->send_request("GET", "/").ok());
    auto root = conn->read_response(5000);
    ASSERT_TRUE(root.ok());
    EXPECT_EQ(root->head.substr(0, 17), "HTTP/1.1 200 OK\r\n");
    EXPECT_EQ(root->header("content-type"), "text/plain; charset=utf-8");
    EXPECT_EQ(root->body, "Ollama is running");
    ASSERT_TRUE(conn->send_request("HEAD", "/").ok());
    auto head = conn->read_response(5000, true);
    ASSERT_TRUE(head.ok());
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(head->header("content-length"), "17");
    ASSERT_TRUE(conn->send_request("GET", "/api/version").ok());
    auto version = conn->read_response(5000);
    ASSERT_TRUE(version.ok());
    EXPECT_EQ(version->header("content-type"), "application/json; charset=utf-8");
    EXPECT_FALSE(Json(version->body).str("/version").starts_with("<missing"));

    RawResponse tags = fetch(fake.port, "GET", "/api/tags");
    Json t(tags.body);
    EXPECT_EQ(t.str("/models/0/name"), "llama3.2:latest");
    EXPECT_EQ(t.str("/models/1/name"), "qwen2.5:7b");
    EXPECT_EQ(t.str("/models/1/model"), "qwen2.5:7b");
    EXPECT_EQ(t.str("/models/0/details/format"), "gguf");
    EXPECT_EQ(t.str("/models/0/digest").size(), 64u);
    EXPECT_GT(t.num("/models/0/size"), 0);

    RawResponse unknown = fetch(fake.port, "GET", "/api/nope");
    EXPECT_EQ(unknown.status, 404);
    EXPECT_EQ(unknown.body, "404 page not found");
    EXPECT_EQ(fetch(fake.port, "GET", "/api/generate").status, 405);
    EXPECT_EQ(fetch(fake.port, "POST", "/api/tags", "{}").status, 405);
}

TEST(FakeOllama, GenerateStreamsNdjsonLinesWithRealGaps) {
    ReadyChild fake = start_fake(std::string(tool), {"--tokens", "5", "--token-delay-ms", "60",
                                                     "--first-token-delay-ms", "150"});
    ASSERT_NE(fake.port, 0);
    auto conn = RawHttpConnection::connect(fake.port);
    ASSERT_TRUE(conn.ok());
    auto sent_at = TestClock::now();
    ASSERT_TRUE(
        conn->send_request("POST", "/api/generate", generate_body("llama3.2", "a b c")).ok());
    auto r = conn->read_response(10000);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("content-type"), "application/x-ndjson");
    EXPECT_TRUE(r->chunked);
    EXPECT_TRUE(r->complete);
    // Ollama writes its headers with the first line: nothing arrives before the first token.
    EXPECT_GE(ms_between(sent_at, r->head_at), 140);
    std::vector<std::string> lines = ndjson_lines(r->body);
    ASSERT_EQ(lines.size(), 6u);
    ASSERT_EQ(r->chunks.size(), 6u) << "one chunk per NDJSON line";
    std::string text;
    for (std::size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(r->chunks[i].data, lines[i] + "\n");
        Json j(lines[i]);
        EXPECT_EQ(j.str("/model"), "llama3.2");
        EXPECT_TRUE(j.str("/created_at").ends_with("Z"));
        EXPECT_EQ(j.boolean("/done"), 0);
        for (const char* absent : {"done_reason", "eval_count", "total_duration", "context"}) {
            EXPECT_FALSE(j.has(absent)) << absent << " must only be on the final line";
        }
        text += j.str("/response");
        if (i > 0) {
            // Each gap is real; a late read of the previous chunk may shorten one as seen here.
            EXPECT_GE(ms_between(r->chunks[i - 1].at, r->chunks[i].at), 30) << "gap " << i;
        }
    }
    EXPECT_EQ(text, "alpha bravo charlie delta echo");
    EXPECT_GE(ms_between(r->chunks[0].at, r->chunks[4].at), 4 * 60 - 15);
    Json last(lines[5]);
    EXPECT_EQ(last.boolean("/done"), 1);
    EXPECT_EQ(last.str("/done_reason"), "stop");
    EXPECT_EQ(last.str("/response"), "");
    EXPECT_EQ(last.num("/eval_count"), 5);
    EXPECT_EQ(last.num("/prompt_eval_count"), 3);
    EXPECT_GT(last.num("/total_duration"), 390'000'000);  // 150 + 4 * 60 ms, in ns
    EXPECT_GT(last.num("/eval_duration"), 0);
    EXPECT_TRUE(last.has("context"));
    // The connection stays usable after the stream.
    ASSERT_TRUE(conn->send_request("GET", "/api/version").ok());
    auto again = conn->read_response(5000);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->status, 200);
}

TEST(FakeOllama, NumPredictEndsWithLengthAndChatUsesMessages) {
    ReadyChild fake = start_fake(std::string(tool), {"--token-delay-ms", "1"});
    ASSERT_NE(fake.port, 0);
    RawResponse gen = fetch(fake.port, "POST", "/api/generate", generate_body("llama3.2", "x", 3));
    std::vector<std::string> lines = ndjson_lines(gen.body);
    ASSERT_EQ(lines.size(), 4u);
    Json last(lines[3]);
    EXPECT_EQ(last.str("/done_reason"), "length");
    EXPECT_EQ(last.num("/eval_count"), 3);

    RawResponse chat =
        fetch(fake.port, "POST", "/api/chat",
              R"({"model":"llama3.2:latest","messages":[{"role":"user","content":"hi you"}]})");
    EXPECT_EQ(chat.status, 200);
    lines = ndjson_lines(chat.body);
    ASSERT_EQ(lines.size(), 9u);  // 8 tokens by default + the final line
    std::string text;
    for (std::size_t i = 0; i < 8; ++i) {
        Json j(lines[i]);
        EXPECT_EQ(j.str("/message/role"), "assistant");
        EXPECT_FALSE(j.has("response"));
        text += j.str("/message/content");
    }
    EXPECT_EQ(text, "alpha bravo charlie delta echo foxtrot golf hotel");
    Json fin(lines[8]);
    EXPECT_EQ(fin.str("/message/content"), "");
    EXPECT_EQ(fin.str("/done_reason"), "stop");
    EXPECT_EQ(fin.num("/prompt_eval_count"), 2);
    EXPECT_FALSE(fin.has("context")) << "chat has no context";
}

TEST(FakeOllama, StreamFalseReturnsOneObjectAndTextCycles) {
    ReadyChild fake = start_fake(std::string(tool), {"--text", "one \"two\" three", "--tokens", "4",
                                                     "--token-delay-ms", "1"});
    ASSERT_NE(fake.port, 0);
    RawResponse r = fetch(fake.port, "POST", "/api/generate",
                          generate_body("llama3.2", "p", -2, R"("stream":false)"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-type"), "application/json; charset=utf-8");
    EXPECT_FALSE(r.chunked);
    EXPECT_TRUE(r.header("content-length").has_value());
    Json j(r.body);
    EXPECT_EQ(j.str("/response"), "one \"two\" three one");
    EXPECT_EQ(j.boolean("/done"), 1);
    EXPECT_EQ(j.str("/done_reason"), "stop");
    EXPECT_EQ(j.num("/eval_count"), 4);
}

TEST(FakeOllama, EmptyPromptLoadsAndKeepAliveZeroUnloads) {
    ReadyChild fake = start_fake(std::string(tool), {});
    ASSERT_NE(fake.port, 0);
    EXPECT_EQ(fetch(fake.port, "GET", "/api/ps").body, R"({"models":[]})");
    RawResponse load = fetch(fake.port, "POST", "/api/generate", R"({"model":"llama3.2"})");
    EXPECT_EQ(load.status, 200);
    EXPECT_EQ(load.header("content-type"), "application/json; charset=utf-8");
    Json l(load.body);
    EXPECT_EQ(l.str("/done_reason"), "load");
    EXPECT_EQ(l.boolean("/done"), 1);
    Json ps(fetch(fake.port, "GET", "/api/ps").body);
    EXPECT_EQ(ps.str("/models/0/name"), "llama3.2:latest");
    EXPECT_GT(ps.num("/models/0/size_vram"), 0);
    EXPECT_TRUE(ps.str("/models/0/expires_at").ends_with("Z"));
    RawResponse unload =
        fetch(fake.port, "POST", "/api/generate", R"({"model":"llama3.2","keep_alive":0})");
    EXPECT_EQ(Json(unload.body).str("/done_reason"), "unload");
    EXPECT_EQ(fetch(fake.port, "GET", "/api/ps").body, R"({"models":[]})");
    RawResponse chat_load =
        fetch(fake.port, "POST", "/api/chat", R"({"model":"llama3.2","messages":[]})");
    EXPECT_EQ(Json(chat_load.body).str("/done_reason"), "load");
}

TEST(FakeOllama, ErrorsHaveOllamaBodies) {
    ReadyChild fake = start_fake(std::string(tool), {});
    ASSERT_NE(fake.port, 0);
    RawResponse unknown = fetch(fake.port, "POST", "/api/generate", generate_body("mistral", "x"));
    EXPECT_EQ(unknown.status, 404);
    EXPECT_EQ(unknown.body, R"({"error":"model 'mistral' not found"})");
    RawResponse no_model = fetch(fake.port, "POST", "/api/chat", R"({"messages":[]})");
    EXPECT_EQ(no_model.status, 400);
    EXPECT_EQ(no_model.body, R"({"error":"model is required"})");
    RawResponse empty = fetch(fake.port, "POST", "/api/generate", "");
    EXPECT_EQ(empty.status, 400);
    EXPECT_EQ(empty.body, R"({"error":"missing request body"})");
    EXPECT_EQ(fetch(fake.port, "POST", "/api/generate", "{nope").status, 400);
    EXPECT_EQ(fake_stat(fake.port, "rejected"), 4);
}

TEST(FakeOllama, FaultModel404AndBusy503) {
    ReadyChild nf = start_fake(std::string(tool), {"--fault", "model-404"});
    ASSERT_NE(nf.port, 0);
    RawResponse r = fetch(nf.port, "POST", "/api/generate", generate_body("llama3.2", "x"));
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body, R"({"error":"model 'llama3.2' not found"})");
    EXPECT_EQ(fetch(nf.port, "GET", "/api/tags").status, 200) << "probes still answer";

    ReadyChild busy = start_fake(std::string(tool), {"--fault", "busy-503"});
    ASSERT_NE(busy.port, 0);
    RawResponse b = fetch(busy.port, "POST", "/api/chat",
                          R"({"model":"llama3.2","messages":[{"role":"user","content":"x"}]})");
    EXPECT_EQ(b.status, 503);
    EXPECT_EQ(Json(b.body).str("/error"), busy_text);
}

TEST(FakeOllama, ErrorMidStreamIsAnNdjsonLineWithStatus200) {
    ReadyChild fake = start_fake(std::string(tool), {"--fault", "error-mid-stream", "--fault-after",
                                                     "2", "--token-delay-ms", "1"});
    ASSERT_NE(fake.port, 0);
    RawResponse r = fetch(fake.port, "POST", "/api/generate", generate_body("llama3.2", "x"));
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.complete);
    std::vector<std::string> lines = ndjson_lines(r.body);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(Json(lines[1]).str("/response"), " bravo");
    Json err(lines[2]);
    EXPECT_EQ(err.str("/error"), "fake_ollama: injected error after 2 tokens");
    EXPECT_FALSE(err.has("done"));
    EXPECT_EQ(fake_stat(fake.port, "streams_failed"), 1);
    EXPECT_EQ(fake_stat(fake.port, "streams_completed"), 0);
}

TEST(FakeOllama, ResetMidStreamResetsTheConnection) {
    ReadyChild fake = start_fake(std::string(tool), {"--fault", "reset-mid-stream", "--fault-after",
                                                     "2", "--token-delay-ms", "1"});
    ASSERT_NE(fake.port, 0);
    RawResponse r = fetch(fake.port, "POST", "/api/generate", generate_body("llama3.2", "x"));
    EXPECT_EQ(r.status, 200);
    EXPECT_FALSE(r.complete);
    EXPECT_TRUE(r.peer_reset) << "expected RST, got " << (r.peer_closed ? "FIN" : "nothing");
    EXPECT_EQ(r.chunks.size(), 2u);
}

TEST(FakeOllama, HangNeverAnswersGenerationButProbesWork) {
    ReadyChild fake = start_fake(std::string(tool), {"--fault", "hang"});
    ASSERT_NE(fake.port, 0);
    auto conn = RawHttpConnection::connect(fake.port);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(conn->send_request("POST", "/api/generate", generate_body("llama3.2", "x")).ok());
    auto r = conn->read_response(400);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Errc::timeout);
    EXPECT_EQ(fetch(fake.port, "GET", "/api/version").status, 200);
}

TEST(FakeOllama, MaxQueueRejectsBeyondSlotsPlusQueue) {
    ReadyChild fake = start_fake(std::string(tool), {"--num-parallel", "1", "--max-queue", "1",
                                                     "--tokens", "40", "--token-delay-ms", "25"});
    ASSERT_NE(fake.port, 0);
    auto a = RawHttpConnection::connect(fake.port);
    auto b = RawHttpConnection::connect(fake.port);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_TRUE(a->send_request("POST", "/api/generate", generate_body("llama3.2", "a")).ok());
    ASSERT_TRUE(wait_until([&] { return fake_stat(fake.port, "in_flight") == 1; }, 3000));
    ASSERT_TRUE(b->send_request("POST", "/api/generate", generate_body("llama3.2", "b")).ok());
    ASSERT_TRUE(wait_until([&] { return fake_stat(fake.port, "in_flight") == 2; }, 3000));
    RawResponse third = fetch(fake.port, "POST", "/api/generate", generate_body("llama3.2", "c"));
    EXPECT_EQ(third.status, 503);
    EXPECT_EQ(Json(third.body).str("/error"), busy_text);
    EXPECT_EQ(fake_stat(fake.port, "max_in_flight"), 2);
    EXPECT_EQ(fake_stat(fake.port, "max_slots_busy"), 1);
}

TEST(FakeOllama, ClientCloseStopsGenerationAndIsCounted) {
    ReadyChild fake = start_fake(std::string(tool), {"--tokens", "200", "--token-delay-ms", "20"});
    ASSERT_NE(fake.port, 0);
    {
        auto conn = RawHttpConnection::connect(fake.port);
        ASSERT_TRUE(conn.ok());
        ASSERT_TRUE(
            conn->send_request("POST", "/api/generate", generate_body("llama3.2", "x")).ok());
        int seen = 0;
        auto r = conn->read_response(5000, false, [&](const RawChunk&) { return ++seen < 2; });
        ASSERT_TRUE(r.ok());
        EXPECT_FALSE(r->complete);
    }  // closes the connection mid-stream
    EXPECT_TRUE(
        wait_until([&] { return fake_stat(fake.port, "streams_cancelled_by_client") == 1; }, 3000));
    EXPECT_EQ(fake_stat(fake.port, "in_flight"), 0);
    EXPECT_EQ(fake_stat(fake.port, "slots_busy"), 0);
    EXPECT_EQ(fake_stat(fake.port, "streams_completed"), 0);
}

// The shared fake HTTP server bounds what it reads and how many connections it serves.
TEST(FakeOllama, RequestBoundsAndConnectionLimit) {
    ReadyChild fake = start_fake(std::string(tool), {});
    ASSERT_NE(fake.port, 0);
    auto chunked = RawHttpConnection::connect(fake.port);
    ASSERT_TRUE(chunked.ok());
    ASSERT_TRUE(chunked
                    ->send("POST /api/generate HTTP/1.1\r\nHost: x\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
                    .ok());
    auto r411 = chunked->read_response(5000);
    ASSERT_TRUE(r411.ok());
    EXPECT_EQ(r411->status, 411);
    EXPECT_EQ(r411->header("connection"), "close");
    EXPECT_EQ(fetch(fake.port, "GET", "/", {}, {"X-Big: " + std::string(20000, 'a')}).status, 431);
    auto big = RawHttpConnection::connect(fake.port);
    ASSERT_TRUE(big.ok());
    ASSERT_TRUE(big->send("POST /api/generate HTTP/1.1\r\nHost: x\r\n"
                          "Content-Length: 2000000\r\n\r\n")
                    .ok());
    auto r413 = big->read_response(5000);
    ASSERT_TRUE(r413.ok());
    EXPECT_EQ(r413->status, 413);

    std::vector<RawHttpConnection> idle;
    for (int i = 0; i < 64; ++i) {  // ServerLimits::connections_max
        auto c = RawHttpConnection::connect(fake.port);
        ASSERT_TRUE(c.ok());
        idle.push_back(std::move(c).value());
    }
    ASSERT_TRUE(wait_until(
        [&] {
            auto extra = RawHttpConnection::connect(fake.port);
            if (!extra.ok() || !extra->send_request("GET", "/").ok()) {
                return false;
            }
            auto r = extra->read_response(2000);
            return r.ok() && r->status == 503 && r->body == "too many connections\n";
        },
        3000));
    idle.clear();
    EXPECT_TRUE(wait_until([&] { return fetch(fake.port, "GET", "/").status == 200; }, 3000));
}

TEST(FakeOllama, ExitsOnSigtermAndAfterMaxRuntime) {
    ReadyChild fake = start_fake(std::string(tool), {});
    ASSERT_NE(fake.port, 0);
    ASSERT_TRUE(fake.process->signal(SIGTERM).ok());
    auto e = fake.process->wait_exit(5000);
    ASSERT_TRUE(e.has_value());
    EXPECT_TRUE(e->exited);
    EXPECT_EQ(e->code, 0);

    ReadyChild bounded = start_fake(std::string(tool), {"--max-runtime-s", "1"});
    ASSERT_NE(bounded.port, 0);
    auto b = bounded.process->wait_exit(5000);
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->code, 0);
}

}  // namespace
}  // namespace pylon::test
