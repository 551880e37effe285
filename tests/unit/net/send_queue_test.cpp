#include "net/send_queue.hpp"

#include <gtest/gtest.h>

#include <string>

namespace pylon::net {
namespace {

std::string pattern(std::size_t n, std::size_t seed = 0) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; i++) {
        s[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
    }
    return s;
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Drains the queue with sends of at most `step` bytes (short writes), returning what was sent.
std::string drain(SendQueue& q, std::size_t step) {
    std::string out;
    iovec iov[8];
    while (!q.empty()) {
        unsigned n = q.gather(iov, 8);
        EXPECT_GT(n, 0u);
        std::size_t sent = 0;
        for (unsigned i = 0; i < n && sent < step; i++) {
            std::size_t take = std::min(step - sent, iov[i].iov_len);
            out.append(static_cast<const char*>(iov[i].iov_base), take);
            sent += take;
        }
        q.consume(sent);
    }
    return out;
}

TEST(SendQueue, ShortWritesKeepOrderAcrossChunks) {
    SendQueue q(256 * 1024);
    std::string a = pattern(40000, 1);
    std::string b = pattern(3, 2);
    ASSERT_EQ(q.append(bytes_of(a)), a.size());
    ASSERT_EQ(q.append(bytes_of(b)), b.size());
    EXPECT_EQ(q.size_bytes(), a.size() + b.size());
    EXPECT_EQ(drain(q, 1000), a + b);
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.room_bytes(), 256u * 1024);
}

TEST(SendQueue, RefusesBeyondItsBoundAndResumesAfterConsume) {
    SendQueue q(20000);
    std::string big = pattern(50000);
    EXPECT_EQ(q.append(bytes_of(big)), 20000u);
    EXPECT_EQ(q.room_bytes(), 0u);
    EXPECT_EQ(q.append(bytes_of(big)), 0u);
    iovec iov[4];
    unsigned n = q.gather(iov, 4);
    ASSERT_GE(n, 1u);
    q.consume(iov[0].iov_len);
    EXPECT_EQ(q.room_bytes(), iov[0].iov_len);
    std::string rest = big.substr(20000, iov[0].iov_len);
    EXPECT_EQ(q.append(bytes_of(rest)), rest.size());
    EXPECT_EQ(drain(q, 7777), big.substr(iov[0].iov_len, 20000 + rest.size() - iov[0].iov_len));
}

TEST(SendQueue, AppendWhileGatheredDoesNotMoveInFlightBytes) {
    SendQueue q(1 << 20);
    std::string a = pattern(100);
    q.append(bytes_of(a));
    iovec iov[2];
    ASSERT_EQ(q.gather(iov, 2), 1u);
    const void* base = iov[0].iov_base;
    // Enough chunks to grow the ring of chunk records several times over.
    std::string b = pattern(20 * SendQueue::chunk_bytes + 123, 5);
    ASSERT_EQ(q.append(bytes_of(b)), b.size());
    EXPECT_GT(q.chunks_held(), 4 * SendQueue::ring_initial);
    EXPECT_EQ(std::string(static_cast<const char*>(base), 100), a);
    q.consume(100);
    EXPECT_EQ(drain(q, 1 << 20), b);
}

// A connection that sends now and then (a backend's keep-alive connection) holds no chunk between
// its sends; the chunk it gave back is the one the next queue of the thread takes.
TEST(SendQueue, AnEmptiedQueueHoldsNoChunkAndItsChunkIsReused) {
    SendQueue first(1 << 20);
    std::string a = pattern(300);
    first.append(bytes_of(a));
    EXPECT_EQ(first.chunks_held(), 1u);
    iovec iov[2];
    ASSERT_EQ(first.gather(iov, 2), 1u);
    const void* chunk = iov[0].iov_base;
    first.consume(120);
    EXPECT_EQ(first.chunks_held(), 1u);  // bytes left: kept
    first.consume(180);
    EXPECT_EQ(first.chunks_held(), 0u);
    SendQueue second(1 << 20);
    second.append(bytes_of(a));
    ASSERT_EQ(second.gather(iov, 2), 1u);
    EXPECT_EQ(iov[0].iov_base, chunk);
    EXPECT_EQ(drain(second, 1000), a);
    EXPECT_EQ(second.chunks_held(), 0u);
}

TEST(SendQueue, ClearDropsEverything) {
    SendQueue q(1 << 16);
    std::string a = pattern(5000);
    q.append(bytes_of(a));
    q.clear();
    EXPECT_TRUE(q.empty());
    iovec iov[2];
    EXPECT_EQ(q.gather(iov, 2), 0u);
    q.append(bytes_of(a));
    EXPECT_EQ(drain(q, 999), a);
}

}  // namespace
}  // namespace pylon::net
