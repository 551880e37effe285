#include "net/tcp.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <string>
#include <vector>

#include "net/resolver.hpp"
#include "net/socket_stream.hpp"
#include "reactor/gate.hpp"
#include "reactor/ops.hpp"
#include "tests/unit/net/net_test_util.hpp"

namespace pylon::net {
namespace {

using reactor::Task;
using testutil::Listener;

// Accepts one connection and echoes everything back until EOF.
Task<void> echo_server(int listen_fd) {
    int fd = co_await reactor::accept(listen_fd, nullptr, nullptr);
    EXPECT_GE(fd, 0);
    if (fd < 0) {
        co_return;
    }
    SocketStream s(fd, "client");
    for (;;) {
        Result<Bytes> got = co_await s.read(5000);
        if (!got.ok() || got->empty()) {
            break;
        }
        std::string copy(as_text(*got));
        Status w = co_await s.write(as_bytes(copy), 5000);
        EXPECT_TRUE(w.ok());
    }
    (void)co_await s.flush(5000, {});
    co_await s.close();
}

TEST(Tcp, EchoesLargePayloadBothWays) {
    Listener l;
    testutil::listen_loopback(l);
    ASSERT_GE(l.fd, 0);
    const std::string sent = testutil::pattern(3 * 1024 * 1024 + 17);
    std::string got;
    testutil::run([&]() -> Task<void> {
        return
            [](int lfd, std::uint16_t port, const std::string* out, std::string* in) -> Task<void> {
                reactor::Gate gate;
                gate.spawn(echo_server(lfd));
                TcpOptions opt;
                opt.stream.send_queue_bytes_max = 256 * 1024;
                auto s = co_await tcp_connect("127.0.0.1", port, nullptr, opt);
                EXPECT_TRUE(s.ok());
                if (s.ok()) {
                    auto& stream = **s;
                    EXPECT_EQ(stream.peer_name(), "127.0.0.1:" + std::to_string(port));
                    // Write and read concurrently: the echo fills both directions.
                    struct Writer {
                        static Task<void> run(SocketStream* st, const std::string* data) {
                            Status w = co_await st->write(as_bytes(*data), 10000);
                            EXPECT_TRUE(w.ok()) << (w.ok() ? "" : w.error().message());
                            EXPECT_TRUE((co_await st->flush(10000, {})).ok());
                        }
                    };
                    reactor::Gate writer;
                    writer.spawn(Writer::run(&stream, out));
                    while (in->size() < out->size()) {
                        Result<Bytes> r = co_await stream.read(10000);
                        EXPECT_TRUE(r.ok() && !r->empty());
                        if (!r.ok() || r->empty()) {
                            break;
                        }
                        in->append(as_text(*r));
                    }
                    co_await writer.close();
                    EXPECT_EQ(stream.bytes_sent(), out->size());
                    co_await stream.close();
                }
                co_await gate.close();
            }(l.fd, l.port, &sent, &got);
    });
    EXPECT_TRUE(got == sent) << "echoed " << got.size() << " of " << sent.size() << " bytes";
}

TEST(Tcp, RefusedConnectionNamesThePeer) {
    std::uint16_t port = 0;
    {
        Listener l;
        testutil::listen_loopback(l);
        port = l.port;
    }  // closed: nothing listens there now
    std::string message;
    Errc code = Errc::internal;
    testutil::run([&]() -> Task<void> {
        return [](std::uint16_t p, std::string* msg, Errc* c) -> Task<void> {
            auto s = co_await tcp_connect("127.0.0.1", p, nullptr);
            EXPECT_FALSE(s.ok());
            if (!s.ok()) {
                *msg = s.error().message();
                *c = s.error().code();
            } else {
                co_await (*s)->close();
            }
        }(port, &message, &code);
    });
    EXPECT_EQ(code, Errc::refused);
    EXPECT_EQ(message, "127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

TEST(Tcp, ConnectTimesOutWhenTheBacklogIsFull) {
    Listener l;
    testutil::listen_loopback(l, AF_INET, 0);
    ASSERT_GE(l.fd, 0);
    int timeouts = 0;
    std::string message;
    testutil::run([&]() -> Task<void> {
        return [](std::uint16_t p, int* n, std::string* msg) -> Task<void> {
            std::vector<std::unique_ptr<SocketStream>> held;
            for (int i = 0; i < 6 && *n == 0; i++) {
                TcpOptions opt;
                opt.connect_timeout_ms = 300;
                auto s = co_await tcp_connect("127.0.0.1", p, nullptr, opt);
                if (s.ok()) {
                    held.push_back(std::move(s).value());
                } else {
                    EXPECT_EQ(s.error().code(), Errc::timeout) << s.error().message();
                    *msg = s.error().message();
                    (*n)++;
                }
            }
            for (auto& h : held) {
                co_await h->close();
            }
        }(l.port, &timeouts, &message);
    });
    EXPECT_EQ(timeouts, 1);
    EXPECT_EQ(message, "127.0.0.1:" + std::to_string(l.port) + ": no connection within 300 ms");
}

TEST(Tcp, Ipv6Loopback) {
    Listener l;
    testutil::listen_loopback(l, AF_INET6);
    if (l.fd < 0) {
        GTEST_SKIP() << "no IPv6 loopback here";
    }
    std::string got;
    testutil::run([&]() -> Task<void> {
        return [](int lfd, std::uint16_t port, std::string* in) -> Task<void> {
            reactor::Gate gate;
            gate.spawn(echo_server(lfd));
            auto s = co_await tcp_connect("::1", port, nullptr);
            EXPECT_TRUE(s.ok());
            if (s.ok()) {
                EXPECT_EQ((*s)->peer_name(), "[::1]:" + std::to_string(port));
                EXPECT_TRUE((co_await (*s)->write(as_bytes("hello v6"))).ok());
                Result<Bytes> r = co_await (*s)->read(5000);
                if (r.ok()) {
                    in->assign(as_text(*r));
                }
                co_await (*s)->close();
            }
            co_await gate.close();
        }(l.fd, l.port, &got);
    });
    EXPECT_EQ(got, "hello v6");
}

TEST(Tcp, ConnectByNameThroughTheResolver) {
    Listener l;
    testutil::listen_loopback(l);
    ASSERT_GE(l.fd, 0);
    Resolver resolver;
    std::string got;
    testutil::run([&]() -> Task<void> {
        return [](int lfd, std::uint16_t port, Resolver* r, std::string* in) -> Task<void> {
            reactor::Gate gate;
            gate.spawn(echo_server(lfd));
            // "localhost" may list ::1 first (refused: nobody listens there): the next one wins.
            auto s = co_await tcp_connect("localhost", port, r);
            EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message());
            if (s.ok()) {
                EXPECT_EQ((*s)->peer_name(), "localhost:" + std::to_string(port));
                EXPECT_TRUE((co_await (*s)->write(as_bytes("by name"))).ok());
                Result<Bytes> rd = co_await (*s)->read(5000);
                if (rd.ok()) {
                    in->assign(as_text(*rd));
                }
                co_await (*s)->close();
            }
            co_await gate.close();
        }(l.fd, l.port, &resolver, &got);
    });
    EXPECT_EQ(got, "by name");
}

// public_only: however a loopback host is written (a name, 127.1, a decimal number, ::1), no
// connection is made; the listener never sees one.
TEST(Tcp, PublicOnlyRefusesLoopbackHostsHoweverWritten) {
    Listener l;
    testutil::listen_loopback(l);
    ASSERT_GE(l.fd, 0);
    Resolver resolver;
    std::vector<std::string> errors;
    testutil::run([&]() -> Task<void> {
        return [](std::uint16_t port, Resolver* r, std::vector<std::string>* out) -> Task<void> {
            TcpOptions o;
            o.public_only = true;
            for (const char* host : {"localhost", "127.1", "2130706433", "127.0.0.1", "[::1]"}) {
                auto s = co_await tcp_connect(host, port, r, o, reactor::CancelToken{});
                EXPECT_FALSE(s.ok()) << host;
                out->push_back(s.ok() ? std::string("connected") : s.error().message());
                if (s.ok()) {
                    co_await (*s)->close();
                }
            }
        }(l.port, &resolver, &errors);
    });
    ASSERT_EQ(errors.size(), 5u);
    for (const std::string& e : errors) {
        EXPECT_NE(e.find("a loopback or private address, not allowed here"), std::string::npos)
            << e;
    }
    // Nothing reached the listener: its backlog is empty.
    pollfd p{l.fd, POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, 0), 0);
}

}  // namespace
}  // namespace pylon::net
