#include "engine/pid_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

namespace pylon::engine {
namespace {

TEST(PidFile, AcquireHoldsAndReleaseRemoves) {
    auto dir = test::TempDir::create("pylon-pid");
    ASSERT_TRUE(dir.ok());
    std::string path = dir->file("pylon.pid");
    EXPECT_EQ(PidFile::inspect(path)->state, PidState::absent);
    auto pid = PidFile::acquire(path);
    ASSERT_TRUE(pid.ok()) << pid.error().message();
    EXPECT_EQ(test::read_file(path).value(), std::to_string(::getpid()) + "\n");
    auto info = PidFile::inspect(path);
    EXPECT_EQ(info->state, PidState::running);
    EXPECT_EQ(info->pid, ::getpid());
    // A second claim fails while the first is held (the lock is per open file, so this holds
    // within one process too) and names the holder.
    auto second = PidFile::acquire(path);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code(), Errc::exists);
    EXPECT_NE(second.error().message().find(std::to_string(::getpid())), std::string::npos);
    pid->release();
    EXPECT_EQ(PidFile::inspect(path)->state, PidState::absent);
    pid->release();  // idempotent
}

TEST(PidFile, StaleFileIsReplaced) {
    auto dir = test::TempDir::create("pylon-pid");
    ASSERT_TRUE(dir.ok());
    std::string path = dir->file("pylon.pid");
    ASSERT_TRUE(test::write_file(path, "1\n").ok());  // pid 1 is alive, but holds no lock
    auto info = PidFile::inspect(path);
    EXPECT_EQ(info->state, PidState::stale);
    EXPECT_EQ(info->pid, 1);
    auto pid = PidFile::acquire(path);
    ASSERT_TRUE(pid.ok()) << pid.error().message();
    EXPECT_EQ(PidFile::inspect(path)->pid, ::getpid());
    EXPECT_FALSE(remove_stale_pid_file(path)) << "a held file is not stale";
    pid->release();
    ASSERT_TRUE(test::write_file(path, "garbage").ok());
    EXPECT_EQ(PidFile::inspect(path)->pid, 0);
    EXPECT_TRUE(remove_stale_pid_file(path));
    EXPECT_EQ(PidFile::inspect(path)->state, PidState::absent);
}

TEST(PidFile, ConcurrentClaimsHaveExactlyOneWinner) {
    auto dir = test::TempDir::create("pylon-pid");
    ASSERT_TRUE(dir.ok());
    std::string path = dir->file("pylon.pid");
    for (int round = 0; round < 20; round++) {
        // Half the rounds start from a stale file.
        if (round % 2 == 1) {
            ASSERT_TRUE(test::write_file(path, "424242\n").ok());
        }
        constexpr int threads_count = 6;
        std::vector<std::optional<PidFile>> held(threads_count);
        std::atomic<int> winners{0};
        std::atomic<int> refused{0};
        std::atomic<bool> go{false};
        std::vector<std::thread> threads;
        for (int t = 0; t < threads_count; t++) {
            threads.emplace_back([&, t] {
                while (!go.load()) {
                }
                auto r = PidFile::acquire(path);
                if (r.ok()) {
                    winners++;
                    held[static_cast<std::size_t>(t)].emplace(std::move(r.value()));
                } else if (r.error().code() == Errc::exists) {
                    refused++;
                }
            });
        }
        go = true;
        for (auto& th : threads) {
            th.join();
        }
        EXPECT_EQ(winners.load(), 1) << "round " << round;
        EXPECT_EQ(refused.load(), threads_count - 1) << "round " << round;
        EXPECT_EQ(PidFile::inspect(path)->state, PidState::running);
        held.clear();
        EXPECT_EQ(PidFile::inspect(path)->state, PidState::absent);
    }
}

}  // namespace
}  // namespace pylon::engine
