// Crash recovery: a run file left by an earlier daemon. Its children (and their descendants,
// proven by the PYLON_CHILD_TOKEN in their environment) are terminated before fresh ones start;
// a process whose pid was reused (start time and argv differ, no token) and a record from
// another boot are left alone; and a real stand-in daemon killed with SIGKILL leaves nothing
// behind once a new supervisor has started (no duplicates).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "engine/proc_fs.hpp"
#include "engine/run_file.hpp"
#include "engine/supervisor.hpp"
#include "reactor/clock.hpp"
#include "reactor/ops.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"
#include "tests/unit/reactor/run_on_shards.hpp"

namespace pylon::engine {
namespace {

using reactor::Task;

std::string bin(const char* name) {
    return std::string(PYLON_BINARY_DIR) + "/tests/integration/" + name;
}

bool alive(pid_t pid) {
    auto st = ProcFs().stat(pid);
    return st.ok() && st->state != 'Z';
}

// Live pylon_test_child processes that carry a token starting with `prefix`.
std::vector<pid_t> with_token(const std::string& prefix) {
    std::vector<pid_t> out;
    ProcFs proc;
    for (pid_t pid : proc.pids()) {
        auto st = proc.stat(pid);
        auto token = proc.environ_value(pid, child_token_env);
        if (st.ok() && st->state != 'Z' && token.ok() && token->has_value() &&
            (*token)->rfind(prefix, 0) == 0) {
            out.push_back(pid);
        }
    }
    return out;
}

RunRecord record_of(const std::string& name, pid_t pid, const std::string& token) {
    ProcFs proc;
    RunRecord r;
    r.name = name;
    r.pid = pid;
    auto st = proc.stat(pid);
    r.pgid = st.ok() ? st->pgrp : pid;
    r.starttime_ticks = st.ok() ? st->starttime_ticks : 0;
    auto argv = proc.cmdline(pid);
    r.argv_hash = argv.ok() ? argv_hash(*argv) : 0;
    r.token = token;
    return r;
}

std::unique_ptr<test::ChildProcess> spawn(std::vector<std::string> argv, std::string token = "") {
    test::ChildSpec spec;
    spec.argv = std::move(argv);
    if (!token.empty()) {
        spec.env_add.emplace_back(std::string(child_token_env), token);
    }
    auto child = test::ChildProcess::spawn(spec);
    EXPECT_TRUE(child.ok());
    return child.ok() ? std::move(child).value() : nullptr;
}

Task<void> start_and_stop(SupervisorOptions options, std::uint64_t* stale, bool* fresh_running) {
    Supervisor s(options);
    ChildConfig c;
    c.name = "worker";
    c.spawn.argv = {bin("pylon_test_child")};
    c.health.alive_ms = 50;
    EXPECT_TRUE(s.add(c).ok());
    EXPECT_TRUE((co_await s.start()).ok());
    *stale = s.counters().stale_terminated;
    *fresh_running = co_await s.wait_for_state("worker", ChildState::running, 3000);
    co_await s.stop();
}

TEST(SupervisorReconcile, TerminatesProvenChildrenAndSparesReusedPids) {
    auto dir = test::TempDir::create("pylon-reconcile");
    ASSERT_TRUE(dir.ok());
    auto old_worker =
        spawn({bin("pylon_test_child"), "--grandchild", "--setsid-grandchild"}, "old-worker-1");
    auto reused = spawn({"sleep", "60"});
    auto other_boot = spawn({bin("pylon_test_child")}, "old-agent-1");
    ASSERT_TRUE(old_worker && reused && other_boot);
    auto grand_line = old_worker->wait_for_line("GRANDCHILD ", 5000);
    ASSERT_TRUE(grand_line.has_value());
    pid_t grandchild = std::stoi(grand_line->substr(11));
    ASSERT_TRUE(alive(grandchild));
    // One that left the worker's session and group (setsid): found by its token alone. Before,
    // it survived every kill -9 of the daemon, one more each time.
    auto setsid_line = old_worker->wait_for_line("SETSID ", 5000);
    ASSERT_TRUE(setsid_line.has_value());
    pid_t own_session = std::stoi(setsid_line->substr(7));
    ASSERT_TRUE(alive(own_session));

    RunFile file;
    file.boot_id = ProcFs().boot_id().value();
    file.daemon_pid = 999999;
    file.children.push_back(record_of("worker", old_worker->pid(), "old-worker-1"));
    RunRecord wrong = record_of("llamacpp", reused->pid(), "old-llama-1");
    wrong.starttime_ticks += 1;  // the recorded process started earlier: this pid was reused
    file.children.push_back(wrong);
    ASSERT_TRUE(::mkdir(dir->file("run").c_str(), 0700) == 0);
    ASSERT_TRUE(test::write_file(dir->file("run/children.json"), file.encode()).ok());
    // A record from an earlier boot is never trusted, even with a matching token.
    RunFile old_boot;
    old_boot.boot_id = "00000000-0000-0000-0000-000000000000";
    old_boot.children.push_back(record_of("agent", other_boot->pid(), "old-agent-1"));
    EXPECT_TRUE(find_stale(old_boot, ProcFs(), ProcFs().boot_id().value()).empty());

    SupervisorOptions options;
    options.logs_dir = dir->path();
    options.run_file = dir->file("run/children.json");
    options.reconcile_grace_ms = 1000;
    std::uint64_t stale = 0;
    bool fresh = false;
    reactor::testing::run_on_shard(
        [options, &stale, &fresh]() { return start_and_stop(options, &stale, &fresh); });
    EXPECT_EQ(stale, 3U);  // the old worker and its two grandchildren
    EXPECT_TRUE(fresh);
    auto exit = old_worker->wait_exit(2000);
    ASSERT_TRUE(exit.has_value());
    EXPECT_EQ(exit->signal, SIGTERM);
    EXPECT_TRUE(test::wait_until([grandchild] { return !alive(grandchild); }, 3000));
    EXPECT_TRUE(test::wait_until([own_session] { return !alive(own_session); }, 3000));
    for (pid_t left : {grandchild, own_session}) {  // not left behind when the test fails
        if (alive(left)) {
            ::kill(left, SIGKILL);
        }
    }
    EXPECT_TRUE(reused->running()) << "a reused pid was touched";
    EXPECT_TRUE(other_boot->running()) << "a record of another boot was trusted";
    reused->stop(1000);
    other_boot->stop(1000);
}

TEST(SupervisorReconcile, DaemonKilledWithSigkillLeavesNoDuplicates) {
    auto dir = test::TempDir::create("pylon-crash");
    ASSERT_TRUE(dir.ok());
    auto host = spawn({bin("pylon_test_supervisor_host"), dir->path(), bin("pylon_test_child")});
    ASSERT_TRUE(host);
    auto ready = host->wait_for_line("READY ", 10000);
    ASSERT_TRUE(ready.has_value()) << host->describe();
    pid_t worker = std::stoi(ready->substr(6));
    auto token = ProcFs().environ_value(worker, child_token_env);
    ASSERT_TRUE(token.ok() && token->has_value());
    std::string instance = (*token)->substr(0, (*token)->find('-') + 1);
    std::vector<pid_t> before = with_token(instance);
    ASSERT_EQ(before.size(), 2U);  // the worker and its grandchild
    ASSERT_TRUE(host->signal(SIGKILL).ok());
    host->wait_exit(5000);
    // PDEATHSIG takes the worker with the daemon; the grandchild survives it.
    EXPECT_TRUE(test::wait_until([worker] { return !alive(worker); }, 3000));
    EXPECT_EQ(with_token(instance).size(), 1U);

    SupervisorOptions options;
    options.logs_dir = dir->path();
    options.run_file = dir->file("run/children.json");
    options.reconcile_grace_ms = 1000;
    std::uint64_t stale = 0;
    bool fresh = false;
    reactor::testing::run_on_shard(
        [options, &stale, &fresh]() { return start_and_stop(options, &stale, &fresh); });
    EXPECT_EQ(stale, 1U);
    EXPECT_TRUE(fresh);
    EXPECT_TRUE(test::wait_until([&instance] { return with_token(instance).empty(); }, 3000))
        << "a child of the killed daemon survived the reconcile";
}

}  // namespace
}  // namespace pylon::engine
