// daemon_bench: the daemon's own costs, measured on the real `pylon` binary in a temporary home
// (method and figures: bench/README.md, "daemon").
//   start:   `pylon start` (background) until it returns (the daemon reported ready) and until
//            the control socket answers Ping; then `pylon stop`. Repeated, median shown.
//   control: "Status" requests per second and latency percentiles over one connection
//            (request/response, one at a time) and over C connections (one thread each).
//   idle:    VmRSS of the daemon and its context switches per second over a quiet window,
//            per thread (/proc/<pid>/task/*/status).
//   usage: daemon_bench [--pylon PATH] [--shards N] [--starts R] [--requests N]
//                       [--connections C] [--idle-seconds S] [--config-toml TEXT]
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/control_client.hpp"
#include "engine/pid_file.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string pylon = std::string(PYLON_BINARY_DIR) + "/tools/pylon/pylon";
    std::string shards = "2";
    int starts = 5;
    int requests = 20000;
    int connections = 8;
    int idle_seconds = 10;
    std::string config_toml;  // written to <home>/config.toml when not empty
};

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Runs pylon with `args`, output discarded; returns its exit code.
int run(const Options& o, std::vector<std::string> args) {
    pid_t pid = ::fork();
    if (pid == 0) {
        std::vector<char*> argv;
        argv.push_back(const_cast<char*>(o.pylon.c_str()));
        for (std::string& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        int null_fd = ::open("/dev/null", O_RDWR);
        ::dup2(null_fd, 1);
        ::dup2(null_fd, 2);
        ::execv(o.pylon.c_str(), argv.data());
        _exit(127);
    }
    int st = 0;
    ::waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool ping(const std::string& sock) {
    auto c = pylon::engine::ControlClient::connect(sock, 1000);
    return c.ok() && c->request("\"Ping\"").ok();
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
    return v[i];
}

void bench_start(const Options& o, const std::string& home) {
    std::vector<double> ready_ms;
    std::vector<double> answer_ms;
    for (int i = 0; i < o.starts; i++) {
        auto t0 = Clock::now();
        if (run(o, {"start", "--shards", o.shards, "--home", home}) != 0) {
            std::printf("start failed\n");
            return;
        }
        ready_ms.push_back(ms_since(t0));
        while (!ping(home + "/control.sock")) {
        }
        answer_ms.push_back(ms_since(t0));
        run(o, {"stop", "--home", home});
    }
    std::printf(
        "start to ready: median %.1f ms (min %.1f, max %.1f); to first Pong: median %.1f ms"
        " (%d starts, %s shards)\n",
        percentile(ready_ms, 0.5), percentile(ready_ms, 0), percentile(ready_ms, 1),
        percentile(answer_ms, 0.5), o.starts, o.shards.c_str());
}

// One connection, `n` Status requests one after the other; latencies in microseconds.
std::vector<double> status_loop(const std::string& sock, int n) {
    std::vector<double> lat;
    lat.reserve(static_cast<std::size_t>(n));
    auto c = pylon::engine::ControlClient::connect(sock);
    if (!c.ok()) {
        return lat;
    }
    for (int i = 0; i < n; i++) {
        auto t0 = Clock::now();
        (void)c->send("\"Status\"");
        auto line = c->read_line(5000);
        if (!line.ok()) {
            break;
        }
        lat.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    return lat;
}

void bench_control(const Options& o, const std::string& sock) {
    (void)status_loop(sock, 2000);  // warm up
    auto t0 = Clock::now();
    std::vector<double> one = status_loop(sock, o.requests);
    double secs = ms_since(t0) / 1000;
    std::printf(
        "Status, 1 connection: %.0f requests/s, p50 %.0f us, p99 %.0f us, max %.0f us"
        " (%zu requests)\n",
        static_cast<double>(one.size()) / secs, percentile(one, 0.5), percentile(one, 0.99),
        percentile(one, 1), one.size());
    std::vector<std::vector<double>> per(static_cast<std::size_t>(o.connections));
    std::vector<std::thread> threads;
    t0 = Clock::now();
    for (int i = 0; i < o.connections; i++) {
        threads.emplace_back([&per, &sock, &o, i] {
            per[static_cast<std::size_t>(i)] = status_loop(sock, o.requests / o.connections);
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    secs = ms_since(t0) / 1000;
    std::vector<double> all;
    for (auto& v : per) {
        all.insert(all.end(), v.begin(), v.end());
    }
    std::printf(
        "Status, %d connections: %.0f requests/s, p50 %.0f us, p99 %.0f us, max %.0f us"
        " (%zu requests)\n",
        o.connections, static_cast<double>(all.size()) / secs, percentile(all, 0.5),
        percentile(all, 0.99), percentile(all, 1), all.size());
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

long field(const std::string& status, const std::string& name) {
    std::size_t at = status.find(name + ":");
    return at == std::string::npos ? -1 : std::atol(status.c_str() + at + name.size() + 1);
}

// Context switches of every thread of `pid`, by "tid name".
std::map<std::string, long> switches(pid_t pid) {
    std::map<std::string, long> out;
    std::string dir = "/proc/" + std::to_string(pid) + "/task";
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
        return out;
    }
    while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.') {
            continue;
        }
        std::string st = read_text(dir + "/" + e->d_name + "/status");
        std::string name = read_text(dir + "/" + e->d_name + "/comm");
        name.erase(name.find_last_not_of('\n') + 1);
        out[std::string(e->d_name) + " " + name] =
            field(st, "voluntary_ctxt_switches") + field(st, "nonvoluntary_ctxt_switches");
    }
    ::closedir(d);
    return out;
}

void bench_idle(const Options& o, pid_t pid) {
    std::this_thread::sleep_for(std::chrono::seconds(2));  // settle
    auto before = switches(pid);
    std::this_thread::sleep_for(std::chrono::seconds(o.idle_seconds));
    auto after = switches(pid);
    std::string status = read_text("/proc/" + std::to_string(pid) + "/status");
    std::printf("idle: VmRSS %ld kB, VmHWM %ld kB, threads %zu\n", field(status, "VmRSS"),
                field(status, "VmHWM"), after.size());
    long total = 0;
    for (const auto& [thread, n] : after) {
        long d = n - (before.count(thread) ? before[thread] : 0);
        total += d;
        std::printf("  %-24s %ld switches in %d s (%.2f/s)\n", thread.c_str(), d, o.idle_seconds,
                    static_cast<double>(d) / o.idle_seconds);
    }
    std::printf("idle wake-ups: %.2f/s for the whole process\n",
                static_cast<double>(total) / o.idle_seconds);
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i];
        std::string v = argv[i + 1];
        if (k == "--pylon") {
            o.pylon = v;
        } else if (k == "--shards") {
            o.shards = v;
        } else if (k == "--starts") {
            o.starts = std::atoi(v.c_str());
        } else if (k == "--requests") {
            o.requests = std::atoi(v.c_str());
        } else if (k == "--connections") {
            o.connections = std::atoi(v.c_str());
        } else if (k == "--idle-seconds") {
            o.idle_seconds = std::atoi(v.c_str());
        } else if (k == "--config-toml") {
            o.config_toml = v;
        }
    }
    char tmpl[] = "/tmp/pylon-bench-XXXXXX";
    std::string home = ::mkdtemp(tmpl);
    {
        std::ofstream id(home + "/identity.mnemonic");
        id << "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
              "abandon about\n";
    }
    ::chmod((home + "/identity.mnemonic").c_str(), 0600);
    if (!o.config_toml.empty()) {
        std::ofstream config(home + "/config.toml");
        config << o.config_toml << "\n";
    }
    bench_start(o, home);
    if (run(o, {"start", "--shards", o.shards, "--home", home}) != 0) {
        std::printf("start failed\n");
        return 1;
    }
    auto info = pylon::engine::PidFile::inspect(home + "/pylon.pid");
    pid_t pid = info.ok() ? info->pid : 0;
    bench_idle(o, pid);
    bench_control(o, home + "/control.sock");
    std::string status = read_text("/proc/" + std::to_string(pid) + "/status");
    std::printf("after the control runs: VmRSS %ld kB, VmHWM %ld kB\n", field(status, "VmRSS"),
                field(status, "VmHWM"));
    run(o, {"stop", "--home", home});
    std::string cleanup = "rm -rf '" + home + "'";
    return std::system(cleanup.c_str()) == 0 ? 0 : 1;
}
