// supervisor_bench: what supervision costs (method and figures: bench/README.md, "supervisor").
//
//   supervisor_bench [--iterations 200] [--idle-seconds 10] [--children 10] [--polls 2000]
//                    [--json]
//
// 1. Death to detection, for each exit watch (IORING_OP_WAITID and the poll fallback):
//    a. the child exits by itself: it writes CLOCK_MONOTONIC (ns) to a stamp file right before
//       _exit(); detection is the supervisor's own timestamp taken when the exit watch resumes
//       (SupervisorCounters::last_exit_detect_ns). Includes the kernel's process teardown.
//    b. SIGKILL sent by the bench to a settled `sleep`: from just before kill() to the
//       detection timestamp; and the same seen by a thread blocked in waitid(2), the floor.
//    Percentiles over --iterations deaths (the child is respawned at once between them).
// 2. Idle cost: --children children that sleep, supervised for --idle-seconds, with and without
//    the memory monitor: shard loop turns, io_uring waits, timers fired and the process CPU time.
// 3. Memory monitor: one poll (io_uring read of /proc/meminfo at offset 0 + parse + assess),
//    --polls times back to back: mean and percentiles in microseconds.
// The bench runs itself as the child (--child-exit-after-ms N --stamp-file F).
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/memory_monitor.hpp"
#include "engine/memory_policy.hpp"
#include "engine/supervisor.hpp"
#include "reactor/clock.hpp"
#include "reactor/log.hpp"
#include "reactor/ops.hpp"
#include "reactor/probe.hpp"
#include "reactor/shard_set.hpp"
#include "reactor/signals.hpp"

namespace {

using namespace pylon;
using namespace pylon::engine;
using reactor::Task;

struct Options {
    int iterations = 200;
    int idle_seconds = 10;
    int children = 10;
    int polls = 2000;
    bool json = false;
};

struct Percentiles {
    double p50 = 0;
    double p90 = 0;
    double p99 = 0;
    double max = 0;
    double mean = 0;
};

Percentiles percentiles(std::vector<double> v) {
    Percentiles p;
    if (v.empty()) {
        return p;
    }
    std::sort(v.begin(), v.end());
    auto at = [&v](double q) {
        return v[std::min(v.size() - 1,
                          static_cast<std::size_t>(q * static_cast<double>(v.size())))];
    };
    p.p50 = at(0.50);
    p.p90 = at(0.90);
    p.p99 = at(0.99);
    p.max = v.back();
    double sum = 0;
    for (double x : v) {
        sum += x;
    }
    p.mean = sum / static_cast<double>(v.size());
    return p;
}

std::string self_path() {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

std::string temp_dir() {
    char tmpl[] = "/tmp/pylon-superbench-XXXXXX";
    char* d = ::mkdtemp(tmpl);
    return d != nullptr ? std::string(d) : std::string("/tmp");
}

long long read_stamp(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "re");
    if (f == nullptr) {
        return -1;
    }
    long long v = -1;
    if (std::fscanf(f, "%lld", &v) != 1) {
        v = -1;
    }
    std::fclose(f);
    return v;
}

ChildConfig bench_child(std::string name, std::vector<std::string> argv) {
    ChildConfig c;
    c.name = std::move(name);
    c.spawn.argv = std::move(argv);
    c.spawn.capture_output = false;
    c.health.kind = HealthKind::alive;
    c.health.alive_ms = 0;
    c.policy.backoff_base_ms = 0;  // respawn at once between measurements
    c.policy.jitter_percent = 0;
    c.policy.failures_max = 1000000;
    c.policy.stable_ms = 0;
    return c;
}

// -- 1. Death to detection.
constexpr int victim_settle_ms = 20;

struct DeathResult {
    std::vector<double> self_exit_us;
    std::vector<double> sigkill_us;
};

Task<void> measure_deaths(ExitWatch watch, const Options* o, const std::string* dir,
                          DeathResult* out) {
    SupervisorOptions so;
    so.exit_watch = watch;
    so.adopt_orphans = false;
    Supervisor s(so);
    std::string stamp = *dir + "/stamp";
    (void)s.add(
        bench_child("exiter", {self_path(), "--child-exit-after-ms", "20", "--stamp-file", stamp}));
    (void)s.add(bench_child("victim", {"sleep", "1000"}));
    (void)co_await s.start();
    for (int i = 0; i < o->iterations; i++) {
        std::uint64_t exits = s.counters().exits;
        ::unlink(stamp.c_str());
        std::int64_t deadline = reactor::monotonic_ms() + 5000;
        while (s.counters().exits == exits && reactor::monotonic_ms() < deadline) {
            co_await reactor::sleep_ms(1);
        }
        long long stamped = read_stamp(stamp);
        if (stamped > 0 && s.counters().exits > exits) {
            out->self_exit_us.push_back(
                static_cast<double>(s.counters().last_exit_detect_ns - stamped) / 1000.0);
        }
    }
    (void)s.stop_child("exiter");
    for (int i = 0; i < o->iterations; i++) {
        if (!co_await s.wait_for_state("victim", ChildState::running, 5000)) {
            break;
        }
        // Let `sleep` finish its exec and reach nanosleep, so the kill meets a settled process.
        co_await reactor::sleep_ms(victim_settle_ms);
        pid_t pid = s.view("victim")->status.pid;
        std::uint64_t exits = s.counters().exits;
        std::int64_t t0 = reactor::monotonic_ns();
        ::kill(pid, SIGKILL);
        // Sleep rather than spin: the shard waits in io_uring_enter as it does in production,
        // and the detection timestamp is taken by the exit watch, not by this loop.
        std::int64_t deadline = reactor::monotonic_ms() + 5000;
        while (s.counters().exits == exits && reactor::monotonic_ms() < deadline) {
            co_await reactor::sleep_ms(1);
        }
        out->sigkill_us.push_back(static_cast<double>(s.counters().last_exit_detect_ns - t0) /
                                  1000.0);
    }
    co_await s.stop();
}

// The floor for 1b: the same SIGKILL of a settled `sleep`, seen by a thread blocked in
// waitid(2) (no io_uring, no supervisor). What is above it is ours plus the scheduler's.
std::vector<double> measure_blocking_waitid(const Options* o) {
    std::vector<double> us;
    for (int i = 0; i < o->iterations; i++) {
        pid_t pid = ::fork();
        if (pid == 0) {
            reactor::reset_signals_for_exec();
            ::execlp("sleep", "sleep", "1000", static_cast<char*>(nullptr));
            ::_exit(127);
        }
        if (pid < 0) {
            break;
        }
        timespec settle{0, victim_settle_ms * 1000000L};
        ::nanosleep(&settle, nullptr);
        std::int64_t t0 = reactor::monotonic_ns();
        ::kill(pid, SIGKILL);
        siginfo_t info{};
        ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED);
        us.push_back(static_cast<double>(reactor::monotonic_ns() - t0) / 1000.0);
    }
    return us;
}

// -- 2. Idle cost.
struct IdleResult {
    std::uint64_t loops = 0;
    std::uint64_t waits = 0;
    std::uint64_t timers = 0;
    std::uint64_t cqes = 0;
    std::uint64_t memory_polls = 0;
    double cpu_ms = 0;
};

double cpu_ms_now() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

Task<void> measure_idle(const Options* o, const std::string* dir, bool with_monitor,
                        IdleResult* out) {
    SupervisorOptions so;
    so.logs_dir = *dir;  // children's pipes are drained: pending reads, no wake-ups
    so.exit_watch = reactor::probe_uring().waitid ? ExitWatch::waitid : ExitWatch::poll;
    Supervisor s(so);
    for (int i = 0; i < o->children; i++) {
        ChildConfig c = bench_child("sleeper-" + std::to_string(i), {"sleep", "100000"});
        c.spawn.capture_output = true;
        (void)s.add(c);
    }
    (void)co_await s.start();
    for (int i = 0; i < o->children; i++) {
        (void)co_await s.wait_for_state("sleeper-" + std::to_string(i), ChildState::running, 5000);
    }
    MemoryMonitorOptions mo;
    mo.thresholds.min_available_bytes = 1;  // comfortable: the slowest poll (1 s)
    mo.thresholds.critical_threshold_bytes = 1;
    MemoryMonitor m(mo, &s);
    if (with_monitor) {
        (void)co_await m.start();
    }
    co_await reactor::sleep_ms(500);  // settle
    reactor::Shard& shard = reactor::Shard::current();
    reactor::ShardCounters before = shard.counters();
    std::uint64_t polls_before = m.counters().polls;
    double cpu_before = cpu_ms_now();
    co_await reactor::sleep_ms(static_cast<std::int64_t>(o->idle_seconds) * 1000);
    reactor::ShardCounters after = shard.counters();
    out->cpu_ms = cpu_ms_now() - cpu_before;
    // The bench's own sleep accounts for one turn and one timer.
    out->loops = after.loops - before.loops;
    out->waits = after.waits - before.waits;
    out->timers = after.timers_fired - before.timers_fired;
    out->cqes = after.cqes - before.cqes;
    out->memory_polls = m.counters().polls - polls_before;
    co_await m.stop();
    co_await s.stop();
}

// -- 3. Memory monitor poll cost.
Task<void> measure_polls(const Options* o, std::vector<double>* us) {
    MemoryMonitorOptions mo;
    mo.psi_path = "";
    MemoryMonitor m(mo, nullptr);
    (void)co_await m.start();
    for (int i = 0; i < o->polls; i++) {
        std::int64_t t0 = reactor::monotonic_ns();
        auto mem = co_await m.read_now();
        if (mem.ok()) {
            MemoryAssessment a = assess_memory(*mem, mo.thresholds, MemoryLevel::normal);
            (void)a;
        }
        us->push_back(static_cast<double>(reactor::monotonic_ns() - t0) / 1000.0);
    }
    co_await m.stop();
}

void run_on_shard(std::function<Task<void>()> fn) {
    reactor::ShardSetOptions so;
    so.shard_count = 1;
    so.pin = false;
    reactor::ShardSet set(so);
    Status st = set.run([&fn](reactor::Shard&) { return fn(); });
    if (!st.ok()) {
        std::fprintf(stderr, "shard: %s\n", st.error().message().c_str());
        std::exit(1);
    }
}

void print_pct(const char* what, const Percentiles& p, bool json, bool last) {
    if (json) {
        std::printf("\"%s\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"max\":%.1f,\"mean\":%.1f}%s",
                    what, p.p50, p.p90, p.p99, p.max, p.mean, last ? "" : ",");
    } else {
        std::printf("  %-34s p50 %8.1f  p90 %8.1f  p99 %8.1f  max %8.1f  mean %8.1f\n", what, p.p50,
                    p.p90, p.p99, p.max, p.mean);
    }
}

int child_main(int argc, char** argv) {
    long ms = 0;
    std::string stamp;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--child-exit-after-ms") == 0) {
            ms = std::atol(argv[i + 1]);
        } else if (std::strcmp(argv[i], "--stamp-file") == 0) {
            stamp = argv[i + 1];
        }
    }
    timespec ts{ms / 1000, (ms % 1000) * 1000000L};
    ::nanosleep(&ts, nullptr);
    char buf[32];
    int len =
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(reactor::monotonic_ns()));
    int fd = ::open(stamp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        ssize_t ignored = ::write(fd, buf, static_cast<std::size_t>(len));
        (void)ignored;
        ::close(fd);
    }
    ::_exit(0);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; i++) {
        std::string_view a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : "0";
        if (a == "--iterations") {
            o.iterations = std::atoi(v);
            i++;
        } else if (a == "--idle-seconds") {
            o.idle_seconds = std::atoi(v);
            i++;
        } else if (a == "--children") {
            o.children = std::atoi(v);
            i++;
        } else if (a == "--polls") {
            o.polls = std::atoi(v);
            i++;
        } else if (a == "--json") {
            o.json = true;
        }
    }
    return o;
}

void print_idle(const char* what, const IdleResult& r, const Options& o, bool json, bool last) {
    if (json) {
        std::printf(
            "\"%s\":{\"loops\":%llu,\"waits\":%llu,\"timers\":%llu,\"cqes\":%llu,"
            "\"memory_polls\":%llu,\"cpu_ms\":%.2f}%s",
            what, static_cast<unsigned long long>(r.loops),
            static_cast<unsigned long long>(r.waits), static_cast<unsigned long long>(r.timers),
            static_cast<unsigned long long>(r.cqes),
            static_cast<unsigned long long>(r.memory_polls), r.cpu_ms, last ? "" : ",");
    } else {
        std::printf(
            "  %-34s %llu loop turns, %llu waits, %llu timers, %llu CQEs, %llu memory polls,"
            " %.2f ms CPU in %d s\n",
            what, static_cast<unsigned long long>(r.loops),
            static_cast<unsigned long long>(r.waits), static_cast<unsigned long long>(r.timers),
            static_cast<unsigned long long>(r.cqes),
            static_cast<unsigned long long>(r.memory_polls), r.cpu_ms, o.idle_seconds);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "--child-exit-after-ms") == 0) {
        return child_main(argc, argv);
    }
    Options o = parse(argc, argv);
    reactor::Log::set_level(reactor::LogLevel::warn);
    reactor::block_handled_signals();
    std::string dir = temp_dir();
    bool waitid = reactor::probe_uring().waitid;
    DeathResult dw;
    DeathResult dp;
    if (waitid) {
        run_on_shard(
            [&o, &dir, &dw]() { return measure_deaths(ExitWatch::waitid, &o, &dir, &dw); });
    }
    run_on_shard([&o, &dir, &dp]() { return measure_deaths(ExitWatch::poll, &o, &dir, &dp); });
    std::vector<double> floor_us = measure_blocking_waitid(&o);
    IdleResult idle_plain;
    IdleResult idle_monitor;
    run_on_shard([&o, &dir, &idle_plain]() { return measure_idle(&o, &dir, false, &idle_plain); });
    run_on_shard(
        [&o, &dir, &idle_monitor]() { return measure_idle(&o, &dir, true, &idle_monitor); });
    std::vector<double> poll_us;
    run_on_shard([&o, &poll_us]() { return measure_polls(&o, &poll_us); });
    std::string cleanup = "rm -rf " + dir;
    if (std::system(cleanup.c_str()) != 0) {
        std::fprintf(stderr, "could not remove %s\n", dir.c_str());
    }
    if (o.json) {
        std::printf("{");
    } else {
        std::printf("death to detection (us), %d deaths each:\n", o.iterations);
    }
    print_pct("waitid_self_exit_us", percentiles(dw.self_exit_us), o.json, false);
    print_pct("waitid_sigkill_us", percentiles(dw.sigkill_us), o.json, false);
    print_pct("poll_self_exit_us", percentiles(dp.self_exit_us), o.json, false);
    print_pct("poll_sigkill_us", percentiles(dp.sigkill_us), o.json, false);
    print_pct("blocking_waitid_sigkill_us", percentiles(floor_us), o.json, false);
    if (!o.json) {
        std::printf("idle, %d children:\n", o.children);
    }
    print_idle("idle_supervisor", idle_plain, o, o.json, false);
    print_idle("idle_supervisor_and_memory", idle_monitor, o, o.json, false);
    if (!o.json) {
        std::printf("memory monitor poll (read + parse + assess), %d polls (us):\n", o.polls);
    }
    print_pct("memory_poll_us", percentiles(poll_us), o.json, true);
    if (o.json) {
        std::printf("}\n");
    }
    return 0;
}
