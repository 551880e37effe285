// The real `pylon` binary as an operator runs it, in a temporary home: start in the background,
// status, a Subscribe connection, SIGHUP, stop; a stale pid file; concurrent starts; kill -9 and
// start again; crash safety of the store under write load (SIGTERM and kill -9); config errors;
// the control socket against garbage; --managed following its parent. Every daemon a test makes
// is stopped by the pid in its pid file (through a pidfd) when the test ends.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "engine/control_client.hpp"
#include "engine/pid_file.hpp"
#include "engine/pidfd.hpp"
#include "engine/store_db.hpp"
#include "proto/domain_event.hpp"
#include "proto/json_reader.hpp"
#include "reactor/clock.hpp"
#include "tests/integration/run_pylon.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

namespace pylon {
namespace {

using engine::ControlClient;
using engine::PidFile;
using engine::PidState;

constexpr const char* test_mnemonic =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
    "about";
constexpr const char* test_npub = "npub1az708q3kd9zy6z6f44zav5ygvdwelkzspf6mtusttx47lft2z38sghk0w7";

using test::drain;
using test::Env;
using test::run_pylon;
using test::RunResult;

// A temporary home with an identity; kills whatever daemon still runs in it at the end.
class Home {
  public:
    // with_identity false: an empty home (for `pylon init`).
    explicit Home(bool with_identity = true) {
        auto dir = test::TempDir::create("pylon-daemon");
        EXPECT_TRUE(dir.ok());
        dir_.emplace(std::move(dir.value()));
        if (!with_identity) {
            return;
        }
        std::string id = dir_->file("identity.mnemonic");
        EXPECT_TRUE(test::write_file(id, std::string(test_mnemonic) + "\n").ok());
        ::chmod(id.c_str(), 0600);
    }
    ~Home() {
        auto info = PidFile::inspect(file("pylon.pid"));
        if (info.ok() && info->state == PidState::running && info->pid > 0) {
            int fd = engine::pidfd_open_fd(info->pid);
            if (fd >= 0) {
                engine::pidfd_signal(fd, SIGKILL);
                pollfd p{fd, POLLIN, 0};
                ::poll(&p, 1, 5000);
                ::close(fd);
            }
        }
    }
    const std::string& path() const { return dir_->path(); }
    std::string file(std::string_view name) const { return dir_->file(name); }
    std::vector<std::string> args(std::vector<std::string> a) const {
        a.push_back("--home");
        a.push_back(path());
        return a;
    }
    pid_t daemon_pid() const {
        auto info = PidFile::inspect(file("pylon.pid"));
        return info.ok() && info->state == PidState::running ? info->pid : 0;
    }

  private:
    std::optional<test::TempDir> dir_;
};

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

// Waits (through a pidfd) until `pid` has exited.
bool wait_gone(pid_t pid, int timeout_ms) {
    int fd = engine::pidfd_open_fd(pid);
    if (fd < 0) {
        return true;
    }
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, timeout_ms);
    ::close(fd);
    return r > 0;
}

TEST(Daemon, InitStartStatusSubscribeReloadStop) {
    Home home(false);
    RunResult init = run_pylon(home.args({"init"}));
    ASSERT_EQ(init.code, 0) << init.out << init.err;
    std::size_t at = init.out.find("npub:    npub1");
    ASSERT_NE(at, std::string::npos) << init.out;
    std::string npub = init.out.substr(at + 9, init.out.find('\n', at) - at - 9);
    for (const char* name : {"identity.mnemonic", "config.toml"}) {
        struct stat st {};
        ASSERT_EQ(::stat(home.file(name).c_str(), &st), 0) << name;
        EXPECT_EQ(st.st_mode & 0777, 0600u) << name;
    }
    RunResult start = run_pylon(home.args({"start", "--shards", "2"}));
    ASSERT_EQ(start.code, 0) << start.out << start.err;
    EXPECT_NE(start.out.find("Starting Pylon daemon..."), std::string::npos);
    EXPECT_NE(start.out.find("Identity: " + npub + "\n"), std::string::npos) << start.out;
    EXPECT_NE(start.out.find("Mode: Both"), std::string::npos);
    EXPECT_NE(start.out.find("Pylon daemon started successfully."), std::string::npos);
    pid_t pid = home.daemon_pid();
    ASSERT_GT(pid, 0);
    // Double fork and setsid: its own session, not a session leader (no controlling terminal).
    EXPECT_NE(::getsid(pid), ::getsid(0));
    EXPECT_NE(::getsid(pid), pid);
    struct stat st {};
    ASSERT_EQ(::stat(home.file("control.sock").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat(home.file("pylon.db").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0077, 0u) << "umask 077";
    ASSERT_EQ(::stat(home.file("logs/pylon.log").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    RunResult status = run_pylon(home.args({"status", "--json"}));
    EXPECT_EQ(status.code, 0) << status.err;
    EXPECT_NE(status.out.find("{\"daemon\":{\"running\":true,\"pid\":" + std::to_string(pid)),
              std::string::npos)
        << status.out;
    EXPECT_NE(status.out.find("\"stats\":{\"jobs_completed\":0,\"earnings_msats\":0}"),
              std::string::npos);
    EXPECT_NE(status.out.find("\"shards\":2"), std::string::npos);
    EXPECT_NE(status.out.find(",\"store\":{\"requests\":"), std::string::npos) << status.out;
    EXPECT_NE(status.out.find("\"failed_commits\":0,"), std::string::npos) << status.out;
    RunResult human = run_pylon(home.args({"status"}));
    EXPECT_NE(human.out.find("  Database:       "), std::string::npos) << human.out;

    auto sub = ControlClient::connect(home.file("control.sock"));
    ASSERT_TRUE(sub.ok());
    ASSERT_EQ(sub->request("\"Subscribe\"")->tag, "Ok");
    ASSERT_TRUE(test::write_file(home.file("config.toml"), "min_price_msats = 7000\n").ok());
    ::kill(pid, SIGHUP);
    auto reloaded = sub->read_line(10000);
    ASSERT_TRUE(reloaded.ok()) << reloaded.error().message();
    EXPECT_EQ(reloaded->rfind("{\"ConfigReloaded\":{\"keys\":[\"min_price_msats\"]", 0), 0u)
        << *reloaded;
    // The home's config.toml gone: the defaults, as at a start, and the reply says so (before:
    // a silent reset of every setting).
    ASSERT_EQ(::unlink(home.file("config.toml").c_str()), 0);
    {
        auto ctl = ControlClient::connect(home.file("control.sock"));
        ASSERT_TRUE(ctl.ok());
        auto reply = ctl->request("\"Reload\"");
        ASSERT_TRUE(reply.ok()) << reply.error().message();
        EXPECT_EQ(reply->tag, "Reloaded");
        EXPECT_NE(reply->body_json.find(home.file("config.toml") +
                                        " does not exist: every setting is back to its default"),
                  std::string::npos)
            << reply->body_json;
    }
    reloaded = sub->read_line(10000);  // its ConfigReloaded event
    ASSERT_TRUE(reloaded.ok()) << reloaded.error().message();

    RunResult stop = run_pylon(home.args({"stop"}));
    EXPECT_EQ(stop.code, 0) << stop.err;
    EXPECT_NE(stop.out.find("Stopping Pylon daemon (PID: " + std::to_string(pid) + ")..."),
              std::string::npos);
    EXPECT_NE(stop.out.find("stopped gracefully"), std::string::npos) << stop.out;
    EXPECT_TRUE(wait_gone(pid, 5000));
    EXPECT_FALSE(exists(home.file("pylon.pid")));
    EXPECT_FALSE(exists(home.file("control.sock")));
    // The subscriber saw the shutdown, then the end of the stream.
    auto bye = sub->read_line(5000);
    ASSERT_TRUE(bye.ok());
    EXPECT_EQ(bye->rfind("{\"ShuttingDown\":", 0), 0u) << *bye;
    // The provider (issue 6) reports going offline as it stops; nothing else follows.
    auto end = sub->read_line(5000);
    if (end.ok()) {
        EXPECT_EQ(end->rfind("{\"WentOffline\":", 0), 0u) << *end;
        end = sub->read_line(5000);
    }
    ASSERT_FALSE(end.ok()) << *end;
    EXPECT_EQ(end.error().code(), Errc::closed);

    RunResult after = run_pylon(home.args({"status"}));
    EXPECT_EQ(after.code, 3);
    EXPECT_NE(after.out.find("Daemon:   Stopped"), std::string::npos);
    RunResult again = run_pylon(home.args({"stop"}));
    EXPECT_EQ(again.code, 0);
    EXPECT_NE(again.out.find("Pylon daemon is not running."), std::string::npos);
    RunResult watch = run_pylon(home.args({"watch"}));
    EXPECT_EQ(watch.code, 3);
    EXPECT_NE(watch.err.find("pylon start"), std::string::npos);
}

TEST(Daemon, NoIdentityIsRefusedAndSecondStartSaysRunning) {
    auto bare = test::TempDir::create("pylon-daemon");
    ASSERT_TRUE(bare.ok());
    RunResult refused = run_pylon({"start", "--home", bare->path()});
    EXPECT_EQ(refused.code, 1);
    EXPECT_NE(refused.err.find("No identity found. Run 'pylon init' first."), std::string::npos);

    Home home;
    ASSERT_EQ(run_pylon(home.args({"start", "--shards", "1"})).code, 0);
    RunResult second = run_pylon(home.args({"start"}));
    EXPECT_EQ(second.code, 0);
    EXPECT_NE(second.out.find("Pylon daemon is already running."), std::string::npos);
    EXPECT_EQ(run_pylon(home.args({"stop"})).code, 0);
}

TEST(Daemon, StalePidFileIsReplaced) {
    Home home;
    // A pid file left by a crash, naming a live process that is not a daemon (this test).
    ASSERT_TRUE(test::write_file(home.file("pylon.pid"), std::to_string(::getpid()) + "\n").ok());
    RunResult status = run_pylon(home.args({"status"}));
    EXPECT_EQ(status.code, 3) << "a pid file without its lock is not a running daemon";
    RunResult start = run_pylon(home.args({"start", "--shards", "1"}));
    ASSERT_EQ(start.code, 0) << start.err;
    pid_t pid = home.daemon_pid();
    EXPECT_GT(pid, 0);
    EXPECT_NE(pid, ::getpid());
    auto text = test::read_file(home.file("pylon.pid"));
    EXPECT_EQ(text.value(), std::to_string(pid) + "\n");
    EXPECT_EQ(run_pylon(home.args({"stop"})).code, 0);
}

TEST(Daemon, ConcurrentStartsMakeExactlyOneDaemon) {
    Home home;
    constexpr int starters = 4;
    std::vector<std::unique_ptr<test::ChildProcess>> children;
    for (int i = 0; i < starters; i++) {
        test::ChildSpec spec;
        spec.argv = {test::tool_path("pylon"), "start", "--shards", "1", "--home", home.path()};
        auto c = test::ChildProcess::spawn(spec);
        ASSERT_TRUE(c.ok());
        children.push_back(std::move(c.value()));
    }
    int started = 0;
    int already = 0;
    for (auto& c : children) {
        auto exit = c->wait_exit(30000);
        ASSERT_TRUE(exit.has_value());
        EXPECT_EQ(exit->code, 0) << c->describe();
        drain(*c);
        std::string out = c->tail(test::Stream::out);
        started += out.find("started successfully") != std::string::npos ? 1 : 0;
        already += out.find("already running") != std::string::npos ? 1 : 0;
    }
    EXPECT_EQ(started, 1);
    EXPECT_EQ(already, starters - 1);
    // Exactly one process runs a daemon in this home: the one in the pid file.
    pid_t pid = home.daemon_pid();
    ASSERT_GT(pid, 0);
    int daemons = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        auto cmdline = test::read_file(entry.path().string() + "/cmdline", 65536);
        if (cmdline.ok() && cmdline->find(home.path()) != std::string::npos &&
            cmdline->find("start") != std::string::npos) {
            daemons++;
        }
    }
    EXPECT_EQ(daemons, 1);
    EXPECT_EQ(run_pylon(home.args({"stop"})).code, 0);
}

TEST(Daemon, KillNineThenStartAgain) {
    Home home;
    ASSERT_EQ(run_pylon(home.args({"start", "--shards", "1"})).code, 0);
    pid_t pid = home.daemon_pid();
    ASSERT_GT(pid, 0);
    ::kill(pid, SIGKILL);
    ASSERT_TRUE(wait_gone(pid, 5000));
    EXPECT_TRUE(exists(home.file("pylon.pid")));  // stale
    EXPECT_TRUE(exists(home.file("control.sock")));
    RunResult start = run_pylon(home.args({"start", "--shards", "1"}));
    ASSERT_EQ(start.code, 0) << start.err;
    EXPECT_NE(home.daemon_pid(), pid);
    auto c = ControlClient::connect(home.file("control.sock"));
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->request("\"Ping\"")->tag, "Pong");
    RunResult force = run_pylon(home.args({"stop", "-f"}));
    EXPECT_EQ(force.code, 0);
    EXPECT_NE(force.out.find("Pylon daemon killed."), std::string::npos);
    EXPECT_FALSE(exists(home.file("pylon.pid")));
    EXPECT_FALSE(exists(home.file("control.sock")));
}

TEST(Daemon, StopEscalatesToSigtermThenSigkillWithinTheTimeout) {
    Home home;
    ASSERT_EQ(run_pylon(home.args({"start", "--shards", "1"})).code, 0);
    pid_t pid = home.daemon_pid();
    ASSERT_GT(pid, 0);
    // No control socket: SIGTERM at once, which is the same graceful shutdown.
    ASSERT_EQ(::unlink(home.file("control.sock").c_str()), 0);
    RunResult term = run_pylon(home.args({"stop"}));
    EXPECT_EQ(term.code, 0) << term.err;
    EXPECT_NE(term.out.find("Control socket unavailable. Sending SIGTERM..."), std::string::npos)
        << term.out;
    EXPECT_NE(term.out.find("Pylon daemon stopped gracefully."), std::string::npos) << term.out;
    EXPECT_TRUE(wait_gone(pid, 5000));
    EXPECT_FALSE(exists(home.file("pylon.pid")));

    // A wedged daemon (SIGSTOP: its socket still takes connections into the backlog but nothing
    // answers): the Shutdown request times out, SIGTERM cannot act, SIGKILL comes at -t.
    ASSERT_EQ(run_pylon(home.args({"start", "--shards", "1"})).code, 0);
    pid = home.daemon_pid();
    ASSERT_GT(pid, 0);
    ASSERT_EQ(::kill(pid, SIGSTOP), 0);
    // Timed from its first line (the clock of -t starts there), not from the spawn.
    test::ChildSpec spec;
    spec.argv = home.args({test::tool_path("pylon"), "stop", "-t", "2"});
    auto stopper = test::ChildProcess::spawn(spec);
    ASSERT_TRUE(stopper.ok());
    ASSERT_TRUE((*stopper)->wait_for_line("Stopping Pylon daemon", 10000).has_value())
        << (*stopper)->describe();
    std::int64_t t0 = reactor::monotonic_ms();
    auto exit = (*stopper)->wait_exit(20000);
    std::int64_t took = reactor::monotonic_ms() - t0;
    ASSERT_TRUE(exit.has_value() && exit->exited) << (*stopper)->describe();
    drain(**stopper);
    RunResult killed;
    killed.code = exit->code;
    killed.out = (*stopper)->tail(test::Stream::out);
    killed.err = (*stopper)->tail(test::Stream::err);
    EXPECT_EQ(killed.code, 0) << killed.err;
    std::size_t term_at = killed.out.find("Sending SIGTERM...");
    std::size_t timed_out = killed.out.find("Graceful shutdown timed out.");
    std::size_t kill_at = killed.out.find("Sending SIGKILL...");
    EXPECT_NE(term_at, std::string::npos) << killed.out;
    EXPECT_NE(timed_out, std::string::npos) << killed.out;
    EXPECT_NE(kill_at, std::string::npos) << killed.out;
    EXPECT_LT(term_at, kill_at);
    EXPECT_NE(killed.out.find("Pylon daemon killed."), std::string::npos) << killed.out;
    EXPECT_GE(took, 1900) << "SIGKILL before the timeout";
    // Before, the look at the node's config (a Health that a stopped node never answers) took
    // 1 s outside the bound: 3.0 s in all.
    EXPECT_LT(took, 2600) << "-t 2 must bound the whole stop";
    EXPECT_TRUE(wait_gone(pid, 5000));
    EXPECT_FALSE(exists(home.file("pylon.pid")));
    EXPECT_FALSE(exists(home.file("control.sock")));
}

TEST(Daemon, EveryCommandTakesItsHomeFromTheFlagOrPylonHome) {
    Home home;
    ASSERT_TRUE(test::write_file(home.file("config.toml"),
                                 "name = \"home-from-env\"\nrelays = []\n"
                                 "[backends.ollama]\nenabled = false\n"
                                 "[backends.llamacpp]\nenabled = false\n")
                    .ok());
    auto empty = test::TempDir::create("pylon-other");
    ASSERT_TRUE(empty.ok());
    Env env_home = {{"PYLON_HOME", home.path()}};
    RunResult start = run_pylon({"start", "-m", "provider", "--shards", "1"}, 30000, env_home);
    ASSERT_EQ(start.code, 0) << start.err;
    pid_t pid = home.daemon_pid();
    ASSERT_GT(pid, 0) << "started somewhere else than $PYLON_HOME";

    // Each command, once through $PYLON_HOME and once through --home over a wrong $PYLON_HOME.
    Env wrong_env = {{"PYLON_HOME", empty->path()}};
    for (bool by_flag : {false, true}) {
        SCOPED_TRACE(by_flag ? "--home" : "$PYLON_HOME");
        auto run = [&](std::vector<std::string> args) {
            if (by_flag) {
                return run_pylon(home.args(std::move(args)), 30000, wrong_env);
            }
            return run_pylon(std::move(args), 30000, env_home);
        };
        RunResult status = run({"status", "--json"});
        EXPECT_EQ(status.code, 0) << status.err;
        EXPECT_NE(status.out.find("\"pid\":" + std::to_string(pid)), std::string::npos)
            << status.out;
        EXPECT_NE(status.out.find("\"mode\":\"provider\""), std::string::npos) << status.out;
        RunResult jobs = run({"jobs", "--json"});
        EXPECT_EQ(jobs.code, 0) << jobs.err;
        EXPECT_EQ(jobs.out, "[]\n");
        RunResult earnings = run({"earnings", "--json"});
        EXPECT_EQ(earnings.code, 0) << earnings.err;
        EXPECT_EQ(earnings.out.rfind("{", 0), 0u) << earnings.out;
        RunResult config = run({"config", "--json"});
        EXPECT_EQ(config.code, 0) << config.err;
        EXPECT_NE(config.out.find("\"name\":\"home-from-env\""), std::string::npos) << config.out;
        RunResult logs = run({"logs", "-n", "50"});
        EXPECT_EQ(logs.code, 0) << logs.err;
        EXPECT_NE(logs.out.find("pylon started on 1 shard(s), pid " + std::to_string(pid)),
                  std::string::npos)
            << logs.out;
        RunResult doctor = run({"doctor", "--json"});
        EXPECT_NE(doctor.out.find(home.file("config.toml")), std::string::npos) << doctor.out;
        // The free disk where the home is: a size "free of" a size (ok or, under 1 GiB, warn).
        EXPECT_TRUE(std::regex_search(doctor.out,
                                      std::regex("\\{\"name\":\"disk\",\"status\":\"(ok|warn)\","
                                                 "\"detail\":\"[0-9.]+ [KMGT]?i?B free of ")))
            << doctor.out;
        test::ChildSpec watch;
        watch.argv = {test::tool_path("pylon"), "watch"};
        if (by_flag) {
            watch.argv.insert(watch.argv.end(), {"--home", home.path()});
        }
        watch.env_add = by_flag ? wrong_env : env_home;
        auto watcher = test::ChildProcess::spawn(watch);
        ASSERT_TRUE(watcher.ok());
        EXPECT_TRUE((*watcher)->wait_for_line("Watching events", 10000).has_value())
            << (*watcher)->describe();
        (*watcher)->stop(1000);
    }
    RunResult stop = run_pylon({"stop"}, 30000, env_home);
    EXPECT_EQ(stop.code, 0) << stop.err;
    EXPECT_NE(stop.out.find("stopped gracefully"), std::string::npos) << stop.out;
    EXPECT_TRUE(wait_gone(pid, 5000));
    // Nothing was created in the home the flag overrode.
    EXPECT_TRUE(std::filesystem::is_empty(empty->path()));
}

TEST(Daemon, CommandsThatNeedTheDaemonSayHowToStartIt) {
    auto bare = test::TempDir::create("pylon-daemon");
    ASSERT_TRUE(bare.ok());
    RunResult watch = run_pylon({"watch", "--home", bare->path()});
    EXPECT_EQ(watch.code, 3);
    EXPECT_EQ(watch.err, "Pylon daemon is not running. Start it with: pylon start\n");
    EXPECT_EQ(watch.out, "");
    RunResult status = run_pylon({"status", "--home", bare->path()});
    EXPECT_EQ(status.code, 3);
    EXPECT_NE(status.out.find("Start it with: pylon start"), std::string::npos) << status.out;
    RunResult json = run_pylon({"status", "--json", "--home", bare->path()});
    EXPECT_EQ(json.code, 3);
    EXPECT_NE(json.out.find("\"running\":false"), std::string::npos) << json.out;
    // Commands that read the database work without the daemon (and create nothing).
    RunResult jobs = run_pylon({"jobs", "--json", "--home", bare->path()});
    EXPECT_EQ(jobs.code, 0) << jobs.err;
    EXPECT_EQ(jobs.out, "[]\n");
    EXPECT_FALSE(exists(bare->file("pylon.db")));
}

TEST(Daemon, CorruptOrNewerDatabaseIsRefusedAndLeftUntouched) {
    Home home;
    std::string garbage(8192, 'x');
    ASSERT_TRUE(test::write_file(home.file("pylon.db"), garbage).ok());
    RunResult corrupt = run_pylon(home.args({"start", "--shards", "1"}));
    EXPECT_EQ(corrupt.code, 1);
    EXPECT_NE(corrupt.err.find("not a SQLite database"), std::string::npos) << corrupt.err;
    EXPECT_EQ(test::read_file(home.file("pylon.db")).value(), garbage);
    EXPECT_FALSE(exists(home.file("pylon.pid")));
    EXPECT_FALSE(exists(home.file("control.sock")));
    RunResult jobs = run_pylon(home.args({"jobs"}));
    EXPECT_EQ(jobs.code, 1);
    EXPECT_NE(jobs.err.find("not a SQLite database"), std::string::npos) << jobs.err;
    EXPECT_EQ(test::read_file(home.file("pylon.db")).value(), garbage);

    ASSERT_EQ(::unlink(home.file("pylon.db").c_str()), 0);
    {
        auto db = engine::StoreDb::open({home.file("pylon.db")});
        ASSERT_TRUE(db.ok());
        ASSERT_TRUE(
            (*db)->exec("INSERT INTO migrations (name) VALUES ('099_from_the_future')").ok());
        ASSERT_TRUE((*db)->exec("PRAGMA wal_checkpoint(TRUNCATE)").ok());
    }
    std::string before = test::read_file(home.file("pylon.db")).value();
    RunResult newer = run_pylon(home.args({"start", "-f", "--shards", "1"}));
    EXPECT_EQ(newer.code, 1);
    EXPECT_NE(newer.err.find("newer Pylon"), std::string::npos) << newer.err;
    EXPECT_EQ(test::read_file(home.file("pylon.db")).value(), before);
    EXPECT_FALSE(exists(home.file("pylon.pid")));
}

TEST(Daemon, BarePylonRunsInTheForegroundInBothModes) {
    Home home;
    test::ChildSpec spec;
    spec.argv = {test::tool_path("pylon"), "--home", home.path(), "--shards", "1"};
    auto child = test::ChildProcess::spawn(spec);
    ASSERT_TRUE(child.ok());
    auto& p = *child.value();
    ASSERT_TRUE(
        p.wait_for_line("Pylon is running (PID: " + std::to_string(p.pid()), 20000).has_value())
        << p.describe();
    EXPECT_EQ(home.daemon_pid(), p.pid());
    RunResult status = run_pylon(home.args({"status", "--json"}));
    EXPECT_EQ(status.code, 0);
    EXPECT_NE(status.out.find("\"mode\":\"both\""), std::string::npos) << status.out;
    ASSERT_TRUE(p.signal(SIGINT).ok());
    auto exit = p.wait_exit(10000);
    ASSERT_TRUE(exit.has_value()) << p.describe();
    EXPECT_TRUE(exit->exited && exit->code == 0) << p.describe();
    std::string out = p.tail(test::Stream::out);
    EXPECT_NE(out.find("Starting Pylon daemon in foreground mode..."), std::string::npos) << out;
    EXPECT_NE(out.find("Mode: Both"), std::string::npos) << out;
    EXPECT_NE(out.find(std::string("Identity: ") + test_npub + "\n"), std::string::npos) << out;
    EXPECT_FALSE(exists(home.file("pylon.pid")));
    EXPECT_FALSE(exists(home.file("logs/pylon.log"))) << "the foreground logs to stderr";
}

// Two jobs completed and paid, one failed, written the way the daemon writes them.
void seed_jobs(const std::string& db_path) {
    auto db = engine::StoreDb::open({db_path});
    ASSERT_TRUE(db.ok()) << db.error().message();
    for (int i = 0; i < 3; i++) {
        engine::NewJob j;
        j.request_id = std::string(63, static_cast<char>('a' + i)) + "0";
        j.id = engine::job_id_for_request(j.request_id);
        j.kind = 5050;
        j.customer_pubkey = "cafe";
        j.received_at_ms = 1'700'000'000'000 + i * 1000;
        ASSERT_TRUE((*db)->insert_job(j).ok());
        if (i < 2) {
            ASSERT_TRUE(
                (*db)->complete_job(j.id, {j.received_at_ms + 500, 2000, 2000, "", "", {}}).ok());
        } else {
            ASSERT_TRUE((*db)->fail_job(j.id, "backend gone", j.received_at_ms + 500).ok());
        }
    }
}

TEST(Daemon, JobsAndEarningsReadTheSameFromTheDatabaseAndFromTheDaemon) {
    Home home;
    seed_jobs(home.file("pylon.db"));
    std::vector<std::vector<std::string>> commands = {{"jobs", "--json"},
                                                      {"jobs", "--json", "--status", "failed"},
                                                      {"jobs", "-l", "2"},
                                                      {"earnings", "--json", "-l", "1"},
                                                      {"earnings"}};
    std::vector<RunResult> stopped;
    for (const auto& args : commands) {
        stopped.push_back(run_pylon(home.args(args)));
        EXPECT_EQ(stopped.back().code, 0) << stopped.back().err;
    }
    const std::string& all = stopped[0].out;
    EXPECT_NE(all.find("\"id\":\"job_aaaaaaaaaaaaaaaa\""), std::string::npos) << all;
    EXPECT_NE(all.find("\"id\":\"job_cccccccccccccccc\""), std::string::npos) << all;
    EXPECT_LT(all.find("job_cccccccccccccccc"), all.find("job_aaaaaaaaaaaaaaaa")) << "newest first";
    const std::string& failed = stopped[1].out;
    EXPECT_NE(failed.find("\"error_message\":\"backend gone\""), std::string::npos) << failed;
    EXPECT_EQ(failed.find("job_aaaaaaaaaaaaaaaa"), std::string::npos) << failed;
    const std::string& human = stopped[2].out;
    EXPECT_EQ(human.rfind("ID ", 0), 0u) << human;
    EXPECT_NE(human.find("  backend gone\n"), std::string::npos) << human;
    EXPECT_EQ(human.find("job_aaaaaaaaaaaaaaaa"), std::string::npos) << "-l 2";
    const std::string& earnings = stopped[3].out;
    EXPECT_NE(earnings.find("\"total_msats\":4000,\"job_count\":2"), std::string::npos) << earnings;
    EXPECT_EQ(earnings.find("\"amount_msats\""), earnings.rfind("\"amount_msats\"")) << "-l 1";
    EXPECT_NE(stopped[4].out.find("4 sats"), std::string::npos) << stopped[4].out;
    // v0.1's "Jobs completed" here counted only jobs with an earning: it is named for that.
    EXPECT_NE(stopped[4].out.find("Paid jobs:      2\n"), std::string::npos) << stopped[4].out;
    EXPECT_EQ(stopped[4].out.find("no payment backend"), std::string::npos) << stopped[4].out;

    // The same commands through the running daemon print the same bytes.
    ASSERT_EQ(run_pylon(home.args({"start", "--shards", "1"})).code, 0);
    ASSERT_GT(home.daemon_pid(), 0);
    for (std::size_t i = 0; i < commands.size(); i++) {
        RunResult live = run_pylon(home.args(commands[i]));
        EXPECT_EQ(live.code, 0) << live.err;
        EXPECT_EQ(live.out, stopped[i].out) << commands[i][0];
    }
    RunResult bad = run_pylon(home.args({"jobs", "--status", "weird"}));
    EXPECT_EQ(bad.code, 2);
    EXPECT_EQ(run_pylon(home.args({"jobs", "-l", "0"})).code, 2);
    EXPECT_EQ(run_pylon(home.args({"stop"})).code, 0);
}

TEST(Daemon, LogsFollowAndWatchSeeAReload) {
    Home home;
    ASSERT_EQ(run_pylon(home.args({"start", "--shards", "1"})).code, 0);
    pid_t pid = home.daemon_pid();
    ASSERT_GT(pid, 0);
    // -n 200: the unreachable default relays log a warning every second or so from the start,
    // so "pylon started" can be more than a few lines back by the time logs -f starts (-n 5
    // missed it under load).
    test::ChildSpec logs;
    logs.argv = {test::tool_path("pylon"), "logs", "-f", "-n", "200", "--home", home.path()};
    auto follower = test::ChildProcess::spawn(logs);
    ASSERT_TRUE(follower.ok());
    test::ChildSpec watch;
    watch.argv = {test::tool_path("pylon"), "watch", "--home", home.path()};
    auto watcher = test::ChildProcess::spawn(watch);
    ASSERT_TRUE(watcher.ok());
    // watch prints its header once the daemon accepted its Subscribe.
    ASSERT_TRUE((*watcher)->wait_for_line("Watching events", 10000).has_value())
        << (*watcher)->describe();
    ASSERT_TRUE(
        (*follower)->wait_for_line(std::regex("pylon started on 1 shard"), 10000).has_value())
        << (*follower)->describe();
    ASSERT_TRUE(test::write_file(home.file("config.toml"), "min_price_msats = 9000\n").ok());
    ::kill(pid, SIGHUP);
    EXPECT_TRUE(
        (*watcher)->wait_for_line(std::regex("config reloaded: 1 change"), 10000).has_value())
        << (*watcher)->describe();
    EXPECT_TRUE(
        (*follower)->wait_for_line(std::regex("config reloaded: 1 change"), 10000).has_value())
        << (*follower)->describe();
    // watch --json prints the daemon's NDJSON lines as they are. It prints nothing before an
    // event, so reload until it has seen one (bounded).
    test::ChildSpec json_watch = watch;
    json_watch.argv.push_back("--json");
    auto json_watcher = test::ChildProcess::spawn(json_watch);
    ASSERT_TRUE(json_watcher.ok());
    bool seen = false;
    for (int i = 0; i < 50 && !seen; i++) {
        ASSERT_TRUE(test::write_file(home.file("config.toml"),
                                     "min_price_msats = " + std::to_string(10000 + i) + "\n")
                        .ok());
        ::kill(pid, SIGHUP);
        seen = (*json_watcher)
                   ->wait_for_line("{\"ConfigReloaded\":{\"keys\":[\"min_price_msats\"]", 200)
                   .has_value();
    }
    EXPECT_TRUE(seen) << (*json_watcher)->describe();
    EXPECT_EQ(run_pylon(home.args({"stop"})).code, 0);
    // watch ends with the daemon's stream (exit 0); logs -f runs until it is stopped.
    auto watch_exit = (*watcher)->wait_exit(10000);
    ASSERT_TRUE(watch_exit.has_value());
    EXPECT_TRUE(watch_exit->exited && watch_exit->code == 0) << (*watcher)->describe();
    auto json_exit = (*json_watcher)->wait_exit(10000);
    ASSERT_TRUE(json_exit.has_value());
    EXPECT_TRUE(json_exit->exited && json_exit->code == 0) << (*json_watcher)->describe();
    EXPECT_TRUE((*json_watcher)->wait_for_line("{\"ShuttingDown\":", 0).has_value())
        << (*json_watcher)->describe();
    EXPECT_TRUE((*follower)->running());
    (*follower)->stop(1000);
}

TEST(Daemon, StartUsesTheConfigGivenWithCAlsoOnReload) {
    Home home;
    ASSERT_TRUE(test::write_file(home.file("config.toml"), "[shards]\ncount = 1\n").ok());
    ASSERT_TRUE(test::write_file(home.file("other.toml"), "[shards]\ncount = 2\n").ok());
    // A relative -c from the caller's folder: the daemon works from / after it detaches.
    test::ChildSpec spec;
    spec.argv = {test::tool_path("pylon"), "start", "-c", "other.toml", "--home", home.path()};
    spec.cwd = home.path();
    auto start = test::ChildProcess::spawn(spec);
    ASSERT_TRUE(start.ok());
    auto exit = (*start)->wait_exit(30000);
    ASSERT_TRUE(exit.has_value() && exit->exited && exit->code == 0) << (*start)->describe();
    pid_t pid = home.daemon_pid();
    ASSERT_GT(pid, 0);
    RunResult status = run_pylon(home.args({"status", "--json"}));
    EXPECT_NE(status.out.find("\"shards\":2"), std::string::npos) << status.out;
    auto sub = ControlClient::connect(home.file("control.sock"));
    ASSERT_TRUE(sub.ok());
    ASSERT_EQ(sub->request("\"Subscribe\"")->tag, "Ok");
    ASSERT_TRUE(
        test::write_file(home.file("other.toml"), "min_price_msats = 1234\n[shards]\ncount = 2\n")
            .ok());
    ::kill(pid, SIGHUP);
    auto reloaded = sub->read_line(10000);
    ASSERT_TRUE(reloaded.ok()) << reloaded.error().message();
    EXPECT_EQ(reloaded->rfind("{\"ConfigReloaded\":{\"keys\":[\"min_price_msats\"]", 0), 0u)
        << *reloaded;
    // "Reload" over the socket reads the same file; a restart-only key is reported, not applied.
    auto ctl = ControlClient::connect(home.file("control.sock"));
    ASSERT_TRUE(ctl.ok());
    ASSERT_TRUE(
        test::write_file(home.file("other.toml"), "min_price_msats = 777\n[shards]\ncount = 1\n")
            .ok());
    ASSERT_TRUE(ctl->send("\"Reload\"").ok());
    auto reply = ctl->read_line(10000);
    ASSERT_TRUE(reply.ok());
    EXPECT_EQ(*reply,
              "{\"Reloaded\":{\"applied\":[\"min_price_msats\"],\"not_applied\":"
              "[\"shards.count\"],\"warnings\":[]}}");
    // A broken file changes nothing and names the place.
    ASSERT_TRUE(test::write_file(home.file("other.toml"), "min_price_msats = \"lots\"\n").ok());
    ASSERT_TRUE(ctl->send("\"Reload\"").ok());
    reply = ctl->read_line(10000);
    ASSERT_TRUE(reply.ok());
    EXPECT_EQ(reply->rfind("{\"Error\":\"reload: " + home.file("other.toml") + ":1:19: ", 0), 0u)
        << *reply;
    // The -c file gone: refused, as a start with it would be (before: every setting silently
    // back to its default).
    ASSERT_EQ(::unlink(home.file("other.toml").c_str()), 0);
    ASSERT_TRUE(ctl->send("\"Reload\"").ok());
    reply = ctl->read_line(10000);
    ASSERT_TRUE(reply.ok());
    EXPECT_EQ(reply->rfind("{\"Error\":\"reload: ", 0), 0u) << *reply;
    EXPECT_NE(reply->find(home.file("other.toml")), std::string::npos) << *reply;
    EXPECT_EQ(ctl->request("\"Ping\"")->tag, "Pong");
    EXPECT_EQ(run_pylon(home.args({"stop"})).code, 0);
}

// Rows in the load database, and a check that no request was half-written.
struct DbCheck {
    std::int64_t jobs = -1;
    std::int64_t earnings = -1;
    std::string quick_check;
};
DbCheck check_db(const std::string& path) {
    DbCheck r;
    auto db = engine::StoreDb::open({path});
    EXPECT_TRUE(db.ok()) << (db.ok() ? "" : db.error().message());
    if (!db.ok()) {
        return r;
    }
    auto counts = (*db)->counts();
    r.jobs = static_cast<std::int64_t>(counts->jobs_total);
    r.earnings = static_cast<std::int64_t>(counts->earnings_msats / 1000);
    sqlite3* raw = nullptr;
    sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(raw, "PRAGMA integrity_check", -1, &st, nullptr);
    if (sqlite3_step(st) == SQLITE_ROW) {
        r.quick_check = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    sqlite3_close(raw);
    return r;
}

// Runs the load writer until `acks_min` requests are acknowledged, then sends `sig`; returns
// the last acknowledged count seen before the signal.
std::uint64_t load_then_signal(const std::string& db, int sig, std::uint64_t acks_min) {
    test::ChildSpec spec;
    spec.argv = {test::binary_dir() + "/tests/integration/pylon_store_load", "--db", db};
    auto child = test::ChildProcess::spawn(spec);
    EXPECT_TRUE(child.ok());
    auto& p = *child.value();
    EXPECT_TRUE(p.wait_for_line("READY", 20000).has_value()) << p.describe();
    std::uint64_t acked = 0;
    test::wait_until(
        [&] {
            for (const std::string& l : p.lines(test::Stream::out)) {
                if (l.rfind("ACK ", 0) == 0) {
                    acked = std::max<std::uint64_t>(acked, std::stoull(l.substr(4)));
                }
            }
            return acked >= acks_min;
        },
        60000, 20);
    EXPECT_GE(acked, acks_min) << p.describe();
    EXPECT_TRUE(p.signal(sig).ok());
    auto exit = p.wait_exit(30000);
    EXPECT_TRUE(exit.has_value()) << p.describe();
    if (sig == SIGTERM) {
        EXPECT_TRUE(exit->exited && exit->code == 0) << p.describe();
        auto stopped = p.wait_for_line("STOPPED", 5000);
        EXPECT_TRUE(stopped.has_value());
        if (stopped) {
            acked = std::stoull(stopped->substr(stopped->find('=') + 1));
        }
    } else {
        EXPECT_FALSE(exit->exited);
    }
    return acked;
}

TEST(Daemon, SigtermDuringLoadLeavesAConsistentDatabase) {
    auto dir = test::TempDir::create("pylon-load");
    ASSERT_TRUE(dir.ok());
    std::string db = dir->file("pylon.db");
    std::uint64_t acked = load_then_signal(db, SIGTERM, 2000);
    DbCheck c = check_db(db);
    EXPECT_EQ(c.quick_check, "ok");
    EXPECT_EQ(static_cast<std::uint64_t>(c.jobs), acked) << "graceful stop: every ack, no more";
    EXPECT_EQ(c.jobs, c.earnings) << "a request was half-written";
}

TEST(Daemon, KillNineDuringLoadLosesNoAcknowledgedRow) {
    auto dir = test::TempDir::create("pylon-load");
    ASSERT_TRUE(dir.ok());
    std::string db = dir->file("pylon.db");
    std::uint64_t acked = load_then_signal(db, SIGKILL, 2000);
    DbCheck c = check_db(db);
    EXPECT_EQ(c.quick_check, "ok");
    EXPECT_GE(static_cast<std::uint64_t>(c.jobs), acked);
    EXPECT_EQ(c.jobs, c.earnings) << "a request was half-written";
    // And the writer starts again on the same database, adding to it.
    std::uint64_t more = load_then_signal(db, SIGTERM, 400);
    DbCheck c2 = check_db(db);
    EXPECT_EQ(c2.quick_check, "ok");
    EXPECT_EQ(static_cast<std::uint64_t>(c2.jobs), static_cast<std::uint64_t>(c.jobs) + more);
}

TEST(Daemon, ConfigErrorsNameTheLineAndUnknownKeysWarn) {
    Home home;
    ASSERT_TRUE(test::write_file(home.file("config.toml"),
                                 "name = \"node\"\n\n[limits]\njob_queue_max = \"many\"\n")
                    .ok());
    RunResult bad = run_pylon(home.args({"start", "-f"}));
    EXPECT_EQ(bad.code, 1);
    EXPECT_NE(bad.err.find(home.file("config.toml") +
                           ":4:17: limits.job_queue_max: expected an integer, found a string"),
              std::string::npos)
        << bad.err;
    EXPECT_EQ(home.daemon_pid(), 0);
    ASSERT_TRUE(
        test::write_file(home.file("config.toml"), "name = \"node\"\nnmae = \"typo\"\n").ok());
    RunResult warn = run_pylon(home.args({"config"}));
    EXPECT_EQ(warn.code, 0);
    EXPECT_NE(warn.err.find("config.toml:2:1: unknown key 'nmae' (ignored)"), std::string::npos)
        << warn.err;
    // start warns the same way and runs.
    RunResult started = run_pylon(home.args({"start", "--shards", "1"}));
    EXPECT_EQ(started.code, 0) << started.err;
    EXPECT_NE(started.err.find("pylon: warning: " + home.file("config.toml") +
                               ":2:1: unknown key 'nmae' (ignored)"),
              std::string::npos)
        << started.err;
    EXPECT_EQ(run_pylon(home.args({"stop"})).code, 0);
    RunResult missing = run_pylon(home.args({"start", "-f", "-c", home.file("nope.toml")}));
    EXPECT_EQ(missing.code, 1);
    EXPECT_NE(missing.err.find("nope.toml"), std::string::npos);
}

TEST(Daemon, ControlSocketAnswersGarbageAndRefusesOversizedLines) {
    Home home;
    ASSERT_EQ(run_pylon(home.args({"start", "--shards", "1"})).code, 0);
    auto c = ControlClient::connect(home.file("control.sock"));
    ASSERT_TRUE(c.ok());
    for (const char* junk :
         {"{", "\"Nope\"", "[]", "{\"Jobs\":{\"status\":\"weird\"}}", "\x01\x02"}) {
        auto reply = c->request(junk);
        ASSERT_TRUE(reply.ok()) << junk;
        EXPECT_EQ(reply->tag, "Error") << junk;
    }
    EXPECT_EQ(c->request("\"Ping\"")->tag, "Pong");
    auto status = c->request("\"Status\"");
    EXPECT_EQ(status->tag, "Status");
    auto big = ControlClient::connect(home.file("control.sock"));
    ASSERT_TRUE(big.ok());
    (void)big->send(std::string(200000, '['));
    auto last = big->read_line(5000);
    ASSERT_TRUE(last.ok());
    EXPECT_NE(last->find("longer than"), std::string::npos);
    EXPECT_EQ(big->read_line(5000).error().code(), Errc::closed);
    EXPECT_EQ(c->request("\"Ping\"")->tag, "Pong");
    EXPECT_EQ(run_pylon(home.args({"stop"})).code, 0);
}

// Forks a parent that starts `pylon start --managed` and waits; returns the parent's pid and,
// through `daemon`, pylon's.
pid_t spawn_managed_under_parent(const std::string& home, pid_t* daemon, int* status_fd) {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    pid_t parent = ::fork();
    if (parent == 0) {
        pid_t child = ::fork();
        if (child == 0) {
            int null_fd = ::open("/dev/null", O_RDWR);
            ::dup2(null_fd, 0);
            ::dup2(null_fd, 1);
            ::dup2(null_fd, 2);
            std::string pylon = test::tool_path("pylon");
            ::execl(pylon.c_str(), pylon.c_str(), "start", "--managed", "--shards", "1", "--home",
                    home.c_str(), static_cast<char*>(nullptr));
            _exit(127);
        }
        (void)!::write(fds[1], &child, sizeof child);
        for (;;) {
            ::pause();
        }
    }
    ::close(fds[1]);
    EXPECT_EQ(::read(fds[0], daemon, sizeof *daemon), static_cast<ssize_t>(sizeof *daemon));
    *status_fd = fds[0];
    return parent;
}

TEST(Daemon, ManagedStopsWhenItsParentDies) {
    Home home;
    pid_t daemon = 0;
    int fd = -1;
    pid_t parent = spawn_managed_under_parent(home.path(), &daemon, &fd);
    ASSERT_GT(daemon, 0);
    ASSERT_TRUE(test::wait_until(
        [&] {
            auto c = ControlClient::connect(home.file("control.sock"), 500);
            return c.ok() && c->request("\"Ping\"").ok();
        },
        20000, 50));
    EXPECT_FALSE(exists(home.file("pylon.pid"))) << "managed mode writes no pid file";
    ::kill(parent, SIGKILL);
    int st = 0;
    ::waitpid(parent, &st, 0);
    EXPECT_TRUE(wait_gone(daemon, 10000)) << "the managed daemon outlived its parent";
    ::close(fd);
    EXPECT_FALSE(exists(home.file("control.sock")));
}

// Starts `pylon start --managed` as our child, its stdin a pipe whose write end is *in_write;
// returns its pid once it answers Ping (0 if it never did within 20 s).
pid_t start_managed(const Home& home, int* in_write) {
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0) {
        return 0;
    }
    pid_t daemon = ::fork();
    if (daemon == 0) {
        ::dup2(in[0], 0);
        int null_fd = ::open("/dev/null", O_RDWR);
        ::dup2(null_fd, 1);
        ::dup2(null_fd, 2);
        std::string pylon = test::tool_path("pylon");
        ::execl(pylon.c_str(), pylon.c_str(), "start", "--managed", "--shards", "1", "--home",
                home.path().c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    ::close(in[0]);
    *in_write = in[1];
    bool up = test::wait_until(
        [&] {
            auto c = ControlClient::connect(home.file("control.sock"), 500);
            return c.ok() && c->request("\"Ping\"").ok();
        },
        20000, 50);
    return up ? daemon : 0;
}

// Waits up to 10 s for our child `daemon` to exit (SIGKILL after that); true if it exited 0.
bool reap_cleanly(pid_t daemon) {
    int st = 0;
    bool exited =
        test::wait_until([&] { return ::waitpid(daemon, &st, WNOHANG) == daemon; }, 10000, 20);
    if (!exited) {
        ::kill(daemon, SIGKILL);
        ::waitpid(daemon, &st, 0);
    }
    return exited && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

TEST(Daemon, ManagedStopsWhenStdinCloses) {
    Home home;
    int in_write = -1;
    pid_t daemon = start_managed(home, &in_write);
    ASSERT_GT(daemon, 0);
    ::close(in_write);
    EXPECT_TRUE(reap_cleanly(daemon));
}

// A regular start in a home whose --managed node runs: "already running", no pid file written
// (and, as the callers check, the node's socket left alone).
void expect_start_finds_it_running(const Home& home) {
    RunResult second = run_pylon(home.args({"start", "--shards", "1"}));
    EXPECT_EQ(second.code, 0) << second.err;
    EXPECT_NE(second.out.find("Pylon daemon is already running."), std::string::npos) << second.out;
    EXPECT_FALSE(exists(home.file("pylon.pid")));
}

TEST(Daemon, ManagedNodeIsSeenByStatusAndStoppedByStop) {
    Home home;
    int in_write = -1;
    pid_t daemon = start_managed(home, &in_write);
    ASSERT_GT(daemon, 0);
    // No pid file, but the node answers on the socket: running, with its own pid.
    RunResult status = run_pylon(home.args({"status", "--json"}));
    EXPECT_EQ(status.code, 0) << status.out << status.err;
    EXPECT_NE(status.out.find("{\"daemon\":{\"running\":true,\"pid\":" + std::to_string(daemon)),
              std::string::npos)
        << status.out;
    // A regular start in the same home sees it and leaves its socket alone.
    expect_start_finds_it_running(home);
    auto still = ControlClient::connect(home.file("control.sock"));
    ASSERT_TRUE(still.ok()) << "the managed node's socket was taken away";
    EXPECT_EQ(still->request("\"Ping\"")->tag, "Pong");
    RunResult stop = run_pylon(home.args({"stop"}));
    EXPECT_EQ(stop.code, 0) << stop.err;
    EXPECT_NE(stop.out.find("Stopping Pylon daemon (PID: " + std::to_string(daemon) + ")"),
              std::string::npos)
        << stop.out;
    EXPECT_NE(stop.out.find("stopped gracefully"), std::string::npos) << stop.out;
    EXPECT_TRUE(reap_cleanly(daemon));
    ::close(in_write);
    EXPECT_FALSE(exists(home.file("control.sock")));
    EXPECT_EQ(run_pylon(home.args({"status"})).code, 3);
}

// A managed node at its control connection bound refuses new clients ("too many control
// connections"): it is still running. Before, status said stopped, stop and watch said not
// running, doctor showed "PID 0", and a regular start took it for a dead daemon's socket,
// unlinked it and started a second node on the same home.
TEST(Daemon, ABusyManagedNodeIsStillRunningToStatusStartAndStop) {
    Home home;
    ASSERT_TRUE(
        test::write_file(home.file("config.toml"), "[control]\nconnections_max = 1\n").ok());
    int in_write = -1;
    pid_t daemon = start_managed(home, &in_write);
    ASSERT_GT(daemon, 0);
    auto hold = std::make_optional(ControlClient::connect(home.file("control.sock")));
    ASSERT_TRUE(hold->ok());
    ASSERT_EQ((*hold)->request("\"Ping\"")->tag, "Pong");  // the one connection allowed

    RunResult status = run_pylon(home.args({"status"}));
    EXPECT_NE(status.out.find("Daemon:   Running (PID unknown)"), std::string::npos) << status.out;
    EXPECT_NE(status.out.find("too many control connections"), std::string::npos) << status.out;
    RunResult json = run_pylon(home.args({"status", "--json"}));
    EXPECT_NE(json.out.find("{\"daemon\":{\"running\":true,\"pid\":null"), std::string::npos)
        << json.out;
    RunResult stop = run_pylon(home.args({"stop"}));
    EXPECT_EQ(stop.code, 1) << stop.out << stop.err;
    EXPECT_NE(stop.err.find("refused: too many control connections; try again later"),
              std::string::npos)
        << stop.err;
    RunResult watch = run_pylon(home.args({"watch"}));
    EXPECT_EQ(watch.code, 1) << watch.out << watch.err;
    EXPECT_NE(watch.err.find("too many control connections"), std::string::npos) << watch.err;
    RunResult doctor = run_pylon(home.args({"doctor"}));
    EXPECT_NE(doctor.out.find("running (PID unknown): a node without a pid file"),
              std::string::npos)
        << doctor.out;
    expect_start_finds_it_running(home);

    hold.reset();  // the connection is free again: the same node answers, and stops
    ASSERT_TRUE(test::wait_until(
        [&] {
            auto c = ControlClient::connect(home.file("control.sock"), 500);
            return c.ok() && c->request("\"Ping\"").ok() && c->request("\"Health\"").ok();
        },
        5000, 20))
        << "the managed node's socket was taken away";
    stop = run_pylon(home.args({"stop"}));
    EXPECT_EQ(stop.code, 0) << stop.err;
    EXPECT_NE(stop.out.find("(PID: " + std::to_string(daemon) + ")"), std::string::npos)
        << stop.out;
    EXPECT_TRUE(reap_cleanly(daemon));
    ::close(in_write);
}

// A daemon (pid file) at its control connection bound answers doctor's Ping with a refusal:
// doctor says so and suggests waiting. Before, it called the socket "silent" and suggested a
// restart of a healthy node.
TEST(Daemon, DoctorCallsADaemonAtItsConnectionBoundBusyNotSilent) {
    Home home;
    ASSERT_TRUE(test::write_file(home.file("config.toml"),
                                 "relays = []\n[control]\nconnections_max = 1\n"
                                 "[backends.ollama]\nenabled = false\n"
                                 "[backends.llamacpp]\nenabled = false\n")
                    .ok());
    ASSERT_EQ(run_pylon(home.args({"start", "--shards", "1"})).code, 0);
    RunResult doctor;
    {
        auto hold = ControlClient::connect(home.file("control.sock"));
        ASSERT_TRUE(hold.ok());
        ASSERT_EQ(hold->request("\"Ping\"")->tag, "Pong");  // the one connection allowed
        doctor = run_pylon(home.args({"doctor"}));
    }
    EXPECT_NE(doctor.out.find("its control socket refused: too many control connections"),
              std::string::npos)
        << doctor.out;
    EXPECT_NE(doctor.out.find("try again once fewer control clients are connected"),
              std::string::npos)
        << doctor.out;
    EXPECT_EQ(doctor.out.find("silent"), std::string::npos) << doctor.out;
    EXPECT_EQ(doctor.out.find("pylon stop && pylon start"), std::string::npos) << doctor.out;
    RunResult stop = run_pylon(home.args({"stop"}));
    EXPECT_EQ(stop.code, 0) << stop.out << stop.err;
}

// A managed node too busy to answer (here: stopped with SIGSTOP; its socket still accepts into
// the backlog) owns its socket through the lock it holds. Before, a regular start waited 1 s for
// Pong, took the socket for a dead daemon's, unlinked it and started a second node on the same
// home, and status said Stopped.
TEST(Daemon, AManagedNodeThatDoesNotAnswerKeepsItsSocketAndCountsAsRunning) {
    Home home;
    int in_write = -1;
    pid_t daemon = start_managed(home, &in_write);
    ASSERT_GT(daemon, 0);
    struct stat before {};
    ASSERT_EQ(::stat(home.file("control.sock").c_str(), &before), 0);
    ASSERT_EQ(::kill(daemon, SIGSTOP), 0);
    int st = 0;
    ASSERT_EQ(::waitpid(daemon, &st, WUNTRACED), daemon);
    ASSERT_TRUE(WIFSTOPPED(st));

    RunResult second = run_pylon(home.args({"start", "--shards", "1"}));
    EXPECT_NE(second.out.find("Pylon daemon is already running."), std::string::npos)
        << second.out << second.err;
    if (auto pid = test::read_file(home.file("pylon.pid")); pid.ok()) {
        pid_t other = static_cast<pid_t>(std::atoi(pid->c_str()));  // a second node: stop it
        ADD_FAILURE() << "a second node started, pid " << other;
        if (other > 0) {
            ::kill(other, SIGKILL);
        }
    }
    struct stat after {};
    ASSERT_EQ(::stat(home.file("control.sock").c_str(), &after), 0);
    EXPECT_EQ(after.st_ino, before.st_ino) << "the stopped node's socket was replaced";

    RunResult status = run_pylon(home.args({"status"}));
    EXPECT_NE(status.out.find("Daemon:   Running (PID unknown)"), std::string::npos) << status.out;
    EXPECT_NE(status.out.find("holds this home's control socket but did not answer"),
              std::string::npos)
        << status.out;
    RunResult doctor = run_pylon(home.args({"doctor"}));
    EXPECT_NE(doctor.out.find("the node is hung or stopped (SIGSTOP)"), std::string::npos)
        << doctor.out;

    ASSERT_EQ(::kill(daemon, SIGCONT), 0);
    RunResult stop = run_pylon(home.args({"stop"}));
    EXPECT_EQ(stop.code, 0) << stop.err;
    EXPECT_NE(stop.out.find("(PID: " + std::to_string(daemon) + ")"), std::string::npos)
        << stop.out;
    EXPECT_TRUE(reap_cleanly(daemon));
    ::close(in_write);
}

TEST(Daemon, DoctorProbesBackendsAndRelaysForReal) {
    Home home;
    test::ChildSpec fake;
    fake.argv = {test::tool_path("fake_ollama"), "--models", "llama3.2,qwen3:8b"};
    auto ollama = test::spawn_ready(fake);
    ASSERT_TRUE(ollama.ok()) << ollama.error().message();
    std::string relays = "relays = [\"ws://127.0.0.1:1\"]\n";
    std::optional<test::ReadyChild> relay;
    if (test::node_available()) {
        auto r = test::spawn_ready(test::node_script_spec("relay.mjs"));
        ASSERT_TRUE(r.ok()) << r.error().message();
        relays =
            "relays = [\"ws://127.0.0.1:" + std::to_string(r->port) + "\", \"ws://127.0.0.1:1\"]\n";
        relay.emplace(std::move(r.value()));
    }
    ASSERT_TRUE(test::write_file(home.file("config.toml"),
                                 relays + "[backends.ollama]\nurl = \"http://127.0.0.1:" +
                                     std::to_string(ollama->port) +
                                     "\"\n[backends.llamacpp]\nenabled = false\n")
                    .ok());
    RunResult doctor = run_pylon(home.args({"doctor", "--json"}));
    EXPECT_EQ(doctor.code, 0) << doctor.out << doctor.err;
    EXPECT_NE(doctor.out.find("\"ready\":true"), std::string::npos) << doctor.out;
    EXPECT_NE(doctor.out.find("{\"name\":\"backend ollama\",\"status\":\"ok\",\"detail\":"
                              "\"ollama at http://127.0.0.1:" +
                              std::to_string(ollama->port) + ": 2 model(s)"),
              std::string::npos)
        << doctor.out;
    EXPECT_NE(doctor.out.find("\"status\":\"warn\",\"detail\":\"ws://127.0.0.1:1 (unreachable"),
              std::string::npos)
        << doctor.out;
    if (relay) {
        EXPECT_NE(doctor.out.find("{\"name\":\"relay\",\"status\":\"ok\",\"detail\":\"ws://"),
                  std::string::npos)
            << doctor.out;
    }
    RunResult human = run_pylon(home.args({"doctor"}));
    EXPECT_NE(human.out.find("Ready to start earning!"), std::string::npos) << human.out;
}

TEST(Daemon, EmbedExampleRunsTheRuntimeInProcess) {
    auto dir = test::TempDir::create("pylon-embed");
    ASSERT_TRUE(dir.ok());
    test::ChildSpec spec;
    spec.argv = {
        test::tool_path("embed_example"), "--home", dir->path(), "--seconds", "1", "--control"};
    auto child = test::ChildProcess::spawn(spec);
    ASSERT_TRUE(child.ok());
    auto& p = *child.value();
    ASSERT_TRUE(p.wait_for_line("running:", 10000).has_value()) << p.describe();
    // While it runs, the CLI sees it through its control socket (no pid file: not a daemon).
    auto c = ControlClient::connect(dir->file("control.sock"));
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->request("\"Ping\"")->tag, "Pong");
    RunResult status = run_pylon({"status", "--json", "--home", dir->path()});
    EXPECT_EQ(status.code, 0) << status.out;
    EXPECT_NE(status.out.find("\"pid\":" + std::to_string(p.pid())), std::string::npos)
        << status.out;
    auto exit = p.wait_exit(10000);
    ASSERT_TRUE(exit.has_value());
    EXPECT_EQ(exit->code, 0) << p.describe();
    drain(p);
    std::string out = p.tail(test::Stream::out);
    EXPECT_NE(out.find("second start: refused"), std::string::npos) << out;
    EXPECT_NE(out.find("stopped: ok"), std::string::npos) << out;
}

}  // namespace
}  // namespace pylon
