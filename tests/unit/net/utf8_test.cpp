#include "net/utf8.hpp"

#include <gtest/gtest.h>

#include <string>

namespace pylon::net {
namespace {

TEST(Utf8, ValidText) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("plain ascii, long enough for the 8-byte fast path"));
    EXPECT_TRUE(is_valid_utf8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"));  // é € 😀
    EXPECT_TRUE(is_valid_utf8("\xed\x9f\xbf"));                                // U+D7FF
    EXPECT_TRUE(is_valid_utf8("\xee\x80\x80"));                                // U+E000
    EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));                            // U+10FFFF
    EXPECT_TRUE(is_valid_utf8(std::string("a\0b", 3)));
}

TEST(Utf8, HostileSequencesAreRejected) {
    const char* bad[] = {
        "\x80",                 // lone continuation
        "\xbf",                 //
        "\xc0\xaf",             // overlong '/'
        "\xc1\xbf",             // overlong
        "\xe0\x80\xaf",         // overlong 3-byte
        "\xe0\x9f\xbf",         // overlong 3-byte (below U+0800)
        "\xf0\x80\x80\xaf",     // overlong 4-byte
        "\xf0\x8f\xbf\xbf",     // overlong 4-byte (below U+10000)
        "\xed\xa0\x80",         // surrogate U+D800
        "\xed\xbf\xbf",         // surrogate U+DFFF
        "\xf4\x90\x80\x80",     // above U+10FFFF
        "\xf5\x80\x80\x80",     //
        "\xff",                 //
        "\xfe",                 //
        "\xc3",                 // truncated
        "\xe2\x82",             // truncated
        "\xf0\x9f\x98",         // truncated
        "\xc3\x28",             // bad continuation
        "abcdefgh\xc3\x28xyz",  // after the fast path
        "\xe2\x28\xa1",         //
    };
    for (const char* s : bad) {
        EXPECT_FALSE(is_valid_utf8(s)) << ::testing::PrintToString(std::string(s));
    }
}

TEST(Utf8, IncrementalAcrossFragments) {
    const std::string text = "fragment \xf0\x9f\x98\x80 boundary \xe2\x82\xac!";
    for (std::size_t cut = 0; cut <= text.size(); cut++) {
        Utf8Validator v;
        EXPECT_TRUE(v.feed(std::string_view(text).substr(0, cut)));
        EXPECT_TRUE(v.feed(std::string_view(text).substr(cut)));
        EXPECT_TRUE(v.complete()) << cut;
    }
    Utf8Validator v;
    EXPECT_TRUE(v.feed("\xf0\x9f"));
    EXPECT_FALSE(v.complete());
    EXPECT_FALSE(v.feed("\x28"));
    EXPECT_TRUE(v.failed());
    EXPECT_FALSE(v.feed("a"));  // stays failed
}

}  // namespace
}  // namespace pylon::net
