// `pylon start --foreground` runs its shards until SIGINT or SIGTERM and then exits 0.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/run_pylon.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

namespace pylon {
namespace {

// Loopback only: a config naming a closed loopback port (`closed`, "127.0.0.1:<port>") for the
// relay and both backends (the default config's relays are public).
void write_loopback_config(const std::string& path, std::string* closed,
                           const std::string& extra = "") {
    auto port = test::free_loopback_port();
    ASSERT_TRUE(port.ok());
    *closed = "127.0.0.1:" + std::to_string(*port);
    ASSERT_TRUE(test::write_file(path, "relays = [\"ws://" + *closed +
                                           "\"]\n[backends.ollama]\nurl = \"http://" + *closed +
                                           "\"\n[backends.llamacpp]\nurl = \"http://" + *closed +
                                           "\"\n" + extra)
                    .ok());
}

// A home for `pylon start -f` with the node's identity (what `pylon init` writes: a BIP-39 test
// phrase) and a loopback config (write_loopback_config, plus `extra`); the spec that starts it.
test::ChildSpec prepare_start(const test::TempDir& home, const char* shards,
                              const std::string& extra) {
    std::string config = home.file("c.toml");
    std::string closed;
    write_loopback_config(config, &closed, extra);
    std::string id = home.file("identity.mnemonic");
    EXPECT_TRUE(test::write_file(id,
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
                 home.path(),
                 "-c",
                 config};
    return spec;
}

void start_then_signal(int sig, const char* shards) {
    auto home = test::TempDir::create("pylon-start");
    ASSERT_TRUE(home.ok());
    // The first reconnect comes after the stop's 2 s flush window: nothing can be delivered.
    test::ChildSpec spec =
        prepare_start(*home, shards, "[relay_pool]\nbackoff_initial_ms = 5000\n");
    auto child = test::ChildProcess::spawn(spec);
    ASSERT_TRUE(child.ok()) << child.error().message();
    auto& p = *child.value();
    auto line = p.wait_for_line("", 10'000, test::Stream::err);
    ASSERT_TRUE(line.has_value()) << p.describe();
    ASSERT_TRUE(p.wait_for_line(std::regex("started on"), 10'000, test::Stream::err).has_value())
        << p.describe();
    // The NIP-89 announcement waits in the queue of a relay that refuses connections: the stop
    // does not wait for a link whose next attempt is after its 2 s flush bound (it waited that
    // whole bound).
    ASSERT_TRUE(p.wait_for_line(std::regex("NIP-89 announcement queued"), 10'000, test::Stream::err)
                    .has_value())
        << p.describe();
    ASSERT_TRUE(test::wait_until(
        [&p]() {
            auto lines = p.lines(test::Stream::err);
            return std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
                return l.find("reconnecting in") != std::string::npos;
            });
        },
        10'000))
        << p.describe();
    ASSERT_TRUE(p.signal(sig).ok());
    auto exit = p.wait_exit(1500);
    ASSERT_TRUE(exit.has_value()) << "did not stop within 1.5 s of the signal\n" << p.describe();
    EXPECT_TRUE(exit->exited) << p.describe();
    EXPECT_EQ(exit->code, 0) << p.describe();
}

TEST(PylonStart, SigtermStopsCleanlyWithTwoShards) {
    start_then_signal(SIGTERM, "2");
}
TEST(PylonStart, SigintStopsCleanlyWithOneShard) {
    start_then_signal(SIGINT, "1");
}

// Quick start 1 on a machine with no prior state: scripts/start-node.sh (what run.sh runs once it
// has built the node) creates the identity in a home that does not exist yet, and the node keeps
// running with no backend and no relay reachable, saying what it waits for and retrying. Loopback
// only: the config names a closed loopback port for the relay and both backends (the default
// config's relays are public).
TEST(PylonStart, QuickStartOnAFreshHomeCreatesAnIdentityAndWaits) {
    auto dir = test::TempDir::create("pylon-quick");
    ASSERT_TRUE(dir.ok());
    std::string config = dir->file("c.toml");
    std::string closed;
    ASSERT_NO_FATAL_FAILURE(write_loopback_config(config, &closed));
    std::string home = dir->file("fresh-home");
    std::string mnemonic_path = home + "/identity.mnemonic";
    test::ChildSpec spec;
    spec.argv = {"/bin/bash",
                 test::source_dir() + "/scripts/start-node.sh",
                 test::tool_path("pylon"),
                 "--shards",
                 "1",
                 "--home",
                 home,
                 "-c",
                 config};
    std::string mnemonic;
    for (int run = 0; run < 2; run++) {
        auto child = test::ChildProcess::spawn(spec);
        ASSERT_TRUE(child.ok()) << child.error().message();
        auto& p = *child.value();
        if (run == 0) {
            ASSERT_TRUE(p.wait_for_line("Identity saved to", 10'000).has_value()) << p.describe();
        }
        ASSERT_TRUE(
            p.wait_for_line(std::regex("started on"), 10'000, test::Stream::err).has_value())
            << p.describe();
        ASSERT_TRUE(p.wait_for_line(
                         std::regex("waiting for an inference backend: ollama at http://" + closed),
                         10'000, test::Stream::err)
                        .has_value())
            << p.describe();
        // Retried: at least two refusals of the relay, each with its next attempt.
        std::regex refused("relay ws://" + closed + ": .*reconnecting in");
        auto refusals = [&p, &refused]() {
            auto lines = p.lines(test::Stream::err);
            return std::count_if(lines.begin(), lines.end(), [&refused](const std::string& l) {
                return std::regex_search(l, refused);
            });
        };
        EXPECT_TRUE(test::wait_until([&refusals]() { return refusals() >= 2; }, 10'000))
            << p.describe();
        // The default backend_preference names apple_fm (macOS only): skipped without a warning
        // while another backend is configured.
        auto err = p.lines(test::Stream::err);
        EXPECT_FALSE(std::any_of(err.begin(), err.end(), [](const std::string& l) {
            return l.find("WARN") != std::string::npos && l.find("apple_fm") != std::string::npos;
        })) << p.describe();
        struct stat st {};
        ASSERT_EQ(::stat(mnemonic_path.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0600U);
        auto text = test::read_file(mnemonic_path);
        ASSERT_TRUE(text.ok());
        if (run == 0) {
            mnemonic = *text;
            EXPECT_GE(std::count(mnemonic.begin(), mnemonic.end(), ' '), 11) << mnemonic;
        } else {
            EXPECT_EQ(*text, mnemonic) << "the second start made a new identity";
            auto out = p.lines(test::Stream::out);
            EXPECT_EQ(std::count_if(
                          out.begin(), out.end(),
                          [](const std::string& l) { return l.starts_with("Identity saved to"); }),
                      0)
                << p.describe();
        }
        ASSERT_TRUE(p.signal(SIGTERM).ok());  // the script exec'd the node: same pid
        auto exit = p.wait_exit(15'000);
        ASSERT_TRUE(exit.has_value()) << "did not stop after SIGTERM\n" << p.describe();
        EXPECT_TRUE(exit->exited) << p.describe();
        EXPECT_EQ(exit->code, 0) << p.describe();
    }
}

// Runs the node once (it makes pylon.db), then adds a job that "previous run" left processing,
// received long ago, so the next start's reconcile (a write) fails it, and takes pylon.db's
// write lock (BEGIN IMMEDIATE) as another process would; release() or the destructor lets go.
struct HeldWriteLock {
    sqlite3* db = nullptr;
    HeldWriteLock(const test::TempDir& home, const test::ChildSpec& spec,
                  const std::string& job_id) {
        auto first = test::ChildProcess::spawn(spec);
        if (!first.ok()) {
            ADD_FAILURE() << first.error().message();
            return;
        }
        EXPECT_TRUE((*first)->wait_for_line(std::regex("started on"), 10'000, test::Stream::err))
            << (*first)->describe();
        EXPECT_EQ((*first)->stop(10'000).code, 0) << (*first)->describe();
        if (sqlite3_open(home.file("pylon.db").c_str(), &db) != SQLITE_OK) {
            ADD_FAILURE() << "open pylon.db";
            return;
        }
        std::string insert =
            "INSERT INTO jobs (id, kind, customer_pubkey, status, started_at, received_at_ms) "
            "VALUES ('" +
            job_id + "', 5050, 'cc', 'processing', 1000, 1000000)";
        EXPECT_EQ(sqlite3_exec(db, insert.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
        held = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
    }
    HeldWriteLock(const HeldWriteLock&) = delete;
    HeldWriteLock& operator=(const HeldWriteLock&) = delete;
    ~HeldWriteLock() {
        release();
        sqlite3_close(db);
    }
    void release() {
        if (held) {
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            held = false;
        }
    }
    bool held = false;
};

// Another process holding pylon.db's write lock (a backup, an operator's sqlite3 session) at the
// start: the node starts anyway and answers the CLI from a snapshot (its start-up counts and
// `pylon jobs` only read), says what it waits for, and runs the reconcile of the previous run's
// unfinished jobs once the lock is released. It used to stop after 2 x busy_timeout_ms with
// "BEGIN IMMEDIATE: database is locked".
TEST(PylonStart, AWriteLockHeldByAnotherProcessDelaysTheReconcileNotTheStart) {
    auto home = test::TempDir::create("pylon-locked");
    ASSERT_TRUE(home.ok());
    test::ChildSpec spec = prepare_start(*home, "1", "[store]\nbusy_timeout_ms = 200\n");
    HeldWriteLock lock(*home, spec, "job_00000000000000aa");
    ASSERT_TRUE(lock.held);

    auto child = test::ChildProcess::spawn(spec);
    ASSERT_TRUE(child.ok()) << child.error().message();
    auto& p = *child.value();
    ASSERT_TRUE(p.wait_for_line(std::regex("started on"), 10'000, test::Stream::err))
        << p.describe();
    ASSERT_TRUE(p.wait_for_line(std::regex("reconcile of the jobs left unfinished: .*database is "
                                           "locked.*busy_timeout_ms.*trying again"),
                                10'000, test::Stream::err))
        << p.describe();
    test::RunResult jobs = test::run_pylon({"jobs", "--home", home->path(), "--json"}, 10'000);
    EXPECT_EQ(jobs.code, 0) << jobs.err;
    EXPECT_NE(jobs.out.find("job_00000000000000aa"), std::string::npos) << jobs.out;
    EXPECT_TRUE(p.running()) << p.describe();

    lock.release();
    ASSERT_TRUE(p.wait_for_line(std::regex("after the restart: 0 unfinished job\\(s\\) run again, "
                                           "1 too old \\(failed\\)"),
                                10'000, test::Stream::err))
        << p.describe();
    auto exit = p.stop(10'000);
    EXPECT_TRUE(exit.exited && exit.code == 0) << p.describe();
    sqlite3_stmt* q = nullptr;
    ASSERT_EQ(
        sqlite3_prepare_v2(lock.db, "SELECT status FROM jobs WHERE id = 'job_00000000000000aa'", -1,
                           &q, nullptr),
        SQLITE_OK);
    ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(q, 0)), "failed");
    sqlite3_finalize(q);
}

// With a long busy_timeout_ms, the start's reconcile waits for the lock for long: meanwhile the
// node answers `pylon jobs` (its read is answered during the wait) and `pylon status` says what
// it waits for.
TEST(PylonStart, WhileAWriteWaitsForTheLockStatusSaysSoAndReadsAreAnswered) {
    auto home = test::TempDir::create("pylon-locked");
    ASSERT_TRUE(home.ok());
    test::ChildSpec spec = prepare_start(*home, "1", "[store]\nbusy_timeout_ms = 60000\n");
    HeldWriteLock lock(*home, spec, "job_00000000000000bb");
    ASSERT_TRUE(lock.held);

    auto child = test::ChildProcess::spawn(spec);
    ASSERT_TRUE(child.ok()) << child.error().message();
    auto& p = *child.value();
    ASSERT_TRUE(p.wait_for_line(std::regex("started on"), 10'000, test::Stream::err))
        << p.describe();
    // `pylon <args> --home <home>`: its stdout, its exit code checked unless `code` is -1.
    auto run = [&](std::vector<std::string> args, int code = 0) {
        args.insert(args.end(), {"--home", home->path()});
        test::RunResult r = test::run_pylon(std::move(args), 10'000);
        EXPECT_TRUE(code < 0 || r.code == code) << r.out << r.err;
        return r.out;
    };
    // The reconcile's write is waiting (it waits up to 60 s): status says so once it has.
    std::string status;
    for (int i = 0; i < 50; i++) {
        status = run({"status"});
        if (status.find("write lock on pylon.db") != std::string::npos) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(std::regex_search(
        status, std::regex("waiting [0-9.]+ m?s for another process's write lock on pylon.db")))
        << status;
    // The holder is this test process (its sqlite3 connection), named from /proc/locks; doctor
    // names it too.
    EXPECT_NE(status.find("held by pid " + std::to_string(::getpid())), std::string::npos)
        << status;
    // (doctor reads the home's config.toml: the loopback one, so it probes nothing outside)
    std::filesystem::copy_file(home->file("c.toml"), home->file("config.toml"));
    std::string doctor = run({"doctor", "--json"}, -1);
    EXPECT_NE(doctor.find("database lock"), std::string::npos) << doctor;
    EXPECT_NE(doctor.find("held by pid " + std::to_string(::getpid())), std::string::npos)
        << doctor;
    std::string json = run({"status", "--json"});
    EXPECT_TRUE(std::regex_search(json, std::regex("\"lock_wait_ms\":[1-9]"))) << json;
    EXPECT_NE(run({"jobs", "--json"}).find("job_00000000000000bb"), std::string::npos);
    EXPECT_TRUE(
        std::regex_search(run({"status", "--json"}), std::regex("\"reads_in_lock_waits\":[1-9]")));

    lock.release();
    ASSERT_TRUE(p.wait_for_line(std::regex("after the restart: 0 unfinished job\\(s\\) run again, "
                                           "1 too old \\(failed\\)"),
                                10'000, test::Stream::err))
        << p.describe();
    EXPECT_EQ(run({"status"}).find("write lock on pylon.db"), std::string::npos);
    auto exit = p.stop(10'000);
    EXPECT_TRUE(exit.exited && exit.code == 0) << p.describe();
}

TEST(PylonStart, StartNodeScriptNeedsTheBinary) {
    test::ChildSpec spec;
    spec.argv = {"/bin/bash", test::source_dir() + "/scripts/start-node.sh"};
    auto child = test::ChildProcess::spawn(spec);
    ASSERT_TRUE(child.ok()) << child.error().message();
    auto exit = child.value()->wait_exit(10'000);
    ASSERT_TRUE(exit.has_value());
    EXPECT_EQ(exit->code, 2);
    EXPECT_TRUE(
        child.value()->wait_for_line("usage: scripts/start-node.sh", 1000, test::Stream::err))
        << child.value()->describe();
}

// A damaged identity is shown as it is and stops the script: it used to be hidden, and `pylon
// init` then answered only that an identity exists.
TEST(PylonStart, StartNodeScriptShowsWhyAnIdentityCannotBeUsed) {
    auto home = test::TempDir::create("pylon-badid");
    ASSERT_TRUE(home.ok());
    std::string id = home->file("identity.mnemonic");
    ASSERT_TRUE(test::write_file(id, "garbage words\n").ok());
    ::chmod(id.c_str(), 0600);
    test::ChildSpec spec;
    spec.argv = {"/bin/bash", test::source_dir() + "/scripts/start-node.sh",
                 test::tool_path("pylon"), "--home", home->path()};
    auto child = test::ChildProcess::spawn(spec);
    ASSERT_TRUE(child.ok()) << child.error().message();
    auto& p = *child.value();
    auto exit = p.wait_exit(10'000);
    ASSERT_TRUE(exit.has_value()) << p.describe();
    EXPECT_EQ(exit->code, 1) << p.describe();
    EXPECT_TRUE(p.wait_for_line(std::regex("identity.mnemonic: expected 12, 15, 18, 21 or 24 "
                                           "words, got 2"),
                                1000, test::Stream::err))
        << p.describe();
    EXPECT_FALSE(p.wait_for_line(std::regex("already exists"), 0, test::Stream::out))
        << p.describe();
    auto text = test::read_file(id);
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(*text, "garbage words\n");
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
