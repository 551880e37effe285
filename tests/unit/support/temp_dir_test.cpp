#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "tests/support/test_env.hpp"

namespace pylon::test {
namespace {

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

TEST(TempDir, CreatesAPrivateDirectoryAndRemovesItRecursively) {
    std::string path;
    {
        auto dir = TempDir::create("pylon-tempdir-test");
        ASSERT_TRUE(dir.ok()) << dir.error().message();
        path = dir->path();
        EXPECT_TRUE(path.starts_with("/tmp/pylon-tempdir-test-"));
        struct stat st {};
        ASSERT_EQ(::stat(path.c_str(), &st), 0);
        EXPECT_TRUE(S_ISDIR(st.st_mode));
        EXPECT_EQ(st.st_mode & 0777, 0700u);
        ASSERT_EQ(::mkdir(dir->file("sub").c_str(), 0700), 0);
        ASSERT_TRUE(write_file(dir->file("sub/a.txt"), "hello").ok());
        auto content = read_file(dir->file("sub/a.txt"));
        ASSERT_TRUE(content.ok());
        EXPECT_EQ(*content, "hello");
    }
    EXPECT_FALSE(exists(path));
}

TEST(TempDir, MoveTransfersOwnership) {
    auto a = TempDir::create();
    ASSERT_TRUE(a.ok());
    std::string path = a->path();
    {
        TempDir b = std::move(a).value();
        EXPECT_EQ(b.path(), path);
        EXPECT_TRUE(exists(path));
    }
    EXPECT_FALSE(exists(path));
}

}  // namespace
}  // namespace pylon::test
