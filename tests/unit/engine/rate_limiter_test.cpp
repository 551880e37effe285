#include "engine/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace pylon::engine {
namespace {

RateLimiter::Key key(std::uint8_t b) {
    RateLimiter::Key k{};
    k.fill(b);
    return k;
}

TEST(RateLimiter, BurstThenRefillPerKey) {
    RateLimiter rl({2.0, 3.0}, {0, 0});
    std::int64_t t = 1000;
    for (int i = 0; i < 3; i++) {
        EXPECT_EQ(rl.admit(key(1), t), RateLimiter::Verdict::admit);
    }
    EXPECT_EQ(rl.admit(key(1), t), RateLimiter::Verdict::key_limited);
    EXPECT_EQ(rl.admit(key(2), t), RateLimiter::Verdict::admit);  // another customer is fine
    t += 499;
    EXPECT_EQ(rl.admit(key(1), t), RateLimiter::Verdict::key_limited);
    t += 1;  // 500 ms at 2/s = one token
    EXPECT_EQ(rl.admit(key(1), t), RateLimiter::Verdict::admit);
    EXPECT_EQ(rl.admit(key(1), t), RateLimiter::Verdict::key_limited);
}

TEST(RateLimiter, GlobalBucketBoundsEveryoneAndRefusalTakesNothing) {
    RateLimiter rl({100.0, 100.0}, {1.0, 2.0});
    EXPECT_EQ(rl.admit(key(1), 0), RateLimiter::Verdict::admit);
    EXPECT_EQ(rl.admit(key(2), 0), RateLimiter::Verdict::admit);
    EXPECT_EQ(rl.admit(key(3), 0), RateLimiter::Verdict::global_limited);
    EXPECT_EQ(rl.admit(key(3), 1000), RateLimiter::Verdict::admit);
}

TEST(RateLimiter, KeyTableIsBoundedLru) {
    RateLimiter rl({1.0, 1.0}, {0, 0}, 2);
    EXPECT_EQ(rl.admit(key(1), 0), RateLimiter::Verdict::admit);
    EXPECT_EQ(rl.admit(key(2), 0), RateLimiter::Verdict::admit);
    EXPECT_EQ(rl.admit(key(1), 0), RateLimiter::Verdict::key_limited);  // 1 is now most recent
    EXPECT_EQ(rl.admit(key(3), 0), RateLimiter::Verdict::admit);        // evicts 2
    EXPECT_EQ(rl.keys(), 2u);
    EXPECT_EQ(rl.admit(key(1), 0), RateLimiter::Verdict::key_limited);  // 1 was kept
}

// The node-wide split: a key's bucket on its shard, the global share on the request's shard.
TEST(RateLimiter, KeyAndGlobalBucketsAreTakenSeparately) {
    RateLimiter rl({1.0, 2.0}, {1.0, 1.0});
    EXPECT_EQ(rl.admit_key(key(1), 0), RateLimiter::Verdict::admit);
    EXPECT_EQ(rl.admit_key(key(1), 0), RateLimiter::Verdict::admit);  // the global one untouched
    EXPECT_EQ(rl.admit_key(key(1), 0), RateLimiter::Verdict::key_limited);
    EXPECT_EQ(rl.admit_global(0), RateLimiter::Verdict::admit);
    EXPECT_EQ(rl.admit_global(0), RateLimiter::Verdict::global_limited);
    EXPECT_EQ(rl.admit_key(key(2), 0), RateLimiter::Verdict::admit);  // keys still free
    EXPECT_EQ(rl.admit_key(key(1), 1000), RateLimiter::Verdict::admit);
    EXPECT_EQ(rl.admit_global(1000), RateLimiter::Verdict::admit);
}

TEST(RateLimiter, ZeroRateDisables) {
    RateLimiter rl({0, 0}, {0, 0});
    for (int i = 0; i < 1000; i++) {
        EXPECT_EQ(rl.admit(key(1), 0), RateLimiter::Verdict::admit);
    }
}

}  // namespace
}  // namespace pylon::engine
