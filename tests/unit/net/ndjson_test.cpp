#include "net/ndjson.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/net/parser_test_util.hpp"

namespace pylon::net {
namespace {

using testutil::span_of;

std::vector<std::string> split(std::string_view wire, std::size_t piece, std::size_t max,
                               bool* failed = nullptr) {
    NdjsonSplitter s(max);
    std::vector<std::string> out;
    for (std::size_t off = 0; off < wire.size(); off += piece) {
        s.feed(span_of(wire.substr(off, piece)));
        for (;;) {
            auto r = s.next();
            if (!r.ok()) {
                if (failed != nullptr) {
                    *failed = true;
                }
                return out;
            }
            if (!*r) {
                break;
            }
            out.emplace_back(**r);
        }
    }
    auto last = s.finish();
    if (last.ok() && *last) {
        out.emplace_back(**last);
    }
    return out;
}

TEST(NdjsonSplitter, SplitsAtEveryBoundary) {
    const std::string wire =
        "{\"response\":\"Hi\",\"done\":false}\n\n{\"response\":\" there\"}\r\n{\"done\":true}\n";
    for (std::size_t piece = 1; piece <= wire.size(); piece++) {
        auto lines = split(wire, piece, 1024);
        ASSERT_EQ(lines.size(), 3u) << piece;
        EXPECT_EQ(lines[0], "{\"response\":\"Hi\",\"done\":false}");
        EXPECT_EQ(lines[1], "{\"response\":\" there\"}");
        EXPECT_EQ(lines[2], "{\"done\":true}");
    }
}

TEST(NdjsonSplitter, WholeLinesAreViewsIntoTheInput) {
    NdjsonSplitter s;
    std::string wire = "{\"a\":1}\n{\"b\":2}\n";
    s.feed(span_of(wire));
    auto r = s.next();
    ASSERT_TRUE(r.ok() && *r);
    EXPECT_EQ((*r)->data(), wire.data());
    EXPECT_EQ(s.buffered_bytes(), 0u);
}

TEST(NdjsonSplitter, LastLineWithoutNewlineAtFinish) {
    auto lines = split("{\"a\":1}\n{\"b\":2}", 3, 100);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[1], "{\"b\":2}");
}

TEST(NdjsonSplitter, OversizedLineFailsWithoutGrowing) {
    bool failed = false;
    auto lines =
        split("{\"ok\":1}\n" + std::string(5000, 'x') + "\n{\"after\":1}\n", 64, 1000, &failed);
    EXPECT_TRUE(failed);
    ASSERT_EQ(lines.size(), 1u);
    failed = false;
    split(std::string(5000, 'y'), 5000, 1000, &failed);  // no newline at all
    EXPECT_TRUE(failed);
}

TEST(NdjsonSplitter, HostileBytesPassThroughUnjudged) {
    std::string wire("\x00\xff\x7f\n\n\n\r\n\xc0\n", 10);
    auto lines = split(wire, 1, 100);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0], std::string("\x00\xff\x7f", 3));
    EXPECT_EQ(lines[1], "\xc0");
}

}  // namespace
}  // namespace pylon::net
