#include "tools/pylon_bench/bench_run.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include "reactor/clock.hpp"
#include "reactor/shard_set.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"
#include "tools/pylon_bench/load_gen.hpp"

namespace pylon::bench {
namespace {

using test::ChildProcess;
using test::ChildSpec;

constexpr const char* node_mnemonic =
    "leader monkey parrot ring guide accident before fence cannon height naive bean";
constexpr int backend_ready_timeout_ms = 15000;
constexpr int node_stop_grace_ms = 15000;
constexpr int backend_max_runtime_s = 7200;
constexpr std::size_t node_log_lines_shown = 25;
// The fake gets at least this many slots (it allows 4 connections per slot): with few node
// slots and fast jobs, connections the node closed linger in the fake while it drains them.
constexpr unsigned fake_slots_min = 256;

// A process's user + system CPU time (ns) from /proc/<pid>/stat: every thread's, including
// threads that already exited (io_uring workers, the fake's per-connection threads); clock-tick
// resolution (10 ms at 100 Hz), which is why runs should last seconds.
// With `tid`, that thread's own time from /proc/<pid>/task/<tid>/stat.
std::uint64_t node_cpu_ns(pid_t pid, pid_t tid = 0) {
    std::string path = "/proc/" + std::to_string(pid);
    if (tid != 0) {
        path += "/task/" + std::to_string(tid);
    }
    std::ifstream f(path + "/stat");
    std::string text;
    std::getline(f, text);
    std::size_t paren = text.rfind(')');
    if (paren == std::string::npos) {
        return 0;
    }
    std::istringstream fields(text.substr(paren + 2));
    std::string skip;
    for (int i = 3; i < 14; i++) {  // fields 3..13: state .. cmajflt
        fields >> skip;
    }
    std::uint64_t utime = 0;
    std::uint64_t stime = 0;
    fields >> utime >> stime;
    static const long ticks_per_s = ::sysconf(_SC_CLK_TCK);
    return (utime + stime) * 1'000'000'000ULL / static_cast<std::uint64_t>(ticks_per_s);
}

// The node's CPU split by thread (ns), from /proc/<pid>/task/*/stat: the shard threads
// (`pylon-shardN`), the store thread (`pylon-store`); the rest (main thread, io_uring workers,
// also those that exited) is the process total minus these two.
// With each, its voluntary context switches: the times it went to sleep waiting for work.
struct ThreadCpu {
    std::uint64_t shards_ns = 0;
    std::uint64_t store_ns = 0;
    std::uint64_t shards_sleeps = 0;
    std::uint64_t store_sleeps = 0;
};

// A number field ("Name:   123 ...") of a /proc status file, 0 when absent.
std::uint64_t status_number(const std::string& path, const std::string& field) {
    std::ifstream f(path);
    std::string line;
    while (std::getline(f, line)) {
        if (line.compare(0, field.size(), field) == 0) {
            return std::stoull(line.substr(field.size()));
        }
    }
    return 0;
}

ThreadCpu node_thread_cpu_ns(pid_t pid) {
    ThreadCpu cpu;
    std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(task_dir, ec)) {
        std::ifstream comm_file(entry.path() / "comm");
        std::string comm;
        std::getline(comm_file, comm);
        bool shard = comm.rfind("pylon-shard", 0) == 0;
        if (!shard && comm != "pylon-store") {
            continue;
        }
        pid_t tid = static_cast<pid_t>(std::stol(entry.path().filename().string()));
        std::uint64_t ns = node_cpu_ns(pid, tid);
        std::uint64_t sleeps =
            status_number((entry.path() / "status").string(), "voluntary_ctxt_switches:");
        (shard ? cpu.shards_ns : cpu.store_ns) += ns;
        (shard ? cpu.shards_sleeps : cpu.store_sleeps) += sleeps;
    }
    return cpu;
}

// A "Vm...:" line of /proc/<pid>/status in bytes (0 when absent).
std::uint64_t status_bytes(pid_t pid, const std::string& field) {
    return status_number("/proc/" + std::to_string(pid) + "/status", field) * 1024;
}

Result<int> listen_loopback(std::uint16_t* port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return Error::from_errno(errno, "socket");
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    auto* sa = reinterpret_cast<sockaddr*>(&a);
    if (::bind(fd, sa, len) != 0 || ::listen(fd, 64) != 0 || ::getsockname(fd, sa, &len) != 0) {
        int err = errno;
        ::close(fd);
        return Error::from_errno(err, "relay simulator listen on 127.0.0.1");
    }
    *port = ntohs(a.sin_port);
    return fd;
}

unsigned backend_slots(const BenchOptions& o) {
    return o.backend_slots != 0 ? o.backend_slots
                                : std::min<unsigned>(o.inflight, backend_slots_max);
}

std::string node_config(const BenchOptions& o, std::uint16_t relay_port,
                        std::uint16_t backend_port) {
    unsigned slots = backend_slots(o);
    std::ostringstream t;
    t << "require_payment = false\nmin_price_msats = 0\n"
      << "relays = [\"ws://127.0.0.1:" << relay_port << "\"]\n"
      << "backend_preference = [\"" << o.backend << "\"]\n"
      << "[log]\nlevel = \"warn\"\n"
      << "[shards]\npin = " << (o.pin ? "true" : "false") << "\n"
      << "[limits]\njob_queue_max = 100000\npubkey_requests_per_minute = 100000\n"
      << "requests_per_second = 1000000\n"
      << "[provider]\nannounce = false\nrequest_age_max_s = 86400\n";
    if (o.processing_delay_ms >= 0) {
        t << "processing_feedback_delay_ms = " << o.processing_delay_ms << "\n";
    }
    if (o.partial_interval_ms >= 0) {
        t << "partial_interval_ms = " << o.partial_interval_ms << "\n";
    }
    if (o.publish_queue_max >= 0) {
        t << "[relay_pool]\npublish_queue_max = " << o.publish_queue_max << "\n";
    }
    if (o.group_commit_wait_us >= 0 || o.group_commit_jobs_min >= 0) {
        t << "[store]\n";
        if (o.group_commit_wait_us >= 0) {
            t << "group_commit_wait_us = " << o.group_commit_wait_us << "\n";
        }
        if (o.group_commit_jobs_min >= 0) {
            t << "group_commit_jobs_min = " << o.group_commit_jobs_min << "\n";
        }
    }
    for (const char* b : {"ollama", "llamacpp"}) {
        bool on = o.backend == b;
        t << "[backends." << b << "]\nenabled = " << (on ? "true" : "false") << "\n";
        if (on) {
            t << "url = \"http://127.0.0.1:" << backend_port << "\"\nslots = " << slots
              << "\nprobe_interval_ms = 1000\n";
        }
    }
    return t.str();
}

Status validate(const BenchOptions& o) {
    auto bad = [](const std::string& what) { return Error(Errc::invalid_input, what); };
    if (o.jobs == 0 || o.jobs > bench_jobs_max || o.warmup > bench_jobs_max) {
        return bad("--jobs must be 1.." + std::to_string(bench_jobs_max));
    }
    if (o.shards == 0 || o.shards > bench_shards_max) {
        return bad("--shards must be 1.." + std::to_string(bench_shards_max));
    }
    if (o.inflight == 0 || o.inflight > sim_inflight_max) {
        return bad("--inflight must be 1.." + std::to_string(sim_inflight_max));
    }
    if (o.tokens < 1 || o.tokens > bench_tokens_max) {
        return bad("--tokens must be 1.." + std::to_string(bench_tokens_max));
    }
    if (o.token_delay_ms < 0 || o.token_delay_ms > bench_token_delay_ms_max) {
        return bad("--token-delay-ms must be 0.." + std::to_string(bench_token_delay_ms_max));
    }
    if (o.backend != "ollama" && o.backend != "llamacpp") {
        return bad("--backend must be ollama or llamacpp");
    }
    if (o.backend_slots > backend_slots_max) {
        return bad("--backend-slots must be 1.." + std::to_string(backend_slots_max));
    }
    if (o.crypto_rounds == 0 || o.crypto_rounds > 100000) {
        return bad("--crypto-rounds must be 1..100000");
    }
    return Ok();
}

Result<std::unique_ptr<ChildProcess>> start_node(const BenchOptions& o, const std::string& home) {
    ChildSpec spec;
    spec.argv = {o.pylon_path.empty() ? test::tool_path("pylon") : o.pylon_path,
                 "start",
                 "-f",
                 "--home",
                 home,
                 "--shards",
                 std::to_string(o.shards)};
    spec.term_grace_ms = node_stop_grace_ms;
    spec.tail_lines_max = 256;
    return ChildProcess::spawn(spec);
}

Result<test::ReadyChild> start_backend(const BenchOptions& o) {
    std::string tool = "fake_" + o.backend;
    unsigned slots = std::max(backend_slots(o), fake_slots_min);
    ChildSpec spec;
    spec.argv = {o.backend_path.empty() ? test::tool_path(tool) : o.backend_path,
                 "--port",
                 "0",
                 "--tokens",
                 std::to_string(o.tokens),
                 "--token-delay-ms",
                 std::to_string(o.token_delay_ms),
                 "--slots",
                 std::to_string(slots),
                 "--max-runtime-s",
                 std::to_string(backend_max_runtime_s)};
    if (o.backend == "ollama") {
        spec.argv.insert(spec.argv.end(), {"--max-queue", "100000"});
    } else {
        spec.argv.insert(spec.argv.end(), {"--models", "llama3.2"});
    }
    spec.term_grace_ms = 5000;
    return test::spawn_ready(spec, backend_ready_timeout_ms);
}

std::string node_log_tail(ChildProcess& node) {
    std::vector<std::string> lines = node.lines(test::Stream::err);
    std::size_t first =
        lines.size() > node_log_lines_shown ? lines.size() - node_log_lines_shown : 0;
    std::string out;
    for (std::size_t i = first; i < lines.size(); i++) {
        out += "\n  node: " + lines[i];
    }
    return out;
}

reactor::Task<void> sim_main(RelaySim* sim, Status* out) {
    *out = co_await sim->run();
}

// The simulator's shard: its own thread, so the main thread can stop the node meanwhile.
void sim_thread_main(RelaySim* sim, Status* out, std::atomic<bool>* finished) {
    reactor::ShardSetOptions sso;
    sso.shard_count = 1;
    sso.pin = false;
    reactor::ShardSet set(sso);
    Status ran = set.run([sim, out](reactor::Shard&) { return sim_main(sim, out); });
    if (!ran.ok()) {
        *out = ran;
    }
    finished->store(true);
}

// The measurement state the simulator's hooks fill in (on the simulator's shard, which is
// this thread).
struct Probe {
    pid_t pid = 0;
    pid_t backend_pid = 0;
    std::uint64_t cpu0_ns = 0;
    std::uint64_t cpu1_ns = 0;
    ThreadCpu threads0;
    ThreadCpu threads1;
    std::uint64_t backend0_ns = 0;
    std::uint64_t backend1_ns = 0;
    std::uint64_t self0_ns = 0;
    std::uint64_t self1_ns = 0;
    std::atomic<bool> measured{false};  // set by the simulator's thread
    std::int64_t start_ms = 0;
    std::int64_t next_rss_ms = 0;
    std::string control_socket;
    std::optional<proto::StoreInfo> store0;  // the node's Store counters when measuring began
    BenchReport* report = nullptr;
    const BenchOptions* options = nullptr;
    const ProgressFn* progress = nullptr;
};

SimHooks make_hooks(Probe* p) {
    SimHooks h;
    h.on_measure_start = [p]() {
        p->cpu0_ns = node_cpu_ns(p->pid);
        p->threads0 = node_thread_cpu_ns(p->pid);
        p->backend0_ns = node_cpu_ns(p->backend_pid);
        p->self0_ns = node_cpu_ns(::getpid());
        p->report->rss_start_bytes = status_bytes(p->pid, "VmRSS:");
        // The warm-up's tokens are not measured (a blocking call of a few ms on this shard).
        auto reset = query_token_latency(p->control_socket, true);
        if (!reset.ok()) {
            p->report->token_latency_error = reset.error().message();
        }
        auto store = query_store(p->control_socket);
        p->store0 = store.ok() ? std::optional<proto::StoreInfo>(*store) : std::nullopt;
        p->start_ms = reactor::monotonic_ms();
    };
    h.on_measure_end = [p]() {
        p->cpu1_ns = node_cpu_ns(p->pid);
        p->threads1 = node_thread_cpu_ns(p->pid);
        p->backend1_ns = node_cpu_ns(p->backend_pid);
        p->self1_ns = node_cpu_ns(::getpid());
        p->report->rss_end_bytes = status_bytes(p->pid, "VmRSS:");
        p->report->rss_peak_bytes = status_bytes(p->pid, "VmHWM:");
        p->measured.store(true);
    };
    h.on_progress = [p](std::size_t done, std::size_t total) {
        std::int64_t now = reactor::monotonic_ms();
        if (p->start_ms != 0 && now >= p->next_rss_ms &&
            p->report->rss_samples_bytes.size() < rss_samples_max) {
            p->next_rss_ms = now + p->options->rss_sample_interval_ms;
            p->report->rss_samples_bytes.push_back(status_bytes(p->pid, "VmRSS:"));
        }
        if (*p->progress) {
            double s = p->start_ms == 0 ? 0 : static_cast<double>(now - p->start_ms) / 1e3;
            (*p->progress)(done, total, s);
        }
    };
    return h;
}

struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
};

Status write_home(const BenchOptions& o, const test::TempDir& home, std::uint16_t relay_port,
                  std::uint16_t backend_port) {
    std::string mnemonic = home.file("identity.mnemonic");
    PYLON_TRY(test::write_file(home.file("config.toml"), node_config(o, relay_port, backend_port)));
    PYLON_TRY(test::write_file(mnemonic, std::string(node_mnemonic) + "\n"));
    if (::chmod(mnemonic.c_str(), 0600) != 0) {
        return Error::from_errno(errno, "chmod " + mnemonic);
    }
    return Ok();
}

// Runs the relay simulator on its own shard thread until the measured jobs are done, then
// stops the node (while its relay still answers, so its shutdown is not a reconnect) and the
// simulator. The run's error carries the node's last log lines.
Status run_simulation(const BenchOptions& o, const LoadGen& load, int listen_fd, ChildProcess& node,
                      Probe* probe) {
    SimOptions so;
    so.warmup = o.warmup;
    so.jobs = o.jobs;
    so.inflight = o.inflight;
    so.rate_per_s = o.rate_per_s;
    so.verify_every = o.verify_every;
    so.stall_timeout_ms = o.stall_timeout_ms;
    Status sim_status = Ok();
    RelaySim sim(listen_fd, &load, so, make_hooks(probe));
    std::atomic<bool> finished{false};
    std::thread shard_thread(sim_thread_main, &sim, &sim_status, &finished);
    while (!finished.load() && !probe->measured.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    bool node_alive = node.running();
    if (node_alive && probe->measured.load()) {
        auto latency = query_token_latency(probe->control_socket, false);
        if (latency.ok()) {
            probe->report->token_latency = *latency;
        } else {
            probe->report->token_latency_error = latency.error().message();
        }
        auto store = query_store(probe->control_socket);
        if (store.ok() && probe->store0) {
            // Read after the measured phase: the last results' completions may still commit.
            probe->report->store_requests = store->requests - probe->store0->requests;
            probe->report->store_transactions = store->transactions - probe->store0->transactions;
            probe->report->store_failed_commits =
                store->failed_commits - probe->store0->failed_commits;
        }
    }
    std::string tail = node_log_tail(node);
    test::ExitInfo exit = node.stop(node_stop_grace_ms);
    sim.request_stop();
    shard_thread.join();
    probe->report->sim = sim.stats();
    if (sim_status.ok()) {
        return Ok();
    }
    std::string why = sim_status.error().message();
    if (!node_alive) {
        why += exit.exited ? "; pylon exited with code " + std::to_string(exit.code)
                           : "; pylon was killed by signal " + std::to_string(exit.signal);
    }
    return Error(sim_status.error().code(), why + tail);
}

void summarise(BenchReport* r, const Probe& p) {
    std::vector<std::int64_t> lat = r->sim.latency_us;
    std::sort(lat.begin(), lat.end());
    r->latency_us_p50 = percentile(lat, 0.50);
    r->latency_us_p99 = percentile(lat, 0.99);
    r->latency_us_p999 = percentile(lat, 0.999);
    r->latency_us_max = lat.empty() ? 0 : lat.back();
    double sum = 0;
    for (std::int64_t v : lat) {
        sum += static_cast<double>(v);
    }
    r->latency_us_mean = lat.empty() ? 0 : sum / static_cast<double>(lat.size());
    double jobs = static_cast<double>(r->sim.measured_done);
    r->jobs_per_s = r->sim.measured_seconds > 0 ? jobs / r->sim.measured_seconds : 0;
    r->node_cpu_seconds = static_cast<double>(p.cpu1_ns - p.cpu0_ns) / 1e9;
    r->node_cpu_us_per_job = jobs > 0 ? r->node_cpu_seconds * 1e6 / jobs : 0;
    if (jobs > 0) {
        r->backend_cpu_us_per_job = static_cast<double>(p.backend1_ns - p.backend0_ns) / 1e3 / jobs;
        r->bench_cpu_us_per_job = static_cast<double>(p.self1_ns - p.self0_ns) / 1e3 / jobs;
        r->node_shard_cpu_us_per_job =
            static_cast<double>(p.threads1.shards_ns - p.threads0.shards_ns) / 1e3 / jobs;
        r->node_store_cpu_us_per_job =
            static_cast<double>(p.threads1.store_ns - p.threads0.store_ns) / 1e3 / jobs;
        r->node_shard_sleeps_per_job =
            static_cast<double>(p.threads1.shards_sleeps - p.threads0.shards_sleeps) / jobs;
        r->node_store_sleeps_per_job =
            static_cast<double>(p.threads1.store_sleeps - p.threads0.store_sleeps) / jobs;
    }
}

}  // namespace

std::int64_t percentile(const std::vector<std::int64_t>& sorted, double q) {
    if (sorted.empty()) {
        return 0;
    }
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

Result<BenchReport> run_bench(const BenchOptions& options, const ProgressFn& progress) {
    PYLON_TRY(validate(options));
    BenchReport report;
    report.options = options;
    report.options.backend_slots = backend_slots(options);
    LoadOptions lo;
    lo.requests = options.warmup + options.jobs;
    lo.customers = options.customers;
    auto load = LoadGen::build(lo);
    if (!load.ok()) {
        return load.error();
    }
    report.sign_seconds = load->sign_seconds();
    auto crypto_before = crypto_cost(options.crypto_rounds);
    if (!crypto_before.ok()) {
        return crypto_before.error();
    }
    auto home = test::TempDir::create("pylon-bench");
    if (!home.ok()) {
        return home.error();
    }
    auto backend = start_backend(options);
    if (!backend.ok()) {
        return Error(Errc::io, "fake backend (" + options.backend +
                                   ") did not start: " + backend.error().message());
    }
    std::uint16_t relay_port = 0;
    auto listen_fd = listen_loopback(&relay_port);
    if (!listen_fd.ok()) {
        return listen_fd.error();
    }
    FdCloser closer{*listen_fd};
    PYLON_TRY(write_home(options, *home, relay_port, backend->port));
    auto node = start_node(options, home->path());
    if (!node.ok()) {
        return Error(Errc::io, "pylon did not start: " + node.error().message());
    }
    Probe probe;
    probe.pid = (*node)->pid();
    probe.backend_pid = backend->process->pid();
    probe.control_socket = home->file("control.sock");
    probe.report = &report;
    probe.options = &options;
    probe.progress = &progress;
    Status ran = run_simulation(options, *load, *listen_fd, **node, &probe);
    backend->process->stop(5000);
    PYLON_TRY(ran);
    auto crypto_after = crypto_cost(options.crypto_rounds);
    if (!crypto_after.ok()) {
        return crypto_after.error();
    }
    report.crypto_sign_us = (crypto_before->sign_us + crypto_after->sign_us) / 2;
    report.crypto_verify_us = (crypto_before->verify_us + crypto_after->verify_us) / 2;
    report.crypto_us_per_job = 2 * report.crypto_sign_us + report.crypto_verify_us;
    summarise(&report, probe);
    return report;
}

}  // namespace pylon::bench
