// Home::resolve: --home wins over $PYLON_HOME, which wins over ~/.openagents/pylon ($HOME);
// trailing slashes are dropped. ensure_exists creates missing folders 0700 and refuses a file.
#include "engine/home.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

namespace pylon::engine {
namespace {

// Sets (or unsets, for nullptr) an environment variable for one scope.
class EnvVar {
  public:
    EnvVar(const char* name, const char* value) : name_(name) {
        const char* old = std::getenv(name);
        had_ = old != nullptr;
        old_ = had_ ? old : "";
        if (value != nullptr) {
            ::setenv(name, value, 1);
        } else {
            ::unsetenv(name);
        }
    }
    ~EnvVar() {
        if (had_) {
            ::setenv(name_, old_.c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }
    EnvVar(const EnvVar&) = delete;
    EnvVar& operator=(const EnvVar&) = delete;

  private:
    const char* name_;
    bool had_ = false;
    std::string old_;
};

TEST(Home, FlagThenEnvironmentThenHomeFolder) {
    EnvVar home("HOME", "/home/someone");
    {
        EnvVar pylon_home("PYLON_HOME", nullptr);
        EXPECT_EQ(Home::resolve("").value().dir(), "/home/someone/.openagents/pylon");
        EXPECT_EQ(Home::resolve("/x/y//").value().dir(), "/x/y");
    }
    {
        EnvVar pylon_home("PYLON_HOME", "/from/env/");
        EXPECT_EQ(Home::resolve("").value().dir(), "/from/env");
        EXPECT_EQ(Home::resolve("/from/flag").value().dir(), "/from/flag");
        EXPECT_EQ(Home::resolve("/from/flag").value().socket_path(), "/from/flag/control.sock");
    }
    {
        EnvVar pylon_home("PYLON_HOME", "");  // empty counts as unset
        EXPECT_EQ(Home::resolve("").value().dir(), "/home/someone/.openagents/pylon");
    }
}

TEST(Home, EnsureExistsCreatesPrivateFoldersAndRefusesAFile) {
    auto dir = test::TempDir::create("pylon-home");
    ASSERT_TRUE(dir.ok());
    Home nested(dir->file("a/b/pylon"));
    ASSERT_TRUE(nested.ensure_exists().ok());
    struct stat st {};
    ASSERT_EQ(::stat(nested.dir().c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    EXPECT_TRUE(nested.ensure_exists().ok()) << "idempotent";
    ASSERT_TRUE(test::write_file(dir->file("plain"), "x").ok());
    auto refused = Home(dir->file("plain")).ensure_exists();
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message().find("not a folder"), std::string::npos);
}

}  // namespace
}  // namespace pylon::engine
