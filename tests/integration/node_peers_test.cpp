// Smoke tests of the Node peers in tests/node (relay.mjs, ws_server.mjs, http_server.mjs): each
// starts, prints READY, answers requests the way its header documents (checked here on the wire
// with a raw socket, not with Pylon's clients), and exits 0 on SIGTERM. Skipped with a reason
// when Node or tests/node/node_modules is missing.
#include <openssl/evp.h>
#include <signal.h>

#include <cstdio>
#include <string>

#include "tests/integration/fake_backend_util.hpp"
#include "tests/support/temp_dir.hpp"

namespace pylon::test {
namespace {

#define SKIP_WITHOUT_NODE()                            \
    do {                                               \
        if (!node_available()) {                       \
            GTEST_SKIP() << node_unavailable_reason(); \
        }                                              \
    } while (0)

ReadyChild start_node(std::string_view script, std::vector<std::string> args = {}) {
    args.push_back("--max-runtime-s");
    args.push_back("120");
    auto ready = spawn_ready(node_script_spec(script, std::move(args)), 15000);
    EXPECT_TRUE(ready.ok()) << (ready.ok() ? "" : ready.error().message());
    return ready.ok() ? std::move(ready).value() : ReadyChild{};
}

void expect_clean_sigterm(ReadyChild& peer) {
    ASSERT_TRUE(peer.process->signal(SIGTERM).ok());
    auto e = peer.process->wait_exit(5000);
    ASSERT_TRUE(e.has_value()) << peer.process->describe();
    EXPECT_TRUE(e->exited);
    EXPECT_EQ(e->code, 0) << peer.process->describe();
}

// ---- a minimal WebSocket client on a raw socket (RFC 6455 framing, client frames masked) ----

struct WsFrame {
    bool fin = false;
    int opcode = -1;
    std::string payload;
};

Result<RawHttpConnection> ws_connect(std::uint16_t port, std::string_view path,
                                     RawResponse* upgrade) {
    auto conn = RawHttpConnection::connect(port);
    if (!conn.ok()) {
        return std::move(conn).error();
    }
    PYLON_TRY(conn->send_request(
        "GET", path, {},
        {"Upgrade: websocket", "Connection: Upgrade",
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"}));
    auto r = conn->read_response(5000, true);
    if (!r.ok()) {
        return std::move(r).error();
    }
    *upgrade = std::move(r).value();
    return std::move(conn).value();
}

Status ws_send(RawHttpConnection& conn, int opcode, std::string_view payload) {
    std::string frame;
    frame.push_back(static_cast<char>(0x80 | opcode));
    if (payload.size() < 126) {
        frame.push_back(static_cast<char>(0x80 | payload.size()));
    } else {
        PYLON_ASSERT(payload.size() < 65536);
        frame.push_back(static_cast<char>(0x80 | 126));
        frame.push_back(static_cast<char>(payload.size() >> 8));
        frame.push_back(static_cast<char>(payload.size() & 0xff));
    }
    const char mask[4] = {0x12, 0x34, 0x56, 0x78};
    frame.append(mask, 4);
    for (std::size_t i = 0; i < payload.size(); ++i) {
        frame.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
    }
    return conn.send(frame);
}

Result<WsFrame> ws_read(RawHttpConnection& conn, int timeout_ms = 5000) {
    auto head = conn.read_bytes(2, timeout_ms);
    if (!head.ok()) {
        return std::move(head).error();
    }
    auto b0 = static_cast<unsigned char>((*head)[0]);
    auto b1 = static_cast<unsigned char>((*head)[1]);
    EXPECT_EQ(b1 & 0x80, 0) << "server frames are never masked";
    std::uint64_t len = b1 & 0x7f;
    if (len >= 126) {
        auto ext = conn.read_bytes(len == 126 ? 2 : 8, timeout_ms);
        if (!ext.ok()) {
            return std::move(ext).error();
        }
        len = 0;
        for (char c : *ext) {
            len = (len << 8) | static_cast<unsigned char>(c);
        }
    }
    auto payload = conn.read_bytes(static_cast<std::size_t>(len), timeout_ms);
    if (!payload.ok()) {
        return std::move(payload).error();
    }
    return WsFrame{(b0 & 0x80) != 0, b0 & 0x0f, std::move(payload).value()};
}

std::string sha256_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    PYLON_ASSERT(EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) == 1);
    std::string hex;
    char buf[3];
    for (unsigned int i = 0; i < len; ++i) {
        std::snprintf(buf, sizeof buf, "%02x", digest[i]);
        hex += buf;
    }
    return hex;
}

// ---- http_server.mjs ----

TEST(NodePeers, HttpServerStreamsWithGapsResetsAndCountsCloses) {
    SKIP_WITHOUT_NODE();
    ReadyChild peer = start_node("http_server.mjs");
    ASSERT_NE(peer.port, 0);
    RawResponse nd = fetch(peer.port, "GET", "/ndjson?lines=3&gap_ms=60");
    EXPECT_EQ(nd.status, 200);
    EXPECT_TRUE(nd.chunked && nd.complete);
    EXPECT_EQ(nd.body,
              "{\"i\":0,\"text\":\"line 0\"}\n{\"i\":1,\"text\":\"line 1\"}\n"
              "{\"i\":2,\"text\":\"line 2\"}\n");
    ASSERT_EQ(nd.chunks.size(), 3u);
    // Two gaps of 60 ms: at least one whole gap between the first and the last chunk even when
    // this reader was descheduled at the first (it read it late: 86 ms once at load 13).
    EXPECT_GE(ms_between(nd.chunks[0].at, nd.chunks[2].at), 60);

    RawResponse sse = fetch(peer.port, "GET", "/sse?events=3");
    EXPECT_EQ(sse.header("content-type"), "text/event-stream");
    EXPECT_EQ(sse.body,
              "data: {\"i\":0}\n\n: comment\n\ndata: {\"i\":1}\n\n"
              "event: last\ndata: {\"i\":2}\n\ndata: [DONE]\n\n");

    RawResponse len = fetch(peer.port, "GET", "/length?bytes=30");
    EXPECT_EQ(len.header("content-length"), "30");
    EXPECT_EQ(len.body, "abcdefghijklmnopqrstuvwxyzabcd");

    RawResponse reset = fetch(peer.port, "GET", "/reset-after?bytes=10");
    EXPECT_FALSE(reset.complete);
    EXPECT_TRUE(reset.peer_reset);
    EXPECT_EQ(reset.body, "abcdefghij");

    RawResponse echo = fetch(peer.port, "POST", "/echo", R"({"x":1})", {"X-Test: yes"});
    Json e(echo.body);
    EXPECT_EQ(e.str("/method"), "POST");
    EXPECT_EQ(e.str("/headers/x-test"), "yes");
    EXPECT_EQ(e.str("/body"), R"({"x":1})");
    EXPECT_EQ(fetch(peer.port, "GET", "/status?code=503").status, 503);

    {
        auto hold = RawHttpConnection::connect(peer.port);
        ASSERT_TRUE(hold.ok());
        ASSERT_TRUE(hold->send_request("GET", "/hold").ok());
        int ticks = 0;
        ASSERT_TRUE(
            hold->read_response(5000, false, [&](const RawChunk&) { return ++ticks < 2; }).ok());
    }
    EXPECT_TRUE(wait_until(
        [&] { return Json(fetch(peer.port, "GET", "/_stats").body).num("/closed_by_client") == 1; },
        3000));
    expect_clean_sigterm(peer);
}

TEST(NodePeers, HttpServerSlowFirstByte) {
    SKIP_WITHOUT_NODE();
    ReadyChild peer = start_node("http_server.mjs");
    ASSERT_NE(peer.port, 0);
    auto conn = RawHttpConnection::connect(peer.port);
    ASSERT_TRUE(conn.ok());
    auto sent = TestClock::now();
    ASSERT_TRUE(conn->send_request("GET", "/slow-first-byte?ms=300").ok());
    auto r = conn->read_response(5000);
    ASSERT_TRUE(r.ok());
    EXPECT_GE(ms_between(sent, r->head_at), 280);
    EXPECT_EQ(r->body, "ok\n");
}

// ---- ws_server.mjs ----

TEST(NodePeers, WsServerEchoFragmentsCloseAndBadHandshakes) {
    SKIP_WITHOUT_NODE();
    ReadyChild peer = start_node("ws_server.mjs");
    ASSERT_NE(peer.port, 0);
    RawResponse up;
    auto echo = ws_connect(peer.port, "/echo", &up);
    ASSERT_TRUE(echo.ok());
    EXPECT_EQ(up.status, 101);
    EXPECT_EQ(up.header("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");  // RFC 6455
    ASSERT_TRUE(ws_send(*echo, 0x1, "hello").ok());
    auto f = ws_read(*echo);
    ASSERT_TRUE(f.ok());
    EXPECT_TRUE(f->fin);
    EXPECT_EQ(f->opcode, 0x1);
    EXPECT_EQ(f->payload, "hello");
    ASSERT_TRUE(ws_send(*echo, 0x2, std::string("\x00\x01\x02", 3)).ok());
    auto bin = ws_read(*echo);
    ASSERT_TRUE(bin.ok());
    EXPECT_EQ(bin->opcode, 0x2);

    auto frag = ws_connect(peer.port, "/fragmented?parts=3", &up);
    ASSERT_TRUE(frag.ok());
    ASSERT_TRUE(ws_send(*frag, 0x1, "abcdefghi").ok());
    std::vector<WsFrame> frames;
    for (int i = 0; i < 3; ++i) {
        auto fr = ws_read(*frag);
        ASSERT_TRUE(fr.ok());
        frames.push_back(std::move(fr).value());
    }
    EXPECT_EQ(frames[0].opcode, 0x1);
    EXPECT_FALSE(frames[0].fin);
    EXPECT_EQ(frames[1].opcode, 0x0);
    EXPECT_FALSE(frames[1].fin);
    EXPECT_EQ(frames[2].opcode, 0x0);
    EXPECT_TRUE(frames[2].fin);
    EXPECT_EQ(frames[0].payload + frames[1].payload + frames[2].payload, "abcdefghi");

    auto closing = ws_connect(peer.port, "/close", &up);
    ASSERT_TRUE(closing.ok());
    ASSERT_TRUE(ws_send(*closing, 0x1, "x").ok());
    auto cf = ws_read(*closing);
    ASSERT_TRUE(cf.ok());
    EXPECT_EQ(cf->opcode, 0x8);
    EXPECT_EQ(cf->payload, std::string("\x0f\xa0", 2) + "bye");  // 4000, "bye"

    auto bad = ws_connect(peer.port, "/bad-accept", &up);
    ASSERT_TRUE(bad.ok());
    EXPECT_EQ(up.status, 101);
    EXPECT_NE(up.header("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

    auto stall = RawHttpConnection::connect(peer.port);
    ASSERT_TRUE(stall.ok());
    ASSERT_TRUE(stall
                    ->send_request("GET", "/stall-handshake", {},
                                   {"Upgrade: websocket", "Connection: Upgrade",
                                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                                    "Sec-WebSocket-Version: 13"})
                    .ok());
    EXPECT_EQ(stall->wait_peer(300), PeerEvent::timeout);
    expect_clean_sigterm(peer);
}

TEST(NodePeers, WsServerPingsAndNoPong) {
    SKIP_WITHOUT_NODE();
    ReadyChild peer = start_node("ws_server.mjs");
    ASSERT_NE(peer.port, 0);
    RawResponse up;
    auto ws = ws_connect(peer.port, "/ping?interval_ms=50", &up);
    ASSERT_TRUE(ws.ok());
    auto ping = ws_read(*ws);
    ASSERT_TRUE(ping.ok());
    EXPECT_EQ(ping->opcode, 0x9);
    EXPECT_EQ(ping->payload, "p0");
    ASSERT_TRUE(ws_send(*ws, 0xA, ping->payload).ok());
    ASSERT_TRUE(ws_send(*ws, 0x1, "pongs?").ok());
    for (int i = 0; i < 10; ++i) {  // skip further pings until the answer
        auto fr = ws_read(*ws);
        ASSERT_TRUE(fr.ok());
        if (fr->opcode == 0x1) {
            EXPECT_EQ(Json(fr->payload).num("/pongs"), 1);
            break;
        }
    }
    auto silent = ws_connect(peer.port, "/no-pong", &up);
    ASSERT_TRUE(silent.ok());
    ASSERT_TRUE(ws_send(*silent, 0x9, "hi").ok());
    auto none = ws_read(*silent, 300);
    ASSERT_FALSE(none.ok()) << "no-pong answered a ping";
    EXPECT_EQ(none.error().code(), Errc::timeout);
}

TEST(NodePeers, WsServerOverTls) {
    SKIP_WITHOUT_NODE();
    auto dir = TempDir::create();
    ASSERT_TRUE(dir.ok());
    ChildSpec gen;
    gen.argv = {"openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=localhost",
                "-keyout",
                dir->file("key.pem"),
                "-out",
                dir->file("cert.pem")};
    auto openssl = ChildProcess::spawn(std::move(gen));
    ASSERT_TRUE(openssl.ok());
    auto made = (*openssl)->wait_exit(10000);
    ASSERT_TRUE(made.has_value() && made->exited && made->code == 0) << (*openssl)->describe();
    ReadyChild peer = start_node(
        "ws_server.mjs", {"--tls", "--cert", dir->file("cert.pem"), "--key", dir->file("key.pem")});
    ASSERT_NE(peer.port, 0);
    ASSERT_TRUE(write_file(dir->file("upgrade.txt"),
                           make_request("GET", "/echo", {},
                                        {"Upgrade: websocket", "Connection: Upgrade",
                                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                                         "Sec-WebSocket-Version: 13"}))
                    .ok());
    ChildSpec client;  // `exec`: openssl replaces the shell, so no grandchild is left behind
    client.argv = {"sh", "-c",
                   "exec openssl s_client -quiet -servername localhost -connect 127.0.0.1:" +
                       std::to_string(peer.port) + " < " + dir->file("upgrade.txt")};
    auto tls = ChildProcess::spawn(std::move(client));
    ASSERT_TRUE(tls.ok());
    EXPECT_TRUE((*tls)->wait_for_line("HTTP/1.1 101 Switching Protocols", 10000).has_value())
        << (*tls)->describe();
}

// ---- relay.mjs ----

TEST(NodePeers, RelayAnswersReqAndVerifiesSignatures) {
    SKIP_WITHOUT_NODE();
    ReadyChild peer = start_node("relay.mjs");
    ASSERT_NE(peer.port, 0);
    RawResponse up;
    auto ws = ws_connect(peer.port, "/", &up);
    ASSERT_TRUE(ws.ok());
    ASSERT_EQ(up.status, 101);
    ASSERT_TRUE(ws_send(*ws, 0x1, R"(["REQ","s1",{"kinds":[1],"limit":5}])").ok());
    auto eose = ws_read(*ws);
    ASSERT_TRUE(eose.ok());
    EXPECT_EQ(eose->payload, R"(["EOSE","s1"])");

    const std::string pubkey = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
    const std::string serial = "[0,\"" + pubkey + "\",1700000000,1,[],\"hello\"]";
    const std::string id = sha256_hex(serial);
    const std::string event = R"({"id":")" + id + R"(","pubkey":")" + pubkey +
                              R"(","created_at":1700000000,"kind":1,"tags":[],"content":"hello",)"
                              R"("sig":")" +
                              std::string(128, '1') + "\"}";
    ASSERT_TRUE(ws_send(*ws, 0x1, "[\"EVENT\"," + event + "]").ok());
    auto ok = ws_read(*ws);
    ASSERT_TRUE(ok.ok());
    EXPECT_EQ(ok->payload, R"(["OK",")" + id + R"(",false,"invalid: signature is wrong"])");
    expect_clean_sigterm(peer);
}

TEST(NodePeers, RelayWithAuthChallengesAndRefusesUntilAuthenticated) {
    SKIP_WITHOUT_NODE();
    ReadyChild peer = start_node("relay.mjs", {"--auth", "--log"});
    ASSERT_NE(peer.port, 0);
    RawResponse up;
    auto ws = ws_connect(peer.port, "/", &up);
    ASSERT_TRUE(ws.ok());
    auto auth = ws_read(*ws);
    ASSERT_TRUE(auth.ok());
    EXPECT_TRUE(auth->payload.starts_with(R"(["AUTH",")")) << auth->payload;
    ASSERT_TRUE(ws_send(*ws, 0x1, R"(["REQ","s1",{"kinds":[1]}])").ok());
    auto closed = ws_read(*ws);
    ASSERT_TRUE(closed.ok());
    EXPECT_TRUE(closed->payload.starts_with(R"(["CLOSED","s1","auth-required:)"))
        << closed->payload;
    EXPECT_TRUE(peer.process->wait_for_line("<- c1 [\"REQ\"", 2000, Stream::err).has_value())
        << "--log prints received messages on stderr";
    expect_clean_sigterm(peer);
}

}  // namespace
}  // namespace pylon::test
