// pylon-bench end to end, briefly: the real pylon daemon, the relay simulator and fake_ollama,
// 160 small jobs. Asserts the harness works and its numbers are sane (every job answered,
// ordered percentiles, crypto and CPU measured, signatures and `e` tags right, the node's own
// token latency read from its control socket), not how fast.
// The 10-minute steady-load run is pylon_bench_soak_test (label soak).
#include <gtest/gtest.h>

#include <string>

#include "pylon_bench_support.hpp"

namespace pylon::test {
namespace {

// <prefix>_p50 <= _p99 <= _p999 <= _max, and p50 above zero.
void expect_ordered_percentiles(const BenchJson& j, const std::string& prefix) {
    double last = 0;
    for (const char* suffix : {"_p50", "_p99", "_p999", "_max"}) {
        std::string key = prefix + suffix;
        double v = real(j, key.c_str());
        EXPECT_GT(v, 0) << key;
        EXPECT_LE(last, v) << key;
        last = v;
    }
}

TEST(PylonBench, SmokeRunGivesSaneFigures) {
    BenchJson j;
    ASSERT_NO_FATAL_FAILURE(
        run_bench({"--jobs", "160", "--warmup", "5", "--inflight", "8", "--tokens", "2",
                   "--verify-every", "2", "--crypto-rounds", "50"},
                  &j));
    EXPECT_EQ(num(j, "jobs"), 160);
    EXPECT_EQ(num(j, "jobs_failed"), 0);
    EXPECT_EQ(num(j, "shards"), 1);
    EXPECT_GT(real(j, "jobs_per_s"), 0);
    expect_ordered_percentiles(j, "latency_us");
    EXPECT_GT(real(j, "crypto_us_per_job"), 0);
    EXPECT_NEAR(real(j, "crypto_us_per_job"),
                2 * real(j, "crypto_sign_us") + real(j, "crypto_verify_us"), 0.1);
    // CPU time comes in 10 ms clock ticks: 160 jobs cost the node several even with keep-alive
    // (40 jobs sometimes cost less than one tick).
    EXPECT_GT(real(j, "node_cpu_us_per_job"), 0);
    // The threads' sleeps (voluntary context switches) per job: with 8 in flight the shard waits
    // for the relay, the backend and the store now and then, but not dozens of times a job; the
    // store thread sleeps at most once per transaction, and a job makes two store requests.
    EXPECT_GT(real(j, "node_shard_sleeps_per_job"), 0);
    EXPECT_LT(real(j, "node_shard_sleeps_per_job"), 20);
    EXPECT_GT(real(j, "node_store_sleeps_per_job"), 0);
    EXPECT_LE(real(j, "node_store_sleeps_per_job"), 4);
    EXPECT_GT(num(j, "rss_peak_bytes"), 1'000'000);
    EXPECT_GE(num(j, "rss_peak_bytes"), num(j, "rss_end_bytes"));
    // Every request (warm-up included) got its result; nothing named a request not ours.
    EXPECT_GE(num(j, "results"), 165);
    EXPECT_EQ(num(j, "results_duplicate"), 0);
    EXPECT_EQ(num(j, "wrong_e_tag"), 0);
    EXPECT_GT(num(j, "verified"), 80);
    EXPECT_EQ(num(j, "verify_failed"), 0);
    EXPECT_EQ(num(j, "bad_messages"), 0);
    // The node's own latency per chunk (its Metrics request, reset after the warm-up): each
    // measured job has 2 token lines and a final line, so 160..480 chunks, in order, and far
    // below the end-to-end latency.
    EXPECT_GE(num(j, "token_latency_count"), 160);
    EXPECT_LE(num(j, "token_latency_count"), 480);
    expect_ordered_percentiles(j, "token_latency_us");
    EXPECT_LT(real(j, "token_latency_us_p50"), real(j, "latency_us_p50"));
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
