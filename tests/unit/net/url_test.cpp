#include "net/url.hpp"

#include <gtest/gtest.h>

namespace pylon::net {
namespace {

TEST(Url, ParsesWsAndWss) {
    auto a = parse_ws_url("ws://127.0.0.1:8080/echo?x=1&y=2");
    ASSERT_TRUE(a.ok());
    EXPECT_FALSE(a->secure);
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, 8080);
    EXPECT_EQ(a->target, "/echo?x=1&y=2");
    EXPECT_EQ(a->host_header(), "127.0.0.1:8080");
    auto b = parse_ws_url("WSS://Relay.Example.COM");
    ASSERT_TRUE(b.ok());
    EXPECT_TRUE(b->secure);
    EXPECT_EQ(b->host, "relay.example.com");
    EXPECT_EQ(b->port, 443);
    EXPECT_EQ(b->target, "/");
    EXPECT_EQ(b->host_header(), "relay.example.com");
    EXPECT_EQ(b->endpoint_name(), "relay.example.com:443");
    auto c = parse_ws_url("ws://[::1]:7447?q");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->host, "::1");
    EXPECT_EQ(c->port, 7447);
    EXPECT_EQ(c->target, "/?q");
    EXPECT_EQ(c->host_header(), "[::1]:7447");
    auto d = parse_ws_url("ws://[::1]/");
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->port, 80);
    EXPECT_EQ(d->host_header(), "[::1]");
}

TEST(Url, HostileInputIsRefusedWithAReason) {
    const char* bad[] = {
        "",
        "relay.example.com",
        "http://relay.example.com",
        "ws//x",
        "ws://",
        "ws://:80",
        "ws://host:",
        "ws://host:0",
        "ws://host:65536",
        "ws://host:99999999",
        "ws://host:8a",
        "ws://user@host",
        "ws://user:pw@host/",
        "ws://host/#frag",
        "ws://host/path#frag",
        "ws://[::1",
        "ws://[nothex]/",
        "ws://[127.0.0.1]/",
        "ws://[::1]x/",
        "ws://ho st/",
        "ws://host/pa th",
        "ws://host/\x7f",
        "ws://h\xc3\xa9st/",
        "ws://host/\xff",
    };
    for (const char* text : bad) {
        auto r = parse_ws_url(text);
        EXPECT_FALSE(r.ok()) << text;
        if (!r.ok()) {
            EXPECT_EQ(r.error().code(), Errc::invalid_input);
            EXPECT_EQ(r.error().message().rfind("URL '", 0), 0u) << r.error().message();
        }
    }
    EXPECT_FALSE(parse_ws_url("ws://h/" + std::string(3000, 'a')).ok());
    EXPECT_FALSE(parse_ws_url("ws://" + std::string(300, 'a') + "/").ok());
}

}  // namespace
}  // namespace pylon::net
