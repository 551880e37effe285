// The whole-file helpers: an atomic replace, and an atomic create that never takes a name
// another file already holds.
#include "reactor/fd_io.hpp"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

namespace pylon {
namespace {

std::vector<std::string> names_in(const std::string& dir) {
    std::vector<std::string> names;
    DIR* d = ::opendir(dir.c_str());
    EXPECT_NE(d, nullptr) << dir;
    if (d == nullptr) {
        return names;
    }
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name != "." && name != "..") {
            names.push_back(name);
        }
    }
    ::closedir(d);
    return names;
}

mode_t mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

TEST(FdIo, ANewFileIsWrittenWhole) {
    auto dir = test::TempDir::create("pylon-fdio");
    ASSERT_TRUE(dir.ok());
    std::string path = dir->file("identity.mnemonic");
    ASSERT_TRUE(write_new_file_atomically(path, "first words\n", 0600).ok());
    EXPECT_EQ(test::read_file(path).value(), "first words\n");
    EXPECT_EQ(mode_of(path), 0600u);
    EXPECT_EQ(names_in(dir->path()), std::vector<std::string>{"identity.mnemonic"});
}

TEST(FdIo, AnExistingNameIsNotTakenAndNothingIsLeftBehind) {
    auto dir = test::TempDir::create("pylon-fdio");
    ASSERT_TRUE(dir.ok());
    std::string path = dir->file("identity.mnemonic");
    ASSERT_TRUE(test::write_file(path, "the winner's words\n").ok());
    Status st = write_new_file_atomically(path, "the loser's words\n", 0600);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code(), Errc::exists) << st.error().message();
    EXPECT_NE(st.error().message().find(path), std::string::npos) << st.error().message();
    EXPECT_EQ(test::read_file(path).value(), "the winner's words\n");
    EXPECT_EQ(names_in(dir->path()), std::vector<std::string>{"identity.mnemonic"})
        << "the temporary file stays behind";
}

// A killed writer's temporary file, under the name this process would use (the same pid, as in
// a container that starts from pid 1 each time), is taken over rather than reported as the
// target existing.
TEST(FdIo, AStaleTemporaryOfTheSamePidIsTakenOver) {
    auto dir = test::TempDir::create("pylon-fdio");
    ASSERT_TRUE(dir.ok());
    std::string path = dir->file("identity.mnemonic");
    std::string stale = path + ".tmp." + std::to_string(::getpid());
    ASSERT_TRUE(test::write_file(stale, "half a phrase").ok());
    Status st = write_new_file_atomically(path, "words\n", 0600);
    ASSERT_TRUE(st.ok()) << st.error().message();
    EXPECT_EQ(test::read_file(path).value(), "words\n");
    EXPECT_EQ(names_in(dir->path()), std::vector<std::string>{"identity.mnemonic"});
}

TEST(FdIo, TheReplacingWriteStillReplaces) {
    auto dir = test::TempDir::create("pylon-fdio");
    ASSERT_TRUE(dir.ok());
    std::string path = dir->file("config.toml");
    ASSERT_TRUE(test::write_file(path, "old\n").ok());
    ASSERT_TRUE(write_file_atomically(path, "new\n", 0640).ok());
    EXPECT_EQ(test::read_file(path).value(), "new\n");
    EXPECT_EQ(mode_of(path), 0640u);
    EXPECT_EQ(names_in(dir->path()), std::vector<std::string>{"config.toml"});
}

}  // namespace
}  // namespace pylon
