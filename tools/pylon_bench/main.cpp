// pylon-bench: the end-to-end benchmark of the provider pipeline in one command (see
// docs/bench.md): fake backend + relay simulator + the real `pylon` daemon, N jobs, then
// jobs/s, latency percentiles, node CPU per job, peak RSS and the crypto floor.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>

#include "reactor/log.hpp"
#include "tools/pylon_bench/bench_report.hpp"
#include "tools/pylon_bench/bench_run.hpp"

namespace {

using pylon::bench::BenchOptions;

constexpr const char* usage_text = R"(usage: pylon-bench [options]

Runs the real pylon daemon against a relay simulator and a fake backend on loopback and
reports jobs/s, latency (request sent -> result received) p50/p99/p99.9, node CPU per job,
peak RSS and the libsecp256k1 cost of one job (1 verify + 2 signs) measured in the same run.

  --jobs N                 measured jobs (default 1000)
  --warmup N               jobs run first and not measured (default 50)
  --shards N               node shards (default 1)
  --inflight N             requests sent and not yet answered (default 64)
  --rate R                 requests per second (default 0: as fast as the node takes them)
  --tokens N               tokens per job from the fake backend (default 1)
  --token-delay-ms N       delay between tokens (default 0)
  --processing-delay-ms N  the node's [provider] processing_feedback_delay_ms (default 1000:
                           an instant job gets no `processing` feedback, so it costs the node
                           1 verify + 2 signs; 0: `processing` at once, 3 signs)
  --partial-interval-ms N  the node's [provider] partial_interval_ms (default: the node's)
  --publish-queue-max N    the node's [relay_pool] publish_queue_max (default: the node's)
  --group-commit-wait-us N   the node's [store] group_commit_wait_us (default: the node's)
  --group-commit-jobs-min N  the node's [store] group_commit_jobs_min (default: the node's)
  --backend-slots N        the backend's slots, in the node and the fake (default:
                           min(inflight, 1024)); fewer slots than in flight queue jobs
  --backend ollama|llamacpp  fake backend (default ollama)
  --customers N            customer keys signing the requests (default 16)
  --verify-every N         verify 1 in N events the node publishes (default 16; 0: none)
  --crypto-rounds N        rounds of the crypto cost probe, before and after (default 300)
  --stall-timeout-ms N     fail when no job finishes for this long (default 30000)
  --pin                    pin the node's shards ([shards] pin = true)
  --json                   print one JSON object instead of the summary
  --svg PATH               write a latency histogram
  --no-progress            no progress bar on stderr
  --pylon PATH, --backend-bin PATH   binaries (default: this build tree's)
)";

bool parse_number(const char* s, double lo, double hi, double* out) {
    char* end = nullptr;
    double v = std::strtod(s, &end);
    if (end == s || *end != '\0' || !(v >= lo && v <= hi)) {
        return false;
    }
    *out = v;
    return true;
}

struct Parsed {
    BenchOptions options;
    bool json = false;
    std::string svg;
};

// Returns 0 when parsed, else the exit code (2 for bad usage, 0 after --help).
int parse(int argc, char** argv, Parsed* p) {
    BenchOptions& o = p->options;
    for (int i = 1; i < argc; i++) {
        std::string_view a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(usage_text, stdout);
            return -1;
        }
        if (a == "--json" || a == "--pin" || a == "--no-progress") {
            p->json |= a == "--json";
            o.pin |= a == "--pin";
            o.progress &= a != "--no-progress";
            continue;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "pylon-bench: %s needs a value (see --help)\n", argv[i]);
            return 2;
        }
        const char* v = argv[++i];
        double n = 0;
        auto num = [&](double lo, double hi) {
            if (!parse_number(v, lo, hi, &n)) {
                std::fprintf(stderr, "pylon-bench: %s: expected a number in %.0f..%.0f, got '%s'\n",
                             argv[i - 1], lo, hi, v);
                return false;
            }
            return true;
        };
        bool ok = true;
        if (a == "--jobs") {
            ok = num(1, 2e6) && ((o.jobs = static_cast<std::size_t>(n)), true);
        } else if (a == "--warmup") {
            ok = num(0, 1e6) && ((o.warmup = static_cast<std::size_t>(n)), true);
        } else if (a == "--shards") {
            ok = num(1, 64) && ((o.shards = static_cast<unsigned>(n)), true);
        } else if (a == "--inflight") {
            ok = num(1, 1e5) && ((o.inflight = static_cast<std::uint32_t>(n)), true);
        } else if (a == "--rate") {
            ok = num(0, 1e7) && ((o.rate_per_s = n), true);
        } else if (a == "--tokens") {
            ok = num(1, 4096) && ((o.tokens = static_cast<int>(n)), true);
        } else if (a == "--token-delay-ms") {
            ok = num(0, 10000) && ((o.token_delay_ms = static_cast<int>(n)), true);
        } else if (a == "--processing-delay-ms") {
            ok = num(0, 600000) && ((o.processing_delay_ms = static_cast<std::int64_t>(n)), true);
        } else if (a == "--partial-interval-ms") {
            ok = num(0, 60000) && ((o.partial_interval_ms = static_cast<std::int64_t>(n)), true);
        } else if (a == "--publish-queue-max") {
            ok = num(16, 1048576) && ((o.publish_queue_max = static_cast<std::int64_t>(n)), true);
        } else if (a == "--group-commit-wait-us") {
            ok = num(0, 100000) && ((o.group_commit_wait_us = static_cast<std::int64_t>(n)), true);
        } else if (a == "--group-commit-jobs-min") {
            ok =
                num(1, 1048576) && ((o.group_commit_jobs_min = static_cast<std::int64_t>(n)), true);
        } else if (a == "--backend-slots") {
            ok = num(1, 1024) && ((o.backend_slots = static_cast<unsigned>(n)), true);
        } else if (a == "--customers") {
            ok = num(1, 1024) && ((o.customers = static_cast<unsigned>(n)), true);
        } else if (a == "--verify-every") {
            ok = num(0, 1e9) && ((o.verify_every = static_cast<unsigned>(n)), true);
        } else if (a == "--crypto-rounds") {
            ok = num(1, 1e5) && ((o.crypto_rounds = static_cast<unsigned>(n)), true);
        } else if (a == "--stall-timeout-ms") {
            ok = num(1000, 3.6e6) && ((o.stall_timeout_ms = static_cast<std::int64_t>(n)), true);
        } else if (a == "--backend") {
            o.backend = v;
        } else if (a == "--svg") {
            p->svg = v;
        } else if (a == "--pylon") {
            o.pylon_path = v;
        } else if (a == "--backend-bin") {
            o.backend_path = v;
        } else {
            std::fprintf(stderr, "pylon-bench: unknown option %s (see --help)\n", argv[i - 1]);
            return 2;
        }
        if (!ok) {
            return 2;
        }
    }
    return 0;
}

void show_progress(std::size_t done, std::size_t total, double seconds) {
    static int last_tenth = -1;
    double f = total ? static_cast<double>(done) / static_cast<double>(total) : 0;
    double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
    if (::isatty(STDERR_FILENO) == 1) {
        constexpr int width = 40;
        int filled = static_cast<int>(f * width);
        std::fprintf(stderr, "\r[%-*.*s] %zu/%zu jobs  %.0f jobs/s ", width, filled,
                     "########################################", done, total, rate);
        if (done == total) {
            std::fputc('\n', stderr);
        }
    } else if (static_cast<int>(f * 10) > last_tenth) {
        last_tenth = static_cast<int>(f * 10);
        std::fprintf(stderr, "pylon-bench: %zu/%zu jobs, %.0f jobs/s\n", done, total, rate);
    }
}

}  // namespace

int main(int argc, char** argv) {
    Parsed p;
    int rc = parse(argc, argv, &p);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    // The simulator's shard logs stall warnings when a receive carries many events: not news.
    pylon::reactor::Log::set_level(pylon::reactor::LogLevel::error);
    pylon::bench::ProgressFn progress;
    if (p.options.progress) {
        progress = show_progress;
    }
    auto report = pylon::bench::run_bench(p.options, progress);
    if (!report.ok()) {
        std::fprintf(stderr, "pylon-bench: %s\n", report.error().message().c_str());
        return 1;
    }
    if (!p.svg.empty()) {
        std::ofstream f(p.svg);
        f << pylon::bench::latency_svg(*report);
        if (!f) {
            std::fprintf(stderr, "pylon-bench: cannot write %s\n", p.svg.c_str());
            return 1;
        }
    }
    std::fputs(
        (p.json ? pylon::bench::report_json(*report) + "\n" : pylon::bench::report_text(*report))
            .c_str(),
        stdout);
    if (report->sim.measured_failed != 0 || report->sim.verify_failed != 0 ||
        report->sim.wrong_e_tag != 0) {
        std::fprintf(stderr,
                     "pylon-bench: the run had failures: %zu jobs failed (first error feedback: "
                     "%s), %llu bad signatures, %llu wrong e tags\n",
                     report->sim.measured_failed, report->sim.first_error_feedback.c_str(),
                     static_cast<unsigned long long>(report->sim.verify_failed),
                     static_cast<unsigned long long>(report->sim.wrong_e_tag));
        return 1;
    }
    return 0;
}
