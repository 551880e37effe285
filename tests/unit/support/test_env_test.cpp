#include "tests/support/test_env.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/support/temp_dir.hpp"

namespace pylon::test {
namespace {

TEST(TestEnv, FreeLoopbackPortCanBeBound) {
    auto port = free_loopback_port();
    ASSERT_TRUE(port.ok()) << port.error().message();
    EXPECT_GT(*port, 0);
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(*port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
}

TEST(TestEnv, ReadFileBoundsAndErrors) {
    auto dir = TempDir::create();
    ASSERT_TRUE(dir.ok());
    ASSERT_TRUE(write_file(dir->file("f"), std::string(1000, 'x')).ok());
    auto all = read_file(dir->file("f"));
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(all->size(), 1000u);
    auto bounded = read_file(dir->file("f"), 999);
    ASSERT_FALSE(bounded.ok());
    EXPECT_EQ(bounded.error().code(), Errc::too_large);
    auto missing = read_file(dir->file("missing"));
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code(), Errc::not_found);
}

TEST(TestEnv, WaitUntilIsBoundedAndPolls) {
    auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(wait_until([] { return false; }, 100, 10));
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(took, std::chrono::milliseconds(100));
    EXPECT_LT(took, std::chrono::seconds(2));

    std::atomic<bool> flag{false};
    std::thread setter([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        flag = true;
    });
    EXPECT_TRUE(wait_until([&] { return flag.load(); }, 5000, 5));
    setter.join();
}

TEST(TestEnv, PathsPointIntoTheTrees) {
    EXPECT_TRUE(read_file(source_dir() + "/CMakeLists.txt").ok());
    EXPECT_TRUE(tool_path("fake_ollama").starts_with(binary_dir() + "/tools/fake_ollama/"));
    EXPECT_EQ(node_modules_dir(), source_dir() + "/tests/node/node_modules");
    EXPECT_EQ(node_available(), node_unavailable_reason().empty());
    ChildSpec spec = node_script_spec("relay.mjs", {"--port", "0"});
    ASSERT_EQ(spec.argv.size(), 4u);
    EXPECT_EQ(spec.argv[1], source_dir() + "/tests/node/relay.mjs");
    EXPECT_EQ(spec.argv[3], "0");
}

}  // namespace
}  // namespace pylon::test
