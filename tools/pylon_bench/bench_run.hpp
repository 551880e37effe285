// BenchRun: one pylon-bench run end to end. It builds the pre-signed load (untimed), measures
// the crypto floor (1 verify + 2 signs, this process, before and after the run), starts the
// fake backend (tools/fake_ollama or tools/fake_llamacpp) and the real `pylon` daemon in a
// temporary home whose config points at the relay simulator, runs the simulator on one reactor
// shard of this process until every job has its result, samples the node's CPU time and memory
// from /proc, and stops both children by pid. Main thread only; one run at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "reactor/result.hpp"
#include "tools/pylon_bench/node_metrics.hpp"
#include "tools/pylon_bench/relay_sim.hpp"

namespace pylon::bench {

inline constexpr std::size_t bench_jobs_max = 2'000'000;
inline constexpr unsigned bench_shards_max = 64;
inline constexpr int bench_tokens_max = 4096;
inline constexpr int bench_token_delay_ms_max = 10000;
inline constexpr unsigned backend_slots_max = 1024;  // [backends.*] slots bound in the node
inline constexpr std::size_t rss_samples_max = 4096;

struct BenchOptions {
    std::size_t jobs = 1000;
    std::size_t warmup = 50;
    unsigned shards = 1;
    std::uint32_t inflight = 64;
    int tokens = 1;
    int token_delay_ms = 0;
    double rate_per_s = 0;                    // 0: as fast as the node takes them
    std::int64_t processing_delay_ms = 1000;  // [provider] processing_feedback_delay_ms; -1: unset
    std::int64_t partial_interval_ms = -1;    // [provider] partial_interval_ms; -1: node default
    std::int64_t publish_queue_max = -1;      // [relay_pool] publish_queue_max; -1: node default
    std::int64_t group_commit_wait_us = -1;   // [store] group_commit_wait_us; -1: node default
    std::int64_t group_commit_jobs_min = -1;  // [store] group_commit_jobs_min; -1: node default
    unsigned backend_slots = 0;  // the backend's slots (node and fake); 0: min(inflight, 1024)
    unsigned customers = 16;
    std::string backend = "ollama";  // or "llamacpp"
    unsigned verify_every = 16;
    unsigned crypto_rounds = 300;
    std::int64_t stall_timeout_ms = 30000;
    std::int64_t rss_sample_interval_ms = 1000;
    bool pin = false;          // [shards] pin
    bool progress = true;      // progress bar on stderr
    std::string pylon_path;    // default: the build tree's tools/pylon/pylon
    std::string backend_path;  // default: the build tree's tools/fake_<backend>/fake_<backend>
};

struct BenchReport {
    BenchOptions options;
    SimStats sim;
    double jobs_per_s = 0;
    std::int64_t latency_us_p50 = 0;
    std::int64_t latency_us_p99 = 0;
    std::int64_t latency_us_p999 = 0;
    std::int64_t latency_us_max = 0;
    double latency_us_mean = 0;
    double node_cpu_us_per_job = 0;
    double node_cpu_seconds = 0;
    // The node's CPU per job on its shard threads (summed over shards) and on its store thread
    // (the rest: main thread, io_uring workers). A shard with a core of its own could take
    // 10^6 / node_shard_cpu_us_per_job jobs/s per shard.
    double node_shard_cpu_us_per_job = 0;
    double node_store_cpu_us_per_job = 0;
    // How often per job the shard threads (summed) and the store thread went to sleep waiting
    // for work (voluntary context switches): each sleep and wake-up costs CPU of its own, which
    // is what a job pays when few are in flight.
    double node_shard_sleeps_per_job = 0;
    double node_store_sleeps_per_job = 0;
    // The rest of the machine's work over the same window, per measured job: the fake backend
    // and this process (relay simulator, verification, progress), which share the cores.
    double backend_cpu_us_per_job = 0;
    double bench_cpu_us_per_job = 0;
    double crypto_us_per_job = 0;
    double crypto_sign_us = 0;
    double crypto_verify_us = 0;
    double sign_seconds = 0;                       // pre-signing the load (untimed)
    std::uint64_t rss_peak_bytes = 0;              // VmHWM at the end of the run
    std::uint64_t rss_start_bytes = 0;             // VmRSS when the measured jobs started
    std::uint64_t rss_end_bytes = 0;               // VmRSS when they ended
    std::vector<std::uint64_t> rss_samples_bytes;  // VmRSS every rss_sample_interval_ms
    // The node's own added latency per token over the measured jobs (its `Metrics` request,
    // reset when the measured phase starts, read when it ends).
    TokenLatency token_latency;
    std::string token_latency_error;  // why it could not be read
    // The store thread over the measured jobs (its `Store` request at the start and the end):
    // requests and transactions (how well commits are shared), 0 when it could not be read.
    std::uint64_t store_requests = 0;
    std::uint64_t store_transactions = 0;
    std::uint64_t store_failed_commits = 0;
};

using ProgressFn = std::function<void(std::size_t done, std::size_t total, double seconds)>;

Result<BenchReport> run_bench(const BenchOptions& options, const ProgressFn& progress);

// Nearest-rank percentile (q in 0..1) of sorted values; 0 when empty.
std::int64_t percentile(const std::vector<std::int64_t>& sorted, double q);

}  // namespace pylon::bench
