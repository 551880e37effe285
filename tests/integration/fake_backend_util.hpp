// Helpers shared by the fake backend wire tests: start a fake from tools/, one-shot requests on
// fresh connections, NDJSON and SSE splitting written independently of net/ (so the fakes are
// checked against the documented format, not against the client under test), and reading the
// fakes' /_fake/stats counters. Test-thread only.
#pragma once

#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/raw_http_connection.hpp"
#include "tests/support/test_env.hpp"

namespace pylon::test {

// Starts tools/<tool>/<tool> with `args` plus a short --max-runtime-s; fails the test if it
// does not print READY.
inline ReadyChild start_fake(const std::string& tool, std::vector<std::string> args) {
    ChildSpec spec;
    spec.argv = {tool_path(tool), "--port", "0", "--max-runtime-s", "120"};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.term_grace_ms = 2000;
    auto ready = spawn_ready(std::move(spec), 10000);
    EXPECT_TRUE(ready.ok()) << (ready.ok() ? "" : ready.error().message());
    return ready.ok() ? std::move(ready).value() : ReadyChild{};
}

// One request on a fresh connection; the whole response (fails the test on an error).
inline RawResponse fetch(std::uint16_t port, std::string_view method, std::string_view target,
                         std::string_view body = {}, std::vector<std::string> headers = {},
                         int timeout_ms = 10000) {
    auto conn = RawHttpConnection::connect(port);
    EXPECT_TRUE(conn.ok());
    if (!conn.ok()) {
        return {};
    }
    EXPECT_TRUE(conn->send_request(method, target, body, headers).ok());
    auto r = conn->read_response(timeout_ms, method == "HEAD");
    EXPECT_TRUE(r.ok()) << method << " " << target << ": " << (r.ok() ? "" : r.error().message());
    return r.ok() ? std::move(r).value() : RawResponse{};
}

// Lines of an NDJSON body, each without its '\n'; the body must end with '\n'.
inline std::vector<std::string> ndjson_lines(const std::string& body) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < body.size()) {
        std::size_t nl = body.find('\n', start);
        EXPECT_NE(nl, std::string::npos) << "NDJSON body must end with a newline";
        if (nl == std::string::npos) {
            break;
        }
        lines.push_back(body.substr(start, nl - start));
        start = nl + 1;
    }
    return lines;
}

// SSE events of a body: each event's "data:" payload (a "data: " prefix is stripped). Comment
// lines (":...") are collected separately. Every event must end with a blank line.
struct SseParse {
    std::vector<std::string> data;
    std::vector<std::string> comments;
};

inline SseParse sse_parse(const std::string& body) {
    SseParse out;
    std::size_t start = 0;
    while (start < body.size()) {
        std::size_t nl = body.find('\n', start);
        EXPECT_NE(nl, std::string::npos) << "SSE line without newline";
        if (nl == std::string::npos) {
            break;
        }
        std::string_view line(body.data() + start, nl - start);
        start = nl + 1;
        if (line.empty()) {
            continue;
        }
        if (line.starts_with(":")) {
            out.comments.emplace_back(line);
            continue;
        }
        EXPECT_TRUE(line.starts_with("data: ")) << line;
        out.data.emplace_back(line.substr(6));
        EXPECT_TRUE(start < body.size() && body[start] == '\n')
            << "each data line is followed by a blank line";
    }
    return out;
}

// A parsed JSON document that owns its parser (simdjson's DOM points into the parser).
struct Json {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    bool ok = false;

    explicit Json(const std::string& text) {
        ok = parser.parse(simdjson::padded_string(text)).get(root) == simdjson::SUCCESS;
        EXPECT_TRUE(ok) << "not JSON: " << text;
    }
    Json(const Json&) = delete;
    Json& operator=(const Json&) = delete;

    bool has(std::string_view key) const {
        simdjson::dom::element e;
        return ok && root[key].get(e) == simdjson::SUCCESS;
    }
    std::string str(std::string_view pointer) const {
        std::string_view v;
        return ok && root.at_pointer(pointer).get_string().get(v) == simdjson::SUCCESS
                   ? std::string(v)
                   : std::string("<missing ") + std::string(pointer) + ">";
    }
    std::int64_t num(std::string_view pointer) const {
        std::int64_t v = 0;
        if (!ok || root.at_pointer(pointer).get_int64().get(v) != simdjson::SUCCESS) {
            return -999999;  // missing or not an integer: never equal to a counted value
        }
        return v;
    }
    int boolean(std::string_view pointer) const {  // 1, 0, or -1 when missing
        bool v = false;
        return ok && root.at_pointer(pointer).get_bool().get(v) == simdjson::SUCCESS ? (v ? 1 : 0)
                                                                                     : -1;
    }
    bool is_null(std::string_view pointer) const {
        simdjson::dom::element e;
        return ok && root.at_pointer(pointer).get(e) == simdjson::SUCCESS && e.is_null();
    }
};

// One counter from GET /_fake/stats.
inline std::int64_t fake_stat(std::uint16_t port, std::string_view name) {
    RawResponse r = fetch(port, "GET", "/_fake/stats");
    Json j(r.body);
    return j.num("/" + std::string(name));
}

inline std::int64_t ms_between(TestClock::time_point a, TestClock::time_point b) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

}  // namespace pylon::test
