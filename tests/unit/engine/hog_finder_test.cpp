// HogFinder over a fabricated proc tree (earlyoom's procdir idea): hostile names, other users,
// pid 1, kernel threads, zombies, oom_score_adj -1000, excluded pids and small processes are
// never hogs; the order is by RSS and does not depend on the directory order.
#include "engine/hog_finder.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string>

#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

namespace pylon::engine {
namespace {

struct FakeProc {
    test::TempDir dir = std::move(test::TempDir::create("pylon-proc")).value();

    void add(int pid, const std::string& comm, char state, int ppid, std::uint64_t rss_bytes,
             unsigned uid = 1000, int adj = 0, const std::string& argv0 = "") {
        std::string d = dir.file(std::to_string(pid));
        ::mkdir(d.c_str(), 0700);
        std::uint64_t pages = rss_bytes / ProcFs::page_bytes();
        std::string stat = std::to_string(pid) + " (" + comm + ") " + state + " " +
                           std::to_string(ppid) + " " + std::to_string(pid) + " " +
                           std::to_string(pid) +
                           " 0 -1 4194560 100 0 0 0 10 5 0 0 20 0 1 0 123456 999999 " +
                           std::to_string(pages) + " 18446744073709551615 1 1 0 0 0 0 0\n";
        ASSERT_TRUE(test::write_file(d + "/stat", stat).ok());
        ASSERT_TRUE(test::write_file(d + "/status", "Name:\t" + comm + "\nUid:\t" +
                                                        std::to_string(uid) + "\t" +
                                                        std::to_string(uid) + "\n")
                        .ok());
        ASSERT_TRUE(test::write_file(d + "/oom_score_adj", std::to_string(adj) + "\n").ok());
        std::string cmd =
            (argv0.empty() ? comm : argv0) + std::string(1, '\0') + "--x" + std::string(1, '\0');
        ASSERT_TRUE(test::write_file(d + "/cmdline", cmd).ok());
    }
};

constexpr std::uint64_t MB = 1000 * 1000;

TEST(HogFinder, OnlyOptedInProcessesOfThisUserAboveTheRss) {
    FakeProc p;
    p.add(1, "node", 'S', 0, 900 * MB);  // pid 1: never
    p.add(2, "kthreadd", 'S', 0, 0);
    p.add(50, "node", 'S', 2, 900 * MB);                                   // a kernel thread: never
    p.add(100, "node", 'S', 1, 800 * MB);                                  // a hog
    p.add(101, "node", 'S', 1, 100 * MB);                                  // too small
    p.add(102, "node", 'S', 1, 900 * MB, 1001);                            // another user
    p.add(103, "node", 'S', 1, 900 * MB, 1000, -1000);                     // protected
    p.add(104, "node", 'Z', 1, 900 * MB);                                  // a zombie
    p.add(105, "bash", 'S', 1, 900 * MB);                                  // no pattern match
    p.add(106, "MainThread", 'S', 1, 600 * MB, 1000, 0, "/usr/bin/node");  // argv[0] matches
    p.add(107, "node", 'S', 1, 2000 * MB);                                 // excluded (our child)
    p.add(108, "node", 'S', 1, 950 * MB);                                  // ourselves
    p.add(109, "x) Z 1 (node", 'S', 1, 700 * MB);  // hostile name, still parsed
    HogRules rules;
    rules.patterns = {"node"};
    rules.uid = 1000;
    rules.self = 108;
    rules.exclude = {107};
    std::vector<HogCandidate> hogs = find_hogs(ProcFs(p.dir.path()), rules);
    ASSERT_EQ(hogs.size(), 3U);
    EXPECT_EQ(hogs[0].pid, 100);
    EXPECT_EQ(hogs[1].pid, 109);
    EXPECT_EQ(hogs[1].name, "x) Z 1 (node");
    EXPECT_EQ(hogs[2].pid, 106);
    EXPECT_GE(hogs[0].rss_bytes, 799 * MB);
}

TEST(HogFinder, NoPatternsMeansNoHogs) {
    FakeProc p;
    p.add(100, "node", 'S', 1, 800 * MB);
    HogRules rules;
    rules.uid = 1000;
    EXPECT_TRUE(find_hogs(ProcFs(p.dir.path()), rules).empty());
}

TEST(ProcStat, HostileCommCannotFakeFields) {
    auto st = parse_proc_stat(
        "42 (evil) Z 1 2 3) S 7 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 555 "
        "1000 77 0\n");
    ASSERT_TRUE(st.has_value());
    EXPECT_EQ(st->comm, "evil) Z 1 2 3");
    EXPECT_EQ(st->state, 'S');
    EXPECT_EQ(st->ppid, 7);
    EXPECT_EQ(st->starttime_ticks, 555U);
    EXPECT_EQ(st->rss_pages, 77U);
    EXPECT_FALSE(parse_proc_stat("42 (short) S 1 2").has_value());
}

// children_of reads the kernel's per-thread children lists (every thread: an orphan is
// reparented to any live thread of its subreaper); a stat of every process is the fallback where
// the lists do not exist. The scan of every stat ran every 2 s on shard 0 (the orphan scan).
TEST(ProcFs, ChildrenComeFromEveryThreadsChildrenList) {
    FakeProc p;
    p.add(10, "pylon", 'S', 1, 0);
    p.add(11, "child-a", 'S', 10, 0);
    p.add(12, "child-b", 'S', 10, 0);
    p.add(13, "grandchild", 'S', 11, 0);
    p.add(14, "unlisted", 'S', 10, 0);  // its stat says 10: the lists win when they exist
    std::string task = p.dir.file("10/task");
    ::mkdir(task.c_str(), 0700);
    ::mkdir((task + "/10").c_str(), 0700);
    ::mkdir((task + "/15").c_str(), 0700);
    ASSERT_TRUE(test::write_file(task + "/10/children", "12 11 ").ok());
    ASSERT_TRUE(test::write_file(task + "/15/children", "20 11 ").ok());
    ProcFs proc(p.dir.path());
    EXPECT_EQ(proc.children_of(10), (std::vector<pid_t>{11, 12, 20}));
    // Without the lists (no file, or a kernel without them): every stat.
    ASSERT_EQ(::unlink((task + "/15/children").c_str()), 0);
    ASSERT_EQ(::unlink((task + "/10/children").c_str()), 0);
    EXPECT_EQ(proc.children_of(10), (std::vector<pid_t>{11, 12, 14}));
    EXPECT_EQ(proc.children_of(11), (std::vector<pid_t>{13}));
}

TEST(ProcFs, ChildrenOfThisProcessOnTheRealProc) {
    // This kernel has the children lists, so the list path is the one read here.
    std::string list =
        "/proc/" + std::to_string(::getpid()) + "/task/" + std::to_string(::gettid()) + "/children";
    ASSERT_EQ(::access(list.c_str(), R_OK), 0) << list;
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::pause();
        ::_exit(0);
    }
    std::vector<pid_t> children = ProcFs().children_of(::getpid());
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    EXPECT_NE(std::find(children.begin(), children.end(), child), children.end());
}

// /proc/locks: the granted POSIX write lock covering the byte, not a waiter, a read lock, an OFD
// lock (no pid), another file or another device.
TEST(ProcFs, TheWriteLockHolderIsReadFromProcLocks) {
    const char* text =
        "1: -> POSIX  ADVISORY  WRITE 77 fe:00:500 120 120\n"
        "2: OFDLCK ADVISORY  WRITE -1 fe:00:500 120 120\n"
        "3: POSIX  ADVISORY  READ 66 fe:00:500 120 120\n"
        "4: POSIX  ADVISORY  WRITE 55 fe:01:500 120 120\n"
        "5: POSIX  ADVISORY  WRITE 44 fe:00:501 120 120\n"
        "6: FLOCK  ADVISORY  WRITE 33 fe:00:500 0 EOF\n"
        "7: POSIX  ADVISORY  WRITE 22 fe:00:500 120 120\n"
        "8: POSIX  ADVISORY  WRITE 11 fe:00:500 100 EOF\n";
    EXPECT_EQ(parse_lock_holder(text, 0xfe, 0, 500, 120), std::optional<pid_t>(22));
    EXPECT_EQ(parse_lock_holder(text, 0xfe, 0, 500, 4000), std::optional<pid_t>(11));
    EXPECT_EQ(parse_lock_holder(text, 0xfe, 0, 500, 99), std::nullopt);
    EXPECT_EQ(parse_lock_holder(text, 0xfe, 1, 500, 120), std::optional<pid_t>(55));
    EXPECT_EQ(parse_lock_holder("garbage\n7: POSIX\n\n", 0xfe, 0, 500, 120), std::nullopt);
    // The inode alone (btrfs: stat() gives the subvolume's device, /proc/locks the file system's).
    EXPECT_EQ(parse_lock_holder(text, 0x00, 0x2a, 500, 120), std::nullopt);
    EXPECT_EQ(parse_lock_holder(text, 0x00, 0x2a, 500, 120, false), std::optional<pid_t>(55));
}

// Through the kernel: this process's fcntl lock on one byte is found, and only on that byte.
TEST(ProcFs, AWriteLockOfThisProcessIsFoundInProcLocks) {
    auto dir = test::TempDir::create("pylon-locks");
    ASSERT_TRUE(dir.ok());
    std::string file = dir->file("db-shm");
    int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    lock.l_start = 120;
    lock.l_len = 1;
    ASSERT_EQ(::fcntl(fd, F_SETLK, &lock), 0);
    ProcFs proc;
    EXPECT_EQ(proc.write_lock_holder(file, 120), std::optional<pid_t>(::getpid()));
    EXPECT_EQ(proc.write_lock_holder(file, 121), std::nullopt);
    ::close(fd);  // drops the lock
    EXPECT_EQ(proc.write_lock_holder(file, 120), std::nullopt);
    EXPECT_EQ(proc.write_lock_holder(dir->file("absent"), 120), std::nullopt);
}

}  // namespace
}  // namespace pylon::engine
