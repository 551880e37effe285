#include "reactor/recv_stream.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "reactor/ops.hpp"
#include "run_on_shards.hpp"

namespace pylon::reactor {
namespace {

using testing::run_on_shards;

ShardSetOptions tiny_ring() {
    ShardSetOptions o;
    o.shard.recv_buffers.buffer_count = 4;
    o.shard.recv_buffers.buffer_bytes = 256;
    return o;
}

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; i++) {
        s[i] = static_cast<char>('a' + (i * 7) % 26);
    }
    return s;
}

// A slow reader exhausts a 4-buffer ring: the multishot receive ends with -ENOBUFS, re-arms
// when buffers come back, and every byte arrives in order.
TEST(RecvStream, EnobufsIsFlowControlNotEof) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    const std::string sent = pattern(64 * 1024);
    std::thread writer([&] {
        std::size_t off = 0;
        while (off < sent.size()) {
            ssize_t n =
                ::write(fds[0], sent.data() + off, std::min<std::size_t>(4096, sent.size() - off));
            ASSERT_GT(n, 0);
            off += static_cast<std::size_t>(n);
        }
        ::shutdown(fds[0], SHUT_WR);
    });
    std::string got;
    std::uint64_t rearms = 0;
    std::uint64_t enobufs = 0;
    run_on_shards(
        1,
        [&](Shard&) -> Task<void> {
            return [](int fd, std::string* out, std::uint64_t* r, std::uint64_t* e) -> Task<void> {
                RecvStream stream(fd);
                std::vector<RecvChunk> held;
                for (;;) {
                    RecvChunk c = co_await stream.next(5000);
                    if (c.eof) {
                        break;
                    }
                    EXPECT_EQ(c.error, 0);
                    if (c.error != 0) {
                        break;
                    }
                    out->append(reinterpret_cast<const char*>(c.buffer.data()), c.buffer.size());
                    // Hold up to 4 buffers before releasing them: forces the ring dry.
                    held.push_back(std::move(c));
                    if (held.size() == 4) {
                        co_await sleep_ms(1);
                        held.clear();
                    }
                }
                held.clear();
                *r = stream.rearms();
                *e = Shard::current().recv_buffers().enobufs_count();
                EXPECT_TRUE(stream.finished());
            }(fds[1], &got, &rearms, &enobufs);
        },
        tiny_ring());
    writer.join();
    ::close(fds[0]);
    ::close(fds[1]);
    EXPECT_EQ(got.size(), sent.size());
    EXPECT_TRUE(got == sent);
    EXPECT_GT(enobufs, 0u);
    EXPECT_GT(rearms, 0u);
}

TEST(RecvStream, StopCancelsTheArmedReceiveAndNextTimesOut) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    run_on_shards(1, [&](Shard&) -> Task<void> {
        return [](int fd) -> Task<void> {
            RecvStream stream(fd);
            RecvChunk c = co_await stream.next(30);
            EXPECT_EQ(c.error, -ETIME);
            EXPECT_FALSE(stream.finished());
            co_await stream.stop();
            RecvChunk after = co_await stream.next();
            EXPECT_EQ(after.error, -ECANCELED);
        }(fds[1]);
    });
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST(RecvStream, ReportsPeerReset) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    run_on_shards(1, [&](Shard&) -> Task<void> {
        return [](int a, int b) -> Task<void> {
            RecvStream stream(b);
            EXPECT_EQ(co_await send(a, "xy", 2), 2);
            RecvChunk c = co_await stream.next(1000);
            EXPECT_TRUE(c.ok());
            if (!c.ok()) {
                co_return;
            }
            EXPECT_EQ(c.buffer.size(), 2u);
            ::close(a);
            RecvChunk end = co_await stream.next(1000);
            EXPECT_TRUE(end.eof);
        }(fds[0], fds[1]);
    });
    ::close(fds[1]);
}

}  // namespace
}  // namespace pylon::reactor
