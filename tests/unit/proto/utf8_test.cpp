// Utf8: validation edge cases (overlongs, surrogates, > U+10FFFF, truncation), sanitising for
// signing (U+FFFD replacement, DEL dropped), and code-point-safe prefixes.
#include "proto/utf8.hpp"

#include <gtest/gtest.h>

namespace pylon::proto {
namespace {

std::string sanitize(std::string_view s) {
    std::string out;
    utf8_sanitize_append(out, s);
    EXPECT_TRUE(utf8_signable(out)) << out;
    return out;
}

TEST(Utf8, Validation) {
    EXPECT_TRUE(utf8_valid(""));
    EXPECT_TRUE(utf8_valid("plain \x7f \xc3\xa9 \xe2\x82\xac \xf0\x9f\xa4\x96 \xf4\x8f\xbf\xbf"));
    for (std::string_view bad :
         {"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80",
          "\xf5\x80\x80\x80", "\xff", "\x80", "\xc3", "\xe2\x82", "\xf0\x9f\xa4"}) {
        EXPECT_FALSE(utf8_valid(bad)) << bad;
    }
    EXPECT_FALSE(utf8_signable("a\x7f"));
    EXPECT_TRUE(utf8_signable("a\n\x01"));
}

TEST(Utf8, Sanitize) {
    EXPECT_EQ(sanitize("ok"), "ok");
    EXPECT_EQ(sanitize("a\x7f"
                       "b"),
              "ab");
    EXPECT_EQ(sanitize("a\xff"
                       "b"),
              "a\xef\xbf\xbd"
              "b");
    EXPECT_EQ(sanitize("\xe2\x82"
                       "x"),
              "\xef\xbf\xbd"
              "x");                                       // truncated sequence
    EXPECT_EQ(sanitize("\xed\xa0\x80"), "\xef\xbf\xbd");  // encoded surrogate: one run
    EXPECT_EQ(sanitize("\xc3\xa9\x7f\xc3"), "\xc3\xa9\xef\xbf\xbd");
}

TEST(Utf8, Prefixes) {
    std::string_view s = "a\xc3\xa9\xf0\x9f\xa4\x96";
    EXPECT_EQ(utf8_prefix_bytes(s, 100), s.size());
    EXPECT_EQ(utf8_prefix_bytes(s, 1), 1u);
    EXPECT_EQ(utf8_prefix_bytes(s, 2), 1u);
    EXPECT_EQ(utf8_prefix_bytes(s, 3), 3u);
    EXPECT_EQ(utf8_prefix_bytes(s, 6), 3u);
    EXPECT_EQ(utf8_prefix_bytes(s, 0), 0u);
    EXPECT_EQ(utf8_code_points(s), 3u);
}

}  // namespace
}  // namespace pylon::proto
