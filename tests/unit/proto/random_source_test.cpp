// RandomSource: FixedRandom repeats its pattern (zeros when empty) across calls; the CSPRNG
// fills whole buffers and does not repeat, across its per-thread reserve's refills and across a
// fork (parent and child never hand out the same bytes).
#include "proto/random_source.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <set>
#include <vector>

namespace pylon::proto {
namespace {

TEST(RandomSource, FixedRepeatsItsPattern) {
    FixedRandom r({1, 2, 3});
    std::array<uint8_t, 4> a{};
    std::array<uint8_t, 4> b{};
    r.fill(a);
    r.fill(b);
    EXPECT_EQ(a, (std::array<uint8_t, 4>{1, 2, 3, 1}));
    EXPECT_EQ(b, (std::array<uint8_t, 4>{2, 3, 1, 2}));
    FixedRandom zeros;
    a.fill(9);
    zeros.fill(a);
    EXPECT_EQ(a, (std::array<uint8_t, 4>{}));
}

TEST(RandomSource, CsprngFillsAndDiffers) {
    std::array<uint8_t, 64> a{};
    std::array<uint8_t, 64> b{};
    csprng().fill(a);
    csprng().fill(b);
    EXPECT_NE(a, b);
    EXPECT_NE(a, (std::array<uint8_t, 64>{}));
}

TEST(RandomSource, CsprngSmallDrawsNeverRepeatAcrossRefills) {
    // 33-byte draws do not divide the reserve: some draws find too few bytes left and refill.
    std::set<std::vector<uint8_t>> seen;
    for (int i = 0; i < 200; i++) {
        std::vector<uint8_t> a(i % 2 == 0 ? 32 : 33);
        csprng().fill(a);
        EXPECT_TRUE(seen.insert(a).second) << "draw " << i << " repeated an earlier one";
    }
    std::vector<uint8_t> big(4096);  // beyond the reserve's request bound: straight from OpenSSL
    csprng().fill(big);
    EXPECT_NE(big, std::vector<uint8_t>(4096, 0));
}

TEST(RandomSource, CsprngForkedChildDrawsOtherBytes) {
    std::array<uint8_t, 8> warm{};
    csprng().fill(warm);  // the parent's reserve now holds unused bytes
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        std::array<uint8_t, 32> c{};
        csprng().fill(c);
        ssize_t n = write(fds[1], c.data(), c.size());
        _exit(n == static_cast<ssize_t>(c.size()) ? 0 : 1);
    }
    close(fds[1]);
    std::array<uint8_t, 32> from_child{};
    ssize_t n = read(fds[0], from_child.data(), from_child.size());
    close(fds[0]);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_EQ(n, static_cast<ssize_t>(from_child.size()));
    std::array<uint8_t, 32> mine{};
    csprng().fill(mine);
    EXPECT_NE(mine, from_child);
}

}  // namespace
}  // namespace pylon::proto
