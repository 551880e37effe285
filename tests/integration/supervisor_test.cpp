// Supervisor with real child processes (tests/integration/pylon_test_child): backoff and give-up,
// the stable-period reset, the start timeout, SIGKILL after the grace, a chatty child whose
// output is bounded and rotated, the ready-line gate, orphaned grandchildren reaped, and both
// exit-watch methods (IORING_OP_WAITID and the poll fallback). Every process is stopped by the
// supervisor (by pidfd) before each test ends.
#include "engine/supervisor.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "engine/proc_fs.hpp"
#include "reactor/clock.hpp"
#include "reactor/ops.hpp"
#include "reactor/probe.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"
#include "tests/unit/reactor/run_on_shards.hpp"

namespace pylon::engine {
namespace {

using reactor::Task;

std::string test_child() {
    return std::string(PYLON_BINARY_DIR) + "/tests/integration/pylon_test_child";
}

struct Transition {
    ChildState state;
    std::int64_t at_ms;
    pid_t pid;
};

// One test's world: a temp home, supervisor options and the transitions it saw.
struct World {
    explicit World(ExitWatch watch) : dir(std::move(test::TempDir::create("pylon-super")).value()) {
        options.logs_dir = dir.path();
        options.run_file = dir.file("run/children.json");
        options.exit_watch = watch;
        options.rng_seed = 1234;
    }
    void record(Supervisor& s) {
        Status st = s.on_change([this](const SupervisorEvent& e) {
            if (e.previous == e.child->status.state) {
                return;  // an update within a state (pid known, failure count reset)
            }
            // The machine's own transition time (SystemClock: monotonic ms), not the time this
            // listener runs (after a log line, which a loaded machine can delay by ms).
            transitions.push_back(
                {e.child->status.state, e.child->status.state_since_ms, e.child->status.pid});
        });
        EXPECT_TRUE(st.ok());
    }
    std::vector<std::int64_t> times_of(ChildState state) const {
        std::vector<std::int64_t> out;
        for (const Transition& t : transitions) {
            if (t.state == state) {
                out.push_back(t.at_ms);
            }
        }
        return out;
    }

    test::TempDir dir;
    SupervisorOptions options;
    std::vector<Transition> transitions;
};

ChildConfig child(std::string name, std::vector<std::string> args) {
    ChildConfig c;
    c.name = std::move(name);
    c.spawn.argv = {test_child()};
    for (std::string& a : args) {
        c.spawn.argv.push_back(std::move(a));
    }
    c.policy.jitter_percent = 0;
    c.policy.start_timeout_ms = 5000;
    c.policy.stop_grace_ms = 2000;
    c.health.kind = HealthKind::alive;
    c.health.alive_ms = 100;
    return c;
}

bool process_alive(pid_t pid) {
    auto st = ProcFs().stat(pid);
    return st.ok() && st->state != 'Z';
}

class SupervisorTest : public ::testing::TestWithParam<ExitWatch> {
  protected:
    void SetUp() override {
        if (GetParam() == ExitWatch::waitid && !reactor::probe_uring().waitid) {
            GTEST_SKIP() << "IORING_OP_WAITID needs kernel 6.7+";
        }
    }
};

// -- A child that exits at once: geometric backoff observed, then `failed` after N.
Task<void> exits_at_once(World* w) {
    Supervisor s(w->options);
    w->record(s);
    ChildConfig c = child("crasher", {"--exit-after-ms", "0", "--exit-code", "3"});
    c.policy.backoff_base_ms = 100;
    c.policy.backoff_max_ms = 800;
    c.policy.backoff_steps = 3;
    c.policy.failures_max = 5;
    EXPECT_TRUE(s.add(c).ok());
    EXPECT_TRUE((co_await s.start()).ok());
    EXPECT_TRUE(co_await s.wait_for_state("crasher", ChildState::failed, 10000));
    auto v = s.view("crasher");
    EXPECT_EQ(v->status.consecutive_failures, 5U);
    EXPECT_EQ(v->status.total_restarts, 4U);
    EXPECT_EQ(v->status.last_error, "exited before becoming healthy: exit code 3");
    EXPECT_EQ(v->status.pid, 0);
    // Each respawn comes 100, 200, 400, 800 ms after the exit that caused it (100 -> 800 in 3
    // steps, no jitter); measured from `restarting` (the exit seen) to the next `starting`, so a
    // slow spawn under a sanitizer or load does not count as backoff.
    std::vector<std::int64_t> starts = w->times_of(ChildState::starting);
    std::vector<std::int64_t> restarts = w->times_of(ChildState::restarting);
    EXPECT_EQ(starts.size(), 5U);
    EXPECT_EQ(restarts.size(), 4U);
    const std::int64_t expected[] = {100, 200, 400, 800};
    for (std::size_t i = 1; i < starts.size() && i <= restarts.size() && i <= 4; i++) {
        std::int64_t wait = starts[i] - restarts[i - 1];
        EXPECT_GE(wait, expected[i - 1] - 2) << "restart " << i;
        EXPECT_LE(wait, expected[i - 1] + 150) << "restart " << i;
    }
    // `failed` stays down until an operator restarts it.
    co_await reactor::sleep_ms(300);
    EXPECT_EQ(s.view("crasher")->status.state, ChildState::failed);
    EXPECT_EQ(w->times_of(ChildState::starting).size(), 5U);
    EXPECT_TRUE(s.restart_child("crasher").ok());
    EXPECT_EQ(s.view("crasher")->status.consecutive_failures, 0U);
    co_await s.stop();
    EXPECT_EQ(s.counters().spawns, 6U);
}

TEST_P(SupervisorTest, ChildThatExitsAtOnceBacksOffAndFails) {
    World w(GetParam());
    reactor::testing::run_on_shard([&w]() { return exits_at_once(&w); });
}

// -- A child that crashes after being stable: the failure count resets each time.
Task<void> crashes_after_stable(World* w) {
    Supervisor s(w->options);
    w->record(s);
    ChildConfig c = child("stable", {"--exit-after-ms", "400", "--exit-code", "1"});
    c.health.alive_ms = 50;
    c.policy.stable_ms = 200;
    c.policy.backoff_base_ms = 50;
    c.policy.backoff_max_ms = 1000;
    c.policy.failures_max = 2;  // would fail after 2 crashes without the reset
    EXPECT_TRUE(s.add(c).ok());
    EXPECT_TRUE((co_await s.start()).ok());
    std::int64_t deadline = reactor::monotonic_ms() + 10000;
    while (s.view("stable")->status.total_restarts < 4 && reactor::monotonic_ms() < deadline) {
        co_await reactor::sleep_ms(20);
    }
    auto v = s.view("stable");
    EXPECT_GE(v->status.total_restarts, 4U);
    EXPECT_NE(v->status.state, ChildState::failed);
    EXPECT_LE(v->status.consecutive_failures, 1U);
    // Every restart waited the first backoff step only (the count was reset each time).
    std::vector<std::int64_t> restarts = w->times_of(ChildState::restarting);
    std::vector<std::int64_t> starts = w->times_of(ChildState::starting);
    for (std::size_t i = 0; i + 1 < starts.size() && i < restarts.size(); i++) {
        std::int64_t wait = starts[i + 1] - restarts[i];
        EXPECT_GE(wait, 48);  // 1 ms timer resolution, ms clock reads
        EXPECT_LE(wait, 200);
    }
    co_await s.stop();
}

TEST_P(SupervisorTest, CrashAfterStablePeriodResetsTheCount) {
    World w(GetParam());
    reactor::testing::run_on_shard([&w]() { return crashes_after_stable(&w); });
}

// -- A child that never becomes healthy: the start timeout stops it and counts a failure.
Task<void> never_healthy(World* w) {
    Supervisor s(w->options);
    w->record(s);
    ChildConfig c = child("mute", {});
    c.health.kind = HealthKind::ready_line;
    c.health.ready_line = "READY";
    c.policy.start_timeout_ms = 300;
    c.policy.backoff_base_ms = 5000;  // stays in restarting while the test looks
    EXPECT_TRUE(s.add(c).ok());
    EXPECT_TRUE((co_await s.start()).ok());
    std::int64_t t0 = reactor::monotonic_ms();
    EXPECT_TRUE(co_await s.wait_for_state("mute", ChildState::restarting, 5000));
    std::int64_t took = reactor::monotonic_ms() - t0;
    EXPECT_GE(took, 280);
    EXPECT_LE(took, 1500);
    auto v = s.view("mute");
    EXPECT_EQ(v->status.last_error, "not healthy within 300 ms");
    EXPECT_EQ(v->status.consecutive_failures, 1U);
    EXPECT_FALSE(v->status.last_exit.exited);
    EXPECT_EQ(v->status.last_exit.signal, SIGTERM);
    co_await s.stop();
    EXPECT_EQ(s.view("mute")->status.state, ChildState::stopped);
}

TEST_P(SupervisorTest, NeverHealthyChildHitsTheStartTimeout) {
    World w(GetParam());
    reactor::testing::run_on_shard([&w]() { return never_healthy(&w); });
}

// -- The ready line gates the start: starting until "READY" is printed.
Task<void> ready_line(World* w) {
    Supervisor s(w->options);
    w->record(s);
    ChildConfig c = child("ready", {"--ready-after-ms", "400"});
    c.health.kind = HealthKind::ready_line;
    c.health.ready_line = "READY";
    EXPECT_TRUE(s.add(c).ok());
    EXPECT_TRUE((co_await s.start()).ok());
    co_await reactor::sleep_ms(250);
    EXPECT_EQ(s.view("ready")->status.state, ChildState::starting);
    EXPECT_TRUE(co_await s.wait_for_state("ready", ChildState::running, 3000));
    std::vector<std::int64_t> starting = w->times_of(ChildState::starting);
    std::vector<std::int64_t> running = w->times_of(ChildState::running);
    EXPECT_EQ(running.size(), 1U);
    if (!starting.empty() && !running.empty()) {
        EXPECT_GE(running[0] - starting[0], 390);
    }
    co_await s.stop();
}

TEST_P(SupervisorTest, ReadyLineGatesTheStart) {
    World w(GetParam());
    reactor::testing::run_on_shard([&w]() { return ready_line(&w); });
}

// -- A child that ignores SIGTERM gets SIGKILL after the grace period.
Task<void> ignores_term(World* w) {
    Supervisor s(w->options);
    w->record(s);
    // Running once SIGTERM is ignored (its READY comes after), not after 100 ms alive: a slow
    // start could take the SIGTERM first.
    ChildConfig c = child("stubborn", {"--ignore-term", "--ready-after-ms", "0"});
    c.health.kind = HealthKind::ready_line;
    c.health.ready_line = "READY";
    c.policy.stop_grace_ms = 400;
    EXPECT_TRUE(s.add(c).ok());
    EXPECT_TRUE((co_await s.start()).ok());
    EXPECT_TRUE(co_await s.wait_for_state("stubborn", ChildState::running, 3000));
    pid_t pid = s.view("stubborn")->status.pid;
    std::int64_t t0 = reactor::monotonic_ms();
    EXPECT_TRUE(s.stop_child("stubborn").ok());
    co_await reactor::sleep_ms(200);
    EXPECT_TRUE(process_alive(pid));  // SIGTERM ignored
    EXPECT_EQ(s.view("stubborn")->status.state, ChildState::stopping);
    EXPECT_TRUE(co_await s.wait_for_state("stubborn", ChildState::stopped, 3000));
    std::int64_t took = reactor::monotonic_ms() - t0;
    EXPECT_GE(took, 390);
    EXPECT_LE(took, 1500);
    auto v = s.view("stubborn");
    EXPECT_FALSE(v->status.last_exit.exited);
    EXPECT_EQ(v->status.last_exit.signal, SIGKILL);
    EXPECT_FALSE(process_alive(pid));
    co_await s.stop();
}

TEST_P(SupervisorTest, ChildIgnoringSigtermIsKilledAfterTheGrace) {
    World w(GetParam());
    reactor::testing::run_on_shard([&w]() { return ignores_term(&w); });
}

// -- A chatty child: 100 MB on stdout never stalls it, and the log stays bounded.
Task<void> chatty(World* w, std::int64_t* took_ms) {
    w->options.log_file_bytes_max = 4 * 1024 * 1024;
    w->options.log_files_kept = 2;
    Supervisor s(w->options);
    std::string done = w->dir.file("done");
    ChildConfig c = child("chatty", {"--stdout-bytes", "104857600", "--done-file", done});
    EXPECT_TRUE(s.add(c).ok());
    std::int64_t t0 = reactor::monotonic_ms();
    EXPECT_TRUE((co_await s.start()).ok());
    struct stat st {};
    while (::stat(done.c_str(), &st) != 0 && reactor::monotonic_ms() - t0 < 60000) {
        co_await reactor::sleep_ms(20);
    }
    *took_ms = reactor::monotonic_ms() - t0;
    EXPECT_EQ(::stat(done.c_str(), &st), 0) << "the child stalled writing its output";
    co_await reactor::sleep_ms(200);  // let the drain catch up with the pipe
    EXPECT_EQ(s.view("chatty")->status.state, ChildState::running);
    co_await s.stop();
}

TEST_P(SupervisorTest, ChattyChildNeverStallsAndItsLogIsBounded) {
    World w(GetParam());
    std::int64_t took_ms = 0;
    reactor::testing::run_on_shard([&w, &took_ms]() { return chatty(&w, &took_ms); });
    std::printf("100 MB through the child log in %lld ms\n", static_cast<long long>(took_ms));
    std::uint64_t total = 0;
    for (const char* suffix : {"", ".1", ".2", ".3"}) {
        struct stat st {};
        std::string path = w.dir.file(std::string("chatty.log") + suffix);
        if (::stat(path.c_str(), &st) == 0) {
            EXPECT_LE(static_cast<std::uint64_t>(st.st_size), 4U * 1024 * 1024) << path;
            total += static_cast<std::uint64_t>(st.st_size);
            EXPECT_NE(std::string(suffix), ".3") << "only 2 rotated files are kept";
        } else {
            EXPECT_NE(std::string(suffix), ".1") << "the log never rotated";
        }
    }
    // Two rotated files kept, each closed when the next batch (up to 16 reads of 32 KB) would
    // not fit: at least 4 MiB - 512 KiB each, and the live file may have just been started (a
    // CI run read 8,371,233 bytes, 17 KB under 8 MiB).
    EXPECT_GT(total, 2U * (4U * 1024 * 1024 - 16U * 32 * 1024));
    EXPECT_LE(total, 12U * 1024 * 1024);
}

// -- Orphaned grandchildren (subreaper) are adopted, terminated and reaped when their leader
// exits; a process the test started itself is left alone.
Task<void> orphans(World* w, pid_t bystander) {
    Supervisor s(w->options);
    ChildConfig c =
        child("parent", {"--grandchild", "--ready-after-ms", "0", "--exit-after-ms", "300"});
    c.health.kind = HealthKind::ready_line;
    c.health.ready_line = "READY";
    c.policy.mode = RestartMode::never;
    EXPECT_TRUE(s.add(c).ok());
    EXPECT_TRUE((co_await s.start()).ok());
    EXPECT_TRUE(co_await s.wait_for_state("parent", ChildState::stopped, 5000));
    std::int64_t deadline = reactor::monotonic_ms() + 3000;
    while (s.counters().orphans_reaped < 1 && reactor::monotonic_ms() < deadline) {
        co_await reactor::sleep_ms(10);
    }
    EXPECT_EQ(s.counters().orphans_reaped, 1U);
    EXPECT_TRUE(process_alive(bystander));
    // No zombie children are left behind.
    for (pid_t pid : ProcFs().children_of(::getpid())) {
        auto st = ProcFs().stat(pid);
        EXPECT_TRUE(!st.ok() || st->state != 'Z') << "zombie " << pid;
    }
    co_await s.stop();
}

TEST_P(SupervisorTest, OrphanedGrandchildrenAreReaped) {
    World w(GetParam());
    ASSERT_TRUE(become_subreaper().ok());
    test::ChildSpec spec;
    spec.argv = {"sleep", "60"};
    auto bystander = test::ChildProcess::spawn(spec);
    ASSERT_TRUE(bystander.ok());
    pid_t pid = (*bystander)->pid();
    reactor::testing::run_on_shard([&w, pid]() { return orphans(&w, pid); });
    EXPECT_TRUE((*bystander)->running());
    (*bystander)->stop(1000);
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

// -- A descendant of a healthy child that is reparented to us (`sh -c "tool &"`) and exits is
// reaped by the periodic scan, not left a zombie until some child exits.
Task<void> detached(World* w) {
    w->options.orphan_scan_interval_ms = 200;
    Supervisor s(w->options);
    ChildConfig c = child("holder", {"--detached-ms", "300", "--ready-after-ms", "0"});
    c.health.kind = HealthKind::ready_line;
    c.health.ready_line = "READY";
    EXPECT_TRUE(s.add(c).ok());
    EXPECT_TRUE((co_await s.start()).ok());
    EXPECT_TRUE(co_await s.wait_for_state("holder", ChildState::running, 5000));
    std::int64_t deadline = reactor::monotonic_ms() + 5000;
    while (s.counters().orphans_reaped < 1 && reactor::monotonic_ms() < deadline) {
        co_await reactor::sleep_ms(20);
    }
    EXPECT_EQ(s.counters().orphans_reaped, 1U);
    EXPECT_EQ(s.view("holder")->status.state, ChildState::running);  // its parent still runs
    for (pid_t pid : ProcFs().children_of(::getpid())) {
        auto st = ProcFs().stat(pid);
        EXPECT_TRUE(!st.ok() || st->state != 'Z') << "zombie " << pid;
    }
    co_await s.stop();
}

TEST_P(SupervisorTest, ADetachedDescendantThatExitsIsReapedWhileItsParentRuns) {
    World w(GetParam());
    ASSERT_TRUE(become_subreaper().ok());
    reactor::testing::run_on_shard([&w]() { return detached(&w); });
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

// -- The run file names the running children and is removed by a clean stop.
Task<void> run_file(World* w) {
    Supervisor s(w->options);
    EXPECT_TRUE(s.add(child("a", {})).ok());
    EXPECT_TRUE(s.add(child("b", {})).ok());
    EXPECT_TRUE((co_await s.start()).ok());
    EXPECT_TRUE(co_await s.wait_for_state("a", ChildState::running, 3000));
    EXPECT_TRUE(co_await s.wait_for_state("b", ChildState::running, 3000));
    co_await reactor::sleep_ms(50);
    auto text = test::read_file(w->options.run_file);
    EXPECT_TRUE(text.ok());
    if (text.ok()) {
        EXPECT_NE(text->find("\"pid\":" + std::to_string(s.view("a")->status.pid)),
                  std::string::npos);
        EXPECT_NE(text->find("\"pid\":" + std::to_string(s.view("b")->status.pid)),
                  std::string::npos);
    }
    co_await s.stop();
    struct stat st {};
    EXPECT_NE(::stat(w->options.run_file.c_str(), &st), 0);
}

TEST_P(SupervisorTest, RunFileListsRunningChildren) {
    World w(GetParam());
    reactor::testing::run_on_shard([&w]() { return run_file(&w); });
}

// -- A program that does not exist: spawn failures go through the backoff to `failed`.
Task<void> missing_program(World* w) {
    Supervisor s(w->options);
    ChildConfig c = child("ghost", {});
    c.spawn.argv = {"/nonexistent/program"};
    c.policy.backoff_base_ms = 10;
    c.policy.failures_max = 3;
    EXPECT_TRUE(s.add(c).ok());
    EXPECT_TRUE((co_await s.start()).ok());
    EXPECT_TRUE(co_await s.wait_for_state("ghost", ChildState::failed, 3000));
    EXPECT_NE(s.view("ghost")->status.last_error.find("spawn failed"), std::string::npos);
    EXPECT_EQ(s.counters().spawns, 0U);
    co_await s.stop();
}

TEST_P(SupervisorTest, MissingProgramFails) {
    World w(GetParam());
    reactor::testing::run_on_shard([&w]() { return missing_program(&w); });
}

INSTANTIATE_TEST_SUITE_P(ExitWatch, SupervisorTest,
                         ::testing::Values(ExitWatch::waitid, ExitWatch::poll),
                         [](const ::testing::TestParamInfo<ExitWatch>& param) {
                             return std::string(exit_watch_name(param.param));
                         });

}  // namespace
}  // namespace pylon::engine
