#include "reactor/ops.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "reactor/clock.hpp"
#include "run_on_shards.hpp"

namespace pylon::reactor {
namespace {

using testing::run_on_shard;

struct SocketPair {
    int a = -1;
    int b = -1;
    SocketPair() {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        a = fds[0];
        b = fds[1];
    }
    ~SocketPair() {
        ::close(a);
        ::close(b);
    }
};

TEST(Ops, SendAndRecvMoveBytes) {
    SocketPair sp;
    run_on_shard([&]() -> Task<void> {
        return [](int a, int b) -> Task<void> {
            const char msg[] = "hello";
            EXPECT_EQ(co_await send(a, msg, 5), 5);
            char buf[16] = {};
            EXPECT_EQ(co_await recv(b, buf, sizeof buf), 5);
            EXPECT_EQ(std::string(buf, 5), "hello");
        }(sp.a, sp.b);
    });
}

TEST(Ops, TimeoutCancelsAnIdleRecvWithEtime) {
    SocketPair sp;
    std::int64_t took = 0;
    run_on_shard([&]() -> Task<void> {
        return [](int b, std::int64_t* t) -> Task<void> {
            char buf[16];
            std::int64_t t0 = monotonic_ms();
            int res = co_await recv(b, buf, sizeof buf, 0, {.timeout_ms = 50});
            *t = monotonic_ms() - t0;
            EXPECT_EQ(res, -ETIME);
        }(sp.b, &took);
    });
    EXPECT_GE(took, 50);
    EXPECT_LT(took, 1000);
}

TEST(Ops, TokenCancelsAnInFlightRecv) {
    SocketPair sp;
    run_on_shard([&]() -> Task<void> {
        return [](int b) -> Task<void> {
            CancelSource source;
            auto canceller = [](CancelSource* s) -> Task<void> {
                co_await sleep_ms(20);
                s->cancel();
            };
            Shard::current().spawn(canceller(&source));
            char buf[16];
            int res = co_await recv(b, buf, sizeof buf, 0, {.token = source.token()});
            EXPECT_EQ(res, -ECANCELED);
            // Already cancelled: the next op does not even reach the kernel.
            res = co_await recv(b, buf, sizeof buf, 0, {.token = source.token()});
            EXPECT_EQ(res, -ECANCELED);
        }(sp.b);
    });
}

// A cancelled recv never touches its buffer after it resumed: the buffer is freed right after
// the cancellation and data then arrives on the socket (ASan would flag a late write).
TEST(Ops, CancelledRecvNeverWritesIntoFreedMemory) {
    SocketPair sp;
    run_on_shard([&]() -> Task<void> {
        return [](int a, int b) -> Task<void> {
            for (int round = 0; round < 50; round++) {
                auto buf = std::make_unique<char[]>(64);
                int res = co_await recv(b, buf.get(), 64, 0, {.timeout_ms = 1});
                EXPECT_EQ(res, -ETIME);
                buf.reset();
                char byte = 'x';
                EXPECT_EQ(co_await send(a, &byte, 1), 1);
                char sink = 0;
                EXPECT_EQ(co_await recv(b, &sink, 1), 1);
                EXPECT_EQ(sink, 'x');
            }
        }(sp.a, sp.b);
    });
}

TEST(Ops, ReadAndWriteAPipe) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    run_on_shard([&]() -> Task<void> {
        return [](int r, int w) -> Task<void> {
            EXPECT_EQ(co_await write(w, "abc", 3), 3);
            char buf[8] = {};
            EXPECT_EQ(co_await read(r, buf, sizeof buf), 3);
            EXPECT_STREQ(buf, "abc");
        }(fds[0], fds[1]);
    });
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST(Ops, SleepIsCancellable) {
    bool slept = true;
    std::int64_t took = 0;
    run_on_shard([&]() -> Task<void> {
        return [](bool* out, std::int64_t* t) -> Task<void> {
            CancelSource source;
            auto canceller = [](CancelSource* s) -> Task<void> {
                co_await sleep_ms(10);
                s->cancel();
            };
            Shard::current().spawn(canceller(&source));
            std::int64_t t0 = monotonic_ms();
            *out = co_await sleep_ms(10'000, source.token());
            *t = monotonic_ms() - t0;
        }(&slept, &took);
    });
    EXPECT_FALSE(slept);
    EXPECT_LT(took, 1000);
}

}  // namespace
}  // namespace pylon::reactor
