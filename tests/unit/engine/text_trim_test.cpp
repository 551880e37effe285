#include "engine/text_trim.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "proto/digest.hpp"

namespace pylon::engine {
namespace {

// RssFile of this process, in KiB (/proc/self/status).
long rss_file_kib() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("RssFile:", 0) == 0) {
            return std::stol(line.substr(8));
        }
    }
    return -1;
}

// Relocated read-only data (RELRO: a table of pointers, a vtable) and a written global must
// survive the trim: it only touches segments the loader never wrote.
const char* const relocated_names[] = {"alpha", "beta", "gamma"};
int written_global = 0;

struct Shape {
    virtual ~Shape() = default;
    virtual int sides() const = 0;
};
struct Square : Shape {
    int sides() const override { return 4; }
};

TEST(TextTrim, DropsReadOnlyPagesAndEverythingStillWorks) {
    written_global = 41;
    long before = rss_file_kib();
    ASSERT_GT(before, 0);
    TextTrimReport r = trim_loaded_text();
    long after = rss_file_kib();
    EXPECT_EQ(r.error, 0);
    EXPECT_GE(r.segments, 4u);  // at least this test binary's and libc's text and rodata
    EXPECT_GT(r.bytes, 1024u * 1024u);
    EXPECT_LT(after, before) << "RssFile " << before << " -> " << after << " KiB";

    // Code and data of the binary and its libraries fault back in, with the same bytes.
    written_global++;
    EXPECT_EQ(written_global, 42);
    EXPECT_STREQ(relocated_names[1], "beta");
    std::unique_ptr<Shape> shape = std::make_unique<Square>();
    EXPECT_EQ(shape->sides(), 4);
    std::vector<std::string> words{"pear", "apple", "fig"};
    std::sort(words.begin(), words.end());
    EXPECT_EQ(words.front(), "apple");
    char text[32];
    std::snprintf(text, sizeof text, "%d-%s", 7, relocated_names[2]);
    EXPECT_STREQ(text, "7-gamma");
    // libcrypto's assembly (SHA-256 of "abc", FIPS 180-2 vector).
    auto digest = proto::sha256(std::string_view("abc"));
    EXPECT_EQ(digest[0], 0xba);
    EXPECT_EQ(digest[31], 0xad);
}

TEST(TextTrim, IsIdempotent) {
    TextTrimReport first = trim_loaded_text();
    TextTrimReport second = trim_loaded_text();
    EXPECT_EQ(first.segments, second.segments);
    EXPECT_EQ(first.bytes, second.bytes);
    EXPECT_EQ(second.error, 0);
}

}  // namespace
}  // namespace pylon::engine
