// net::WebSocket against an independent server: tests/node/ws_server.mjs (the `ws` package),
// plain and over TLS with a throwaway CA and server certificate made here with the `openssl`
// command; plus a scripted peer on a socketpair for frames no real server sends (bad UTF-8).
#include "net/websocket.hpp"

#include <gtest/gtest.h>
#include <openssl/rand.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "net/resolver.hpp"
#include "net/socket_stream.hpp"
#include "net/tls.hpp"
#include "reactor/clock.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"
#include "tests/unit/reactor/run_on_shards.hpp"

namespace pylon::net {
namespace {

using reactor::Task;

void run(std::function<Task<void>()> main) {
    reactor::testing::run_on_shard(std::move(main));
}

std::string pattern(std::size_t n, std::size_t seed) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; i++) {
        s[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
    }
    return s;
}

WebSocketOptions quick() {
    WebSocketOptions o;
    o.connect_timeout_ms = 3000;
    o.handshake_timeout_ms = 3000;
    o.ping_interval_ms = 0;
    return o;
}

// The outcome of one scripted exchange, checked on the test thread.
struct Outcome {
    bool connected = false;
    std::string connect_error;
    Errc connect_code = Errc::internal;
    std::vector<std::string> received;
    std::string error;
    Errc code = Errc::internal;
    std::uint16_t close_code = 0;
    std::string close_reason;
    std::int64_t elapsed_ms = 0;
};

void note_error(Outcome* o, const Error& e) {
    o->error = e.message();
    o->code = e.code();
}

// Connects, sends each message and reads one reply per message.
Task<void> echo_each(std::string url, WebSocketOptions opt, std::vector<std::string> messages,
                     Outcome* out) {
    auto ws = co_await WebSocket::connect(url, opt);
    if (!ws.ok()) {
        out->connect_error = ws.error().message();
        out->connect_code = ws.error().code();
        co_return;
    }
    out->connected = true;
    for (const std::string& m : messages) {
        Status s = co_await (*ws)->send_text(m);
        if (!s.ok()) {
            note_error(out, s.error());
            break;
        }
        Result<Message> r = co_await (*ws)->next_message(10000);
        if (!r.ok()) {
            note_error(out, r.error());
            break;
        }
        EXPECT_EQ(r->kind, MessageKind::text);
        out->received.emplace_back(r->data);
    }
    co_await (*ws)->close(1000, "done");
}

class WsServer {
  public:
    explicit WsServer(std::vector<std::string> args = {}) {
        args.insert(args.end(), {"--max-runtime-s", "300"});
        auto ready = test::spawn_ready(test::node_script_spec("ws_server.mjs", args), 15000);
        EXPECT_TRUE(ready.ok()) << (ready.ok() ? "" : ready.error().message());
        if (ready.ok()) {
            child_ = std::move(ready).value();
        }
    }
    std::uint16_t port() const { return child_.port; }

  private:
    test::ReadyChild child_;
};

class WebSocketTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!test::node_available()) {
            GTEST_SKIP() << test::node_unavailable_reason();
        }
        server_ = std::make_unique<WsServer>();
        ASSERT_NE(server_->port(), 0);
    }
    std::string url(const std::string& path) const {
        return "ws://127.0.0.1:" + std::to_string(server_->port()) + path;
    }
    std::unique_ptr<WsServer> server_;
};

TEST_F(WebSocketTest, EchoesTextFromOneByteToOneMebibyte) {
    std::vector<std::string> sent;
    for (std::size_t n : {std::size_t{1}, std::size_t{125}, std::size_t{126}, std::size_t{65535},
                          std::size_t{65536}, std::size_t{300000}, std::size_t{1024 * 1024}}) {
        sent.push_back(pattern(n, n));
    }
    sent.push_back("h\xc3\xa9llo \xf0\x9f\x98\x80");
    Outcome out;
    run([&]() -> Task<void> { return echo_each(url("/echo"), quick(), sent, &out); });
    ASSERT_TRUE(out.connected) << out.connect_error;
    EXPECT_EQ(out.error, "");
    ASSERT_EQ(out.received.size(), sent.size());
    for (std::size_t i = 0; i < sent.size(); i++) {
        EXPECT_TRUE(out.received[i] == sent[i]) << "message " << i << " of " << sent[i].size();
    }
}

TEST_F(WebSocketTest, FragmentedMessagesAreAssembled) {
    // Five fragments cut on byte boundaries: the multi-byte characters straddle them.
    std::string text;
    for (int i = 0; i < 500; i++) {
        text += "\xe2\x82\xac\xf0\x9f\x98\x80 ";
    }
    Outcome out;
    run([&]() -> Task<void> {
        return echo_each(url("/fragmented?parts=5"), quick(), {text, "x", text}, &out);
    });
    ASSERT_TRUE(out.connected) << out.connect_error;
    ASSERT_EQ(out.received.size(), 3u) << out.error;
    EXPECT_EQ(out.received[0], text);
    EXPECT_EQ(out.received[1], "x");
    EXPECT_EQ(out.received[2], text);
}

TEST_F(WebSocketTest, ServerPingsAreAnswered) {
    std::string stats;
    run([&]() -> Task<void> {
        return [](std::string u, std::string* st) -> Task<void> {
            auto ws = co_await WebSocket::connect(u, quick());
            EXPECT_TRUE(ws.ok());
            if (!ws.ok()) {
                co_return;
            }
            // Nothing arrives for 400 ms but pings, which are answered while we wait.
            Result<Message> idle = co_await (*ws)->next_message(400);
            EXPECT_FALSE(idle.ok());
            if (!idle.ok()) {
                EXPECT_EQ(idle.error().code(), Errc::timeout);
            }
            EXPECT_TRUE((co_await (*ws)->send_text("pongs?")).ok());
            Result<Message> r = co_await (*ws)->next_message(5000);
            if (r.ok()) {
                st->assign(r->data);
            }
            co_await (*ws)->close();
        }(url("/ping?interval_ms=50"), &stats);
    });
    // {"pings":P,"pongs":Q}: every ping but possibly the one in flight was answered.
    int pings = -1;
    int pongs = -1;
    ASSERT_EQ(std::sscanf(stats.c_str(), "{\"pings\":%d,\"pongs\":%d}", &pings, &pongs), 2)
        << stats;
    EXPECT_GE(pings, 4);
    EXPECT_GE(pongs, pings - 1);
}

TEST_F(WebSocketTest, ServerInitiatedCloseIsSeenWithCodeAndReason) {
    Outcome out;
    run([&]() -> Task<void> {
        return [](std::string u, Outcome* o) -> Task<void> {
            auto ws = co_await WebSocket::connect(u, quick());
            EXPECT_TRUE(ws.ok());
            if (!ws.ok()) {
                co_return;
            }
            EXPECT_TRUE((co_await (*ws)->send_text("hello")).ok());
            Result<Message> r = co_await (*ws)->next_message(5000);
            EXPECT_FALSE(r.ok());
            if (!r.ok()) {
                note_error(o, r.error());
            }
            o->close_code = (*ws)->close_code();
            o->close_reason = (*ws)->close_reason();
            co_await (*ws)->close();
        }(url("/close"), &out);
    });
    EXPECT_EQ(out.code, Errc::closed);
    EXPECT_EQ(out.close_code, 4000);
    EXPECT_EQ(out.close_reason, "bye");
    EXPECT_EQ(out.error,
              "127.0.0.1:" + std::to_string(server_->port()) + ": closed by peer: 4000 bye");
}

// A message over message_bytes_max is skipped (nothing of it buffered, counted) and the
// connection stays up: the echo of the message sent after it still arrives.
TEST_F(WebSocketTest, OversizedMessageIsSkippedAndTheConnectionStaysUp) {
    Outcome out;
    std::uint64_t skipped = 0;
    std::size_t skipped_bytes = 0;
    run([&]() -> Task<void> {
        return [](std::string u, Outcome* o, std::uint64_t* n, std::size_t* bytes) -> Task<void> {
            WebSocketOptions opt = quick();
            opt.message_bytes_max = 1024 * 1024;
            auto ws = co_await WebSocket::connect(u, opt);
            EXPECT_TRUE(ws.ok());
            if (!ws.ok()) {
                co_return;
            }
            Status sent = co_await (*ws)->send_text("after the big one");
            EXPECT_TRUE(sent.ok());
            Result<Message> r = co_await (*ws)->next_message(5000);
            if (r.ok()) {
                o->received.emplace_back(r->data);
            } else {
                note_error(o, r.error());
            }
            *n = (*ws)->messages_skipped();
            *bytes = (*ws)->last_skipped_bytes();
            co_await (*ws)->close();
        }(url("/big?bytes=2000000"), &out, &skipped, &skipped_bytes);
    });
    EXPECT_EQ(out.error, "");
    ASSERT_EQ(out.received.size(), 1u);
    EXPECT_EQ(out.received[0], "after the big one");
    EXPECT_EQ(skipped, 1u);
    EXPECT_EQ(skipped_bytes, 2000000u);
}

TEST_F(WebSocketTest, HandshakeFailuresAreRefused) {
    Outcome stalled;
    Outcome bad_accept;
    Outcome not_found;
    run([&]() -> Task<void> {
        return [](std::string base, Outcome* s, Outcome* b, Outcome* n) -> Task<void> {
            WebSocketOptions opt = quick();
            opt.handshake_timeout_ms = 300;
            std::int64_t start = reactor::monotonic_ms();
            co_await echo_each(base + "/stall-handshake", opt, std::vector<std::string>(), s);
            s->elapsed_ms = reactor::monotonic_ms() - start;
            co_await echo_each(base + "/bad-accept", quick(), std::vector<std::string>(), b);
            co_await echo_each(base + "/nowhere", quick(), std::vector<std::string>(), n);
        }(url(""), &stalled, &bad_accept, &not_found);
    });
    std::string peer = "127.0.0.1:" + std::to_string(server_->port());
    EXPECT_FALSE(stalled.connected);
    EXPECT_EQ(stalled.connect_code, Errc::timeout);
    EXPECT_EQ(stalled.connect_error, peer + ": WebSocket handshake not done within 300 ms");
    EXPECT_LT(stalled.elapsed_ms, 2000);
    EXPECT_FALSE(bad_accept.connected);
    EXPECT_EQ(bad_accept.connect_code, Errc::protocol);
    EXPECT_EQ(bad_accept.connect_error, peer + ": wrong Sec-WebSocket-Accept in the handshake");
    EXPECT_EQ(not_found.connect_code, Errc::refused);
    EXPECT_EQ(not_found.connect_error, peer + ": WebSocket upgrade refused: HTTP 404 Not Found");
}

TEST_F(WebSocketTest, MissingPongIsADeadLink) {
    Outcome out;
    std::uint64_t pings = 0;
    run([&]() -> Task<void> {
        return [](std::string u, Outcome* o, std::uint64_t* p) -> Task<void> {
            WebSocketOptions opt = quick();
            opt.ping_interval_ms = 100;
            opt.pong_timeout_ms = 200;
            auto ws = co_await WebSocket::connect(u, opt);
            EXPECT_TRUE(ws.ok());
            if (!ws.ok()) {
                co_return;
            }
            std::int64_t start = reactor::monotonic_ms();
            Result<Message> r = co_await (*ws)->next_message(5000);
            o->elapsed_ms = reactor::monotonic_ms() - start;
            EXPECT_FALSE(r.ok());
            if (!r.ok()) {
                note_error(o, r.error());
            }
            *p = (*ws)->pings_sent();
            co_await (*ws)->close();
        }(url("/no-pong"), &out, &pings);
    });
    EXPECT_EQ(out.code, Errc::timeout);
    EXPECT_NE(out.error.find("no pong within 200 ms (dead link)"), std::string::npos) << out.error;
    EXPECT_GE(out.elapsed_ms, 250);
    EXPECT_LT(out.elapsed_ms, 2000);
    EXPECT_GE(pings, 1u);
}

TEST_F(WebSocketTest, OurPingsGetPongs) {
    std::uint64_t pongs = 0;
    run([&]() -> Task<void> {
        return [](std::string u, std::uint64_t* p) -> Task<void> {
            WebSocketOptions opt = quick();
            opt.ping_interval_ms = 50;
            opt.pong_timeout_ms = 1000;
            auto ws = co_await WebSocket::connect(u, opt);
            EXPECT_TRUE(ws.ok());
            if (!ws.ok()) {
                co_return;
            }
            Result<Message> r = co_await (*ws)->next_message(400);
            EXPECT_EQ(r.ok() ? Errc::internal : r.error().code(), Errc::timeout);
            *p = (*ws)->pongs_received();
            co_await (*ws)->close();
        }(url("/echo"), &pongs);
    });
    EXPECT_GE(pongs, 3u);
}

// ---- TLS ----

bool openssl_cmd(const std::string& args) {
    std::string cmd = "openssl " + args + " >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
}

// A CA, a server certificate for `cn` (SAN: DNS:cn) signed by it, and an unrelated CA.
struct Pki {
    explicit Pki(test::TempDir d) : dir(std::move(d)) {}
    test::TempDir dir;
    bool ok = false;
    std::string ca;
    std::string other_ca;
    std::string cert_localhost;
    std::string key_localhost;
    std::string cert_wrong;
    std::string key_wrong;
};

bool make_ca(const Pki& p, const std::string& name) {
    return openssl_cmd(
        "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=" +
        name + " -keyout " + p.dir.file(name + ".key") + " -out " + p.dir.file(name + ".pem"));
}

bool make_leaf(const Pki& p, const std::string& ca, const std::string& name,
               const std::string& san) {
    std::string ext = p.dir.file(name + ".ext");
    if (!test::write_file(ext, "subjectAltName=" + san + "\n").ok()) {
        return false;
    }
    return openssl_cmd(
               "req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + name +
               " -keyout " + p.dir.file(name + ".key") + " -out " + p.dir.file(name + ".csr")) &&
           openssl_cmd("x509 -req -days 2 -in " + p.dir.file(name + ".csr") + " -CA " +
                       p.dir.file(ca + ".pem") + " -CAkey " + p.dir.file(ca + ".key") +
                       " -CAcreateserial -extfile " + ext + " -out " + p.dir.file(name + ".pem"));
}

Pki make_pki() {
    auto dir = test::TempDir::create("pylon-pki");
    PYLON_ASSERT(dir.ok());
    Pki p(std::move(dir).value());
    p.ok = make_ca(p, "ca") && make_ca(p, "other") &&
           make_leaf(p, "ca", "localhost", "DNS:localhost") &&
           make_leaf(p, "ca", "wrong", "DNS:wrong.example");
    p.ca = p.dir.file("ca.pem");
    p.other_ca = p.dir.file("other.pem");
    p.cert_localhost = p.dir.file("localhost.pem");
    p.key_localhost = p.dir.file("localhost.key");
    p.cert_wrong = p.dir.file("wrong.pem");
    p.key_wrong = p.dir.file("wrong.key");
    return p;
}

class WebSocketTlsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!test::node_available()) {
            GTEST_SKIP() << test::node_unavailable_reason();
        }
        if (!test::find_in_path("openssl")) {
            GTEST_SKIP() << "the openssl command is not installed";
        }
        pki_ = std::make_unique<Pki>(make_pki());
        ASSERT_TRUE(pki_->ok) << "openssl could not make the test certificates";
    }
    std::unique_ptr<Pki> pki_;
};

TEST_F(WebSocketTlsTest, EchoOverTlsWithTheTestCa) {
    WsServer server({"--tls", "--cert", pki_->cert_localhost, "--key", pki_->key_localhost});
    ASSERT_NE(server.port(), 0);
    Resolver resolver;
    std::vector<std::string> sent = {"x", pattern(70000, 3), pattern(200000, 4), pattern(500000, 4),
                                     pattern(1024 * 1024, 5)};
    Outcome out;
    WebSocketOptions opt = quick();
    opt.ca_file = pki_->ca;
    opt.resolver = &resolver;
    run([&]() -> Task<void> {
        return echo_each("wss://localhost:" + std::to_string(server.port()) + "/echo", opt, sent,
                         &out);
    });
    ASSERT_TRUE(out.connected) << out.connect_error;
    ASSERT_EQ(out.received.size(), sent.size()) << out.error;
    for (std::size_t i = 0; i < sent.size(); i++) {
        EXPECT_TRUE(out.received[i] == sent[i]) << i << ": " << out.received[i].size();
    }
}

TEST_F(WebSocketTlsTest, UntrustedCaAndWrongHostnameAreRefusedClearly) {
    WsServer good({"--tls", "--cert", pki_->cert_localhost, "--key", pki_->key_localhost});
    WsServer wrong({"--tls", "--cert", pki_->cert_wrong, "--key", pki_->key_wrong});
    ASSERT_NE(good.port(), 0);
    ASSERT_NE(wrong.port(), 0);
    Resolver resolver;
    Outcome untrusted;
    Outcome mismatch;
    WebSocketOptions other = quick();
    other.ca_file = pki_->other_ca;
    other.resolver = &resolver;
    WebSocketOptions right = quick();
    right.ca_file = pki_->ca;
    right.resolver = &resolver;
    run([&]() -> Task<void> {
        return [](std::string u1, const WebSocketOptions* o1, Outcome* r1, std::string u2,
                  const WebSocketOptions* o2,
                  Outcome* r2) -> Task<void> {
            co_await echo_each(u1, *o1, std::vector<std::string>(1, "x"), r1);
            co_await echo_each(u2, *o2, std::vector<std::string>(1, "x"), r2);
        }("wss://localhost:" + std::to_string(good.port()) + "/echo", &other, &untrusted,
                               "wss://localhost:" + std::to_string(wrong.port()) + "/echo", &right,
                               &mismatch);
    });
    EXPECT_FALSE(untrusted.connected);
    EXPECT_EQ(untrusted.connect_code, Errc::tls);
    EXPECT_EQ(untrusted.connect_error, "localhost:" + std::to_string(good.port()) +
                                           ": certificate verify failed: unable to get local "
                                           "issuer certificate");
    EXPECT_FALSE(mismatch.connected);
    EXPECT_EQ(mismatch.connect_code, Errc::tls);
    EXPECT_EQ(mismatch.connect_error, "localhost:" + std::to_string(wrong.port()) +
                                          ": certificate verify failed: hostname mismatch");
}

// ---- a scripted peer for frames a real server does not send ----

std::string accept_for_request(const std::string& request) {
    std::size_t k = request.find("Sec-WebSocket-Key: ");
    std::size_t e = request.find("\r\n", k);
    return websocket_accept_for(request.substr(k + 19, e - k - 19));
}

TEST(WebSocketScripted, InvalidUtf8TextIsClosedWith1007) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    std::string client_close;  // the close frame the client sent, as received
    std::thread peer([&] {
        char buf[4096];
        std::string req;
        while (req.find("\r\n\r\n") == std::string::npos) {
            ssize_t n = ::read(fds[1], buf, sizeof buf);
            if (n <= 0) {
                return;
            }
            req.append(buf, static_cast<std::size_t>(n));
        }
        std::string resp =
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Accept: " +
            accept_for_request(req) + "\r\n\r\n";
        resp += std::string("\x81\x02\xc3\x28", 4);  // a text frame with invalid UTF-8
        (void)::write(fds[1], resp.data(), resp.size());
        while (client_close.size() < 8) {  // the frame may come in pieces
            ssize_t n = ::read(fds[1], buf, sizeof buf);
            if (n <= 0) {
                break;
            }
            client_close.append(buf, static_cast<std::size_t>(n));
        }
        ::close(fds[1]);
    });
    Outcome out;
    run([&]() -> Task<void> {
        return [](int fd, Outcome* o) -> Task<void> {
            auto stream = std::make_unique<SocketStream>(fd, "scripted");
            Url url = parse_ws_url("ws://scripted/").value();
            auto ws = co_await WebSocket::handshake(std::move(stream), url, quick());
            EXPECT_TRUE(ws.ok()) << (ws.ok() ? "" : ws.error().message());
            if (!ws.ok()) {
                co_return;
            }
            Result<Message> r = co_await (*ws)->next_message(3000);
            EXPECT_FALSE(r.ok());
            if (!r.ok()) {
                note_error(o, r.error());
            }
            co_await (*ws)->close();
        }(fds[0], &out);
    });
    peer.join();
    EXPECT_EQ(out.code, Errc::protocol);
    EXPECT_EQ(out.error, "scripted: invalid UTF-8 in a text message; closed with 1007");
    // A masked close frame (0x88, mask bit set) whose unmasked code is 1007.
    ASSERT_GE(client_close.size(), 8u);
    EXPECT_EQ(static_cast<unsigned char>(client_close[0]), 0x88);
    EXPECT_EQ(static_cast<unsigned char>(client_close[1]) & 0x80, 0x80);
    auto byte = [&](std::size_t i) {
        return static_cast<unsigned>(static_cast<unsigned char>(client_close[i]));
    };
    unsigned code = ((byte(6) ^ byte(2)) << 8u) | (byte(7) ^ byte(3));
    EXPECT_EQ(code, 1007u);
}

// A scripted server on a socketpair: answers the upgrade, writes `frames`, then reads what the
// client sends until it closes (or `read_max` bytes); `sent` gets those bytes.
class ScriptedPeer {
  public:
    ScriptedPeer(std::string frames, std::string* sent) {
        int fds[2];
        ok_ = ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0;
        if (!ok_) {
            return;
        }
        client_fd_ = fds[0];
        thread_ = std::thread([fd = fds[1], frames = std::move(frames), sent] {
            char buf[4096];
            std::string req;
            while (req.find("\r\n\r\n") == std::string::npos) {
                ssize_t n = ::read(fd, buf, sizeof buf);
                if (n <= 0) {
                    ::close(fd);
                    return;
                }
                req.append(buf, static_cast<std::size_t>(n));
            }
            std::string resp =
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Accept: " +
                accept_for_request(req) + "\r\n\r\n" + frames;
            std::size_t off = 0;
            while (off < resp.size()) {
                ssize_t n = ::write(fd, resp.data() + off, resp.size() - off);
                if (n <= 0) {
                    break;
                }
                off += static_cast<std::size_t>(n);
            }
            for (int i = 0; i < 1000; i++) {  // until the client closes (bounded)
                ssize_t n = ::read(fd, buf, sizeof buf);
                if (n <= 0) {
                    break;
                }
                sent->append(buf, static_cast<std::size_t>(n));
            }
            ::close(fd);
        });
    }
    ~ScriptedPeer() {
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    bool ok() const { return ok_; }
    int client_fd() const { return client_fd_; }
    void join() { thread_.join(); }

  private:
    bool ok_ = false;
    int client_fd_ = -1;
    std::thread thread_;
};

// An unmasked server frame with `payload` (lengths up to 64 KiB - 1 here).
std::string server_frame(std::uint8_t first_byte, const std::string& payload) {
    std::string f(1, static_cast<char>(first_byte));
    if (payload.size() < 126) {
        f += static_cast<char>(payload.size());
    } else {
        f += static_cast<char>(126);
        f += static_cast<char>(payload.size() >> 8);
        f += static_cast<char>(payload.size() & 0xff);
    }
    return f + payload;
}

// The status code of the first close frame among the (masked, short) frames the client sent,
// or 0 when there is none.
unsigned client_close_code(const std::string& sent) {
    auto byte = [&](std::size_t i) {
        return static_cast<unsigned>(static_cast<unsigned char>(sent[i]));
    };
    std::size_t at = 0;
    while (at + 2 <= sent.size()) {
        std::size_t len = byte(at + 1) & 0x7fu;
        if (len >= 126 || at + 6 + len > sent.size()) {
            return 0;
        }
        if (byte(at) == 0x88) {
            return len < 2 ? 0
                           : ((byte(at + 6) ^ byte(at + 2)) << 8u) | (byte(at + 7) ^ byte(at + 3));
        }
        at += 6 + len;
    }
    return 0;
}

// Reads messages until an error or `count` of them; keeps the texts and the error.
Task<void> read_scripted(int fd, WebSocketOptions opt, std::size_t count, Outcome* o,
                         std::uint64_t* skipped) {
    auto stream = std::make_unique<SocketStream>(fd, "scripted");
    Url url = parse_ws_url("ws://scripted/").value();
    auto ws = co_await WebSocket::handshake(std::move(stream), url, opt);
    EXPECT_TRUE(ws.ok()) << (ws.ok() ? "" : ws.error().message());
    if (!ws.ok()) {
        co_return;
    }
    for (std::size_t i = 0; i < count; i++) {
        Result<Message> r = co_await (*ws)->next_message(3000);
        if (!r.ok()) {
            note_error(o, r.error());
            break;
        }
        o->received.emplace_back(r->data);
    }
    *skipped = (*ws)->messages_skipped();
    co_await (*ws)->close();
}

// Oversized messages, whole or in fragments (with a ping between them), are skipped one by one;
// the messages around them arrive.
TEST(WebSocketScripted, OversizedMessagesAreSkippedWholeOrFragmented) {
    std::string frames = server_frame(0x81, "first");
    frames += server_frame(0x81, std::string(300, 'a'));  // one frame over the bound
    frames += server_frame(0x81, "second");
    frames += server_frame(0x01, std::string(60, 'b'));  // fragments: 60 + 60 + 60 > 100
    frames += server_frame(0x00, std::string(60, 'c'));
    frames += server_frame(0x89, "ping");  // a control frame between fragments
    frames += server_frame(0x80, std::string(60, 'd'));
    frames += server_frame(0x01, std::string(40, 'e'));  // fragments within the bound
    frames += server_frame(0x80, std::string(40, 'f'));
    std::string sent;
    ScriptedPeer peer(frames, &sent);
    ASSERT_TRUE(peer.ok());
    Outcome out;
    std::uint64_t skipped = 0;
    WebSocketOptions opt = quick();
    opt.message_bytes_max = 100;
    run([&]() -> Task<void> { return read_scripted(peer.client_fd(), opt, 3, &out, &skipped); });
    peer.join();
    EXPECT_EQ(out.error, "");
    ASSERT_EQ(out.received.size(), 3u);
    EXPECT_EQ(out.received[0], "first");
    EXPECT_EQ(out.received[1], "second");
    EXPECT_EQ(out.received[2], std::string(40, 'e') + std::string(40, 'f'));
    EXPECT_EQ(skipped, 2u);
    EXPECT_EQ(client_close_code(sent), 1000u);  // a pong, then our close
}

// A malformed frame (a ping over 125 bytes, a fragmented ping) is a protocol error: the client
// sends Close 1002 and says so.
TEST(WebSocketScripted, MalformedControlFramesAreClosedWith1002) {
    for (const std::string& bad :
         {server_frame(0x89, std::string(200, 'p')), server_frame(0x09, "half a ping")}) {
        std::string sent;
        ScriptedPeer peer(server_frame(0x81, "before") + bad, &sent);
        ASSERT_TRUE(peer.ok());
        Outcome out;
        std::uint64_t skipped = 0;
        run([&]() -> Task<void> {
            return read_scripted(peer.client_fd(), quick(), 2, &out, &skipped);
        });
        peer.join();
        ASSERT_EQ(out.received.size(), 1u);
        EXPECT_EQ(out.code, Errc::protocol);
        EXPECT_EQ(out.error,
                  "scripted: WebSocket protocol error (a malformed frame); closed with 1002");
        EXPECT_EQ(client_close_code(sent), 1002u);
    }
}

}  // namespace
}  // namespace pylon::net
