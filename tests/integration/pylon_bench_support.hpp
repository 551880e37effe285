// Running tools/pylon_bench/pylon-bench from a test: spawn it with --json (stopped by pid on a
// timeout), parse its one-line JSON object, read numbers from it. Test thread only.
#pragma once

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/test_env.hpp"

namespace pylon::test {

inline constexpr int bench_smoke_timeout_ms = 90000;

struct BenchJson {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    std::string text;
    std::string stderr_tail;
    ExitInfo exit;
};

// Runs pylon-bench with `args` + --json; the parsed object (asserts inside the caller).
inline void run_bench(std::vector<std::string> args, BenchJson* out,
                      int timeout_ms = bench_smoke_timeout_ms) {
    ChildSpec spec;
    spec.argv = {binary_dir() + "/tools/pylon_bench/pylon-bench", "--json", "--no-progress"};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.term_grace_ms = 20000;
    auto child = ChildProcess::spawn(spec);
    ASSERT_TRUE(child.ok()) << child.error().message();
    auto exit = (*child)->wait_exit(timeout_ms);
    ASSERT_TRUE(exit.has_value()) << "pylon-bench did not finish: " << (*child)->describe();
    out->exit = *exit;
    out->stderr_tail = (*child)->tail(Stream::err);
    ASSERT_TRUE(exit->exited && exit->code == 0) << out->stderr_tail;
    std::vector<std::string> lines = (*child)->lines(Stream::out);
    ASSERT_EQ(lines.size(), 1u) << (*child)->tail(Stream::out);
    out->text = lines[0];
    auto parsed = out->parser.parse(out->text);
    ASSERT_FALSE(parsed.error()) << out->text;
    out->root = parsed.value();
}

inline std::int64_t num(const BenchJson& j, const char* key) {
    simdjson::dom::element e = j.root[key];
    if (e.is_int64()) {
        return e.get_int64().value();
    }
    if (e.is_uint64()) {
        return static_cast<std::int64_t>(e.get_uint64().value());
    }
    return static_cast<std::int64_t>(e.get_double().value());
}

inline double real(const BenchJson& j, const char* key) {
    simdjson::dom::element e = j.root[key];
    return e.is_double() ? e.get_double().value() : static_cast<double>(num(j, key));
}

}  // namespace pylon::test
