// Soak (label soak, not in the default suite): pylon-bench at a steady request rate for about
// ten minutes (PYLON_SOAK_SECONDS overrides the length, 120 at least), 64 requests in flight, 4
// tokens per job at 5 ms per token. Every job must be answered and the node's memory must not grow
// beyond what its bounded caches take: between the third tenth of the run (pools and the allocator
// are warm by then) and the last tenth, RSS may grow by at most
//   growth_bytes_per_job_max per job + growth_fixed_bytes_max.
// Per job: the intake's DedupCache remembers every request id up to 100,000 per shard, so at 100
// requests/s it keeps filling for the whole run; as a compact table of 8-byte fingerprints plus an
// arrival ring it holds 24 to 40 bytes per id (it grows by doubling, so its growth comes in
// steps). Fixed: SQLite's page cache fills toward its bound (the default 2,000 KiB) as the
// database grows, plus 0.5 MB of allocator noise. A leak of anything job-sized (an event, a job, a
// buffer: hundreds of bytes and more) breaks the bound over the default ten minutes (48,000 jobs
// between the windows: a 100 B/job leak adds 4.8 MB against an allowance of 4.4 MB); short runs
// (PYLON_SOAK_SECONDS) are a smoke check of the harness, not of leaks.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "pylon_bench_support.hpp"

namespace pylon::test {
namespace {

constexpr int soak_seconds_default = 600;
constexpr int soak_rate_per_s = 100;
constexpr double growth_bytes_per_job_max = 40;
constexpr double growth_fixed_bytes_max = 2.5e6;

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
    double allowed = growth_bytes_per_job_max * jobs_between + growth_fixed_bytes_max;
    std::printf(
        "soak: %d s, RSS early %.1f MB, late %.1f MB (%.0f B/job; allowed growth %.1f MB), "
        "peak %.1f MB, p99 %lld us\n",
        seconds, early / 1e6, late / 1e6, per_job, allowed / 1e6, real(j, "rss_peak_bytes") / 1e6,
        static_cast<long long>(num(j, "latency_us_p99")));
    RecordProperty("rss_growth_bytes_per_job", std::to_string(per_job));
    EXPECT_LE(late - early, allowed) << j.text;
}

}  // namespace
}  // namespace pylon::test
