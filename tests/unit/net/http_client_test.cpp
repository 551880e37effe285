// The pure part of HttpClient: the request head writer (the exchange itself is tested against
// real servers in tests/integration/http_client_test.cpp).
#include "net/http_client.hpp"

#include <gtest/gtest.h>

namespace pylon::net {
namespace {

TEST(HttpRequestHead, PostWithJsonBody) {
    HttpRequest r;
    r.method = "POST";
    r.target = "/api/generate";
    r.body = "{\"model\":\"m\"}";
    r.headers.emplace_back("Accept", "application/x-ndjson");
    auto head = write_request_head(r, "127.0.0.1:11434");
    ASSERT_TRUE(head.ok());
    EXPECT_EQ(*head,
              "POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1:11434\r\nUser-Agent: pylon/0.1\r\n"
              "Content-Type: application/json\r\nContent-Length: 13\r\n"
              "Accept: application/x-ndjson\r\n\r\n");
}

TEST(HttpRequestHead, GetHasNoLengthPostAlwaysHasOne) {
    HttpRequest g;
    auto head = write_request_head(g, "h");
    ASSERT_TRUE(head.ok());
    EXPECT_EQ(head->find("Content-Length"), std::string::npos);
    HttpRequest p;
    p.method = "POST";
    head = write_request_head(p, "h");
    ASSERT_TRUE(head.ok());
    EXPECT_NE(head->find("Content-Length: 0\r\n"), std::string::npos);
}

TEST(HttpRequestHead, InjectionIsRefused) {
    HttpRequest r;
    r.headers.emplace_back("X", "a\r\nEvil: 1");
    EXPECT_EQ(write_request_head(r, "h").error().code(), Errc::invalid_input);
    HttpRequest t;
    t.target = "/a b";
    EXPECT_FALSE(write_request_head(t, "h").ok());
    HttpRequest n;
    n.target = "no-slash";
    EXPECT_FALSE(write_request_head(n, "h").ok());
    HttpRequest m;
    m.method = "GE T";
    EXPECT_FALSE(write_request_head(m, "h").ok());
    HttpRequest hn;
    hn.headers.emplace_back("Bad Name", "v");
    EXPECT_FALSE(write_request_head(hn, "h").ok());
    EXPECT_FALSE(write_request_head(HttpRequest{}, "h\r\nX: y").ok());
}

}  // namespace
}  // namespace pylon::net
