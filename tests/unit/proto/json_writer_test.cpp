// JsonWriter: the exact NIP-01 escape set (short forms, lowercase \u00XX, '/', DEL and non-ASCII
// verbatim), comma placement, sizes computed without writing, prefix fitting at code points.
#include "proto/json_writer.hpp"

#include <gtest/gtest.h>

#include <cstdio>

namespace pylon::proto {
namespace {

std::string escaped(std::string_view s) {
    std::string out;
    json_append_string(out, s);
    EXPECT_EQ(out.size(), json_string_bytes(s));
    return out;
}

TEST(JsonWriter, Nip01Escapes) {
    EXPECT_EQ(escaped("a\nb\"c\\d\re\tf\bg\fh"), R"("a\nb\"c\\d\re\tf\bg\fh")");
    EXPECT_EQ(escaped(std::string("\x00\x01\x1f", 3)), R"("\u0000\u0001\u001f")");
    EXPECT_EQ(escaped("\x0b\x1b"), R"("\u000b\u001b")");
    EXPECT_EQ(escaped("/ </script>"), R"("/ </script>")");
    EXPECT_EQ(escaped("\x7f"), "\"\x7f\"");
    EXPECT_EQ(escaped("caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\xa4\x96"),
              "\"caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\xa4\x96\"");
    EXPECT_EQ(escaped(""), "\"\"");
    for (int c = 0; c < 0x20; ++c) {
        std::string s(1, static_cast<char>(c));
        std::string q = escaped(s);
        EXPECT_TRUE(q.size() == 4 || q.size() == 8) << c;  // "\x" or "\u00xx"
    }
}

// A byte-at-a-time reference for the word-at-a-time scanner.
std::string reference_escape(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        switch (c) {
            case '\n':
                out += "\\n";
                break;
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                if (u < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", u);
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

TEST(JsonWriter, EscapesAtEveryWordOffset) {
    const char specials[] = {'"', '\\', '\n', '\x01', '\x1f', '\x7f', '\x20', '\x80', '/'};
    for (size_t len = 0; len <= 24; ++len) {
        for (size_t pos = 0; pos < len; ++pos) {
            for (char sp : specials) {
                std::string s(len, 'a');
                s[pos] = sp;
                EXPECT_EQ(escaped(s), reference_escape(s)) << len << " " << pos;
                std::string t(len, '\xc3');  // high bytes everywhere else
                t[pos] = sp;
                EXPECT_EQ(escaped(t), reference_escape(t)) << len << " " << pos;
            }
        }
    }
}

TEST(JsonWriter, StructureAndNumbers) {
    std::string out;
    JsonWriter w(out);
    w.begin_array();
    w.string("EVENT");
    w.begin_object();
    w.field("a", "x");
    w.field_int("n", -5);
    w.key("u");
    w.uint64(18446744073709551615u);
    w.key("f");
    w.number(0.7);
    w.key("b");
    w.boolean(false);
    w.key("z");
    w.null();
    w.key("e");
    w.begin_array();
    w.end_array();
    w.end_object();
    w.raw("[1,2]");
    w.end_array();
    EXPECT_EQ(out, R"(["EVENT",{"a":"x","n":-5,"u":18446744073709551615,"f":0.7,"b":false,)"
                   R"("z":null,"e":[]},[1,2]])");
    EXPECT_EQ(w.depth(), 0u);
    EXPECT_EQ(json_int_bytes(-5), 2u);
    EXPECT_EQ(json_int_bytes(1700000000), 10u);
}

TEST(JsonWriter, PrefixFitting) {
    EXPECT_EQ(json_string_prefix_bytes("abc", 5), 3u);
    EXPECT_EQ(json_string_prefix_bytes("abc", 4), 2u);
    EXPECT_EQ(json_string_prefix_bytes("abc", 2), 0u);
    EXPECT_EQ(json_string_prefix_bytes("abc", 1), 0u);
    EXPECT_EQ(json_string_prefix_bytes("a\"b", 4), 1u);  // the quote needs 2 bytes
    EXPECT_EQ(json_string_prefix_bytes("a\"b", 5), 2u);
    EXPECT_EQ(json_string_prefix_bytes("\xc3\xa9\xc3\xa9", 5), 2u);  // never half an é
    EXPECT_EQ(json_string_prefix_bytes("\xc3\xa9\xc3\xa9", 4), 2u);
    EXPECT_EQ(json_string_prefix_bytes("\xc3\xa9\xc3\xa9", 3), 0u);
    EXPECT_EQ(json_string_prefix_bytes(std::string(1, '\x01'), 7), 0u);
    EXPECT_EQ(json_string_prefix_bytes(std::string(1, '\x01'), 8), 1u);
}

}  // namespace
}  // namespace pylon::proto
