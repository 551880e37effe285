// Heap allocations on the node's steady-state receive path, counted: a replaced global operator
// new counts the calls made by the shard thread while it takes relay EVENT messages the way a
// RelayLink does (net::WebSocket::next_message over a SocketStream, then the message parsed in
// place into one reused proto::RelayMessage through a reused JsonReader). A scripted peer on a
// socketpair sends the pre-built server frames (64 distinct signed events of 100..1,200 bytes of
// content, cycled). After a warm-up that has seen every message size, the measured messages must
// cost no global allocation at all: the buffers and the parse reuse their memory, and the
// coroutine frames (one per next_message() call, one per SocketStream::read()) come from the
// thread's reactor::FramePool once warm. (Before the pool: 1.31 per message, bench/README.md.)
// Not counted in sanitizer builds (they replace operator new themselves, and the pool is off).
// The counting operator new is tests/support/counting_new.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "net/socket_stream.hpp"
#include "net/websocket.hpp"
#include "proto/event.hpp"
#include "proto/json_reader.hpp"
#include "proto/keys.hpp"
#include "proto/relay_message.hpp"
#include "tests/support/counting_new/counting_new.hpp"
#include "tests/unit/reactor/run_on_shards.hpp"

namespace pylon::net {
namespace {

using reactor::Task;

constexpr std::size_t distinct_messages = 64;
constexpr std::size_t warmup_messages = 2000;
constexpr std::size_t measured_messages = 20000;
// Allocations allowed per measured message: none on the steady state; the slack allows a rare
// amortised growth (one allocation in 1,000 messages), not one per message or per receive.
constexpr double allocations_per_message_max = 0.001;

std::string server_frame(const std::string& payload) {
    std::string f;
    f.push_back(static_cast<char>(0x81));
    if (payload.size() < 126) {
        f.push_back(static_cast<char>(payload.size()));
    } else {
        f.push_back(static_cast<char>(126));
        f.push_back(static_cast<char>(payload.size() >> 8));
        f.push_back(static_cast<char>(payload.size() & 0xFF));
    }
    return f + payload;
}

std::vector<std::string> build_frames() {
    std::array<std::uint8_t, 32> secret{};
    secret[31] = 7;
    auto keys = proto::Keypair::from_secret(proto::SecretKey::from_bytes(secret).value()).value();
    std::vector<std::string> frames;
    for (std::size_t i = 0; i < distinct_messages; i++) {
        proto::Event ev;
        ev.set_kind(5050);
        ev.set_created_at(1700000000 + static_cast<std::int64_t>(i));
        std::string prompt(100 + i * 17, static_cast<char>('a' + i % 26));
        ev.set_content(prompt);
        ev.add_tag({"i", prompt.substr(0, 200), "text"});
        ev.add_tag({"output", "text/plain"});
        ev.sign(keys);
        std::string msg;
        proto::write_relay_event(msg, "pylon-jobs", ev);
        frames.push_back(server_frame(msg));
    }
    return frames;
}

void write_all(int fd, const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n <= 0) {
            return;
        }
        off += static_cast<std::size_t>(n);
    }
}

void peer_main(int fd, const std::vector<std::string>* frames) {
    char buf[4096];
    std::string req;
    while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) {
            return;
        }
        req.append(buf, static_cast<std::size_t>(n));
    }
    std::size_t k = req.find("Sec-WebSocket-Key: ");
    std::size_t e = req.find("\r\n", k);
    std::string resp =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        websocket_accept_for(req.substr(k + 19, e - k - 19)) + "\r\n\r\n";
    write_all(fd, resp);
    std::string batch;
    for (std::size_t i = 0; i < warmup_messages + measured_messages; i++) {
        batch += (*frames)[i % frames->size()];
        if (batch.size() > 256 * 1024) {
            write_all(fd, batch);
            batch.clear();
        }
    }
    write_all(fd, batch);
    while (::read(fd, buf, sizeof buf) > 0) {  // until the client closes
    }
    ::close(fd);
}

struct Counts {
    std::size_t parsed = 0;
    std::uint64_t allocations = 0;
    std::string error;
};

// Takes `n` messages the way RelayLink does; false on any error.
Task<bool> take(WebSocket* ws, proto::JsonReader* reader, proto::RelayMessage* msg, std::size_t n,
                Counts* c) {
    for (std::size_t i = 0; i < n; i++) {
        Result<Message> m = co_await ws->next_message(5000);
        if (!m.ok()) {
            c->error = m.error().message();
            co_return false;
        }
        proto::PaddedJson json(m->data.data(), m->data.size(),
                               m->data.size() + WebSocket::message_padding_bytes);
        proto::Reject r = msg->read_json(*reader, json);
        if (r != proto::Reject::none || msg->type != proto::RelayMessageType::event ||
            msg->subid != "pylon-jobs") {
            c->error = "message " + std::to_string(i) +
                       " did not parse as our EVENT: " + std::string(proto::reject_text(r)) + " (" +
                       std::to_string(m->data.size()) + " bytes)";
            co_return false;
        }
        c->parsed++;
    }
    co_return true;
}

Task<void> client(int fd, Counts* c) {
    auto stream = std::make_unique<SocketStream>(fd, "peer");
    WebSocketOptions o;
    o.ping_interval_ms = 0;
    auto ws =
        co_await WebSocket::handshake(std::move(stream), parse_ws_url("ws://peer/").value(), o);
    if (!ws.ok()) {
        c->error = ws.error().message();
        co_return;
    }
    proto::JsonReader reader;
    proto::RelayMessage msg;
    bool ok = co_await take(ws->get(), &reader, &msg, warmup_messages, c);
    if (ok) {
        pylon::testing::counting_new::start();
        ok = co_await take(ws->get(), &reader, &msg, measured_messages, c);
        c->allocations = pylon::testing::counting_new::stop().allocations;
    }
    co_await (*ws)->close();
}

TEST(ReceiveAlloc, SteadyStateWsEventsDoNotAllocatePerMessage) {
    if (!pylon::testing::counting_new::enabled) {
        GTEST_SKIP() << "sanitizer build: operator new is the sanitizer's";
    }
    // The replacement is linked and counts (else zero allocations would pass for nothing).
    pylon::testing::counting_new::start();
    ::operator delete(::operator new(16));  // a call, not a new-expression: never elided
    ASSERT_EQ(pylon::testing::counting_new::stop().allocations, 1u);
    std::vector<std::string> frames = build_frames();
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    std::thread peer(peer_main, fds[1], &frames);
    Counts c;
    reactor::testing::run_on_shard([&]() -> Task<void> { return client(fds[0], &c); });
    peer.join();
    ASSERT_TRUE(c.error.empty()) << c.error;
    ASSERT_EQ(c.parsed, warmup_messages + measured_messages);
    double per_message = static_cast<double>(c.allocations) / measured_messages;
    std::printf("receive path: %llu allocations over %zu messages (%.3f per message)\n",
                static_cast<unsigned long long>(c.allocations), measured_messages, per_message);
    RecordProperty("allocations_per_message", std::to_string(per_message));
    EXPECT_LE(per_message, allocations_per_message_max);
}

}  // namespace
}  // namespace pylon::net
