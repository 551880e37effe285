// Soak (label soak, not in the default suite): pylon-bench at a steady request rate for about
// ten minutes (PYLON_SOAK_SECONDS overrides the length, 120 at least), 64 requests in flight, 4
// tokens per job at 5 ms per token. Every job must be answered and the node's memory must not grow
// beyond what its bounded caches take: between the third tenth of the run (pools and the allocator
// are warm by then) and the last tenth, RSS may grow by at most growth_bytes_per_job_max per job.
// That allowance is the intake's DedupCache, which remembers every request id up to 100,000 per
// shard and so keeps filling for the whole run at 100 requests/s: since it became a compact table
// of 8-byte fingerprints plus an arrival ring it holds 24 to 40 bytes per id (29 when full; the
// old unordered_set measured 103 B/job here), so 64 B/job leaves room for allocator noise while a
// leak of anything job-sized (an event, a job, a buffer: hundreds of bytes and more) breaks it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "pylon_bench_support.hpp"

namespace pylon::test {
namespace {

constexpr int soak_seconds_default = 600;
constexpr int soak_rate_per_s = 100;
constexpr double growth_bytes_per_job_max = 64;

double mean_of(const std::vector<double>& v, std::size_t begin, std::size_t end) {
    double sum = 0;
    for (std::size_t i = begin; i < end; i++) {
        sum += v[i];
    }
    return end > begin ? sum / static_cast<double>(end - begin) : 0;
}

TEST(PylonBenchSoak, SteadyLoadKeepsMemoryFlat) {
    int seconds = soak_seconds_default;
    if (const char* s = std::getenv("PYLON_SOAK_SECONDS")) {
        seconds = std::max(120, std::atoi(s));
    }
    std::string jobs = std::to_string(seconds * soak_rate_per_s);
    BenchJson j;
    ASSERT_NO_FATAL_FAILURE(run_bench(
        {"--jobs", jobs, "--warmup", "200", "--rate", std::to_string(soak_rate_per_s), "--inflight",
         "64", "--tokens", "4", "--token-delay-ms", "5", "--crypto-rounds", "100"},
        &j, (seconds + 180) * 1000));
    EXPECT_EQ(std::to_string(num(j, "jobs")), jobs);
    EXPECT_EQ(num(j, "jobs_failed"), 0);
    EXPECT_EQ(num(j, "verify_failed"), 0);
    std::vector<double> rss;
    for (simdjson::dom::element e : j.root["rss_samples_bytes"].get_array()) {
        rss.push_back(static_cast<double>(e.get_uint64().value()));
    }
    ASSERT_GE(rss.size(), 20u) << j.text;
    std::size_t tenth = rss.size() / 10;
    double early = mean_of(rss, 2 * tenth, 3 * tenth);
    double late = mean_of(rss, rss.size() - tenth, rss.size());
    // Samples are one second apart; the windows' centres are this many jobs apart.
    double jobs_between = static_cast<double>(rss.size() - 3 * tenth) * soak_rate_per_s;
    double per_job = (late - early) / jobs_between;
    std::printf(
        "soak: %d s, RSS early %.1f MB, late %.1f MB (%.0f B/job), peak %.1f MB, "
        "p99 %lld us\n",
        seconds, early / 1e6, late / 1e6, per_job, real(j, "rss_peak_bytes") / 1e6,
        static_cast<long long>(num(j, "latency_us_p99")));
    RecordProperty("rss_growth_bytes_per_job", std::to_string(per_job));
    EXPECT_LE(per_job, growth_bytes_per_job_max) << j.text;
}

}  // namespace
}  // namespace pylon::test
