// run_pylon: runs the `pylon` binary of the build tree as a CLI command to its exit and returns
// its exit code and output (what integration tests of the CLI assert on).
#pragma once

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/test_env.hpp"

namespace pylon::test {

struct RunResult {
    int code = -1;  // the exit status; -1 when killed by a signal or still running at the timeout
    std::string out;
    std::string err;
};

using Env = std::vector<std::pair<std::string, std::string>>;

// Waits until both output streams of `p` reached their end (at most 5 s each).
inline void drain(ChildProcess& p) {
    static const std::regex never("^\\x01never\\x01$");  // a line that never comes: waits for EOF
    (void)p.wait_for_line(never, 5000, Stream::out);
    (void)p.wait_for_line(never, 5000, Stream::err);
}

// `pylon <args>` with `env` added to the environment, waited for at most timeout_ms (a test
// failure if it does not exit; the child is then killed by its handle).
inline RunResult run_pylon(std::vector<std::string> args, int timeout_ms = 30000, Env env = {}) {
    ChildSpec spec;
    spec.env_add = std::move(env);
    spec.argv = {tool_path("pylon")};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    auto child = ChildProcess::spawn(spec);
    EXPECT_TRUE(child.ok()) << child.error().message();
    if (!child.ok()) {
        return {};
    }
    auto exit = child.value()->wait_exit(timeout_ms);
    EXPECT_TRUE(exit.has_value()) << "pylon did not exit\n" << child.value()->describe();
    RunResult r;
    r.code = exit && exit->exited ? exit->code : -1;
    drain(*child.value());
    r.out = child.value()->tail(Stream::out);
    r.err = child.value()->tail(Stream::err);
    return r;
}

}  // namespace pylon::test
