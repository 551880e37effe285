// `pylon start --foreground` runs its shards until SIGINT or SIGTERM and then exits 0.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

namespace pylon {
namespace {

void start_then_signal(int sig, const char* shards) {
    auto home = test::TempDir::create("pylon-start");
    ASSERT_TRUE(home.ok());
    // The node's identity (what `pylon init` writes): a BIP-39 test phrase.
    std::string id = home->file("identity.mnemonic");
    ASSERT_TRUE(test::write_file(id,
                                 "abandon abandon abandon abandon abandon abandon abandon "
                                 "abandon abandon abandon abandon about\n")
                    .ok());
    ::chmod(id.c_str(), 0600);
    test::ChildSpec spec;
    spec.argv = {test::tool_path("pylon"),
                 "start",
                 "--foreground",
                 "--shards",
                 shards,
                 "--home",
                 home->path()};
    auto child = test::ChildProcess::spawn(spec);
    ASSERT_TRUE(child.ok()) << child.error().message();
    auto& p = *child.value();
    auto line = p.wait_for_line("", 10'000, test::Stream::err);
    ASSERT_TRUE(line.has_value()) << p.describe();
    ASSERT_TRUE(p.wait_for_line(std::regex("started on"), 10'000, test::Stream::err).has_value())
        << p.describe();
    ASSERT_TRUE(p.signal(sig).ok());
    auto exit = p.wait_exit(10'000);
    ASSERT_TRUE(exit.has_value()) << "did not stop after the signal\n" << p.describe();
    EXPECT_TRUE(exit->exited) << p.describe();
    EXPECT_EQ(exit->code, 0) << p.describe();
}

TEST(PylonStart, SigtermStopsCleanlyWithTwoShards) {
    start_then_signal(SIGTERM, "2");
}
TEST(PylonStart, SigintStopsCleanlyWithOneShard) {
    start_then_signal(SIGINT, "1");
}

TEST(PylonStart, RejectsABadShardCount) {
    auto home = test::TempDir::create("pylon-start");
    ASSERT_TRUE(home.ok());
    test::ChildSpec spec;
    spec.argv = {test::tool_path("pylon"),
                 "start",
                 "--foreground",
                 "--shards",
                 "many",
                 "--home",
                 home->path()};
    auto child = test::ChildProcess::spawn(spec);
    ASSERT_TRUE(child.ok());
    auto exit = child.value()->wait_exit(10'000);
    ASSERT_TRUE(exit.has_value());
    EXPECT_EQ(exit->code, 2);
}

}  // namespace
}  // namespace pylon
