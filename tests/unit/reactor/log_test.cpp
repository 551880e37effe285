// Log to a file: lines are written whole, the file rotates before it would pass file_bytes_max,
// at most files_kept rotated files remain (the oldest are dropped), files are 0600.
#include "reactor/log.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace pylon::reactor {
namespace {

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

// A peer's text in a message (a relay's NOTICE) cannot forge a line or reach the terminal as an
// escape sequence: one message, one line, C0 and C1 controls and bytes that are not UTF-8
// spelled out; UTF-8 as it is.
TEST(Log, PeerTextWithControlBytesStaysOnItsLine) {
    char tmpl[] = "/tmp/pylon-log-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::string path = std::string(tmpl) + "/pylon.log";
    ASSERT_TRUE(Log::to_file({path, 1 << 20, 1}).ok());
    Log::set_level(LogLevel::info);
    std::string notice =
        "hi\n2026-11-27T00:00:00.000Z ERROR [s0] FAKE\r\x1b[31mred\x7f\ttab \xe2\x82\xac "
        "\xc2\x9b" "31m \xff\xc3";
    LOG_INFO("relay notice: %s", notice.c_str());
    Log::flush();
    Log::to_stderr();
    std::string text = read_all(path);
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
    EXPECT_NE(text.find("relay notice: hi\\n2026-11-27T00:00:00.000Z ERROR [s0] "
                        "FAKE\\r\\x1b[31mred\\x7f\\ttab \xe2\x82\xac \\u009b31m \\xff\\xc3\n"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
    EXPECT_EQ(text.find("\xc2\x9b"), std::string::npos) << "C1 CSI passed" << text;
}

TEST(Log, FileRotatesAtItsBoundAndKeepsTheNewestFiles) {
    char tmpl[] = "/tmp/pylon-log-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::string dir = tmpl;
    std::string path = dir + "/pylon.log";
    constexpr std::uint64_t bytes_max = 1000;
    ASSERT_TRUE(Log::to_file({path, bytes_max, 2}).ok());
    Log::set_level(LogLevel::info);
    constexpr int lines = 100;  // about 100 bytes each: ten files' worth
    for (int i = 0; i < lines; i++) {
        LOG_INFO("line %03d %s", i, std::string(50, 'x').c_str());
    }
    LOG_DEBUG("below the level: not written");
    Log::flush();
    Log::to_stderr();

    std::string live = read_all(path);
    std::string older = read_all(path + ".1");
    std::string oldest = read_all(path + ".2");
    EXPECT_FALSE(exists(path + ".3")) << "files_kept = 2";
    for (const std::string* f : {&live, &older, &oldest}) {
        EXPECT_FALSE(f->empty());
        EXPECT_LE(f->size(), bytes_max);
        EXPECT_EQ(f->back(), '\n') << "a line was split across files";
    }
    EXPECT_NE(live.find("line 099 "), std::string::npos) << "the newest line is in the live file";
    EXPECT_LT(older.find("line "), older.size());
    // Each file continues where the older one ended.
    auto first_number = [](const std::string& text) {
        return std::atoi(text.c_str() + text.find("line ") + 5);
    };
    auto last_number = [](const std::string& text) {
        return std::atoi(text.c_str() + text.rfind("line ") + 5);
    };
    EXPECT_EQ(first_number(live), last_number(older) + 1);
    EXPECT_EQ(first_number(older), last_number(oldest) + 1);
    EXPECT_EQ(live.find("below the level"), std::string::npos);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    for (const char* suffix : {"", ".1", ".2"}) {
        ::unlink((path + suffix).c_str());
    }
    ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace pylon::reactor
