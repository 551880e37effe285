// The reactor on loopback: a multishot-accept, multishot-recv echo server on shard 0 and a client
// on shard 1 moving 100k messages with their content checked; the server's receive ring is small
// so -ENOBUFS flow control happens for real.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "reactor/accept_stream.hpp"
#include "reactor/gate.hpp"
#include "reactor/ops.hpp"
#include "reactor/recv_stream.hpp"
#include "reactor/shard_set.hpp"
#include "reactor/sync.hpp"

namespace pylon::reactor {
namespace {

constexpr std::uint32_t message_count = 100'000;
constexpr std::size_t message_bytes = 64;
constexpr std::uint32_t window = 64;  // messages in flight per client

int listen_loopback(std::uint16_t* port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd, 64), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    *port = ntohs(addr.sin_port);
    return fd;
}

void fill_message(std::uint32_t seq, char* out) {
    for (std::size_t i = 0; i < message_bytes; i++) {
        out[i] = static_cast<char>('A' + (seq * 31 + i) % 26);
    }
    std::memcpy(out, &seq, sizeof seq);
}

Task<void> serve_connection(int fd, std::uint64_t* echoed) {
    RecvStream stream(fd);
    for (;;) {
        RecvChunk c = co_await stream.next();
        if (!c.ok()) {
            break;
        }
        // Copy out and give the buffer back before the send: the ring stays full.
        std::string data(reinterpret_cast<const char*>(c.buffer.data()), c.buffer.size());
        c.buffer.reset();
        std::size_t off = 0;
        while (off < data.size()) {
            int n = co_await send(fd, data.data() + off, data.size() - off);
            if (n <= 0) {
                break;
            }
            off += static_cast<std::size_t>(n);
        }
        *echoed += data.size();
    }
    co_await stream.stop();
    co_await close(fd);
}

Task<void> server(int listen_fd, std::uint64_t* echoed, AsyncEvent* done) {
    AcceptStream acceptor(listen_fd);
    Gate gate;
    int fd = co_await acceptor.next();
    EXPECT_GE(fd, 0);
    if (fd >= 0) {
        gate.spawn(serve_connection(fd, echoed));
    }
    co_await done->wait();
    co_await acceptor.stop();
    co_await gate.close();
}

Task<void> client(std::uint16_t port, std::uint32_t* verified) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc =
        co_await connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr, {.timeout_ms = 5000});
    EXPECT_EQ(rc, 0);
    RecvStream stream(fd);
    std::string pending;
    char msg[message_bytes];
    char expect[message_bytes];
    std::uint32_t sent = 0;
    std::uint32_t received = 0;
    bool failed = false;
    while (received < message_count && !failed) {
        while (sent < message_count && sent - received < window) {
            fill_message(sent, msg);
            int n = co_await send(fd, msg, sizeof msg);
            EXPECT_EQ(n, static_cast<int>(sizeof msg));
            sent++;
        }
        RecvChunk c = co_await stream.next(10'000);
        if (!c.ok()) {
            ADD_FAILURE() << "client receive failed: error " << c.error << " eof " << c.eof;
            break;
        }
        pending.append(reinterpret_cast<const char*>(c.buffer.data()), c.buffer.size());
        std::size_t off = 0;
        while (pending.size() - off >= message_bytes) {
            fill_message(received, expect);
            if (std::memcmp(pending.data() + off, expect, message_bytes) != 0) {
                ADD_FAILURE() << "message " << received << " corrupted or out of order";
                failed = true;
                break;
            }
            received++;
            off += message_bytes;
        }
        pending.erase(0, off);
    }
    *verified = received;
    co_await stream.stop();
    co_await close(fd);
}

TEST(ReactorEcho, HundredThousandMessagesAcrossTwoShards) {
    std::uint16_t port = 0;
    int listen_fd = listen_loopback(&port);
    std::uint64_t echoed = 0;
    std::uint32_t verified = 0;
    std::uint64_t server_enobufs = 0;
    AsyncEvent* done_on_shard0 = nullptr;
    ShardSetOptions options;
    options.shard_count = 2;
    options.pin = false;
    options.shard.recv_buffers.buffer_count = 8;  // small: force ENOBUFS flow control
    options.shard.recv_buffers.buffer_bytes = 512;
    ShardSet set(options);
    AsyncEvent done;
    done_on_shard0 = &done;
    Status st = set.run([&](Shard& shard) -> Task<void> {
        if (shard.id() == 0) {
            return [](int lfd, std::uint64_t* e, AsyncEvent* d, std::uint64_t* enb) -> Task<void> {
                co_await server(lfd, e, d);
                *enb = Shard::current().recv_buffers().enobufs_count();
            }(listen_fd, &echoed, done_on_shard0, &server_enobufs);
        }
        return [](std::uint16_t p, std::uint32_t* v, AsyncEvent* d) -> Task<void> {
            co_await client(p, v);
            co_await submit_to(0, [d]() { d->set(); });
        }(port, &verified, done_on_shard0);
    });
    ASSERT_TRUE(st.ok()) << st.error().message();
    ::close(listen_fd);
    EXPECT_EQ(verified, message_count);
    EXPECT_EQ(echoed, static_cast<std::uint64_t>(message_count) * message_bytes);
    RecordProperty("server_enobufs", static_cast<int>(server_enobufs));
}

}  // namespace
}  // namespace pylon::reactor
