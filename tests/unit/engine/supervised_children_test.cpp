#include "engine/supervised_children.hpp"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

namespace pylon::engine {
namespace {

TEST(SupervisedChildren, NoBinaryMeansNoSpawnedLlamaServer) {
    Config c;
    EXPECT_FALSE(llamacpp_child(c).has_value());
}

TEST(SupervisedChildren, LlamaServerArgvAndHealthGate) {
    auto dir = test::TempDir::create();
    ASSERT_TRUE(dir.ok());
    Config c;
    c.backends.llamacpp.binary = "/bin/true";
    c.backends.llamacpp.model = dir->file("m.gguf");
    ASSERT_TRUE(test::write_file(c.backends.llamacpp.model, "GGUF").ok());
    c.backends.llamacpp.port = 8181;
    c.backends.llamacpp.ctx_size = 8192;
    c.backends.llamacpp.parallel = 4;
    c.backends.llamacpp.args = {"-ngl", "99"};
    c.backends.llamacpp.permanent_exit_code = 78;
    auto child = llamacpp_child(c);
    ASSERT_TRUE(child.has_value());
    EXPECT_EQ(child->not_spawning_reason, "");
    EXPECT_EQ(child->spawn.argv,
              (std::vector<std::string>{"/bin/true", "-m", c.backends.llamacpp.model, "--host",
                                        "127.0.0.1", "--port", "8181", "-c", "8192", "-np", "4",
                                        "-ngl", "99"}));
    EXPECT_EQ(child->health.kind, HealthKind::http);
    EXPECT_EQ(child->health.url, "http://127.0.0.1:8181/health");
    EXPECT_EQ(child->policy.start_timeout_ms, 120000);  // models load slowly
    EXPECT_EQ(child->policy.stop_grace_ms, 10000);      // [supervisor] stop_grace_ms
    EXPECT_EQ(child->policy.permanent_exit_codes, std::vector<int>{78});
    EXPECT_EQ(child->priority, priority_llamacpp);
}

TEST(SupervisedChildren, LlamaServerPhaseAndModelId) {
    EXPECT_EQ(llamacpp_phase(ChildState::running), LlamacppPhase::running);
    EXPECT_EQ(llamacpp_phase(ChildState::starting), LlamacppPhase::loading);
    EXPECT_EQ(llamacpp_phase(ChildState::restarting), LlamacppPhase::loading);
    EXPECT_EQ(llamacpp_phase(ChildState::stopping), LlamacppPhase::loading);
    EXPECT_EQ(llamacpp_phase(ChildState::failed), LlamacppPhase::down);
    EXPECT_EQ(llamacpp_phase(ChildState::stopped), LlamacppPhase::down);
    EXPECT_EQ(llamacpp_phase(ChildState::not_spawning), LlamacppPhase::down);
    // /v1/models reports the -m path, or the --alias (the last one given).
    LlamacppBackendConfig l;
    l.model = "/models/qwen.gguf";
    EXPECT_EQ(llamacpp_model_id(l), "/models/qwen.gguf");
    l.args = {"-ngl", "99", "-a", "qwen"};
    EXPECT_EQ(llamacpp_model_id(l), "qwen");
    l.args = {"--alias", "one", "--alias=two"};
    EXPECT_EQ(llamacpp_model_id(l), "two");
    l.args = {"-a"};  // no value: ignored
    EXPECT_EQ(llamacpp_model_id(l), "/models/qwen.gguf");
}

TEST(SupervisedChildren, MissingBinaryOrModelGivesAClearReason) {
    Config c;
    c.backends.llamacpp.binary = "/nonexistent/llama-server";
    c.backends.llamacpp.model = "/models/x.gguf";
    EXPECT_EQ(llamacpp_child(c)->not_spawning_reason,
              "llama-server binary /nonexistent/llama-server does not exist");
    c.backends.llamacpp.binary = "/bin/true";
    EXPECT_EQ(llamacpp_child(c)->not_spawning_reason, "model file /models/x.gguf does not exist");
    c.backends.llamacpp.model = "";
    EXPECT_EQ(llamacpp_child(c)->not_spawning_reason,
              "backends.llamacpp.model (a GGUF file) is not set");
    c.backends.llamacpp.binary = "no-such-llama-server-binary";
    EXPECT_EQ(llamacpp_child(c)->not_spawning_reason,
              "llama-server binary no-such-llama-server-binary is not in PATH");
}

TEST(SupervisedChildren, WorkerFromConfig) {
    Config c;
    Home home("/tmp/pylon-home");
    EXPECT_FALSE(worker_child(c, home).has_value());
    c.worker.command = {"claude", "--print"};
    c.worker.env = {"A=1"};
    auto w = worker_child(c, home);
    ASSERT_TRUE(w.has_value());
    EXPECT_EQ(w->spawn.argv, (std::vector<std::string>{"claude", "--print"}));
    EXPECT_EQ(w->spawn.cwd, "/tmp/pylon-home");
    EXPECT_EQ(w->spawn.env, (std::vector<std::string>{"A=1", "PYLON_SUPERVISED=1"}));
    EXPECT_EQ(w->health.kind, HealthKind::alive);
    EXPECT_EQ(w->health.alive_ms, 5000);
    EXPECT_EQ(w->policy.mode, RestartMode::on_failure);  // autopilotd: exit 0 is not restarted
    EXPECT_EQ(w->priority, priority_worker);
    c.worker.ready_line = "ready";
    c.worker.restart = "always";
    w = worker_child(c, home);
    EXPECT_EQ(w->health.kind, HealthKind::ready_line);
    EXPECT_EQ(w->policy.mode, RestartMode::always);
}

// A worker or agents command that cannot be run is `not_spawning` with the reason, as a missing
// llama-server is (it was spawned, failed, and was retried as a crash until `failed`).
TEST(SupervisedChildren, AMissingWorkerOrAgentProgramIsNotSpawning) {
    Config c;
    Home home("/tmp/pylon-home");
    c.worker.command = {"/nonexistent/worker", "--x"};
    EXPECT_EQ(worker_child(c, home)->not_spawning_reason,
              "worker command /nonexistent/worker does not exist");
    c.worker.command = {"no-such-worker-program"};
    EXPECT_EQ(worker_child(c, home)->not_spawning_reason,
              "worker command no-such-worker-program is not in PATH");
    c.worker.command = {"./w.sh"};  // relative to the worker's folder (the home by default)
    EXPECT_EQ(worker_child(c, home)->not_spawning_reason, "worker command ./w.sh does not exist");
    c.worker.cwd = "/bin";
    c.worker.command = {"./true"};
    EXPECT_EQ(worker_child(c, home)->not_spawning_reason, "");
    c.worker.command = {"true"};
    EXPECT_EQ(worker_child(c, home)->not_spawning_reason, "");
    c.agents.command = {"/nonexistent/agent"};
    EXPECT_EQ(agent_child(c, home, "agent-1", 1, "npub1x").not_spawning_reason,
              "agents command /nonexistent/agent does not exist");
    c.agents.command = {"/bin/true"};
    EXPECT_EQ(agent_child(c, home, "agent-1", 1, "npub1x").not_spawning_reason, "");
}

TEST(SupervisedChildren, PolicyAndExitWatchFromSettings) {
    SupervisorConfig s;
    RestartPolicy p = restart_policy_from(s);
    EXPECT_EQ(p.backoff_base_ms, 1000);
    EXPECT_EQ(p.backoff_max_ms, 60000);
    EXPECT_EQ(p.backoff_steps, 6U);
    EXPECT_EQ(p.jitter_percent, 10U);
    EXPECT_EQ(p.stable_ms, 60000);
    EXPECT_EQ(p.failures_max, 5U);
    reactor::UringFeatures with;
    with.waitid = true;
    reactor::UringFeatures without;
    EXPECT_EQ(exit_watch_from(s, with), ExitWatch::waitid);
    EXPECT_EQ(exit_watch_from(s, without), ExitWatch::poll);
    s.exit_watch = "poll";
    EXPECT_EQ(exit_watch_from(s, with), ExitWatch::poll);
}

// Every child table may override the [supervisor] policy; -1 keeps it, and a value below the
// [supervisor] key's minimum is raised to it.
TEST(SupervisedChildren, PerChildPolicyOverrides) {
    Config c;
    Home home("/tmp/pylon-home");
    c.supervisor.failures_max = 7;
    c.worker.command = {"/bin/true"};
    c.worker.backoff_initial_ms = 250;
    c.worker.backoff_max_ms = 5000;
    c.worker.stable_after_ms = 3000;
    c.worker.failures_max = 2;
    auto w = worker_child(c, home);
    ASSERT_TRUE(w.has_value());
    EXPECT_EQ(w->policy.backoff_base_ms, 250);
    EXPECT_EQ(w->policy.backoff_max_ms, 5000);
    EXPECT_EQ(w->policy.stable_ms, 3000);
    EXPECT_EQ(w->policy.failures_max, 2U);

    c.agents.command = {"/bin/true"};
    c.agents.start_timeout_ms = 1500;
    c.agents.stop_grace_ms = 700;
    c.agents.permanent_exit_code = 9;
    c.agents.backoff_initial_ms = 0;  // raised to the [supervisor] minimum
    ChildConfig a = agent_child(c, home, "agent-1", 1, "npub1x");
    EXPECT_EQ(a.policy.start_timeout_ms, 1500);
    EXPECT_EQ(a.policy.stop_grace_ms, 700);
    EXPECT_TRUE(a.policy.is_permanent(9));
    EXPECT_EQ(a.policy.backoff_base_ms, 10);
    EXPECT_EQ(a.policy.failures_max, 7U);  // -1: the [supervisor] value
    EXPECT_EQ(a.policy.backoff_max_ms, 60000);

    c.backends.llamacpp.binary = "/bin/true";
    c.backends.llamacpp.failures_max = 3;
    auto l = llamacpp_child(c);
    ASSERT_TRUE(l.has_value());
    EXPECT_EQ(l->policy.failures_max, 3U);
    EXPECT_EQ(l->policy.stable_ms, 60000);

    // A child's own bound wins over the one it inherits, either way round.
    Config d;
    d.worker.command = {"/bin/true"};
    d.worker.backoff_max_ms = 500;  // under the default supervisor.backoff_initial_ms (1000)
    auto capped = worker_child(d, home);
    ASSERT_TRUE(capped.has_value());
    EXPECT_EQ(capped->policy.backoff_max_ms, 500);
    EXPECT_EQ(capped->policy.backoff_base_ms, 500);
    d.worker.backoff_max_ms = -1;
    d.worker.backoff_initial_ms = 120000;  // over the default supervisor.backoff_max_ms (60000)
    auto slow = worker_child(d, home);
    ASSERT_TRUE(slow.has_value());
    EXPECT_EQ(slow->policy.backoff_base_ms, 120000);
    EXPECT_EQ(slow->policy.backoff_max_ms, 120000);
}

}  // namespace
}  // namespace pylon::engine
