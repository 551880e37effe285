// pylon_test_supervisor_host: a stand-in daemon for the crash-recovery test. It runs one shard
// with a Supervisor (run file <dir>/run/children.json, logs in <dir>) supervising one child,
// `pylon_test_child --grandchild` named "worker", prints "READY <worker pid>" once the worker is
// running and then waits (an hour at most) to be killed (the test kills it with SIGKILL).
// Usage: pylon_test_supervisor_host DIR TEST_CHILD_PATH
#include <cstdio>
#include <string>

#include "engine/supervisor.hpp"
#include "reactor/ops.hpp"
#include "reactor/shard_set.hpp"
#include "reactor/signals.hpp"

namespace {

using pylon::reactor::Task;

Task<void> host_main(std::string dir, std::string child) {
    pylon::engine::SupervisorOptions options;
    options.logs_dir = dir;
    options.run_file = dir + "/run/children.json";
    options.exit_watch = pylon::engine::ExitWatch::poll;
    pylon::engine::Supervisor s(options);
    pylon::engine::ChildConfig c;
    c.name = "worker";
    c.spawn.argv = {child, "--grandchild", "--ready-after-ms", "0"};
    c.health.kind = pylon::engine::HealthKind::ready_line;
    c.health.ready_line = "READY";
    bool added = s.add(c).ok();
    pylon::Status started = co_await s.start();  // (no co_await inside ||: g++ 12 ICEs)
    if (!added || !started.ok()) {
        std::fprintf(stderr, "supervisor failed to start\n");
        co_await s.stop();
        co_return;
    }
    if (co_await s.wait_for_state("worker", pylon::engine::ChildState::running, 10000)) {
        co_await pylon::reactor::sleep_ms(200);  // the run file is written
        std::printf("READY %d\n", static_cast<int>(s.view("worker")->status.pid));
        std::fflush(stdout);
    }
    for (int minute = 0; minute < 60; minute++) {  // bounded: an hour at most
        co_await pylon::reactor::sleep_ms(60000);
    }
    co_await s.stop();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: pylon_test_supervisor_host DIR TEST_CHILD_PATH\n");
        return 2;
    }
    pylon::reactor::block_handled_signals();
    pylon::reactor::ShardSetOptions o;
    o.shard_count = 1;
    o.pin = false;
    pylon::reactor::ShardSet set(o);
    std::string dir = argv[1];
    std::string child = argv[2];
    auto st = set.run([dir, child](pylon::reactor::Shard&) { return host_main(dir, child); });
    return st.ok() ? 0 : 1;
}
