#include "reactor/buffer_ring.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "reactor/ops.hpp"
#include "reactor/recv_stream.hpp"
#include "run_on_shards.hpp"

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
    void make(std::uint32_t count, std::uint32_t initial) {
        BufferRingOptions o;
        o.buffer_count = count;
        o.buffer_count_initial = initial;
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

// Through the kernel: a ring that starts with two buffers receives 256 KB from a reader that
// holds what it got for a while; the ring grows, every byte arrives in order.
TEST(BufferRingKernel, GrowsUnderARealBurst) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    std::string sent(256 * 1024, '\0');
    for (std::size_t i = 0; i < sent.size(); i++) {
        sent[i] = static_cast<char>('a' + (i * 7) % 26);
    }
    std::thread writer([&] {
        std::size_t off = 0;
        while (off < sent.size()) {
            ssize_t n =
                ::write(fds[0], sent.data() + off, std::min<std::size_t>(4096, sent.size() - off));
            if (n <= 0) {
                break;
            }
            off += static_cast<std::size_t>(n);
        }
        ::shutdown(fds[0], SHUT_WR);
    });
    std::string got;
    std::uint32_t provided = 0;
    ShardSetOptions options;
    options.shard.recv_buffers.buffer_count = 64;
    options.shard.recv_buffers.buffer_count_initial = 2;
    options.shard.recv_buffers.buffer_bytes = 1024;
    testing::run_on_shards(
        1,
        [&](Shard&) -> Task<void> {
            return [](int fd, std::size_t total, std::string* out, std::uint32_t* p) -> Task<void> {
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
                *p = Shard::current().recv_buffers().provided();
            }(fds[1], sent.size(), &got, &provided);
        },
        options);
    writer.join();
    ::close(fds[0]);
    ::close(fds[1]);
    EXPECT_TRUE(got == sent) << got.size() << " of " << sent.size() << " bytes";
    EXPECT_GE(provided, 32u);
    EXPECT_LE(provided, 64u);
}

}  // namespace
}  // namespace pylon::reactor
