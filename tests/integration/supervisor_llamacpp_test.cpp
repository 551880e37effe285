// A spawned llama-server (tools/fake_llamacpp standing in as [backends.llamacpp] binary) under
// the supervisor: the /health gate holds the child in `starting` while the model "loads"
// (--load-ms), the backend hook reports it healthy with its slots once /health answers 200,
// unhealthy when it dies, and healthy again after the restart; a server whose /health hangs
// fails its start timeout. Not spawned at all when the model file is missing.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <vector>

#include "engine/supervised_children.hpp"
#include "reactor/clock.hpp"
#include "reactor/ops.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"
#include "tests/unit/reactor/run_on_shards.hpp"

namespace pylon::engine {
namespace {

using reactor::Task;

struct World {
    World() : dir(std::move(test::TempDir::create("pylon-llama")).value()) {
        model = dir.file("model.gguf");
        EXPECT_TRUE(test::write_file(model, "GGUF").ok());
        config.backends.llamacpp.binary = test::tool_path("fake_llamacpp");
        config.backends.llamacpp.model = model;
        config.backends.llamacpp.port = test::free_loopback_port().value();
        config.backends.llamacpp.parallel = 3;
        config.backends.llamacpp.start_timeout_ms = 10000;
        config.supervisor.backoff_initial_ms = 100;
        config.supervisor.stop_grace_ms = 2000;
        options.logs_dir = dir.path();
        options.run_file = dir.file("run/children.json");
        options.exit_watch = ExitWatch::waitid;
    }
    test::TempDir dir;
    std::string model;
    Config config;
    SupervisorOptions options;
    std::vector<BackendHealth> health;
    std::vector<std::pair<ChildState, std::int64_t>> states;
};

Task<void> slow_load(World* w) {
    Supervisor s(w->options);
    auto c = llamacpp_child(w->config);
    EXPECT_TRUE(c.has_value() && c->not_spawning_reason.empty());
    c->health.poll_interval_ms = 100;
    EXPECT_TRUE(s.add(*c).ok());
    EXPECT_TRUE(
        watch_llamacpp(s, w->config, [w](const BackendHealth& h) { w->health.push_back(h); }).ok());
    EXPECT_TRUE(s.on_change([w](const SupervisorEvent& e) {
                     if (e.previous != e.child->status.state) {
                         w->states.emplace_back(e.child->status.state, reactor::monotonic_ms());
                     }
                 }).ok());
    std::int64_t t0 = reactor::monotonic_ms();
    // Added, not started yet: down ("stopped") at once.
    EXPECT_EQ(w->health.size(), 1U);
    EXPECT_TRUE(!w->health.empty() && w->health[0].phase == LlamacppPhase::down);
    EXPECT_TRUE((co_await s.start()).ok());
    co_await reactor::sleep_ms(1000);
    EXPECT_EQ(s.view("llamacpp")->status.state, ChildState::starting);  // /health says 503
    EXPECT_EQ(w->health.size(), 2U);                                    // loading
    EXPECT_TRUE(w->health.size() == 2 && w->health[1].phase == LlamacppPhase::loading &&
                !w->health[1].healthy && w->health[1].detail == "starting");
    EXPECT_TRUE(co_await s.wait_for_state("llamacpp", ChildState::running, 8000));
    EXPECT_GE(reactor::monotonic_ms() - t0, 1500);
    EXPECT_EQ(w->health.size(), 3U);
    if (w->health.size() >= 3) {
        EXPECT_TRUE(w->health[2].healthy);
        EXPECT_EQ(w->health[2].phase, LlamacppPhase::running);
        EXPECT_EQ(w->health[2].slots, 3);
        EXPECT_EQ(w->health[2].url,
                  "http://127.0.0.1:" + std::to_string(w->config.backends.llamacpp.port));
    }
    // A crash: loading again (restarting, then starting: one report), then healthy again.
    EXPECT_TRUE(s.signal_child("llamacpp", SIGKILL).ok());
    EXPECT_TRUE(co_await s.wait_for_state("llamacpp", ChildState::restarting, 2000));
    EXPECT_EQ(w->health.size(), 4U);
    if (w->health.size() >= 4) {
        EXPECT_FALSE(w->health[3].healthy);
        EXPECT_EQ(w->health[3].phase, LlamacppPhase::loading);
        EXPECT_EQ(w->health[3].detail.rfind("restarting: ", 0), 0U) << w->health[3].detail;
    }
    EXPECT_TRUE(co_await s.wait_for_state("llamacpp", ChildState::running, 8000));
    EXPECT_EQ(w->health.size(), 5U);
    EXPECT_EQ(s.view("llamacpp")->status.total_restarts, 1U);
    // A watcher that comes while it runs hears "healthy" at once; once removed (its owner, the
    // backend registry, stops before the supervisor) it hears nothing more.
    std::vector<BackendHealth> late;
    auto id = watch_llamacpp(s, w->config, [&late](const BackendHealth& h) { late.push_back(h); });
    EXPECT_TRUE(id.ok());
    EXPECT_EQ(late.size(), 1U);
    EXPECT_TRUE(!late.empty() && late[0].healthy);
    s.remove_listener(id.value());
    co_await s.stop();
    EXPECT_EQ(late.size(), 1U);
    // The first watcher saw the stop: stopping (loading), then stopped (down).
    EXPECT_GE(w->health.size(), 6U);
    EXPECT_EQ(w->health.back().phase, LlamacppPhase::down);
    EXPECT_EQ(w->health.back().detail, "stopped");
}

TEST(SupervisorLlamacpp, SlowLoadIsHealthGatedAndReportedToTheBackendHook) {
    World w;
    w.config.backends.llamacpp.args = {"--load-ms", "1500"};
    reactor::testing::run_on_shard([&w]() { return slow_load(&w); });
}

Task<void> hang_health(World* w) {
    Supervisor s(w->options);
    auto c = llamacpp_child(w->config);
    c->health.probe_timeout_ms = 300;
    EXPECT_TRUE(s.add(*c).ok());
    EXPECT_TRUE((co_await s.start()).ok());
    EXPECT_TRUE(co_await s.wait_for_state("llamacpp", ChildState::restarting, 5000));
    EXPECT_EQ(s.view("llamacpp")->status.last_error, "not healthy within 1000 ms");
    co_await s.stop();
}

TEST(SupervisorLlamacpp, HangingHealthFailsTheStartTimeout) {
    World w;
    w.config.backends.llamacpp.args = {"--hang-health"};
    w.config.backends.llamacpp.start_timeout_ms = 1000;
    w.config.supervisor.backoff_initial_ms = 5000;
    reactor::testing::run_on_shard([&w]() { return hang_health(&w); });
}

Task<void> missing_model(World* w) {
    Supervisor s(w->options);
    auto c = llamacpp_child(w->config);
    EXPECT_TRUE(s.add(*c).ok());
    EXPECT_TRUE((co_await s.start()).ok());
    auto v = s.view("llamacpp");
    EXPECT_EQ(v->status.state, ChildState::not_spawning);
    EXPECT_EQ(v->status.reason,
              "model file " + w->config.backends.llamacpp.model + " does not exist");
    EXPECT_FALSE(s.start_child("llamacpp").ok());
    co_await reactor::sleep_ms(100);
    EXPECT_EQ(s.counters().spawns, 0U);
    co_await s.stop();
}

TEST(SupervisorLlamacpp, MissingModelIsNotSpawning) {
    World w;
    w.config.backends.llamacpp.model = w.dir.file("absent.gguf");
    reactor::testing::run_on_shard([&w]() { return missing_model(&w); });
}

}  // namespace
}  // namespace pylon::engine
