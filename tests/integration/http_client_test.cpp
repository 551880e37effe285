// net::HttpClient against independent peers: tests/node/http_server.mjs (Node's http module) and
// the fake backends tools/fake_ollama and tools/fake_llamacpp, all on loopback. Checks content,
// the arrival of streamed pieces over time, error reporting (reset, truncation, timeouts),
// cancellation seen by the server, and keep-alive reuse from the pool.
#include "net/http_client.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "net/ndjson.hpp"
#include "net/sse.hpp"
#include "reactor/clock.hpp"
#include "reactor/ops.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/test_env.hpp"
#include "tests/unit/net/net_test_util.hpp"
#include "tests/unit/reactor/run_on_shards.hpp"

namespace pylon::net {
namespace {

using reactor::Task;

class HttpClientTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!test::node_available()) {
            GTEST_SKIP() << test::node_unavailable_reason();
        }
        auto ready = test::spawn_ready(
            test::node_script_spec("http_server.mjs", {"--max-runtime-s", "300"}), 15000);
        ASSERT_TRUE(ready.ok()) << ready.error().message();
        server_ = std::move(ready).value();
    }
    std::uint16_t port() const { return server_.port; }

    test::ReadyChild server_;
};

HttpClientOptions quick_options() {
    HttpClientOptions o;
    o.timeouts.connect_timeout_ms = 2000;
    o.timeouts.first_byte_timeout_ms = 5000;
    o.timeouts.idle_timeout_ms = 5000;
    o.timeouts.total_timeout_ms = 20000;
    return o;
}

void run(std::function<Task<void>()> main) {
    reactor::testing::run_on_shard(std::move(main));
}

HttpRequest get(std::string target) {
    HttpRequest r;
    r.target = std::move(target);
    return r;
}

struct Piece {
    std::string bytes;
    std::int64_t at_ms;
};

// Reads the whole body recording each piece and its arrival time.
Task<Status> read_pieces(HttpResponse* r, std::vector<Piece>* out) {
    for (;;) {
        Result<Bytes> p = co_await r->next_body();
        if (!p.ok()) {
            co_return std::move(p).error();
        }
        if (p->empty()) {
            co_return Ok{};
        }
        out->push_back(Piece{std::string(as_text(*p)), reactor::monotonic_ms()});
    }
}

TEST_F(HttpClientTest, ChunkedNdjsonArrivesAsItIsSent) {
    std::vector<std::string> lines;
    std::vector<std::int64_t> arrivals;
    run([&]() -> Task<void> {
        return [](std::uint16_t p, std::vector<std::string>* out,
                  std::vector<std::int64_t>* at) -> Task<void> {
            HttpClient client(Endpoint{"127.0.0.1", p, ""}, quick_options());
            auto r = co_await client.send(get("/ndjson?lines=5&gap_ms=150"));
            EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
            if (r.ok()) {
                EXPECT_EQ((*r)->status(), 200);
                EXPECT_TRUE((*r)->head().chunked);
                NdjsonSplitter split;
                for (;;) {
                    Result<Bytes> piece = co_await (*r)->next_body();
                    EXPECT_TRUE(piece.ok());
                    if (!piece.ok() || piece->empty()) {
                        break;
                    }
                    split.feed(*piece);
                    for (;;) {
                        auto line = split.next();
                        EXPECT_TRUE(line.ok());
                        if (!line.ok() || !*line) {
                            break;
                        }
                        out->emplace_back(**line);
                        at->push_back(reactor::monotonic_ms());
                    }
                }
                r->reset();
            }
            co_await client.close();
        }(port(), &lines, &arrivals);
    });
    ASSERT_EQ(lines.size(), 5u);
    for (int k = 0; k < 5; k++) {
        EXPECT_EQ(lines[static_cast<std::size_t>(k)],
                  "{\"i\":" + std::to_string(k) + ",\"text\":\"line " + std::to_string(k) + "\"}");
    }
    // Streamed, not buffered: the lines arrived over time, roughly 150 ms apart.
    EXPECT_GE(arrivals[4] - arrivals[0], 4 * 150 - 100);
    for (std::size_t k = 1; k < arrivals.size(); k++) {
        EXPECT_GE(arrivals[k] - arrivals[k - 1], 60) << "line " << k;
    }
}

TEST_F(HttpClientTest, SseEventsWithCommentsAndDone) {
    std::vector<std::string> data;
    std::vector<std::string> types;
    std::size_t comments = 0;
    bool done = false;
    std::int64_t elapsed = 0;
    run([&]() -> Task<void> {
        return [](std::uint16_t p, std::vector<std::string>* d, std::vector<std::string>* t,
                  std::size_t* c, bool* dn, std::int64_t* el) -> Task<void> {
            std::int64_t start = reactor::monotonic_ms();
            HttpClient client(Endpoint{"127.0.0.1", p, ""}, quick_options());
            auto r = co_await client.send(get("/sse?events=4&gap_ms=60"));
            EXPECT_TRUE(r.ok());
            if (r.ok()) {
                EXPECT_EQ((*r)->head().header("content-type"), "text/event-stream");
                SseParser sse;
                for (;;) {
                    Result<Bytes> piece = co_await (*r)->next_body();
                    if (!piece.ok() || piece->empty()) {
                        EXPECT_TRUE(piece.ok());
                        break;
                    }
                    sse.feed(*piece);
                    for (;;) {
                        auto ev = sse.next();
                        if (!ev.ok() || !*ev) {
                            break;
                        }
                        if ((*ev)->done) {
                            *dn = true;
                        } else {
                            d->emplace_back((*ev)->data);
                            t->emplace_back((*ev)->type);
                        }
                    }
                }
                *c = sse.comments_seen();
            }
            *el = reactor::monotonic_ms() - start;
            co_await client.close();
        }(port(), &data, &types, &comments, &done, &elapsed);
    });
    ASSERT_EQ(data.size(), 4u);
    for (int k = 0; k < 4; k++) {
        EXPECT_EQ(data[static_cast<std::size_t>(k)], "{\"i\":" + std::to_string(k) + "}");
    }
    EXPECT_EQ(types[3], "last");
    EXPECT_EQ(types[0], "");
    EXPECT_EQ(comments, 1u);
    EXPECT_TRUE(done);
    EXPECT_GE(elapsed, 5 * 60 - 50);  // six items, five gaps
}

TEST_F(HttpClientTest, ContentLengthBodyAndKeepAliveReuse) {
    std::string body;
    std::uint64_t connects = 0;
    std::uint64_t reuses = 0;
    run([&]() -> Task<void> {
        return
            [](std::uint16_t p, std::string* b, std::uint64_t* c, std::uint64_t* ru) -> Task<void> {
                HttpClient client(Endpoint{"127.0.0.1", p, ""}, quick_options());
                for (int i = 0; i < 3; i++) {
                    auto r = co_await client.send(get("/length?bytes=100000"));
                    EXPECT_TRUE(r.ok());
                    if (!r.ok()) {
                        break;
                    }
                    EXPECT_EQ((*r)->head().content_length, 100000u);
                    EXPECT_EQ((*r)->reused_connection(), i > 0);
                    auto all = co_await (*r)->read_all(1 << 20);
                    EXPECT_TRUE(all.ok());
                    if (all.ok()) {
                        *b = *all;
                    }
                    EXPECT_EQ(client.pool().idle_count(), 1u) << "returned to the pool";
                }
                *c = client.pool().connects();
                *ru = client.pool().reuses();
                co_await client.close();
            }(port(), &body, &connects, &reuses);
    });
    ASSERT_EQ(body.size(), 100000u);
    for (std::size_t i = 0; i < body.size(); i++) {
        ASSERT_EQ(body[i], static_cast<char>('a' + i % 26)) << i;
    }
    EXPECT_EQ(connects, 1u);
    EXPECT_EQ(reuses, 2u);
}

TEST_F(HttpClientTest, IdleConnectionsAreBoundedAndExpire) {
    std::uint64_t connects = 0;
    std::size_t idle_after_two = 0;
    std::string last;
    run([&]() -> Task<void> {
        return [](std::uint16_t p, std::uint64_t* c, std::size_t* idle,
                  std::string* body) -> Task<void> {
            HttpClientOptions o = quick_options();
            o.pool.idle_connections_max = 1;
            o.pool.idle_timeout_ms = 100;
            HttpClient client(Endpoint{"127.0.0.1", p, ""}, o);
            // Two responses open at once need two connections; only one may stay idle.
            auto r1 = co_await client.send(get("/length?bytes=10"));
            auto r2 = co_await client.send(get("/length?bytes=20"));
            EXPECT_TRUE(r1.ok() && r2.ok());
            if (r1.ok() && r2.ok()) {
                EXPECT_TRUE((co_await (*r1)->read_all(100)).ok());
                EXPECT_TRUE((co_await (*r2)->read_all(100)).ok());
            }
            *idle = client.pool().idle_count();
            // Past the idle timeout the kept connection is dropped, not reused.
            co_await reactor::sleep_ms(200);
            auto r3 = co_await client.send(get("/length?bytes=5"));
            EXPECT_TRUE(r3.ok());
            if (r3.ok()) {
                EXPECT_FALSE((*r3)->reused_connection());
                auto all = co_await (*r3)->read_all(100);
                if (all.ok()) {
                    *body = *all;
                }
            }
            *c = client.pool().connects();
            r1 = Error(Errc::closed, "");
            r2 = Error(Errc::closed, "");
            r3 = Error(Errc::closed, "");
            co_await client.close();
        }(port(), &connects, &idle_after_two, &last);
    });
    EXPECT_EQ(idle_after_two, 1u);
    EXPECT_EQ(connects, 3u);
    EXPECT_EQ(last, "abcde");
}

// A scripted keep-alive server on a thread: the first connection answers its first request, then
// reads the second and closes (the race of a server dropping an idle connection just as the
// client reuses it), or with `partial` sends half a response head first; later connections
// answer "fresh". Counts accepted connections and requests.
// How the first connection misbehaves after its first response ("ok").
enum class FirstConnection {
    close_before_response,  // reads the second request, closes without a byte
    close_mid_response,     // reads the second request, sends part of a head, closes
    stray_response,         // sends a second response nobody asked for, 100 ms later
};

class ClosingServer {
  public:
    explicit ClosingServer(FirstConnection mode) : mode_(mode) {
        net::testutil::listen_loopback(listener_, AF_INET, 8);
        EXPECT_GE(listener_.fd, 0);
        thread_ = std::thread([this] { serve(); });
    }
    ~ClosingServer() {
        ::shutdown(listener_.fd, SHUT_RDWR);
        thread_.join();
    }
    std::uint16_t port() const { return listener_.port; }
    int accepted() const { return accepted_.load(); }
    int requests() const { return requests_.load(); }

  private:
    // Reads one request head (GET, no body); false when the peer closed or 5 s passed.
    bool read_request(int c) {
        bool got = !net::testutil::read_request_head(c).empty();
        requests_ += got ? 1 : 0;
        return got;
    }
    void send_text(int c, std::string_view text) {
        EXPECT_EQ(::send(c, text.data(), text.size(), MSG_NOSIGNAL),
                  static_cast<ssize_t>(text.size()));
    }
    void serve() {
        std::vector<int> open;
        for (int conn = 0; conn < 4; conn++) {
            int c = ::accept4(listener_.fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) {
                break;  // shut down
            }
            accepted_++;
            if (conn == 0 && read_request(c)) {
                send_text(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                if (mode_ == FirstConnection::stray_response) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(100));
                    send_text(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray");
                }
                if (read_request(c) && mode_ == FirstConnection::close_mid_response) {
                    send_text(c, "HTTP/1.1 200 OK\r\nContent-Le");
                }
                ::close(c);
                continue;
            }
            while (read_request(c)) {
                send_text(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh");
            }
            ::close(c);
        }
    }

    FirstConnection mode_;
    net::testutil::Listener listener_;
    std::thread thread_;
    std::atomic<int> accepted_{0};
    std::atomic<int> requests_{0};
};

struct ReuseOutcome {
    std::string first;
    std::string second;  // the body, or the error
    bool second_ok = false;
    bool second_reused = true;
    std::uint64_t connects = 0;
};

// Two GETs on one client, `pause_ms` apart.
ReuseOutcome two_requests(std::uint16_t port, std::int64_t pause_ms) {
    ReuseOutcome out;
    run([&]() -> Task<void> {
        return [](std::uint16_t p, ReuseOutcome* o, std::int64_t pause) -> Task<void> {
            HttpClient client(Endpoint{"127.0.0.1", p, ""}, quick_options());
            auto r1 = co_await client.send(get("/one"));
            if (r1.ok()) {
                auto all = co_await (*r1)->read_all(100);
                o->first = all.ok() ? *all : all.error().message();
            }
            r1 = Error(Errc::closed, "");  // the connection goes back to the pool
            if (pause > 0) {
                co_await reactor::sleep_ms(pause);
            }
            auto r2 = co_await client.send(get("/two"));
            o->second_ok = r2.ok();
            if (r2.ok()) {
                o->second_reused = (*r2)->reused_connection();
                auto all = co_await (*r2)->read_all(100);
                o->second = all.ok() ? *all : all.error().message();
            } else {
                o->second = r2.error().message();
            }
            r2 = Error(Errc::closed, "");
            o->connects = client.pool().connects();
            co_await client.close();
        }(port, &out, pause_ms);
    });
    return out;
}

TEST(HttpClientKeepAlive, AReusedConnectionClosedBeforeAnyByteIsRetriedOnceOnAFreshOne) {
    ClosingServer server(FirstConnection::close_before_response);
    ReuseOutcome out = two_requests(server.port(), 0);
    EXPECT_EQ(out.first, "ok");
    EXPECT_TRUE(out.second_ok) << out.second;
    EXPECT_EQ(out.second, "fresh") << "the request went again on a new connection";
    EXPECT_FALSE(out.second_reused);
    EXPECT_EQ(out.connects, 2u);
    EXPECT_EQ(server.accepted(), 2);
    EXPECT_EQ(server.requests(), 3) << "one, two (dropped), two again";
}

TEST(HttpClientKeepAlive, AReusedConnectionClosedMidResponseIsAnErrorNotARetry) {
    ClosingServer server(FirstConnection::close_mid_response);
    ReuseOutcome out = two_requests(server.port(), 0);
    EXPECT_EQ(out.first, "ok");
    EXPECT_FALSE(out.second_ok) << "part of a response arrived: the request may have run";
    EXPECT_EQ(out.connects, 1u);
    EXPECT_EQ(server.accepted(), 1);
}

// Audit (session 13): bytes that arrive on an idle pooled connection answer no request. The
// connection was reused and the next request read them as its own response ("stray"), so a
// job got another answer than its own; it must go on a fresh connection instead.
TEST(HttpClientKeepAlive, AConnectionWithUnreadBytesIsNotReused) {
    ClosingServer server(FirstConnection::stray_response);
    ReuseOutcome out = two_requests(server.port(), 400);
    EXPECT_EQ(out.first, "ok");
    EXPECT_TRUE(out.second_ok) << out.second;
    EXPECT_EQ(out.second, "fresh");
    EXPECT_FALSE(out.second_reused);
    EXPECT_EQ(out.connects, 2u);
    EXPECT_EQ(server.accepted(), 2);
}

// A server that sends a stream's final record and then trickles the rest of its chunked body, a
// byte every 200 ms (each inside the read timeout), for up to 10 s. Records how long after the
// first trickled byte it saw the client close the connection.
class TricklingServer {
  public:
    TricklingServer() {
        net::testutil::listen_loopback(listener_, AF_INET, 4);
        EXPECT_GE(listener_.fd, 0);
        thread_ = std::thread([this] { serve(); });
    }
    ~TricklingServer() {
        ::shutdown(listener_.fd, SHUT_RDWR);
        thread_.join();
    }
    std::uint16_t port() const { return listener_.port; }
    // -1 while the client has not closed (or the server gave up after 10 s).
    std::int64_t closed_after_ms() const { return closed_after_ms_.load(); }

  private:
    void serve() {
        int c = ::accept4(listener_.fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) {
            return;
        }
        if (!net::testutil::read_request_head(c).empty()) {
            std::string head =
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                "e\r\n{\"done\":true}\n\r\n"
                "20\r\n";  // a 32-byte chunk, sent one byte at a time
            ::send(c, head.data(), head.size(), MSG_NOSIGNAL);
            std::int64_t start = reactor::monotonic_ms();
            for (int i = 0; i < 50; i++) {
                pollfd p{c, POLLIN, 0};
                if (::poll(&p, 1, 200) > 0) {  // the client closed (EOF) or reset
                    char b;
                    if (::recv(c, &b, 1, MSG_DONTWAIT) <= 0) {
                        closed_after_ms_ = reactor::monotonic_ms() - start;
                        break;
                    }
                }
                if (::send(c, " ", 1, MSG_NOSIGNAL) != 1) {
                    closed_after_ms_ = reactor::monotonic_ms() - start;
                    break;
                }
            }
        }
        ::close(c);
    }

    net::testutil::Listener listener_;
    std::thread thread_;
    std::atomic<std::int64_t> closed_after_ms_{-1};
};

// Audit (session 13): HttpResponse::finish() reads the rest of a body within finish_timeout_ms
// in all, not per read: a server trickling a byte inside each read's timeout held the
// connection (and a coroutine) until it stopped on its own.
TEST(HttpClientKeepAlive, TheRestOfABodyIsReadWithinOneDeadline) {
    TricklingServer server;
    run([&]() -> Task<void> {
        return [](std::uint16_t p) -> Task<void> {
            HttpClientOptions o = quick_options();
            o.finish_timeout_ms = 500;
            HttpClient client(Endpoint{"127.0.0.1", p, ""}, o);
            auto r = co_await client.send(get("/stream"));
            EXPECT_TRUE(r.ok());
            if (r.ok()) {
                std::string body;
                while (body.find('\n') == std::string::npos) {
                    Result<Bytes> piece = co_await (*r)->next_body();
                    if (!piece.ok() || piece->empty()) {
                        break;
                    }
                    body += as_text(*piece);
                }
                EXPECT_EQ(body, "{\"done\":true}\n");
                HttpResponse::finish(std::move(r).value());
            }
            co_await reactor::sleep_ms(3000);
            co_await client.close();
        }(server.port());
    });
    EXPECT_GE(server.closed_after_ms(), 0) << "the client kept reading the trickle";
    EXPECT_LT(server.closed_after_ms(), 2500);
}

TEST_F(HttpClientTest, PostJsonBodyIsSentWithHeaders) {
    std::string echoed;
    run([&]() -> Task<void> {
        return [](std::uint16_t p, std::string* e) -> Task<void> {
            HttpClient client(Endpoint{"127.0.0.1", p, ""}, quick_options());
            HttpRequest req;
            req.method = "POST";
            req.target = "/echo?x=1";
            req.body = R"({"model":"llama3.2","prompt":"Say hi"})";
            req.headers.emplace_back("X-Test", "yes");
            auto r = co_await client.send(req);
            EXPECT_TRUE(r.ok());
            if (r.ok()) {
                auto all = co_await (*r)->read_all(1 << 20);
                if (all.ok()) {
                    *e = *all;
                }
            }
            co_await client.close();
        }(port(), &echoed);
    });
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(echoed).get(doc), simdjson::SUCCESS) << echoed;
    EXPECT_EQ(std::string_view(doc["method"]), "POST");
    EXPECT_EQ(std::string_view(doc["url"]), "/echo?x=1");
    EXPECT_EQ(std::string_view(doc["body"]), R"({"model":"llama3.2","prompt":"Say hi"})");
    EXPECT_EQ(std::string_view(doc["headers"]["content-type"]), "application/json");
    EXPECT_EQ(std::string_view(doc["headers"]["x-test"]), "yes");
    EXPECT_EQ(std::string_view(doc["headers"]["host"]), "127.0.0.1:" + std::to_string(port()));
}

Task<void> expect_error(HttpClient* client, std::string target, Errc code, std::string* msg) {
    auto r = co_await client->send(get(std::move(target)));
    if (!r.ok()) {
        EXPECT_EQ(r.error().code(), code) << r.error().message();
        *msg = r.error().message();
        co_return;
    }
    std::vector<Piece> pieces;
    Status st = co_await read_pieces(r->get(), &pieces);
    EXPECT_FALSE(st.ok()) << "a broken stream must not look like success";
    if (!st.ok()) {
        EXPECT_EQ(st.error().code(), code) << st.error().message();
        *msg = st.error().message();
    }
}

TEST_F(HttpClientTest, ResetOrCloseMidStreamIsAnError) {
    std::string reset_msg;
    std::string close_msg;
    run([&]() -> Task<void> {
        return [](std::uint16_t p, std::string* rm, std::string* cm) -> Task<void> {
            HttpClient client(Endpoint{"127.0.0.1", p, ""}, quick_options());
            co_await expect_error(&client, "/reset-after?bytes=1234", Errc::closed, rm);
            co_await expect_error(&client, "/reset-after?bytes=1234&mode=close", Errc::closed, cm);
            co_await client.close();
        }(port(), &reset_msg, &close_msg);
    });
    std::string peer = "127.0.0.1:" + std::to_string(port());
    EXPECT_EQ(reset_msg, peer + ": connection reset mid-stream after 1234 bytes");
    EXPECT_EQ(close_msg, peer + ": connection closed mid-stream after 1234 bytes");
}

TEST_F(HttpClientTest, SlowFirstByteAndIdleStreamTimeOut) {
    std::string first_msg;
    std::string idle_msg;
    run([&]() -> Task<void> {
        return [](std::uint16_t p, std::string* fm, std::string* im) -> Task<void> {
            HttpClientOptions o = quick_options();
            o.timeouts.first_byte_timeout_ms = 300;
            o.timeouts.idle_timeout_ms = 300;
            HttpClient client(Endpoint{"127.0.0.1", p, ""}, o);
            co_await expect_error(&client, "/slow-first-byte?ms=3000", Errc::timeout, fm);
            co_await expect_error(&client, "/ndjson?lines=3&gap_ms=2000", Errc::timeout, im);
            co_await client.close();
        }(port(), &first_msg, &idle_msg);
    });
    std::string peer = "127.0.0.1:" + std::to_string(port());
    EXPECT_EQ(first_msg, peer + ": no response within 300 ms");
    EXPECT_EQ(idle_msg, peer + ": no data for 300 ms mid-stream after 24 bytes");
}

// set_timeouts (a reloaded request_timeout_ms) bounds the requests sent afterwards; a stream
// already under way keeps the bounds it was sent with.
TEST_F(HttpClientTest, NewTimeoutsApplyToLaterRequestsNotToAStreamUnderWay) {
    std::size_t pieces_read = 0;
    Status under_way = Ok{};
    std::string later_msg;
    run([&]() -> Task<void> {
        return [](std::uint16_t p, std::size_t* n, Status* st, std::string* lm) -> Task<void> {
            HttpClient client(Endpoint{"127.0.0.1", p, ""}, quick_options());  // idle 5 s
            auto r = co_await client.send(get("/ndjson?lines=3&gap_ms=400"));
            EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
            HttpTimeouts tight = quick_options().timeouts;
            tight.idle_timeout_ms = 100;
            client.set_timeouts(tight);
            if (r.ok()) {
                std::vector<Piece> pieces;
                *st = co_await read_pieces(r->get(), &pieces);
                *n = pieces.size();
            }
            co_await expect_error(&client, "/ndjson?lines=3&gap_ms=400", Errc::timeout, lm);
            co_await client.close();
        }(port(), &pieces_read, &under_way, &later_msg);
    });
    EXPECT_TRUE(under_way.ok()) << under_way.error().message();
    EXPECT_GE(pieces_read, 3u);
    EXPECT_NE(later_msg.find("no data for 100 ms mid-stream"), std::string::npos) << later_msg;
}

TEST_F(HttpClientTest, ConnectionRefusedNamesTheBackend) {
    std::string msg;
    std::uint16_t dead = 1;  // nothing listens on port 1 here
    run([&]() -> Task<void> {
        return [](std::uint16_t p, std::string* m) -> Task<void> {
            HttpClient client(Endpoint{"127.0.0.1", p, ""}, quick_options());
            auto r = co_await client.send(get("/"));
            EXPECT_FALSE(r.ok());
            if (!r.ok()) {
                EXPECT_EQ(r.error().code(), Errc::refused);
                *m = r.error().message();
            }
            co_await client.close();
        }(dead, &msg);
    });
    EXPECT_EQ(msg, "127.0.0.1:1: Connection refused");
}

Task<void> read_stats(HttpClient* client, std::string* out) {
    auto r = co_await client->send(get("/_stats"));
    if (r.ok()) {
        auto all = co_await (*r)->read_all(4096);
        if (all.ok()) {
            *out = *all;
        }
    }
}

TEST_F(HttpClientTest, CancellingMidStreamClosesTheConnection) {
    std::string stats;
    std::size_t pieces_before = 0;
    Errc after_cancel = Errc::internal;
    run([&]() -> Task<void> {
        return [](std::uint16_t p, std::string* st, std::size_t* n, Errc* ac) -> Task<void> {
            HttpClient client(Endpoint{"127.0.0.1", p, ""}, quick_options());
            reactor::CancelSource cancel;
            auto r = co_await client.send(get("/hold"), cancel.token());
            EXPECT_TRUE(r.ok());
            if (r.ok()) {
                for (int i = 0; i < 2; i++) {
                    Result<Bytes> piece = co_await (*r)->next_body();
                    EXPECT_TRUE(piece.ok() && !piece->empty());
                    (*n)++;
                }
                cancel.cancel();
                Result<Bytes> piece = co_await (*r)->next_body();
                *ac = piece.ok() ? Errc::internal : piece.error().code();
                r->reset();  // destroying the response closes its connection
            }
            // The server notices the close; poll its counter (bounded).
            for (int i = 0; i < 100; i++) {
                st->clear();
                co_await read_stats(&client, st);
                if (st->find("\"closed_by_client\":1") != std::string::npos) {
                    break;
                }
                co_await reactor::sleep_ms(20);
            }
            co_await client.close();
        }(port(), &stats, &pieces_before, &after_cancel);
    });
    EXPECT_EQ(pieces_before, 2u);
    EXPECT_EQ(after_cancel, Errc::cancelled);
    EXPECT_NE(stats.find("\"closed_by_client\":1"), std::string::npos) << stats;
}

// ---- the fake backends (real processes speaking the Ollama and llama-server formats) ----

test::ReadyChild start_tool(const std::string& tool, std::vector<std::string> extra) {
    test::ChildSpec spec;
    spec.argv = {test::tool_path(tool), "--port", "0", "--max-runtime-s", "120", "--tokens", "6",
                 "--token-delay-ms",    "20"};
    spec.argv.insert(spec.argv.end(), extra.begin(), extra.end());
    auto ready = test::spawn_ready(std::move(spec), 10000);
    EXPECT_TRUE(ready.ok()) << (ready.ok() ? "" : ready.error().message());
    return ready.ok() ? std::move(ready).value() : test::ReadyChild{};
}

TEST(HttpClientFakes, OllamaGenerateStreamsNdjson) {
    test::ReadyChild fake = start_tool("fake_ollama", {});
    ASSERT_NE(fake.port, 0);
    std::string text;
    std::string done_reason;
    int lines = 0;
    run([&]() -> Task<void> {
        return [](std::uint16_t p, std::string* t, std::string* dr, int* n) -> Task<void> {
            HttpClient client(Endpoint{"127.0.0.1", p, ""}, quick_options());
            HttpRequest req;
            req.method = "POST";
            req.target = "/api/generate";
            req.body = R"({"model":"llama3.2","prompt":"Say hi","options":{"num_predict":4}})";
            auto r = co_await client.send(req);
            EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
            if (!r.ok()) {
                co_await client.close();
                co_return;
            }
            EXPECT_EQ((*r)->status(), 200);
            NdjsonSplitter split;
            simdjson::dom::parser parser;
            for (;;) {
                Result<Bytes> piece = co_await (*r)->next_body();
                if (!piece.ok() || piece->empty()) {
                    EXPECT_TRUE(piece.ok());
                    break;
                }
                split.feed(*piece);
                for (auto line = split.next(); line.ok() && *line; line = split.next()) {
                    (*n)++;
                    simdjson::dom::element obj;
                    EXPECT_EQ(parser.parse(std::string(**line)).get(obj), simdjson::SUCCESS);
                    std::string_view resp;
                    if (obj["response"].get(resp) == simdjson::SUCCESS) {
                        t->append(resp);
                    }
                    std::string_view reason;
                    if (obj["done_reason"].get(reason) == simdjson::SUCCESS) {
                        dr->assign(reason);
                    }
                }
            }
            r->reset();
            co_await client.close();
        }(fake.port, &text, &done_reason, &lines);
    });
    EXPECT_EQ(text, "alpha bravo charlie delta");
    EXPECT_EQ(done_reason, "length");
    EXPECT_EQ(lines, 5);  // four tokens and the final line
}

TEST(HttpClientFakes, LlamaCppCompletionStreamsSse) {
    test::ReadyChild fake = start_tool("fake_llamacpp", {});
    ASSERT_NE(fake.port, 0);
    std::string text;
    bool stopped = false;
    run([&]() -> Task<void> {
        return [](std::uint16_t p, std::string* t, bool* stop) -> Task<void> {
            HttpClient client(Endpoint{"127.0.0.1", p, ""}, quick_options());
            HttpRequest req;
            req.method = "POST";
            req.target = "/completion";
            req.body = R"({"prompt":"Say hi","n_predict":3,"stream":true})";
            auto r = co_await client.send(req);
            EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
            if (!r.ok()) {
                co_await client.close();
                co_return;
            }
            SseParser sse;
            simdjson::dom::parser parser;
            for (;;) {
                Result<Bytes> piece = co_await (*r)->next_body();
                if (!piece.ok() || piece->empty()) {
                    EXPECT_TRUE(piece.ok());
                    break;
                }
                sse.feed(*piece);
                for (auto ev = sse.next(); ev.ok() && *ev; ev = sse.next()) {
                    simdjson::dom::element obj;
                    EXPECT_EQ(parser.parse(std::string((*ev)->data)).get(obj), simdjson::SUCCESS);
                    std::string_view content;
                    if (obj["content"].get(content) == simdjson::SUCCESS) {
                        t->append(content);
                    }
                    bool s = false;
                    if (obj["stop"].get(s) == simdjson::SUCCESS && s) {
                        *stop = true;
                    }
                }
            }
            r->reset();
            co_await client.close();
        }(fake.port, &text, &stopped);
    });
    EXPECT_EQ(text, "alpha bravo charlie");
    EXPECT_TRUE(stopped);
}

}  // namespace
}  // namespace pylon::net
