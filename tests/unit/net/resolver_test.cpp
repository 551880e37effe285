#include "net/resolver.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "reactor/gate.hpp"
#include "tests/unit/net/net_test_util.hpp"

namespace pylon::net {
namespace {

using reactor::Task;

TEST(Resolver, NumericHostsSkipTheThreadAndNamesResolve) {
    Resolver resolver;
    std::vector<Address> numeric;
    std::vector<Address> named;
    testutil::run([&]() -> Task<void> {
        return [](Resolver* r, std::vector<Address>* num, std::vector<Address>* nam) -> Task<void> {
            auto a = co_await r->resolve("[::1]", 80);
            EXPECT_TRUE(a.ok());
            if (a.ok()) {
                *num = *a;
            }
            auto b = co_await r->resolve("localhost", 8080);
            EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.error().message());
            if (b.ok()) {
                *nam = *b;
            }
        }(&resolver, &numeric, &named);
    });
    ASSERT_EQ(numeric.size(), 1u);
    EXPECT_EQ(numeric[0].to_string(), "[::1]:80");
    ASSERT_FALSE(named.empty());
    bool loopback = false;
    for (const Address& a : named) {
        EXPECT_EQ(a.port(), 8080);
        loopback |= a.to_string() == "127.0.0.1:8080" || a.to_string() == "[::1]:8080";
    }
    EXPECT_TRUE(loopback);
}

TEST(Resolver, UnknownNameIsADnsErrorOrTimeout) {
    ResolverOptions opt;
    opt.resolve_timeout_ms = 3000;
    Resolver resolver(opt);
    Errc code = Errc::internal;
    std::string message;
    testutil::run([&]() -> Task<void> {
        return [](Resolver* r, Errc* c, std::string* m) -> Task<void> {
            auto a = co_await r->resolve("no-such-host.invalid", 80);
            EXPECT_FALSE(a.ok());
            if (!a.ok()) {
                *c = a.error().code();
                *m = a.error().message();
            }
        }(&resolver, &code, &message);
    });
    EXPECT_TRUE(code == Errc::dns || code == Errc::timeout) << message;
    EXPECT_EQ(message.rfind("no-such-host.invalid: ", 0), 0u) << message;
}

TEST(Resolver, QueueBoundRefusesExcessRequests) {
    ResolverOptions opt;
    opt.requests_queued_max = 1;
    opt.resolve_timeout_ms = 3000;
    Resolver resolver(opt);
    int busy = 0;
    testutil::run([&]() -> Task<void> {
        return [](Resolver* r, int* b) -> Task<void> {
            // Many at once from one shard: with a queue of one, some must be refused as busy.
            struct One {
                static Task<void> go(Resolver* rr, int* bb) {
                    auto a = co_await rr->resolve("localhost", 1);
                    if (!a.ok() && a.error().code() == Errc::busy) {
                        (*bb)++;
                    }
                }
            };
            reactor::Gate gate;
            for (int i = 0; i < 8; i++) {
                gate.spawn(One::go(r, b));
            }
            co_await gate.close();
        }(&resolver, &busy);
    });
    EXPECT_GE(busy, 1);
}

// The names of this process's threads, from /proc/self/task/*/comm.
std::vector<std::string> thread_names() {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task", ec)) {
        std::ifstream comm(entry.path() / "comm");
        std::string name;
        std::getline(comm, name);
        names.push_back(name);
    }
    return names;
}

TEST(Resolver, ItsThreadHasItsOwnName) {
    // A thread inherits its creator's name: made on a shard, the resolver's thread would be
    // listed as that shard (top -H, pylon-bench's CPU split by thread name).
    Resolver resolver;
    bool named = false;
    for (int i = 0; i < 200 && !named; i++) {  // the thread names itself as it starts: <= 2 s
        for (const std::string& name : thread_names()) {
            named |= name == Resolver::thread_name;
        }
        if (!named) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    EXPECT_TRUE(named);
}

}  // namespace
}  // namespace pylon::net
