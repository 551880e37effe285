#include "engine/dedup_cache.hpp"

#include <gtest/gtest.h>

#include "reactor/rng.hpp"

namespace pylon::engine {
namespace {

DedupCache::Id id(std::uint32_t n) {
    DedupCache::Id out{};
    for (int i = 0; i < 8; i++) {
        out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>((n * 2654435761u) >> (i * 4));
    }
    out[7] = static_cast<std::uint8_t>(n >> 24);
    out[6] = static_cast<std::uint8_t>(n >> 16);
    out[5] = static_cast<std::uint8_t>(n >> 8);
    out[4] = static_cast<std::uint8_t>(n);
    return out;
}

DedupCache::Id random_id(reactor::Rng& rng) {
    DedupCache::Id out{};
    for (std::size_t i = 0; i < out.size(); i += 8) {
        std::uint64_t v = rng.next();
        for (std::size_t b = 0; b < 8; b++) {
            out[i + b] = static_cast<std::uint8_t>(v >> (8 * b));
        }
    }
    return out;
}

TEST(DedupCache, SecondInsertIsADuplicate) {
    DedupCache c(10);
    EXPECT_TRUE(c.insert(id(1)));
    EXPECT_FALSE(c.insert(id(1)));
    EXPECT_TRUE(c.contains(id(1)));
    EXPECT_FALSE(c.contains(id(2)));
    EXPECT_EQ(c.size(), 1u);
}

// A request left for the relay to send again (intake paused, held buffer full) is forgotten:
// its next delivery is new; the others stay remembered, and forgetting and taking in the same
// ids again and again keeps the cache within its bound.
TEST(DedupCache, AForgottenIdIsNewAgainAndTheOthersStay) {
    DedupCache c(8);
    for (std::uint32_t n = 1; n <= 4; n++) {
        EXPECT_TRUE(c.insert(id(n)));
    }
    EXPECT_TRUE(c.forget(id(2)));
    EXPECT_FALSE(c.forget(id(2)));
    EXPECT_FALSE(c.forget(id(9)));
    EXPECT_FALSE(c.contains(id(2)));
    EXPECT_TRUE(c.contains(id(1)));
    EXPECT_TRUE(c.contains(id(3)));
    EXPECT_TRUE(c.contains(id(4)));
    EXPECT_TRUE(c.insert(id(2)));
    EXPECT_FALSE(c.insert(id(2)));
    std::size_t bytes = c.bytes_held();
    for (int round = 0; round < 1000; round++) {
        EXPECT_TRUE(c.forget(id(2)));
        EXPECT_TRUE(c.insert(id(2)));
    }
    EXPECT_LE(c.size(), c.entries_max());
    EXPECT_EQ(c.bytes_held(), bytes);
    EXPECT_TRUE(c.contains(id(2)));
}

TEST(DedupCache, ForgetsTheOldestBeyondItsBound) {
    DedupCache c(3);
    for (std::uint32_t i = 0; i < 5; i++) {
        EXPECT_TRUE(c.insert(id(i)));
    }
    EXPECT_EQ(c.size(), 3u);
    EXPECT_EQ(c.evicted(), 2u);
    EXPECT_FALSE(c.contains(id(0)));
    EXPECT_FALSE(c.contains(id(1)));
    EXPECT_TRUE(c.contains(id(2)));
    EXPECT_TRUE(c.contains(id(4)));
    // A duplicate does not refresh its place: id(2) is still the next to go.
    EXPECT_FALSE(c.insert(id(2)));
    EXPECT_TRUE(c.insert(id(5)));
    EXPECT_FALSE(c.contains(id(2)));
    EXPECT_TRUE(c.contains(id(3)));
}

// Many evictions through a small table: every id of the last `max` is found, every older one is
// not (the backward-shift deletion keeps probe chains whole).
TEST(DedupCache, EvictsInArrivalOrderOverManyRounds) {
    constexpr std::size_t max = 1000;
    DedupCache c(max);
    reactor::Rng rng(42);
    std::vector<DedupCache::Id> ids;
    for (std::size_t i = 0; i < 20 * max; i++) {
        ids.push_back(random_id(rng));
        ASSERT_TRUE(c.insert(ids.back()));
    }
    EXPECT_EQ(c.size(), max);
    EXPECT_EQ(c.evicted(), 19 * max);
    for (std::size_t i = 0; i < ids.size(); i++) {
        ASSERT_EQ(c.contains(ids[i]), i >= ids.size() - max) << i;
    }
    for (std::size_t i = ids.size() - max; i < ids.size(); i++) {
        ASSERT_FALSE(c.insert(ids[i])) << i;
    }
}

// The memory bound: at most 40 bytes per entry once full, whatever came through.
TEST(DedupCache, MemoryStaysWithinFortyBytesPerEntry) {
    constexpr std::size_t max = 100'000;
    DedupCache c(max);
    reactor::Rng rng(7);
    EXPECT_LE(c.bytes_held(), 16u * 1024u);  // small until used
    for (std::size_t i = 0; i < 3 * max; i++) {
        c.insert(random_id(rng));
    }
    EXPECT_EQ(c.size(), max);
    EXPECT_LE(c.bytes_held(), 40u * max);
    EXPECT_GE(c.bytes_held(), 16u * max);
}

}  // namespace
}  // namespace pylon::engine
