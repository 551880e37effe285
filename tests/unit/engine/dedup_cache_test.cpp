#include "engine/dedup_cache.hpp"

#include <gtest/gtest.h>

namespace pylon::engine {
namespace {

DedupCache::Id id(std::uint32_t n) {
    DedupCache::Id out{};
    for (int i = 0; i < 8; i++) {
        out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>((n * 2654435761u) >> (i * 4));
    }
    out[31] = static_cast<std::uint8_t>(n);
    out[30] = static_cast<std::uint8_t>(n >> 8);
    return out;
}

TEST(DedupCache, SecondInsertIsADuplicate) {
    DedupCache c(10);
    EXPECT_TRUE(c.insert(id(1)));
    EXPECT_FALSE(c.insert(id(1)));
    EXPECT_TRUE(c.contains(id(1)));
    EXPECT_FALSE(c.contains(id(2)));
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
    EXPECT_TRUE(c.contains(id(4)));
}

}  // namespace
}  // namespace pylon::engine
