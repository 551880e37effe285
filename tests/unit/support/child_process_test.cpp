#include "tests/support/child_process.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

namespace pylon::test {
namespace {

std::unique_ptr<ChildProcess> spawn_sh(const std::string& script,
                                       std::vector<std::pair<std::string, std::string>> env = {},
                                       std::string cwd = {}) {
    ChildSpec spec;
    spec.argv = {"sh", "-c", script};
    spec.env_add = std::move(env);
    spec.cwd = std::move(cwd);
    spec.term_grace_ms = 500;
    auto child = ChildProcess::spawn(std::move(spec));
    EXPECT_TRUE(child.ok()) << (child.ok() ? "" : child.error().message());
    return child.ok() ? std::move(child).value() : nullptr;
}

// A process is gone for our purposes when it no longer exists or is a zombie of someone else.
bool process_gone(pid_t pid) {
    auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!stat.ok()) {
        return true;
    }
    std::size_t close_paren = stat->rfind(')');
    return close_paren != std::string::npos && stat->size() > close_paren + 2 &&
           (*stat)[close_paren + 2] == 'Z';
}

TEST(ChildProcess, WaitsForReadyLineAndReadsPort) {
    auto child = spawn_sh("echo starting; echo 'READY port=4242'; exec sleep 30");
    ASSERT_NE(child, nullptr);
    EXPECT_EQ(child->wait_ready_port(5000), std::uint16_t{4242}) << child->describe();
    EXPECT_EQ(child->wait_for_line("starting", 100), std::string("starting"));
    EXPECT_TRUE(child->running());
    EXPECT_GT(child->pid(), 0);
}

TEST(ChildProcess, WaitForLineByRegexOnStderr) {
    auto child = spawn_sh("echo 'listening on 127.0.0.1:99 now' >&2; exec sleep 30");
    ASSERT_NE(child, nullptr);
    auto line = child->wait_for_line(std::regex("127\\.0\\.0\\.1:[0-9]+"), 5000, Stream::err);
    ASSERT_TRUE(line.has_value()) << child->describe();
    EXPECT_EQ(*line, "listening on 127.0.0.1:99 now");
    EXPECT_FALSE(child->wait_for_line("listening", 50, Stream::out).has_value());
}

TEST(ChildProcess, WaitForLineReturnsEarlyWhenTheStreamEnds) {
    auto child = spawn_sh("echo only-this");
    ASSERT_NE(child, nullptr);
    auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(child->wait_for_line("never", 10000).has_value());
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
    auto exit = child->wait_exit(5000);
    ASSERT_TRUE(exit.has_value());
    EXPECT_TRUE(exit->exited);
    EXPECT_EQ(exit->code, 0);
}

TEST(ChildProcess, PassesEnvironmentAndWorkingDirectory) {
    auto dir = TempDir::create();
    ASSERT_TRUE(dir.ok());
    auto child = spawn_sh("echo \"foo=$PYLON_FOO\"; echo \"cwd=$(pwd)\"",
                          {{"PYLON_FOO", "bar baz"}}, dir->path());
    ASSERT_NE(child, nullptr);
    ASSERT_TRUE(child->wait_exit(5000).has_value());
    EXPECT_TRUE(child->wait_for_line("foo=bar baz", 1000).has_value()) << child->describe();
    EXPECT_TRUE(child->wait_for_line("cwd=" + dir->path(), 1000).has_value()) << child->describe();
}

TEST(ChildProcess, ReportsExitCodeAndSignal) {
    auto child = spawn_sh("exit 7");
    ASSERT_NE(child, nullptr);
    auto exit = child->wait_exit(5000);
    ASSERT_TRUE(exit.has_value());
    EXPECT_TRUE(exit->exited);
    EXPECT_EQ(exit->code, 7);
    EXPECT_FALSE(child->signal(SIGTERM).ok()) << "signalling a reaped child must fail";

    auto sleeper = spawn_sh("exec sleep 30");
    ASSERT_NE(sleeper, nullptr);
    EXPECT_FALSE(sleeper->wait_exit(50).has_value());
    ASSERT_TRUE(sleeper->signal(SIGUSR1).ok());
    auto killed = sleeper->wait_exit(5000);
    ASSERT_TRUE(killed.has_value());
    EXPECT_FALSE(killed->exited);
    EXPECT_EQ(killed->signal, SIGUSR1);
}

TEST(ChildProcess, ExecFailureIsAnError) {
    ChildSpec spec;
    spec.argv = {"/nonexistent/pylon-no-such-program"};
    auto child = ChildProcess::spawn(std::move(spec));
    ASSERT_FALSE(child.ok());
    EXPECT_EQ(child.error().code(), Errc::not_found) << child.error().message();
}

TEST(ChildProcess, ChattyChildNeverBlocksAndTailIsBounded) {
    ChildSpec spec;
    spec.argv = {"head", "-c", "50000000", "/dev/zero"};  // 50 MB, no newlines
    spec.tail_bytes_max = 4096;
    auto child = ChildProcess::spawn(std::move(spec));
    ASSERT_TRUE(child.ok());
    auto exit = (*child)->wait_exit(20000);
    ASSERT_TRUE(exit.has_value()) << "the child blocked on a full pipe";
    EXPECT_EQ(exit->code, 0);
    ASSERT_TRUE(wait_until([&] { return (*child)->bytes_total(Stream::out) == 50000000; }, 5000));
    EXPECT_EQ((*child)->tail(Stream::out).size(), 4096u);
    EXPECT_TRUE((*child)->lines(Stream::out).empty());
}

TEST(ChildProcess, LinesAreBoundedToTheNewest) {
    ChildSpec spec;
    spec.argv = {"sh", "-c", "i=0; while [ $i -lt 100 ]; do echo line$i; i=$((i+1)); done"};
    spec.tail_lines_max = 10;
    auto child = ChildProcess::spawn(std::move(spec));
    ASSERT_TRUE(child.ok());
    ASSERT_TRUE((*child)->wait_exit(5000).has_value());
    ASSERT_TRUE(wait_until([&] { return (*child)->bytes_total(Stream::out) >= 690; }, 5000));
    ASSERT_TRUE((*child)->wait_for_line("line99", 2000).has_value());
    auto lines = (*child)->lines(Stream::out);
    ASSERT_EQ(lines.size(), 10u);
    EXPECT_EQ(lines.front(), "line90");
    EXPECT_FALSE((*child)->wait_for_line("line5", 0).has_value()) << "line5 was dropped";
}

TEST(ChildProcess, DestructorEscalatesToSigkillAfterGrace) {
    pid_t pid = -1;
    auto start = std::chrono::steady_clock::now();
    {
        auto child = spawn_sh("trap '' TERM; echo armed; exec sleep 30");
        ASSERT_NE(child, nullptr);
        ASSERT_TRUE(child->wait_for_line("armed", 5000).has_value());
        pid = child->pid();
    }
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(process_gone(pid));
    EXPECT_GE(took, std::chrono::milliseconds(450)) << "SIGKILL must wait for the grace period";
    EXPECT_LT(took, std::chrono::seconds(10));
}

TEST(ChildProcess, StopReportsSigtermForACooperativeChild) {
    auto child = spawn_sh("exec sleep 30");
    ASSERT_NE(child, nullptr);
    ExitInfo e = child->stop(5000);
    EXPECT_FALSE(e.exited);
    EXPECT_EQ(e.signal, SIGTERM);
    EXPECT_FALSE(child->running());
}

TEST(ChildProcess, SpawnReadyReturnsPortOrExplains) {
    ChildSpec good;
    good.argv = {"sh", "-c", "echo noise; echo 'READY port=31337'; exec sleep 30"};
    auto ready = spawn_ready(std::move(good), 5000);
    ASSERT_TRUE(ready.ok()) << ready.error().message();
    EXPECT_EQ(ready->port, 31337);
    EXPECT_TRUE(ready->process->running());

    ChildSpec bad;
    bad.argv = {"sh", "-c", "echo 'cannot bind' >&2; exit 1"};
    auto failed = spawn_ready(std::move(bad), 5000);
    ASSERT_FALSE(failed.ok());
    EXPECT_NE(failed.error().message().find("cannot bind"), std::string::npos)
        << failed.error().message();
}

// The child dies with the thread that spawned it, even when that process is killed hard.
TEST(ChildProcess, PdeathsigKillsTheChildWhenTheParentDies) {
    int report[2];
    ASSERT_EQ(::pipe(report), 0);
    pid_t middle = ::fork();
    ASSERT_GE(middle, 0);
    if (middle == 0) {
        ChildSpec spec;
        spec.argv = {"sleep", "30"};
        auto child = ChildProcess::spawn(std::move(spec));
        pid_t pid = child.ok() ? (*child)->pid() : -1;
        ssize_t n = ::write(report[1], &pid, sizeof pid);
        (void)n;
        ::_exit(0);  // no destructors: only PDEATHSIG can stop the grandchild
    }
    pid_t grandchild = -1;
    ASSERT_EQ(::read(report[0], &grandchild, sizeof grandchild),
              static_cast<ssize_t>(sizeof grandchild));
    ::close(report[0]);
    ::close(report[1]);
    int status = 0;
    ASSERT_EQ(::waitpid(middle, &status, 0), middle);
    ASSERT_GT(grandchild, 0);
    EXPECT_TRUE(wait_until([&] { return process_gone(grandchild); }, 5000));
}

}  // namespace
}  // namespace pylon::test
