#include "engine/child_machine.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <vector>

namespace pylon::engine {
namespace {

using reactor::ManualClock;
using reactor::Rng;

// Records what the machine asks for; the test plays the process and the timer.
class FakeDriver final : public ChildDriver {
  public:
    void spawn() override { spawns++; }
    void begin_health() override { health_active = true; }
    void end_health() override { health_active = false; }
    void signal(int sig) override { signals.push_back(sig); }
    void arm_timer(std::int64_t deadline_ms) override { deadline = deadline_ms; }
    void disarm_timer() override { deadline = -1; }
    void changed(const ChildStatus& status, ChildState) override { states.push_back(status.state); }

    int spawns = 0;
    bool health_active = false;
    std::vector<int> signals;
    std::int64_t deadline = -1;
    std::vector<ChildState> states;
};

class ChildMachineTest : public ::testing::Test {
  protected:
    ChildMachineTest() : machine_("worker", policy(), clock_, rng_, driver_) {}

    static RestartPolicy policy() {
        RestartPolicy p;
        p.jitter_percent = 0;  // exact schedule; jitter has its own test
        p.start_timeout_ms = 5000;
        p.stop_grace_ms = 10000;
        return p;
    }

    // Advances the manual clock to the armed deadline and fires the timer.
    void fire_timer() {
        ASSERT_GE(driver_.deadline, clock_.now_ms());
        clock_.advance_ms(driver_.deadline - clock_.now_ms());
        driver_.deadline = -1;
        machine_.on_timer();
    }

    ManualClock clock_{1000};
    Rng rng_{7};
    FakeDriver driver_;
    ChildMachine machine_;
};

TEST_F(ChildMachineTest, StartsHealthGatedThenRuns) {
    ASSERT_TRUE(machine_.start());
    EXPECT_EQ(machine_.status().state, ChildState::starting);
    EXPECT_EQ(driver_.spawns, 1);
    EXPECT_EQ(driver_.deadline, 1000 + 5000);  // start timeout
    machine_.on_spawned(42);
    EXPECT_TRUE(driver_.health_active);
    EXPECT_EQ(machine_.status().pid, 42);
    machine_.on_healthy();
    EXPECT_EQ(machine_.status().state, ChildState::running);
    EXPECT_FALSE(driver_.health_active);
    EXPECT_EQ(driver_.deadline, -1);  // no failures: no stable timer needed
}

TEST_F(ChildMachineTest, ImmediateExitsBackOffGeometricallyThenFail) {
    ASSERT_TRUE(machine_.start());
    const std::int64_t expected_delays[] = {1000, 1979, 3915, 7746};
    for (int i = 0; i < 5; i++) {
        machine_.on_spawned(100 + i);
        machine_.on_exit(ExitStatus{true, 1, 0});
        if (i < 4) {
            ASSERT_EQ(machine_.status().state, ChildState::restarting);
            EXPECT_EQ(machine_.status().consecutive_failures, static_cast<unsigned>(i + 1));
            EXPECT_EQ(driver_.deadline - clock_.now_ms(), expected_delays[i]);
            fire_timer();
            EXPECT_EQ(machine_.status().state, ChildState::starting);
        }
    }
    EXPECT_EQ(machine_.status().state, ChildState::failed);
    EXPECT_EQ(machine_.status().consecutive_failures, 5U);
    EXPECT_EQ(machine_.status().total_restarts, 4U);
    EXPECT_EQ(machine_.status().last_error, "exited before becoming healthy: exit code 1");
    EXPECT_EQ(driver_.deadline, -1);  // failed stays down: no timer
    EXPECT_EQ(driver_.spawns, 5);
    // An operator restart clears the count and spawns at once.
    ASSERT_TRUE(machine_.restart());
    EXPECT_EQ(machine_.status().state, ChildState::starting);
    EXPECT_EQ(machine_.status().consecutive_failures, 0U);
}

TEST_F(ChildMachineTest, FailureCountResetsAfterTheStablePeriod) {
    ASSERT_TRUE(machine_.start());
    machine_.on_spawned(1);
    machine_.on_exit(ExitStatus{true, 1, 0});
    fire_timer();
    machine_.on_spawned(2);
    machine_.on_exit(ExitStatus{true, 1, 0});
    EXPECT_EQ(machine_.status().consecutive_failures, 2U);
    fire_timer();
    machine_.on_spawned(3);
    machine_.on_healthy();
    EXPECT_EQ(driver_.deadline, clock_.now_ms() + 60000);  // the stable timer
    fire_timer();
    EXPECT_EQ(machine_.status().consecutive_failures, 0U);
    // A crash after being stable starts the backoff again at the first step.
    clock_.advance_ms(3600 * 1000);
    machine_.on_exit(ExitStatus{false, 0, SIGSEGV});
    EXPECT_EQ(machine_.status().state, ChildState::restarting);
    EXPECT_EQ(machine_.status().consecutive_failures, 1U);
    EXPECT_EQ(driver_.deadline - clock_.now_ms(), 1000);
    EXPECT_EQ(machine_.status().last_error, "exited: killed by SIGSEGV");
}

TEST_F(ChildMachineTest, CrashBeforeStableKeepsCounting) {
    ASSERT_TRUE(machine_.start());
    machine_.on_spawned(1);
    machine_.on_exit(ExitStatus{true, 1, 0});
    fire_timer();
    machine_.on_spawned(2);
    machine_.on_healthy();
    clock_.advance_ms(30000);  // healthy, but not for 60 s
    machine_.on_exit(ExitStatus{true, 2, 0});
    EXPECT_EQ(machine_.status().consecutive_failures, 2U);
    EXPECT_EQ(driver_.deadline - clock_.now_ms(), 1979);
}

TEST_F(ChildMachineTest, StartTimeoutStopsAndCountsAFailure) {
    ASSERT_TRUE(machine_.start());
    machine_.on_spawned(9);
    fire_timer();  // 5 s without a healthy answer
    EXPECT_EQ(machine_.status().state, ChildState::stopping);
    EXPECT_EQ(driver_.signals, std::vector<int>{SIGTERM});
    EXPECT_FALSE(driver_.health_active);
    EXPECT_EQ(machine_.status().last_error, "not healthy within 5000 ms");
    machine_.on_exit(ExitStatus{false, 0, SIGTERM});
    EXPECT_EQ(machine_.status().state, ChildState::restarting);
    EXPECT_EQ(machine_.status().consecutive_failures, 1U);
    EXPECT_EQ(machine_.status().last_error, "not healthy within 5000 ms");
}

TEST_F(ChildMachineTest, StopEscalatesToSigkillAfterTheGrace) {
    ASSERT_TRUE(machine_.start());
    machine_.on_spawned(9);
    machine_.on_healthy();
    ASSERT_TRUE(machine_.stop());
    EXPECT_EQ(driver_.deadline, clock_.now_ms() + 10000);
    fire_timer();
    EXPECT_EQ(driver_.signals, (std::vector<int>{SIGTERM, SIGKILL}));
    machine_.on_exit(ExitStatus{false, 0, SIGKILL});
    EXPECT_EQ(machine_.status().state, ChildState::stopped);
    EXPECT_EQ(machine_.status().consecutive_failures, 0U);
}

TEST_F(ChildMachineTest, PermanentExitCodeGivesUpAtOnce) {
    RestartPolicy p = policy();
    p.permanent_exit_codes = {78};
    ChildMachine m("llamacpp", p, clock_, rng_, driver_);
    ASSERT_TRUE(m.start());
    m.on_spawned(5);
    m.on_exit(ExitStatus{true, 78, 0});
    EXPECT_EQ(m.status().state, ChildState::failed);
    EXPECT_NE(m.status().last_error.find("permanent"), std::string::npos);
}

TEST_F(ChildMachineTest, OnFailureModeDoesNotRestartACleanExit) {
    RestartPolicy p = policy();
    p.mode = RestartMode::on_failure;
    ChildMachine m("worker", p, clock_, rng_, driver_);
    ASSERT_TRUE(m.start());
    m.on_spawned(5);
    m.on_healthy();
    m.on_exit(ExitStatus{true, 0, 0});
    EXPECT_EQ(m.status().state, ChildState::stopped);
}

TEST_F(ChildMachineTest, RestartCommandRespawnsAfterTheExit) {
    ASSERT_TRUE(machine_.start());
    machine_.on_spawned(5);
    machine_.on_healthy();
    ASSERT_TRUE(machine_.restart());
    EXPECT_EQ(machine_.status().state, ChildState::stopping);
    EXPECT_EQ(driver_.spawns, 1);
    machine_.on_exit(ExitStatus{false, 0, SIGTERM});
    EXPECT_EQ(machine_.status().state, ChildState::starting);
    EXPECT_EQ(driver_.spawns, 2);
    EXPECT_EQ(machine_.status().total_restarts, 1U);
    EXPECT_EQ(machine_.status().consecutive_failures, 0U);
}

TEST_F(ChildMachineTest, MemoryKillGoesThroughTheBackoff) {
    ASSERT_TRUE(machine_.start());
    machine_.on_spawned(5);
    machine_.on_healthy();
    ASSERT_TRUE(machine_.kill_for_memory());
    EXPECT_EQ(driver_.signals, std::vector<int>{SIGTERM});
    machine_.on_exit(ExitStatus{false, 0, SIGTERM});
    EXPECT_EQ(machine_.status().state, ChildState::restarting);
    EXPECT_EQ(machine_.status().consecutive_failures, 1U);
    EXPECT_EQ(machine_.status().last_error, "stopped by the memory policy (oom-policy)");
}

TEST_F(ChildMachineTest, StopDuringBackoffAndWhileSpawning) {
    ASSERT_TRUE(machine_.start());
    machine_.on_spawned(5);
    machine_.on_exit(ExitStatus{true, 1, 0});
    ASSERT_EQ(machine_.status().state, ChildState::restarting);
    ASSERT_TRUE(machine_.stop());
    EXPECT_EQ(machine_.status().state, ChildState::stopped);
    EXPECT_EQ(driver_.deadline, -1);
    // A stop while the spawn is still under way signals the process once it exists.
    ASSERT_TRUE(machine_.start());
    ASSERT_TRUE(machine_.stop());
    EXPECT_TRUE(driver_.signals.empty());
    machine_.on_spawned(6);
    EXPECT_EQ(driver_.signals, std::vector<int>{SIGTERM});
    machine_.on_exit(ExitStatus{false, 0, SIGTERM});
    EXPECT_EQ(machine_.status().state, ChildState::stopped);
}

TEST_F(ChildMachineTest, NotSpawningRefusesStartUntilCleared) {
    ASSERT_TRUE(machine_.set_not_spawning("model /m.gguf does not exist"));
    EXPECT_EQ(machine_.status().state, ChildState::not_spawning);
    EXPECT_EQ(machine_.status().reason, "model /m.gguf does not exist");
    EXPECT_FALSE(machine_.start());
    EXPECT_EQ(driver_.spawns, 0);
    machine_.clear_not_spawning();
    EXPECT_TRUE(machine_.start());
    EXPECT_EQ(driver_.spawns, 1);
}

TEST_F(ChildMachineTest, SpawnFailureCountsAsAFailure) {
    ASSERT_TRUE(machine_.start());
    machine_.on_spawn_failed("exec /nope: No such file or directory");
    EXPECT_EQ(machine_.status().state, ChildState::restarting);
    EXPECT_EQ(machine_.status().last_error, "spawn failed: exec /nope: No such file or directory");
}

}  // namespace
}  // namespace pylon::engine
