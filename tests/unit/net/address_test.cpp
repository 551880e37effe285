#include "net/address.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "net/tcp.hpp"

namespace pylon::net {
namespace {

TEST(Address, NumericHosts) {
    auto v4 = Address::numeric("127.0.0.1", 11434);
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->family(), AF_INET);
    EXPECT_EQ(v4->to_string(), "127.0.0.1:11434");
    auto v6 = Address::numeric("[::1]", 443);
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->family(), AF_INET6);
    EXPECT_EQ(v6->to_string(), "[::1]:443");
    EXPECT_TRUE(Address::numeric("::1", 1));
    EXPECT_FALSE(Address::numeric("localhost", 1));
    EXPECT_FALSE(Address::numeric("[127.0.0.1]", 1));
    EXPECT_FALSE(Address::numeric("", 1));
    EXPECT_FALSE(Address::numeric("1.2.3.4.5", 1));
    EXPECT_FALSE(Address::numeric(std::string(200, '1'), 1));
    EXPECT_TRUE(is_numeric_host("10.0.0.1"));
    EXPECT_FALSE(is_numeric_host("relay.example.com"));
}

TEST(Address, PrivateAddresses) {
    for (const char* host : {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
                             "169.254.0.1", "100.64.0.1", "0.0.0.0", "::1", "::", "fd00::1",
                             "fe80::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"}) {
        auto a = Address::numeric(host, 80);
        ASSERT_TRUE(a.has_value()) << host;
        EXPECT_TRUE(a->is_private()) << host;
    }
    for (const char* host : {"1.1.1.1", "172.32.0.1", "100.128.0.1", "8.8.8.8", "2001:db8::1",
                             "2606:4700::1111", "::ffff:1.1.1.1"}) {
        auto a = Address::numeric(host, 80);
        ASSERT_TRUE(a.has_value()) << host;
        EXPECT_FALSE(a->is_private()) << host;
    }
}

TEST(Address, UnixPathBounds) {
    auto a = Address::unix_path("/tmp/x.sock");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->family(), AF_UNIX);
    EXPECT_EQ(a->to_string(), "/tmp/x.sock");
    EXPECT_FALSE(Address::unix_path(std::string(200, 'a')));
    EXPECT_FALSE(Address::unix_path(""));
}

TEST(Address, HostPortNames) {
    EXPECT_EQ(host_port_name("127.0.0.1", 80), "127.0.0.1:80");
    EXPECT_EQ(host_port_name("::1", 80), "[::1]:80");
    EXPECT_EQ(host_port_name("[::1]", 80), "[::1]:80");
    EXPECT_EQ(host_port_name("relay.example.com", 443), "relay.example.com:443");
}

}  // namespace
}  // namespace pylon::net
