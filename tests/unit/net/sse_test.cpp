#include "net/sse.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/net/parser_test_util.hpp"

namespace pylon::net {
namespace {

using testutil::span_of;

struct Ev {
    std::string type;
    std::string data;
    bool done;
};

std::vector<Ev> parse(std::string_view wire, std::size_t piece, std::size_t max = 4096,
                      bool* failed = nullptr, std::size_t* comments = nullptr) {
    SseParser p(max);
    std::vector<Ev> out;
    for (std::size_t off = 0; off < wire.size(); off += piece) {
        p.feed(span_of(wire.substr(off, piece)));
        for (;;) {
            auto r = p.next();
            if (!r.ok()) {
                if (failed != nullptr) {
                    *failed = true;
                }
                return out;
            }
            if (!*r) {
                break;
            }
            out.push_back(Ev{std::string((*r)->type), std::string((*r)->data), (*r)->done});
        }
    }
    if (comments != nullptr) {
        *comments = p.comments_seen();
    }
    return out;
}

TEST(SseParser, LlamaServerStreamAtEverySplit) {
    const std::string wire =
        "data: {\"content\":\"Hi\",\"stop\":false}\n\n"
        ": ping\n\n"
        "data: {\"content\":\"!\",\"stop\":false}\r\n\r\n"
        "event: last\ndata: {\"stop\":true}\n\n"
        "data: [DONE]\n\n";
    for (std::size_t piece = 1; piece <= wire.size(); piece++) {
        std::size_t comments = 0;
        auto ev = parse(wire, piece, 4096, nullptr, &comments);
        ASSERT_EQ(ev.size(), 4u) << piece;
        EXPECT_EQ(ev[0].data, "{\"content\":\"Hi\",\"stop\":false}");
        EXPECT_EQ(ev[1].data, "{\"content\":\"!\",\"stop\":false}");
        EXPECT_EQ(ev[2].type, "last");
        EXPECT_EQ(ev[2].data, "{\"stop\":true}");
        EXPECT_TRUE(ev[3].done);
        EXPECT_FALSE(ev[2].done);
        EXPECT_EQ(comments, 1u);
    }
}

TEST(SseParser, MultiLineDataAndFieldRules) {
    auto ev = parse("data:a\ndata: b\ndata:  c\nid: 7\nretry: 100\nfoo: bar\nevent: x\n\n", 5);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].data, "a\nb\n c");
    EXPECT_EQ(ev[0].type, "x");
    // A blank line without data dispatches nothing and forgets the event type.
    ev = parse("event: lonely\n\ndata: z\n\n", 3);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].type, "");
    EXPECT_EQ(ev[0].data, "z");
    // "data" without a colon is an empty data line; an event without a final blank line is
    // not dispatched.
    ev = parse("data\n\ndata: tail", 4);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].data, "");
    // A byte-order mark at the start is ignored.
    ev = parse(
        "\xEF\xBB\xBF"
        "data: bom\n\n",
        1);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].data, "bom");
}

TEST(SseParser, OversizedEventsFail) {
    bool failed = false;
    parse("data: " + std::string(5000, 'x') + "\n\n", 100, 1000, &failed);
    EXPECT_TRUE(failed);
    failed = false;
    std::string many;
    for (int i = 0; i < 200; i++) {
        many += "data: 0123456789\n";
    }
    parse(many + "\n", 64, 1000, &failed);
    EXPECT_TRUE(failed);
    failed = false;
    parse(std::string(3000, ':'), 3000, 1000, &failed);  // an endless comment line
    EXPECT_TRUE(failed);
}

}  // namespace
}  // namespace pylon::net
