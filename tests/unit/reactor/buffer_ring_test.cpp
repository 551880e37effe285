#include "reactor/buffer_ring.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sys/mman.h>

#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "reactor/ops.hpp"
#include "reactor/recv_stream.hpp"
#include "run_on_shards.hpp"
#include "socket_peer.hpp"

namespace pylon::reactor {
namespace {

// A ring on a bare io_uring: buffers are taken as a CQE would name them (no kernel receive).
class BufferRingTest : public ::testing::Test {
  protected:
    void SetUp() override { ASSERT_EQ(io_uring_queue_init(8, &uring_, 0), 0); }
    void TearDown() override {
        ring_.reset();
        io_uring_queue_exit(&uring_);
    }
    void make(std::uint32_t count, std::uint32_t initial, std::int64_t shrink_after_ms = 10'000) {
        BufferRingOptions o;
        o.buffer_count = count;
        o.buffer_count_initial = initial;
        o.shrink_after_ms = shrink_after_ms;
        auto r = BufferRing::create(&uring_, o);
        ASSERT_TRUE(r.ok()) << r.error().message();
        ring_.reset(r.value());
    }
    Buffer take(std::uint32_t bid) {
        return ring_->take(IORING_CQE_F_BUFFER | (bid << IORING_CQE_BUFFER_SHIFT), 16);
    }

    io_uring uring_{};
    std::unique_ptr<BufferRing> ring_;
};

// Idle traffic (one buffer held at a time, in ring order) never grows the ring: only the
// initial buffers are ever handed to the kernel, so only they become resident.
TEST_F(BufferRingTest, OneBufferAtATimeKeepsTheInitialBuffers) {
    make(256, 16);
    EXPECT_EQ(ring_->provided(), 16u);
    EXPECT_EQ(ring_->available(), 16u);
    for (std::uint32_t i = 0; i < 1000; i++) {
        Buffer b = take(i % 16);
        EXPECT_EQ(b.data(), ring_->address(static_cast<std::uint16_t>(i % 16)));
    }
    EXPECT_EQ(ring_->provided(), 16u);
    EXPECT_EQ(ring_->available(), 16u);
}

// Holding buffers grows the ring (doubling) before the kernel runs dry, up to buffer_count.
TEST_F(BufferRingTest, HeldBuffersGrowTheRingUpToItsCount) {
    make(64, 4);
    std::vector<Buffer> held;
    held.push_back(take(0));
    held.push_back(take(1));
    EXPECT_EQ(ring_->provided(), 4u);  // two left of four: more than a quarter
    held.push_back(take(2));
    EXPECT_EQ(ring_->provided(), 8u);
    EXPECT_EQ(ring_->available(), 5u);
    for (std::uint32_t bid = 3; bid < 64; bid++) {
        held.push_back(take(bid));
        EXPECT_GT(ring_->provided(), bid);
    }
    EXPECT_EQ(ring_->provided(), 64u);
    EXPECT_EQ(ring_->available(), 0u);
    held.clear();
    EXPECT_EQ(ring_->available(), 64u);
}

// A stream that ran dry grows the ring at once and is told to re-arm.
TEST_F(BufferRingTest, RunningDryGrowsTheRingAndRearmsAtOnce) {
    make(32, 2);
    std::vector<Buffer> held;
    held.push_back(take(0));
    held.push_back(take(1));  // 0 of 2 left: grows to 4
    held.push_back(take(2));
    held.push_back(take(3));  // 0 of 4 left: grows to 8
    EXPECT_EQ(ring_->provided(), 8u);
    int calls = 0;
    RearmWaiter waiter([](RearmWaiter* w) { ++*static_cast<int*>(w->context); }, &calls);
    ring_->wait_for_buffers(&waiter);
    EXPECT_EQ(ring_->provided(), 16u);
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(ring_->enobufs_count(), 1u);
}

bool resident(const void* p) {
    auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    auto* start = reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(p) & ~(page - 1));
    unsigned char vec = 0;
    return ::mincore(start, page, &vec) == 0 && (vec & 1) != 0;
}

// After a burst, once every buffer is back and the ring has been calm (here at once), the
// buffers above the initial count are parked as they come round and their pages released.
TEST_F(BufferRingTest, ShrinksBackAfterABurstAndReleasesThePages) {
    make(64, 4, 0);
    std::vector<Buffer> held;
    for (std::uint32_t bid = 0; bid < 10; bid++) {
        held.push_back(take(bid));  // 4 -> 8 -> 16
    }
    EXPECT_EQ(ring_->provided(), 16u);
    for (Buffer& b : held) {
        std::memset(b.data(), 'x', 4096);  // make their pages resident
    }
    EXPECT_TRUE(resident(ring_->address(9)));
    held.clear();  // all back, calm: the shrink starts
    EXPECT_EQ(ring_->provided(), 16u);
    for (std::uint32_t bid = 4; bid < 16; bid++) {
        take(bid).reset();  // each comes round once and is parked
    }
    EXPECT_EQ(ring_->provided(), 4u);
    EXPECT_EQ(ring_->available(), 4u);
    EXPECT_EQ(ring_->shrinks(), 1u);
    EXPECT_TRUE(resident(ring_->address(0)));
    EXPECT_FALSE(resident(ring_->address(9)));
    // It grows again under pressure.
    held.push_back(take(0));
    held.push_back(take(1));
    held.push_back(take(2));
    EXPECT_EQ(ring_->provided(), 8u);
}

// Pressure during a shrink gives the parked buffers back to the kernel at once.
TEST_F(BufferRingTest, PressureDuringAShrinkCancelsIt) {
    make(64, 4, 0);
    std::vector<Buffer> held;
    for (std::uint32_t bid = 0; bid < 10; bid++) {
        held.push_back(take(bid));
    }
    EXPECT_EQ(ring_->provided(), 16u);
    held.clear();  // shrink to 4 starts
    take(12).reset();
    take(13).reset();  // two parked
    EXPECT_EQ(ring_->available(), 14u);
    for (std::uint32_t bid = 0; bid < 11; bid++) {
        held.push_back(take(bid));  // 3 left of 14 in play: pressure
    }
    EXPECT_EQ(ring_->available() + held.size(), ring_->provided());
    EXPECT_GE(ring_->provided(), 16u);
    EXPECT_EQ(ring_->shrinks(), 0u);
    held.clear();
}

// Through the kernel: a ring that starts with two buffers receives 256 KB from a reader that
// holds what it got for a while; the ring grows, every byte arrives in order.
// Returns how many buffers the ring had in play at the end (and how often it shrank).
struct BurstResult {
    bool intact = false;
    std::uint32_t provided = 0;
    std::uint64_t shrinks = 0;
};
BurstResult receive_burst(std::int64_t shrink_after_ms) {
    BurstResult result;
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    const std::string sent = testing::pattern(256 * 1024);
    std::thread writer([&] {
        testing::write_all(fds[0], sent);
        ::shutdown(fds[0], SHUT_WR);
    });
    std::string got;
    ShardSetOptions options;
    options.shard.recv_buffers.shrink_after_ms = shrink_after_ms;
    options.shard.recv_buffers.buffer_count = 64;
    options.shard.recv_buffers.buffer_count_initial = 2;
    options.shard.recv_buffers.buffer_bytes = 1024;
    testing::run_on_shards(
        1,
        [&](Shard&) -> Task<void> {
            return [](int fd, std::size_t total, std::string* out, BurstResult* r) -> Task<void> {
                RecvStream stream(fd);
                std::vector<RecvChunk> held;
                for (int i = 0; i < 100000; i++) {
                    RecvChunk c = co_await stream.next(5000);
                    if (c.eof || c.error != 0) {
                        ADD_FAILURE() << c.error << " after " << out->size() << " bytes";
                        break;
                    }
                    out->append(reinterpret_cast<const char*>(c.buffer.data()), c.buffer.size());
                    held.push_back(std::move(c));
                    if (out->size() == total) {
                        break;  // (EOF itself is RecvStream's test)
                    }
                    if (held.size() == 24) {
                        co_await sleep_ms(1);
                        held.clear();
                    }
                }
                held.clear();
                if (!stream.finished()) {
                    co_await stream.stop();
                }
                r->provided = Shard::current().recv_buffers().provided();
                r->shrinks = Shard::current().recv_buffers().shrinks();
            }(fds[1], sent.size(), &got, &result);
        },
        options);
    writer.join();
    ::close(fds[0]);
    ::close(fds[1]);
    EXPECT_EQ(got.size(), sent.size());
    result.intact = got == sent;
    return result;
}

TEST(BufferRingKernel, GrowsUnderARealBurst) {
    BurstResult r = receive_burst(10'000);
    EXPECT_TRUE(r.intact);
    EXPECT_GE(r.provided, 32u);
    EXPECT_LE(r.provided, 64u);
    EXPECT_EQ(r.shrinks, 0u);
}

// A burst grows the ring; then, with no calm required, one small message at a time lets every
// buffer come back, the ring parks those above the initial two and releases them; no byte is
// lost on the way.
Task<void> burst_then_trickle(int writer, int reader, BurstResult* r) {
    std::string sent;
    std::string got;
    RecvStream stream(reader);
    std::string burst(48 * 1024, 'b');
    for (std::size_t off = 0; off < burst.size();) {
        int n = co_await send(writer, burst.data() + off, burst.size() - off);
        if (n <= 0) {
            ADD_FAILURE() << "send " << n;
            co_return;
        }
        off += static_cast<std::size_t>(n);
    }
    sent += burst;
    std::vector<RecvChunk> held;
    for (int i = 0; i < 1000 && got.size() < sent.size(); i++) {
        RecvChunk c = co_await stream.next(5000);
        if (!c.ok()) {
            break;
        }
        got.append(reinterpret_cast<const char*>(c.buffer.data()), c.buffer.size());
        held.push_back(std::move(c));  // held: the ring must grow
    }
    BufferRing& ring = Shard::current().recv_buffers();
    std::uint32_t grown = ring.provided();
    EXPECT_GE(grown, 32u);
    held.clear();
    for (int i = 0; i < 300; i++) {
        std::string one(100, static_cast<char>('a' + i % 26));
        sent += one;
        EXPECT_EQ(co_await send(writer, one.data(), one.size()), 100);
        while (got.size() < sent.size()) {
            RecvChunk c = co_await stream.next(5000);
            if (!c.ok()) {
                ADD_FAILURE() << "next " << c.error;
                break;
            }
            got.append(reinterpret_cast<const char*>(c.buffer.data()), c.buffer.size());
        }
    }
    co_await stream.stop();
    r->intact = got == sent;
    r->provided = ring.provided();
    r->shrinks = ring.shrinks();
}

TEST(BufferRingKernel, ShrinksBackOnceTheBurstIsOverAndLosesNothing) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    BurstResult r;
    ShardSetOptions options;
    options.shard.recv_buffers.buffer_count = 64;
    options.shard.recv_buffers.buffer_count_initial = 2;
    options.shard.recv_buffers.buffer_bytes = 1024;
    options.shard.recv_buffers.shrink_after_ms = 0;
    testing::run_on_shards(
        1, [&](Shard&) -> Task<void> { return burst_then_trickle(fds[0], fds[1], &r); }, options);
    ::close(fds[0]);
    ::close(fds[1]);
    EXPECT_TRUE(r.intact);
    EXPECT_GE(r.shrinks, 1u);
    EXPECT_EQ(r.provided, 2u);
}

}  // namespace
}  // namespace pylon::reactor
