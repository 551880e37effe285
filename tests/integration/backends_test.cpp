// The provider's backend clients (engine/ollama_backend, engine/llamacpp_backend) against the
// protocol-faithful fakes in tools/ (and a canned server whose 200 answers do not parse): probing,
// streamed generation with the exact text, each fault mode surfacing as an error with the server's
// reason, and cancellation reaching the server (the fake counts a client that closed mid-stream).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "engine/llamacpp_backend.hpp"
#include "engine/ollama_backend.hpp"
#include "fake_backend_util.hpp"
#include "reactor/ops.hpp"
#include "reactor/shard_set.hpp"
#include "tests/unit/net/net_test_util.hpp"

namespace pylon::engine {
namespace {

using reactor::Task;
using test::start_fake;

void on_shard(std::function<Task<void>()> body) {
    reactor::ShardSetOptions o;
    o.shard_count = 1;
    o.pin = false;
    reactor::ShardSet set(o);
    ASSERT_TRUE(set.run([&](reactor::Shard&) { return body(); }).ok());
}

HttpBackendOptions endpoint(std::uint16_t port) {
    HttpBackendOptions h;
    h.endpoint.host = "127.0.0.1";
    h.endpoint.port = port;
    h.http.timeouts.first_byte_timeout_ms = 5000;
    h.http.timeouts.idle_timeout_ms = 5000;
    return h;
}

struct Outcome {
    std::string text;
    proto::FinishReason finish = proto::FinishReason::none;
    std::string error;  // a failed Result, or an error event
    bool error_event = false;
    std::uint32_t completion_tokens = 0;
};

// Runs a whole generation; `cancel_after` > 0 cancels after that many tokens.
Task<Outcome> run_generation(Backend* b, proto::GenerationParams p, int cancel_after) {
    Outcome out;
    auto gen = co_await b->generate(std::move(p), {});
    if (!gen.ok()) {
        out.error = gen.error().message();
        co_return out;
    }
    int tokens = 0;
    for (;;) {
        auto ev = co_await gen.value()->next();
        if (!ev.ok()) {
            out.error = ev.error().message();
            break;
        }
        if (ev->kind == proto::StreamEvent::Kind::error) {
            out.error = std::string(ev->error_text);
            out.error_event = true;
            break;
        }
        out.text += ev->text;
        if (ev->kind == proto::StreamEvent::Kind::token && !ev->last) {
            if (cancel_after > 0 && ++tokens == cancel_after) {
                co_await gen.value()->cancel();
                break;
            }
            continue;
        }
        out.finish = ev->finish;
        out.completion_tokens = ev->completion_tokens;
        break;
    }
    co_return out;
}

proto::GenerationParams params(std::string model, std::uint32_t max_tokens) {
    proto::GenerationParams p;
    p.model = std::move(model);
    p.prompt = "Say the alphabet";
    p.max_tokens = max_tokens;
    return p;
}

TEST(OllamaBackend, ProbesAndStreamsTheExactText) {
    auto fake =
        start_fake("fake_ollama", {"--models", "llama3.2,qwen2.5:7b", "--token-delay-ms", "1"});
    BackendProbe probe;
    Outcome full;
    Outcome limited;
    on_shard([&]() -> Task<void> {
        return [](std::uint16_t port, BackendProbe* pr, Outcome* a, Outcome* b) -> Task<void> {
            OllamaOptions o{endpoint(port), 2, false};
            OllamaBackend backend(o);
            *pr = co_await backend.probe({});
            *a = co_await run_generation(&backend, params("llama3.2", 100), 0);
            *b = co_await run_generation(&backend, params("llama3.2", 3), 0);
            co_await backend.close();
        }(fake.port, &probe, &full, &limited);
    });
    EXPECT_TRUE(probe.available) << probe.error;
    EXPECT_EQ(probe.slots, 2u);
    ASSERT_EQ(probe.models.size(), 2u);
    EXPECT_EQ(probe.models[0].name, "llama3.2:latest");
    EXPECT_EQ(full.text, "alpha bravo charlie delta echo foxtrot golf hotel");
    EXPECT_EQ(full.finish, proto::FinishReason::stop);
    EXPECT_EQ(full.completion_tokens, 8u);
    EXPECT_EQ(limited.text, "alpha bravo charlie");
    EXPECT_EQ(limited.finish, proto::FinishReason::length);
}

TEST(OllamaBackend, UnknownModelIsNotFoundWithTheServersReason) {
    auto fake = start_fake("fake_ollama", {});
    Outcome out;
    on_shard([&]() -> Task<void> {
        return [](std::uint16_t port, Outcome* o) -> Task<void> {
            OllamaBackend backend(OllamaOptions{endpoint(port), 1, false});
            *o = co_await run_generation(&backend, params("nope", 3), 0);
            co_await backend.close();
        }(fake.port, &out);
    });
    EXPECT_NE(out.error.find("HTTP 404"), std::string::npos) << out.error;
    EXPECT_NE(out.error.find("model 'nope' not found"), std::string::npos) << out.error;
}

TEST(OllamaBackend, FaultsSurfaceAsErrors) {
    struct Case {
        const char* fault;
        const char* expect;
        bool error_event;
    };
    const Case cases[] = {
        {"error-mid-stream", "injected error", true},
        {"reset-mid-stream", "reset", false},
        {"busy-503", "HTTP 503", false},
    };
    for (const Case& c : cases) {
        auto fake = start_fake("fake_ollama",
                               {"--fault", c.fault, "--fault-after", "2", "--token-delay-ms", "1"});
        Outcome out;
        on_shard([&]() -> Task<void> {
            return [](std::uint16_t port, Outcome* o) -> Task<void> {
                OllamaBackend backend(OllamaOptions{endpoint(port), 1, false});
                *o = co_await run_generation(&backend, params("llama3.2", 50), 0);
                co_await backend.close();
            }(fake.port, &out);
        });
        EXPECT_NE(out.error.find(c.expect), std::string::npos) << c.fault << ": " << out.error;
        EXPECT_EQ(out.error_event, c.error_event) << c.fault;
    }
}

TEST(OllamaBackend, HangIsATimeoutAndRefusedIsClear) {
    auto fake = start_fake("fake_ollama", {"--fault", "hang"});
    Outcome hang;
    Outcome refused;
    on_shard([&]() -> Task<void> {
        return [](std::uint16_t port, Outcome* h, Outcome* r) -> Task<void> {
            HttpBackendOptions opts = endpoint(port);
            opts.http.timeouts.first_byte_timeout_ms = 300;
            OllamaBackend backend(OllamaOptions{opts, 1, false});
            *h = co_await run_generation(&backend, params("llama3.2", 5), 0);
            co_await backend.close();
            OllamaBackend nobody(OllamaOptions{endpoint(1), 1, false});  // port 1: nothing listens
            *r = co_await run_generation(&nobody, params("llama3.2", 5), 0);
            co_await nobody.close();
        }(fake.port, &hang, &refused);
    });
    EXPECT_NE(hang.error.find("no response within 300 ms"), std::string::npos) << hang.error;
    EXPECT_NE(refused.error.find("127.0.0.1:1"), std::string::npos) << refused.error;
    EXPECT_NE(refused.error.find("refused"), std::string::npos) << refused.error;
}

TEST(OllamaBackend, CancelClosesTheStreamAndTheServerSeesIt) {
    auto fake = start_fake("fake_ollama", {"--tokens", "200", "--token-delay-ms", "5"});
    Outcome out;
    on_shard([&]() -> Task<void> {
        return [](std::uint16_t port, Outcome* o) -> Task<void> {
            OllamaBackend backend(OllamaOptions{endpoint(port), 1, false});
            *o = co_await run_generation(&backend, params("llama3.2", 1000), 3);
            co_await backend.close();
        }(fake.port, &out);
    });
    EXPECT_EQ(out.text, "alpha bravo charlie");
    bool seen = test::wait_until(
        [&] { return test::fake_stat(fake.port, "streams_cancelled_by_client") == 1; }, 3000);
    EXPECT_TRUE(seen);
}

// Jobs one after the other reuse one keep-alive connection: the generation hands its response
// over once the final record arrived, the body's end is read in the background and the
// connection goes back to the pool (waited for here, as a job's result publication would).
template <typename B>
Task<void> sequential_jobs(B* backend, std::string model, int jobs,
                           std::vector<std::string>* texts) {
    for (int i = 0; i < jobs; i++) {
        Outcome o = co_await run_generation(backend, params(model, 3), 0);
        texts->push_back(o.text + o.error);
        for (int w = 0; w < 2000 && backend->idle_connections() == 0; w++) {
            co_await reactor::sleep_ms(1);
        }
    }
    co_await backend->close();
}

TEST(OllamaBackend, SequentialJobsShareOneConnection) {
    auto fake = start_fake("fake_ollama", {"--token-delay-ms", "1"});
    std::vector<std::string> texts;
    on_shard([&]() -> Task<void> {
        return [](std::uint16_t port, std::vector<std::string>* t) -> Task<void> {
            OllamaBackend backend(OllamaOptions{endpoint(port), 1, false});
            co_await sequential_jobs(&backend, "llama3.2", 5, t);
        }(fake.port, &texts);
    });
    EXPECT_EQ(texts, std::vector<std::string>(5, "alpha bravo charlie"));
    // 5 jobs on 1 connection, plus this stats request's own (each stats request connects).
    EXPECT_EQ(test::fake_stat(fake.port, "connections_accepted"), 2);
    EXPECT_EQ(test::fake_stat(fake.port, "streams_completed"), 5);
}

// Concurrent generations decode with one shard's spare codec in turn: an event's text must stay
// what it was after another generation decoded its own line (Generation::next(): the views are
// valid until that generation's next call). Without EventDecoder's copy, a's views would show
// b's later tokens.
TEST(OllamaBackend, AnEventsTextOutlivesAnotherGenerationsDecode) {
    auto fake = start_fake("fake_ollama", {"--token-delay-ms", "1"});
    std::vector<std::string> held;    // a's token texts, as views read after b's decode
    std::vector<std::string> copied;  // the same, copied at once
    std::string other;
    on_shard([&]() -> Task<void> {
        return [](std::uint16_t port, std::vector<std::string>* held_out,
                  std::vector<std::string>* copied_out, std::string* other_out) -> Task<void> {
            OllamaBackend backend(OllamaOptions{endpoint(port), 2, false});
            auto a = co_await backend.generate(params("llama3.2", 8), {});
            auto b = co_await backend.generate(params("llama3.2", 8), {});
            if (!a.ok() || !b.ok()) {
                co_await backend.close();
                co_return;
            }
            bool a_done = false;
            bool b_done = false;
            // b runs one token ahead, so the line it decodes is never the one a just decoded.
            auto first = co_await b.value()->next();
            if (first.ok()) {
                other_out->append(first->text);
            }
            for (int step = 0; step < 64 && !(a_done && b_done); step++) {
                if (!a_done) {
                    auto ev = co_await a.value()->next();
                    if (!ev.ok()) {
                        break;
                    }
                    a_done = ev->kind != proto::StreamEvent::Kind::token || ev->last;
                    std::string_view view = ev->text;
                    copied_out->emplace_back(view);
                    if (!b_done) {
                        auto bev = co_await b.value()->next();  // decodes between
                        if (!bev.ok()) {
                            break;
                        }
                        other_out->append(bev->text);
                        b_done = bev->kind != proto::StreamEvent::Kind::token || bev->last;
                    }
                    held_out->emplace_back(view);
                } else {
                    auto bev = co_await b.value()->next();
                    if (!bev.ok()) {
                        break;
                    }
                    other_out->append(bev->text);
                    b_done = bev->kind != proto::StreamEvent::Kind::token || bev->last;
                }
            }
            co_await backend.close();
        }(fake.port, &held, &copied, &other);
    });
    ASSERT_GE(copied.size(), 8u);
    EXPECT_EQ(held, copied);
    std::string a_text;
    for (const std::string& t : copied) {
        a_text += t;
    }
    EXPECT_EQ(a_text, "alpha bravo charlie delta echo foxtrot golf hotel");
    EXPECT_EQ(other, "alpha bravo charlie delta echo foxtrot golf hotel");
}

TEST(LlamaCppBackend, SequentialJobsShareOneConnectionOnBothRoutes) {
    auto fake = start_fake("fake_llamacpp", {"--token-delay-ms", "1"});
    std::vector<std::string> texts;
    on_shard([&]() -> Task<void> {
        return [](std::uint16_t port, std::vector<std::string>* t) -> Task<void> {
            LlamaCppBackend completion(LlamaCppOptions{endpoint(port), false, ""});
            co_await sequential_jobs(&completion, "", 3, t);
            LlamaCppBackend chat(LlamaCppOptions{endpoint(port), true, ""});
            co_await sequential_jobs(&chat, "fake-model", 3, t);
        }(fake.port, &texts);
    });
    EXPECT_EQ(texts, std::vector<std::string>(6, "alpha bravo charlie"));
    // One connection per backend client, plus the stats request's own.
    EXPECT_EQ(test::fake_stat(fake.port, "connections_accepted"), 3);
}

TEST(LlamaCppBackend, LoadingThenReadyThenBothRoutesStream) {
    auto fake =
        start_fake("fake_llamacpp", {"--load-ms", "300", "--slots", "3", "--token-delay-ms", "1"});
    BackendProbe loading;
    BackendProbe ready;
    Outcome completion;
    Outcome chat;
    on_shard([&]() -> Task<void> {
        return [](std::uint16_t port, BackendProbe* l, BackendProbe* r, Outcome* c1,
                  Outcome* c2) -> Task<void> {
            LlamaCppBackend completion_backend(LlamaCppOptions{endpoint(port), false, ""});
            LlamaCppBackend chat_backend(LlamaCppOptions{endpoint(port), true, ""});
            *l = co_await completion_backend.probe({});
            co_await reactor::sleep_ms(500);
            *r = co_await completion_backend.probe({});
            *c1 = co_await run_generation(&completion_backend, params("", 4), 0);
            *c2 = co_await run_generation(&chat_backend, params("fake-model", 2), 0);
            co_await completion_backend.close();
            co_await chat_backend.close();
        }(fake.port, &loading, &ready, &completion, &chat);
    });
    EXPECT_FALSE(loading.available);
    EXPECT_TRUE(loading.loading) << loading.error;
    EXPECT_TRUE(ready.available) << ready.error;
    EXPECT_EQ(ready.slots, 3u);
    ASSERT_EQ(ready.models.size(), 1u);
    EXPECT_EQ(ready.models[0].name, "fake-model");
    EXPECT_EQ(completion.text, "alpha bravo charlie delta") << completion.error;
    EXPECT_EQ(completion.finish, proto::FinishReason::length);
    EXPECT_EQ(chat.text, "alpha bravo") << chat.error;
    EXPECT_EQ(chat.finish, proto::FinishReason::length);
}

TEST(LlamaCppBackend, ErrorMidStreamAndApiKey) {
    auto faulty =
        start_fake("fake_llamacpp", {"--fault", "error-mid-stream", "--fault-after", "1"});
    auto keyed = start_fake("fake_llamacpp", {"--api-key", "sekret"});
    Outcome err;
    Outcome denied;
    Outcome allowed;
    on_shard([&]() -> Task<void> {
        return [](std::uint16_t p1, std::uint16_t p2, Outcome* e, Outcome* d,
                  Outcome* a) -> Task<void> {
            LlamaCppBackend f(LlamaCppOptions{endpoint(p1), false, ""});
            *e = co_await run_generation(&f, params("", 10), 0);
            LlamaCppBackend no_key(LlamaCppOptions{endpoint(p2), false, ""});
            *d = co_await run_generation(&no_key, params("", 2), 0);
            LlamaCppBackend with_key(LlamaCppOptions{endpoint(p2), false, "sekret"});
            *a = co_await run_generation(&with_key, params("", 2), 0);
            co_await f.close();
            co_await no_key.close();
            co_await with_key.close();
        }(faulty.port, keyed.port, &err, &denied, &allowed);
    });
    EXPECT_TRUE(err.error_event) << err.error;
    EXPECT_EQ(err.text, "alpha");
    EXPECT_NE(denied.error.find("HTTP 401"), std::string::npos) << denied.error;
    EXPECT_EQ(allowed.text, "alpha bravo") << allowed.error;
}

// Answers every GET with 200 and the body canned for its path ("" for others); keep-alive.
class CannedServer {
  public:
    explicit CannedServer(std::map<std::string, std::string> bodies) : bodies_(std::move(bodies)) {
        net::testutil::listen_loopback(listener_, AF_INET, 8);
        EXPECT_GE(listener_.fd, 0);
        thread_ = std::thread([this] { serve(); });
    }
    ~CannedServer() {
        ::shutdown(listener_.fd, SHUT_RDWR);
        thread_.join();
    }
    std::uint16_t port() const { return listener_.port; }

  private:
    // One request head's path; "" when the peer closed or 5 s passed.
    static std::string read_path(int c) {
        std::string in = net::testutil::read_request_head(c);
        std::size_t from = in.find(' ');
        std::size_t to = from == std::string::npos ? from : in.find(' ', from + 1);
        return to == std::string::npos ? "" : in.substr(from + 1, to - from - 1);
    }
    void serve() {
        for (int conn = 0; conn < 8; conn++) {
            int c = ::accept4(listener_.fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) {
                break;  // shut down
            }
            for (std::string path = read_path(c); !path.empty(); path = read_path(c)) {
                const std::string& body = bodies_[path];
                std::string out =
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    "Content-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
                ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
            }
            ::close(c);
        }
    }

    std::map<std::string, std::string> bodies_;
    net::testutil::Listener listener_;
    std::thread thread_;
};

// A 200 whose body is not a model list is reported as such (audit F6: the error said "/api/tags
// answered HTTP 200", which sent operators looking at the wrong thing).
TEST(BackendProbe, A200ThatIsNotAModelListSaysSo) {
    using Bodies = std::map<std::string, std::string>;
    CannedServer ollama(
        Bodies{{"/api/version", R"({"version":"0.5.1"})"}, {"/api/tags", "<html>"}});
    CannedServer bad_version(Bodies{{"/api/version", "hello"}});
    CannedServer llama(Bodies{{"/health", R"({"status":"ok"})"}, {"/v1/models", R"({"data":7})"}});
    BackendProbe tags;
    BackendProbe version;
    BackendProbe models;
    on_shard([&]() -> Task<void> {
        return [](std::uint16_t p1, std::uint16_t p2, std::uint16_t p3, BackendProbe* t,
                  BackendProbe* v, BackendProbe* m) -> Task<void> {
            OllamaBackend o(OllamaOptions{endpoint(p1), 1, false});
            *t = co_await o.probe({});
            OllamaBackend ov(OllamaOptions{endpoint(p2), 1, false});
            *v = co_await ov.probe({});
            LlamaCppBackend l(LlamaCppOptions{endpoint(p3), false, ""});
            *m = co_await l.probe({});
            co_await o.close();
            co_await ov.close();
            co_await l.close();
        }(ollama.port(), bad_version.port(), llama.port(), &tags, &version, &models);
    });
    EXPECT_FALSE(tags.available);
    EXPECT_NE(tags.error.find(":" + std::to_string(ollama.port()) +
                              ": /api/tags: not a model list: not valid JSON"),
              std::string::npos)
        << tags.error;
    EXPECT_FALSE(version.available);
    EXPECT_NE(version.error.find("/api/version: not an Ollama version: not valid JSON"),
              std::string::npos)
        << version.error;
    EXPECT_FALSE(models.available);
    EXPECT_NE(models.error.find("/v1/models: not a model list: "), std::string::npos)
        << models.error;
    EXPECT_EQ(models.error.find("HTTP 200"), std::string::npos) << models.error;
}

}  // namespace
}  // namespace pylon::engine
