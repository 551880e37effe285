// pylon-bench end to end, briefly: the real pylon daemon, the relay simulator and fake_ollama,
// a few dozen jobs. Asserts the harness works and its numbers are sane (every job answered,
// ordered percentiles, crypto and CPU measured, signatures and `e` tags right), not how fast.
// The 10-minute steady-load run is pylon_bench_soak_test (label soak).
#include <gtest/gtest.h>

#include <string>

#include "pylon_bench_support.hpp"

namespace pylon::test {
namespace {

TEST(PylonBench, SmokeRunGivesSaneFigures) {
    BenchJson j;
    ASSERT_NO_FATAL_FAILURE(
        run_bench({"--jobs", "40", "--warmup", "5", "--inflight", "4", "--tokens", "2",
                   "--verify-every", "2", "--crypto-rounds", "50"},
                  &j));
    EXPECT_EQ(num(j, "jobs"), 40);
    EXPECT_EQ(num(j, "jobs_failed"), 0);
    EXPECT_EQ(num(j, "shards"), 1);
    EXPECT_GT(real(j, "jobs_per_s"), 0);
    EXPECT_GT(num(j, "latency_us_p50"), 0);
    EXPECT_LE(num(j, "latency_us_p50"), num(j, "latency_us_p99"));
    EXPECT_LE(num(j, "latency_us_p99"), num(j, "latency_us_p999"));
    EXPECT_LE(num(j, "latency_us_p999"), num(j, "latency_us_max"));
    EXPECT_GT(real(j, "crypto_us_per_job"), 0);
    EXPECT_NEAR(real(j, "crypto_us_per_job"),
                2 * real(j, "crypto_sign_us") + real(j, "crypto_verify_us"), 0.1);
    EXPECT_GT(real(j, "node_cpu_us_per_job"), 0);
    EXPECT_GT(num(j, "rss_peak_bytes"), 1'000'000);
    EXPECT_GE(num(j, "rss_peak_bytes"), num(j, "rss_end_bytes"));
    // Every request (warm-up included) got its result; nothing named a request not ours.
    EXPECT_GE(num(j, "results"), 45);
    EXPECT_EQ(num(j, "results_duplicate"), 0);
    EXPECT_EQ(num(j, "wrong_e_tag"), 0);
    EXPECT_GT(num(j, "verified"), 20);
    EXPECT_EQ(num(j, "verify_failed"), 0);
    EXPECT_EQ(num(j, "bad_messages"), 0);
}

TEST(PylonBench, BadOptionsAreRefusedWithAClearMessage) {
    ChildSpec spec;
    spec.argv = {binary_dir() + "/tools/pylon_bench/pylon-bench", "--shards", "0"};
    auto child = ChildProcess::spawn(spec);
    ASSERT_TRUE(child.ok());
    auto exit = (*child)->wait_exit(10000);
    ASSERT_TRUE(exit.has_value());
    EXPECT_TRUE(exit->exited);
    EXPECT_EQ(exit->code, 2);
    EXPECT_NE((*child)->tail(Stream::err).find("--shards: expected a number in 1..64"),
              std::string::npos)
        << (*child)->tail(Stream::err);
}

}  // namespace
}  // namespace pylon::test
