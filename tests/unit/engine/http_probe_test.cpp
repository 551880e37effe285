#include "engine/http_probe.hpp"

#include <gtest/gtest.h>

namespace pylon::engine {
namespace {

TEST(HttpProbe, ParsesLoopbackHealthUrls) {
    auto t = parse_probe_url("http://127.0.0.1:8080/health");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->endpoint.host, "127.0.0.1");
    EXPECT_EQ(t->endpoint.port, 8080);
    EXPECT_EQ(t->path, "/health");
    t = parse_probe_url("http://localhost");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->endpoint.host, "127.0.0.1");
    EXPECT_EQ(t->endpoint.port, 80);
    EXPECT_EQ(t->path, "/");
    t = parse_probe_url("http://[::1]:9000/ready?x=1");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->endpoint.host, "::1");
    EXPECT_EQ(t->endpoint.port, 9000);
    EXPECT_EQ(t->path, "/ready?x=1");
}

TEST(HttpProbe, RefusesWhatItCannotProbe) {
    EXPECT_FALSE(parse_probe_url("https://127.0.0.1/health").ok());
    EXPECT_FALSE(parse_probe_url("http://example.com/health").ok());
    EXPECT_FALSE(parse_probe_url("http://127.0.0.1:0/health").ok());
    EXPECT_FALSE(parse_probe_url("http://127.0.0.1:99999/").ok());
}

}  // namespace
}  // namespace pylon::engine
