// Small helpers every integration test needs: where the source and build trees are, where the
// tools and Node peers live (and whether Node peers can run here, so tests can GTEST_SKIP with a
// clear message), file reading and bounded polling. Free functions, safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reactor/result.hpp"
#include "tests/support/child_process.hpp"

namespace pylon::test {

// The repository root and the build root this test was compiled for.
std::string source_dir();
std::string binary_dir();

// The path of an executable built from tools/<name>/ (e.g. "fake_ollama").
std::string tool_path(std::string_view name);

// A loopback TCP port that was free a moment ago (bind 127.0.0.1:0, read it, close). Racy by
// nature: prefer letting servers bind port 0 and print "READY port=<n>".
Result<std::uint16_t> free_loopback_port();

// An executable `name` found through PATH (name itself when it contains a '/'), if any.
std::optional<std::string> find_in_path(std::string_view name);

// The `node` executable found through PATH, if any.
std::optional<std::string> node_binary();
// tests/node/node_modules under the source tree (installed by `npm ci` / scripts/setup.sh --test).
std::string node_modules_dir();
// True when node is on PATH and node_modules has been installed.
bool node_available();
// Why node_available() is false, phrased for GTEST_SKIP() (empty when available).
std::string node_unavailable_reason();
// A ChildSpec that runs `node tests/node/<script> args...` with the source tree's node folder as
// working directory.
ChildSpec node_script_spec(std::string_view script, std::vector<std::string> args = {});

// The whole file, refused above size_bytes_max.
Result<std::string> read_file(const std::string& path,
                              std::size_t size_bytes_max = 64 * 1024 * 1024);
// Creates or truncates `path` with `content`.
Status write_file(const std::string& path, std::string_view content);

// Calls pred every poll_ms until it returns true or timeout_ms passes; returns its last answer.
bool wait_until(const std::function<bool()>& pred, int timeout_ms, int poll_ms = 10);

}  // namespace pylon::test
