// The CLI as an operator and a customer meet it when things are not fine (audit "ops"): a home
// another user owns (permission errors are reported, never taken for "stopped" or "no jobs"),
// `doctor` against what `start` refuses and against a home that is a file, `init` with a
// data_dir to create, `stop` leaving running jobs their shutdown grace, `status` naming an
// unavailable backend, and `pylon job`: usage errors, requests no relay takes, unknown ids, and
// --wait with two providers of which one refuses. Every process is stopped by its pid.
#include <gtest/gtest.h>

#include <sched.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "provider_e2e_support.hpp"
#include "reactor/clock.hpp"
#include "tests/integration/run_pylon.hpp"

namespace pylon::test {
namespace {

constexpr const char* other_mnemonic =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
    "about";
constexpr const char* unknown_id =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// A temporary home with an identity (the NIP-06 test mnemonic).
TempDir home_with_identity(const std::string& config) {
    auto dir = TempDir::create("pylon-cli-ops");
    EXPECT_TRUE(dir.ok());
    std::string id = dir->file("identity.mnemonic");
    EXPECT_TRUE(write_file(id, std::string(other_mnemonic) + "\n").ok());
    ::chmod(id.c_str(), 0600);
    EXPECT_TRUE(write_file(dir->file("config.toml"), config).ok());
    return std::move(dir.value());
}

constexpr const char* idle_config =
    "require_payment = false\nrelays = []\n[backends.ollama]\nenabled = false\n"
    "[backends.llamacpp]\nenabled = false\n";

// `pylon <args>` as user nobody (setpriv), so the root-owned 0700 home is not readable.
RunResult run_as_nobody(std::vector<std::string> args) {
    ChildSpec spec;
    spec.argv = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                 tool_path("pylon")};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    auto child = ChildProcess::spawn(spec);
    EXPECT_TRUE(child.ok());
    RunResult r;
    if (!child.ok()) {
        return r;
    }
    auto exit = child.value()->wait_exit(30000);
    r.code = exit && exit->exited ? exit->code : -1;
    drain(*child.value());
    r.out = child.value()->tail(Stream::out);
    r.err = child.value()->tail(Stream::err);
    return r;
}

TEST(CliOps, AnUnreadableHomeIsAPermissionErrorNeverStoppedOrEmpty) {
    if (::geteuid() != 0 || ::access("/usr/bin/setpriv", X_OK) != 0) {
        GTEST_SKIP() << "needs root and setpriv to run the CLI as another user";
    }
    TempDir home = home_with_identity(idle_config);
    ASSERT_EQ(run_pylon({"start", "--home", home.path()}).code, 0);
    RunResult status = run_as_nobody({"status", "--home", home.path()});
    EXPECT_EQ(status.code, 1) << status.out << status.err;
    EXPECT_FALSE(has(status.out, "Stopped")) << status.out;
    EXPECT_TRUE(has(status.out, "Daemon:   Unknown (")) << status.out;
    EXPECT_TRUE(has(status.err, "Permission denied")) << status.err;
    RunResult json = run_as_nobody({"status", "--json", "--home", home.path()});
    EXPECT_EQ(json.code, 1);
    EXPECT_TRUE(has(json.out, "\"error\":\"open " + home.path() + "/pylon.pid: Permission denied"))
        << json.out;
    for (std::vector<std::string> cmd :
         std::vector<std::vector<std::string>>{{"jobs"},
                                               {"earnings"},
                                               {"stop"},
                                               {"watch"},
                                               {"supervisor", "status"},
                                               {"worker", "status"},
                                               {"logs"}}) {
        std::string words = cmd.front() + (cmd.size() > 1 ? " " + cmd.back() : "");
        cmd.insert(cmd.end(), {"--home", home.path()});
        RunResult r = run_as_nobody(cmd);
        EXPECT_EQ(r.code, 1) << words << ": " << r.out << r.err;
        EXPECT_TRUE(has(r.err, "Permission denied")) << words << ": " << r.err;
        EXPECT_FALSE(has(r.out, "No jobs found") || has(r.out, "No earnings") ||
                     has(r.out, "not running") || has(r.err, "not running"))
            << words << ": " << r.out << r.err;
    }
    RunResult list = run_as_nobody({"job", "list", "--home", home.path()});
    EXPECT_EQ(list.code, 1) << list.out;
    EXPECT_TRUE(has(list.err, "Permission denied")) << list.err;
    RunResult doctor = run_as_nobody({"doctor", "--json", "--home", home.path()});
    EXPECT_EQ(doctor.code, 1);
    EXPECT_TRUE(has(doctor.out, "{\"name\":\"home\",\"status\":\"fail\"")) << doctor.out;
    // The owner still sees it running, and stops it.
    EXPECT_EQ(run_pylon({"status", "--home", home.path()}).code, 0);
    EXPECT_EQ(run_pylon({"stop", "--home", home.path()}).code, 0);
}

// A pylon.db the node's user cannot write (audit, session 13): SQLite opened it read-only
// without a word, and the node ran, refusing every request after its retries. Start refuses it,
// naming what to check.
TEST(CliOps, AReadOnlyDatabaseIsRefusedAtStart) {
    if (::geteuid() != 0 || ::access("/usr/bin/setpriv", X_OK) != 0) {
        GTEST_SKIP() << "needs root and setpriv to run the node as another user";
    }
    TempDir home = home_with_identity(idle_config);
    for (const char* f : {"", "/identity.mnemonic", "/config.toml"}) {
        ASSERT_EQ(::chown((home.path() + f).c_str(), 65534, 65534), 0) << f;
    }
    // The database, made by the node itself (as that user), then its write bit taken away.
    RunResult first = run_as_nobody({"start", "--home", home.path()});
    ASSERT_EQ(first.code, 0) << first.out << first.err;
    ASSERT_EQ(run_as_nobody({"stop", "--home", home.path()}).code, 0);
    ASSERT_EQ(::chmod(home.file("pylon.db").c_str(), 0444), 0);
    RunResult start = run_as_nobody({"start", "--foreground", "--home", home.path()});
    EXPECT_NE(start.code, 0) << start.out << start.err;
    EXPECT_TRUE(has(start.err, "the database can only be read")) << start.err;
    EXPECT_TRUE(has(start.err, "-wal and -shm")) << start.err;
}

TEST(CliOps, DoctorFailsWhatStartRefuses) {
    TempDir home = home_with_identity(
        "require_payment = true\nrelays = []\n[backends.ollama]\nenabled = false\n"
        "[backends.llamacpp]\nenabled = false\n");
    RunResult doctor = run_pylon({"doctor", "--json", "--home", home.path()});
    EXPECT_EQ(doctor.code, 1) << doctor.out;
    EXPECT_TRUE(has(doctor.out,
                    "{\"name\":\"start\",\"status\":\"fail\",\"detail\":\"payments: "
                    "require_payment = true, but this version has no payment"))
        << doctor.out;
    EXPECT_TRUE(has(doctor.out, "\"ready\":false")) << doctor.out;
    // No relay: nothing could reach the node, so not "ready" (before: a warning, and ready);
    // no backend enabled: the fix says to enable one rather than naming stock ports.
    EXPECT_TRUE(has(doctor.out,
                    "{\"name\":\"relays\",\"status\":\"fail\",\"detail\":\"none "
                    "configured: no job request can reach the node\""))
        << doctor.out;
    EXPECT_TRUE(has(doctor.out, "\"fix\":\"enable a backend in config.toml")) << doctor.out;
    RunResult start = run_pylon({"start", "--home", home.path()});
    EXPECT_EQ(start.code, 1);
    EXPECT_TRUE(has(start.err, "require_payment = true, but this version has no payment"))
        << start.err;
    // A config that does not load: not ready, and the defaults' backends and relays are not
    // probed in its place.
    ASSERT_TRUE(write_file(home.file("config.toml"), "min_price_msats = \"x\"\n").ok());
    RunResult unloadable = run_pylon({"doctor", "--json", "--home", home.path()});
    EXPECT_EQ(unloadable.code, 1);
    EXPECT_TRUE(has(unloadable.out, "\"ready\":false")) << unloadable.out;
    EXPECT_TRUE(has(unloadable.out, "not probed: the config does not load")) << unloadable.out;
    EXPECT_FALSE(has(unloadable.out, "\"name\":\"relay\"")) << unloadable.out;
    // The same config without require_payment: no `start` check fails.
    ASSERT_TRUE(write_file(home.file("config.toml"), idle_config).ok());
    RunResult fine = run_pylon({"doctor", "--json", "--home", home.path()});
    EXPECT_FALSE(has(fine.out, "{\"name\":\"start\"")) << fine.out;
}

// A worker or agents program, or llama-server's binary or model, that does not exist is what the
// supervisor leaves `not_spawning`: doctor warns of each with the reason, and is silent about
// children not configured.
TEST(CliOps, DoctorWarnsOfChildrenThatCannotStart) {
    TempDir home = home_with_identity(std::string(idle_config) +
                                      "[worker]\ncommand = [\"/nonexistent/pylon-worker\"]\n"
                                      "[agents]\ncommand = [\"no-such-agent-runner-x\"]\n"
                                      "accounts = [1]\n");
    RunResult doctor = run_pylon({"doctor", "--json", "--home", home.path()});
    EXPECT_TRUE(has(doctor.out,
                    "{\"name\":\"worker\",\"status\":\"warn\",\"detail\":\"cannot "
                    "start: worker command /nonexistent/pylon-worker does not exist"))
        << doctor.out;
    EXPECT_TRUE(has(doctor.out,
                    "{\"name\":\"agents\",\"status\":\"warn\",\"detail\":\"cannot "
                    "start: agents command no-such-agent-runner-x is not in PATH"))
        << doctor.out;
    EXPECT_FALSE(has(doctor.out, "\"name\":\"llama-server\"")) << doctor.out;
    ASSERT_TRUE(write_file(home.file("config.toml"),
                           std::string(idle_config) + "[worker]\ncommand = [\"/bin/true\"]\n")
                    .ok());
    RunResult fine = run_pylon({"doctor", "--json", "--home", home.path()});
    EXPECT_TRUE(has(fine.out,
                    "{\"name\":\"worker\",\"status\":\"ok\",\"detail\":\"starts "
                    "/bin/true\""))
        << fine.out;
    EXPECT_FALSE(has(fine.out, "\"name\":\"agents\"")) << fine.out;
}

// `config --defaults --json` prints the defaults in the --json form, whatever the file says;
// --markdown is a form of its own.
TEST(CliOps, ConfigDefaultsAsJson) {
    auto dir = TempDir::create("pylon-cli-ops");
    ASSERT_TRUE(dir.ok());
    RunResult effective = run_pylon({"config", "--json", "--home", dir->path()});
    RunResult defaults = run_pylon({"config", "--defaults", "--json", "--home", dir->path()});
    EXPECT_EQ(defaults.code, 0) << defaults.err;
    EXPECT_EQ(defaults.out.rfind("{\"", 0), 0u) << defaults.out;
    EXPECT_EQ(defaults.out, effective.out);  // no config file: the effective values are these
    ASSERT_TRUE(write_file(dir->file("config.toml"), "name = \"changed-name\"\n").ok());
    RunResult changed = run_pylon({"config", "--json", "--home", dir->path()});
    EXPECT_TRUE(has(changed.out, "\"name\":\"changed-name\"")) << changed.out;
    EXPECT_EQ(run_pylon({"config", "--defaults", "--json", "--home", dir->path()}).out,
              defaults.out);
    EXPECT_EQ(run_pylon({"config", "--markdown", "--json"}).code, 2);
    EXPECT_EQ(run_pylon({"config", "--markdown", "--defaults"}).code, 2);
}

// A number is digits (an optional '-'): " 3" and "+3" were taken as 3; `--status ""` is no
// status, not "every job".
TEST(CliOps, NumbersAndStatusesAreCheckedAsWritten) {
    TempDir home = home_with_identity(idle_config);
    RunResult three = run_pylon({"identity", "--account", "3", "--json", "--home", home.path()});
    EXPECT_EQ(three.code, 0) << three.err;
    EXPECT_TRUE(has(three.out, "\"account\":3")) << three.out;
    for (const char* bad : {" 3", "+3", "3 ", "", "-"}) {
        RunResult r = run_pylon({"identity", "--account", bad, "--home", home.path()});
        EXPECT_EQ(r.code, 2) << "'" << bad << "': " << r.out;
        EXPECT_TRUE(has(r.err, "--account: expected an integer in 0..2147483647, got '" +
                                   std::string(bad) + "'"))
            << r.err;
    }
    RunResult empty = run_pylon({"jobs", "--status", "", "--home", home.path()});
    EXPECT_EQ(empty.code, 2) << empty.out;
    EXPECT_TRUE(has(empty.err, "--status must be pending, processing")) << empty.err;
}

// What `job submit` refuses before it signs or records anything, and what it records.
TEST(CliOps, SubmitRefusesWhatCannotBeSentAndRecordsInANewHome) {
    TempDir home = home_with_identity(idle_config);  // relays = []
    auto submit = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"job", "submit"});
        return run_pylon(args);
    };
    RunResult no_relay = submit({"hi", "--key", customer_secret(2), "--home", home.path()});
    EXPECT_EQ(no_relay.code, 2) << no_relay.err;
    EXPECT_TRUE(has(no_relay.err, "no relay to publish to")) << no_relay.err;
    RunResult empty_relay =
        submit({"hi", "--relay", "", "--key", customer_secret(2), "--home", home.path()});
    EXPECT_EQ(empty_relay.code, 2) << empty_relay.err;
    RunResult empty_prompt = submit(
        {"  ", "--relay", "ws://127.0.0.1:1", "--key", customer_secret(2), "--home", home.path()});
    EXPECT_EQ(empty_prompt.code, 2) << empty_prompt.err;
    EXPECT_TRUE(has(empty_prompt.err, "the prompt is empty")) << empty_prompt.err;
    EXPECT_EQ(run_pylon({"job", "list", "--json", "--home", home.path()}).out, "[]\n");
    // `--home D` before the command stays D's, even when an option misses its value.
    RunResult missing = run_pylon(
        {"--home", home.path(), "job", "submit", "hi", "--relay", "ws://127.0.0.1:1", "--model"});
    EXPECT_EQ(missing.code, 2) << missing.err;
    EXPECT_TRUE(has(missing.err, "--model")) << missing.err;
    // An invalid config is a failure (exit 1), not a usage error.
    ASSERT_TRUE(write_file(home.file("config.toml"), "min_price_msats = \"x\"\n").ok());
    RunResult bad_config = submit({"hi", "--relay", "ws://127.0.0.1:1", "--home", home.path()});
    EXPECT_EQ(bad_config.code, 1) << bad_config.err;
    EXPECT_TRUE(has(bad_config.err, "config.toml:1:")) << bad_config.err;
    // A home that does not exist yet is created for the record.
    std::string fresh = home.file("new-home");
    RunResult sent =
        submit({"hi", "--relay", "ws://127.0.0.1:1", "--key", customer_secret(2), "--home", fresh});
    EXPECT_EQ(sent.code, 1) << sent.err;  // nobody listens there
    RunResult list = run_pylon({"job", "list", "--json", "--home", fresh});
    EXPECT_TRUE(has(list.out, "\"status\":\"failed\"")) << list.out << list.err;
}

// An empty path is a mistake, never the default home or config.
TEST(CliOps, EmptyPathsAreRefusedAndBarePylonTakesStartOptions) {
    EXPECT_EQ(run_pylon({"status", "--home", ""}).code, 2);
    auto dir = TempDir::create("pylon-cli-ops");
    ASSERT_TRUE(dir.ok());
    RunResult c = run_pylon({"start", "-c", "", "--home", dir->path()});
    EXPECT_EQ(c.code, 2) << c.err;
    EXPECT_TRUE(has(c.err, "--config needs a path")) << c.err;
    // A value left out before another option is named as such (before: `--home` became the
    // account and the home's path "an unexpected argument").
    RunResult account = run_pylon({"identity", "--account", "--home", dir->path()});
    EXPECT_EQ(account.code, 2) << account.err;
    EXPECT_TRUE(has(account.err, "pylon identity: --account needs a value")) << account.err;
    // A group's unknown word is named (before: only the group's usage).
    RunResult bogus = run_pylon({"job", "bogus"});
    EXPECT_EQ(bogus.code, 2) << bogus.err;
    EXPECT_TRUE(has(bogus.err, "pylon job: unknown command 'bogus'")) << bogus.err;
    EXPECT_TRUE(has(bogus.err, "job submit")) << bogus.err;
    // Bare `pylon` is `start -f -m both`; its own -m and -f are not "given twice".
    RunResult bare = run_pylon({"--home", dir->path(), "-m", "provider", "-f", "--help"});
    EXPECT_EQ(bare.code, 0) << bare.err;
    EXPECT_TRUE(has(bare.out, "--mode")) << bare.out;
}

TEST(CliOps, DoctorOnAHomeThatIsAFileSaysSo) {
    auto dir = TempDir::create("pylon-cli-ops");
    ASSERT_TRUE(dir.ok());
    std::string file = dir->file("home");
    ASSERT_TRUE(write_file(file, "not a folder\n").ok());
    RunResult doctor = run_pylon({"doctor", "--home", file});
    EXPECT_EQ(doctor.code, 1);
    EXPECT_TRUE(has(doctor.out, file + " is not a folder")) << doctor.out;
    EXPECT_FALSE(has(doctor.out, "chmod 700")) << doctor.out;
    EXPECT_FALSE(has(doctor.out, "restore identity.mnemonic")) << doctor.out;
}

// `pylon --home DIR <command>` runs the command (before, any first word starting with '-' made
// it a bare `pylon`: status, stop or identity started a foreground node on the default public
// relays), and a command that takes no words refuses a stray one (exit 2) instead of ignoring it.
TEST(CliOps, HomeBeforeTheCommandRunsTheCommandAndStrayWordsAreRefused) {
    auto dir = TempDir::create("pylon-cli-ops");
    ASSERT_TRUE(dir.ok());
    RunResult init = run_pylon({"--home", dir->path(), "init", "--json"}, 10000);
    EXPECT_EQ(init.code, 0) << init.err;
    EXPECT_TRUE(has(init.out, "\"npub\":\"npub1")) << init.out;
    RunResult status = run_pylon({"--home=" + dir->path(), "status", "--json"}, 10000);
    EXPECT_EQ(status.code, 3) << status.out << status.err;  // not running
    EXPECT_TRUE(has(status.out, "\"running\":false")) << status.out;
    EXPECT_FALSE(::access(dir->file("pylon.pid").c_str(), F_OK) == 0) << "a node was started";
    RunResult stop = run_pylon({"--home", dir->path(), "stop"}, 10000);
    EXPECT_EQ(stop.code, 0) << stop.out << stop.err;  // Pylon v0.1: nothing to stop is fine
    EXPECT_TRUE(has(stop.out, "Pylon daemon is not running.")) << stop.out;
    RunResult help = run_pylon({"--home", dir->path(), "--help"}, 10000);
    EXPECT_EQ(help.code, 0);
    EXPECT_TRUE(has(help.out, "Exit codes:")) << help.out;  // the general usage, not start's
    RunResult group = run_pylon({"--home", dir->path(), "job", "--help"}, 10000);
    EXPECT_EQ(group.code, 0) << group.err;
    EXPECT_TRUE(has(group.out, "Usage: pylon job <command>")) << group.out;
    RunResult unknown = run_pylon({"--home", dir->path(), "bogus"}, 10000);
    EXPECT_EQ(unknown.code, 2);
    EXPECT_TRUE(has(unknown.err, "unknown command 'bogus'")) << unknown.err;
    RunResult stray = run_pylon({"status", "foo", "--home", dir->path()}, 10000);
    EXPECT_EQ(stray.code, 2);
    EXPECT_TRUE(has(stray.err, "pylon status: unexpected argument 'foo'")) << stray.err;
    RunResult words = run_pylon({"jobs", "--json", "garbage", "--home", dir->path()}, 10000);
    EXPECT_EQ(words.code, 2) << words.out;
}

TEST(CliOps, InitCreatesAMissingDataDir) {
    auto dir = TempDir::create("pylon-cli-ops");
    ASSERT_TRUE(dir.ok());
    std::string data = dir->file("not/yet");
    ASSERT_TRUE(write_file(dir->file("config.toml"), "data_dir = \"" + data + "\"\n").ok());
    RunResult init = run_pylon({"init", "--json", "--home", dir->path()});
    EXPECT_EQ(init.code, 0) << init.err;
    struct stat st {};
    ASSERT_EQ(::stat((data + "/identity.mnemonic").c_str(), &st), 0) << init.out << init.err;
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat(data.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    // A relative data_dir is taken from the home, not from the shell's folder (the daemon runs
    // in /): init writes it there and identity finds it again.
    auto rel = TempDir::create("pylon-cli-ops");
    ASSERT_TRUE(rel.ok());
    ASSERT_TRUE(write_file(rel->file("config.toml"), "data_dir = \"keys\"\n").ok());
    RunResult made = run_pylon({"init", "--json", "--home", rel->path()});
    EXPECT_EQ(made.code, 0) << made.err;
    EXPECT_TRUE(has(made.out, "\"mnemonic_path\":\"" + rel->file("keys/identity.mnemonic") + "\""))
        << made.out;
    EXPECT_EQ(::stat(rel->file("keys/identity.mnemonic").c_str(), &st), 0);
    EXPECT_EQ(run_pylon({"identity", "--home", rel->path()}).code, 0);
}

// The stop's default timeout follows the node's shutdown_grace_ms, from the file it loaded.
TEST(CliOps, StopWaitsForTheNodesShutdownGrace) {
    TempDir home =
        home_with_identity(std::string(idle_config) + "[provider]\nshutdown_grace_ms = 30000\n");
    ASSERT_EQ(run_pylon({"start", "--home", home.path()}).code, 0);
    RunResult stop = run_pylon({"stop", "--home", home.path()});
    EXPECT_EQ(stop.code, 0) << stop.out << stop.err;
    EXPECT_TRUE(has(stop.out, "Waiting for graceful shutdown (timeout: 35s)")) << stop.out;
    EXPECT_TRUE(has(stop.out, "stopped gracefully")) << stop.out;
    // No relay and no backend: the log says why the node idles (not "not in this build").
    auto log = read_file(home.file("logs/pylon.log"));
    ASSERT_TRUE(log.ok());
    EXPECT_TRUE(has(log.value(),
                    "idle: no relay and no backend in use (`relays` is empty and no "
                    "backend is enabled)"))
        << log.value();

    // -c elsewhere (20 s of grace) wins over the home's file; a shorter -t gets a note.
    std::string other = home.file("other.toml");
    ASSERT_TRUE(
        write_file(other, std::string(idle_config) + "[provider]\nshutdown_grace_ms = 20000\n")
            .ok());
    ASSERT_EQ(run_pylon({"start", "-c", other, "--home", home.path()}).code, 0);
    RunResult quick = run_pylon({"stop", "-t", "8", "--home", home.path()});
    EXPECT_EQ(quick.code, 0);
    EXPECT_TRUE(has(quick.out, "(timeout: 8s)")) << quick.out;
    EXPECT_TRUE(has(quick.err, "shorter than the node's shutdown_grace_ms (20000 ms)"))
        << quick.err;
    ASSERT_EQ(run_pylon({"start", "-c", other, "--home", home.path()}).code, 0);
    RunResult follows = run_pylon({"stop", "--home", home.path()});
    EXPECT_TRUE(has(follows.out, "(timeout: 25s)")) << follows.out;
}

// `start -cPATH` (inline) with another identity account and relays: status shows that node's
// npub and relays (its Health names the config), stop its grace; `--shards 0` is the CPUs even
// when the config says 1.
TEST(CliOps, StatusAndStopFollowTheConfigTheNodeLoaded) {
    TempDir home = home_with_identity(idle_config);
    std::string other = home.file("other.toml");
    ASSERT_TRUE(write_file(other,
                           "require_payment = false\nrelays = [\"ws://127.0.0.1:1\"]\n"
                           "[identity]\naccount = 3\n[provider]\nshutdown_grace_ms = 20000\n"
                           "[backends.ollama]\nenabled = false\n[backends.llamacpp]\n"
                           "enabled = false\n[shards]\ncount = 1\n")
                    .ok());
    RunResult id3 = run_pylon({"identity", "--account", "3", "--json", "--home", home.path()});
    std::size_t at = id3.out.find("\"npub\":\"");
    ASSERT_NE(at, std::string::npos) << id3.out;
    std::string npub3 = id3.out.substr(at + 8, 63);
    ASSERT_EQ(run_pylon({"start", "-c" + other, "--shards", "0", "--home", home.path()}).code, 0);
    RunResult status = run_pylon({"status", "--json", "--home", home.path()});
    EXPECT_TRUE(has(status.out, "\"npub\":\"" + npub3 + "\"")) << status.out;
    EXPECT_TRUE(has(status.out, "\"relays\":[\"ws://127.0.0.1:1\"]")) << status.out;
    cpu_set_t cpus;
    ASSERT_EQ(::sched_getaffinity(0, sizeof cpus, &cpus), 0);
    EXPECT_TRUE(has(status.out, "\"shards\":" + std::to_string(CPU_COUNT(&cpus)) + ","))
        << status.out;
    RunResult stop = run_pylon({"stop", "--home", home.path()});
    EXPECT_TRUE(has(stop.out, "(timeout: 25s)")) << stop.out;
}

// `pylon jobs -l N` through the daemon with more rows than a relay message holds (audit,
// session 13): the reply (~470 bytes a row) was read with proto's 128 KiB message bound, so
// above ~250 rows the CLI said "unreadable Jobs reply" while the daemon was running.
TEST(CliOps, ALongJobsListThroughTheDaemon) {
    TempDir home = home_with_identity(idle_config);
    ASSERT_EQ(run_pylon({"start", "--home", home.path()}).code, 0);
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(home.file("pylon.db").c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    std::string sql = "BEGIN;";
    for (int i = 0; i < 400; i++) {  // ~190 KB of reply; the CLI output fits the child tail
        char id[65];
        std::snprintf(id, sizeof id, "%064x", i + 1);
        sql +=
            "INSERT INTO jobs (id, kind, customer_pubkey, status, started_at, request_id) "
            "VALUES ('" +
            std::string(id) + "', 5050, '" + std::string(64, 'a') +
            "', 'completed', 1764000000, '" + std::string(id) + "');";
    }
    sql += "COMMIT;";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
    RunResult json = run_pylon({"jobs", "-l", "1000", "--json", "--home", home.path()});
    EXPECT_EQ(json.code, 0) << json.err;
    std::size_t rows = 0;
    for (std::size_t at = json.out.find("\"status\":\"completed\""); at != std::string::npos;
         at = json.out.find("\"status\":\"completed\"", at + 1)) {
        rows++;
    }
    EXPECT_EQ(rows, 400u) << json.err;
    RunResult table = run_pylon({"jobs", "-l", "1000", "--home", home.path()});
    EXPECT_EQ(table.code, 0) << table.err;
    EXPECT_FALSE(has(table.err, "unreadable")) << table.err;
    EXPECT_EQ(run_pylon({"stop", "--home", home.path()}).code, 0);
}

TEST(CliOps, StatusNamesAnUnavailableBackendsUrl) {
    TempDir home = home_with_identity(
        "require_payment = false\nrelays = []\n[backends.ollama]\nurl = "
        "\"http://127.0.0.1:1\"\nprobe_interval_ms = 1000\n[backends.llamacpp]\nenabled = false\n");
    ASSERT_EQ(run_pylon({"start", "--home", home.path()}).code, 0);
    RunResult status = run_pylon({"status", "--home", home.path()});
    EXPECT_EQ(status.code, 0);
    EXPECT_TRUE(has(status.out, "None available")) << status.out;
    EXPECT_TRUE(has(status.out, "Unavailable: ollama  http://127.0.0.1:1")) << status.out;
    // Doctor's fix names where the node looks, not llama-server's stock port.
    RunResult doctor = run_pylon({"doctor", "--json", "--home", home.path()});
    EXPECT_TRUE(has(doctor.out, "\"fix\":\"start Ollama (ollama serve) at http://127.0.0.1:1\""))
        << doctor.out;
    EXPECT_EQ(run_pylon({"stop", "--home", home.path()}).code, 0);
}

TEST(CliOps, JobHelpAndAnUnknownRequestId) {
    auto dir = TempDir::create("pylon-cli-ops");
    ASSERT_TRUE(dir.ok());
    RunResult help = run_pylon({"job", "--help"});
    EXPECT_EQ(help.code, 0);
    EXPECT_TRUE(has(help.out, "job submit")) << help.out;
    EXPECT_EQ(run_pylon({"job"}).code, 2);
    RunResult unknown =
        run_pylon({"job", "status", unknown_id, "--local", "--json", "--home", dir->path()});
    EXPECT_EQ(unknown.code, 1) << unknown.out;
    EXPECT_TRUE(has(unknown.out, "\"status\":\"unknown\"")) << unknown.out;
    // The human form says what was asked: no relay with --local, and a relay that could not be
    // reached is not one that "knows nothing" of the request.
    RunResult local = run_pylon({"job", "status", unknown_id, "--local", "--home", dir->path()});
    EXPECT_EQ(local.code, 1) << local.out;
    EXPECT_TRUE(has(local.out, "--local asked no relay")) << local.out;
    RunResult down = run_pylon({"job", "status", unknown_id, "--relay", "ws://127.0.0.1:1",
                                "--timeout", "2", "--home", dir->path()});
    EXPECT_EQ(down.code, 1) << down.out;
    EXPECT_TRUE(has(down.out, "Not asked: ws://127.0.0.1:1: ")) << down.out;
    EXPECT_TRUE(has(down.out, "no relay could be asked")) << down.out;
    EXPECT_FALSE(has(down.out, "know nothing")) << down.out;
}

TEST(CliOps, SubmitRefusesBadRelaysAndKeysAndRecordsAnUnpublishedRequestAsFailed) {
    auto dir = TempDir::create("pylon-cli-ops");
    ASSERT_TRUE(dir.ok());
    auto submit = [&](std::vector<std::string> extra) {
        std::vector<std::string> args = {"job", "submit", "hi", "--home", dir->path()};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_pylon(args);
    };
    for (const char* bad : {"notaurl", "http://x"}) {
        RunResult r = submit({"--relay", bad, "--key", customer_secret(2)});
        EXPECT_EQ(r.code, 2) << bad;
        EXPECT_TRUE(has(r.err, "is not a ws:// or wss:// URL")) << r.err;
    }
    RunResult key = submit({"--relay", "ws://127.0.0.1:1", "--key", "nsec1bogus"});
    EXPECT_EQ(key.code, 2) << key.err;
    EXPECT_TRUE(has(key.err, "--key")) << key.err;
    // Hex that is no one's key would publish a request no provider can ever be: refused.
    for (char c : {'0', 'f'}) {
        RunResult provider = submit({"--relay", "ws://127.0.0.1:1", "--key", customer_secret(2),
                                     "--provider", std::string(64, c)});
        EXPECT_EQ(provider.code, 2) << provider.err;
        EXPECT_TRUE(has(provider.err, "--provider: not anyone's public key")) << provider.err;
    }

    // (The scheme in any case: the URL is normalised, as in the config.)
    RunResult nowhere = submit({"--relay", "WS://127.0.0.1:1", "--key", customer_secret(2)});
    EXPECT_EQ(nowhere.code, 1);
    EXPECT_TRUE(has(nowhere.err, "ws://127.0.0.1:1: ")) << nowhere.err;
    EXPECT_TRUE(has(nowhere.err, "Not published")) << nowhere.err;
    // One relay named three ways is asked once.
    RunResult thrice = submit({"--relay", "WS://127.0.0.1:1,ws://127.0.0.1:1/", "--relay",
                               "ws://127.0.0.1:1", "--key", customer_secret(2), "--json"});
    EXPECT_EQ(thrice.code, 1) << thrice.err;
    EXPECT_TRUE(has(thrice.out, "\"relays\":[\"ws://127.0.0.1:1\"]")) << thrice.out;
    RunResult list = run_pylon({"job", "list", "--json", "--home", dir->path()});
    EXPECT_TRUE(has(list.out, "\"status\":\"failed\"")) << list.out;
    // The reason is the failed job's `error`, not its `result` (a script reading `result` took
    // the error message for the output).
    EXPECT_TRUE(
        has(list.out, "\"result\":\"\",\"error\":\"published to no relay (ws://127.0.0.1:1: "))
        << list.out;
    EXPECT_FALSE(has(list.out, "\"status\":\"pending\"")) << list.out;
}

// A relay that forwards the request but never sends its OK (raw_relay --silent-first): the
// provider's answer proves the request was published, and the job is reported completed. Before,
// it was "published to no relay (...: sent no OK for the request)", exit 1; the same happened
// when a relay replayed an identical earlier submission's answers before its OK.
TEST(CliOps, AProvidersAnswerProvesPublicationWhenTheRelaysOkNeverComes) {
    if (!node_available()) {
        GTEST_SKIP() << node_unavailable_reason();
    }
    // Customer 4's public key (secret key 4: the x coordinate of 4G).
    const std::string customer = "e493dbf1c10d80f3581e4904930b1404cc6c13900ee0758474fa94abe8c4cd13";
    RelayProcess raw =
        start_relay("raw_relay.mjs", 0, {"--silent-first", "1", "--refuse-author", customer});
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "3"});
    NodeConfig config = node_config({raw.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.shards = 1;
    PylonNode node(config);
    node.start();
    auto cli_home = TempDir::create("pylon-cli");
    ASSERT_TRUE(cli_home.ok());
    RunResult run =
        run_pylon({"job", "submit", "Say hi", "--relay", raw.url(), "--wait", "--timeout", "20",
                   "--key", customer_secret(4), "--json", "--home", cli_home->path()},
                  40000);
    EXPECT_EQ(run.code, 0) << run.out << run.err;
    EXPECT_TRUE(has(run.out, "\"status\":\"completed\"")) << run.out;
    EXPECT_TRUE(has(run.out, "\"relays_accepted\":0")) << run.out;
    EXPECT_EQ(node.stop().code, 0);
}

// A provider killed mid-job (kill -9) runs it again after its restart, streaming its partials
// from the start. A script capturing stdout gets the result alone: partials go to a terminal
// only. Before, stdout held the first run's partial text, a line break, then the result.
TEST(CliOps, AWaitingSubmitsStdoutIsTheResultAloneWhenTheJobRunsAgain) {
    if (!node_available()) {
        GTEST_SKIP() << node_unavailable_reason();
    }
    RelayProcess relay = start_relay();
    // 40 tokens at 100 ms: the kill comes well inside the 4 s the job takes.
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "40", "--token-delay-ms", "100"});
    NodeConfig config = node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.shards = 1;
    config.extra = "[provider]\nshutdown_grace_ms = 200\npartial_interval_ms = 100";
    PylonNode node(config);
    node.start();
    auto cli_home = TempDir::create("pylon-cli");
    ASSERT_TRUE(cli_home.ok());
    ChildSpec spec;
    spec.argv = {tool_path("pylon"), "job",    "submit",        "Say hi", "--relay",
                 relay.url(),        "--wait", "--timeout",     "40",     "--key",
                 customer_secret(4), "--home", cli_home->path()};
    auto submit = ChildProcess::spawn(spec);
    ASSERT_TRUE(submit.ok());
    auto& p = *submit.value();
    ASSERT_TRUE(p.wait_for_line(std::regex(".*\\] processing.*"), 15000, Stream::err))
        << p.describe();
    std::this_thread::sleep_for(std::chrono::milliseconds(600));  // a few partials out
    node.kill9();
    node.start();
    auto exit = p.wait_exit(60000);
    ASSERT_TRUE(exit.has_value() && exit->exited) << p.describe();
    EXPECT_EQ(exit->code, 0) << p.describe();
    std::string out = p.tail(Stream::out);
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
    EXPECT_EQ(out.rfind("alpha bravo charlie", 0), 0u) << out;
    EXPECT_EQ(node.intake()["rerun"], 1u);
}

// On a terminal (a pty from util-linux's `script`, in every Debian) the partial text is streamed
// while the job runs, and the result completes that same text: it appears once.
TEST(CliOps, AWaitingSubmitStreamsPartialsToATerminal) {
    if (!node_available()) {
        GTEST_SKIP() << node_unavailable_reason();
    }
    if (::access("/usr/bin/script", X_OK) != 0) {
        GTEST_SKIP() << "no /usr/bin/script (util-linux) for a pseudo-terminal";
    }
    RelayProcess relay = start_relay();
    std::string words;  // w01 ... w30: each word once in the result
    for (int i = 1; i <= 30; i++) {
        words += (i == 1 ? "w" : " w") + std::string(i < 10 ? "0" : "") + std::to_string(i);
    }
    ReadyChild fake =
        start_fake("fake_ollama", {"--text", words, "--tokens", "30", "--token-delay-ms", "100"});
    NodeConfig config = node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.shards = 1;
    config.extra = "[provider]\npartial_interval_ms = 100";
    PylonNode node(config);
    node.start();
    auto cli_home = TempDir::create("pylon-cli");
    ASSERT_TRUE(cli_home.ok());
    std::string command = tool_path("pylon") + " job submit 'Say hi' --relay " + relay.url() +
                          " --wait --timeout 40 --key " + customer_secret(4) + " --home " +
                          cli_home->path();
    ChildSpec spec;
    spec.argv = {"/usr/bin/script", "-qfec", command, "/dev/null"};
    auto submit = ChildProcess::spawn(spec);
    ASSERT_TRUE(submit.ok());
    auto& p = *submit.value();
    // The first words arrive while the 3 s job still runs: well before the command ends (without
    // streaming they came with the result, at most ~0.6 s before the end).
    bool streamed = wait_until(
        [&] { return p.tail(Stream::out).find("w01 w02") != std::string::npos; }, 15000, 20);
    std::int64_t streamed_at = reactor::monotonic_ms();
    EXPECT_TRUE(streamed) << p.describe();
    auto exit = p.wait_exit(60000);
    std::int64_t ended_at = reactor::monotonic_ms();
    ASSERT_TRUE(exit.has_value() && exit->exited) << p.describe();
    EXPECT_EQ(exit->code, 0) << p.describe();
    EXPECT_GT(ended_at - streamed_at, 1500) << "the text came only with the result";
    // The pty carries stderr too: a feedback line may land inside the streamed text, so each
    // word is looked for on its own, once.
    std::string out = p.tail(Stream::out);
    for (const char* word : {"w01", "w15", "w30"}) {
        std::size_t first = out.find(word);
        ASSERT_NE(first, std::string::npos) << word << "\n" << out;
        EXPECT_EQ(out.find(word, first + 1), std::string::npos)
            << word << ": the result was printed again after the streamed text\n"
            << out;
    }
}

// A relay that takes the request and never sends its OK, and no provider: the human form names
// that relay and why under "Not published ... (reasons above)". Before, only --json said it.
TEST(CliOps, ARelayThatNeverSendsItsOkIsNamedAboveNotPublished) {
    if (!node_available()) {
        GTEST_SKIP() << node_unavailable_reason();
    }
    RelayProcess raw = start_relay("raw_relay.mjs", 0, {"--silent-first", "1"});
    auto cli_home = TempDir::create("pylon-cli");
    ASSERT_TRUE(cli_home.ok());
    RunResult run = run_pylon({"job", "submit", "Say hi", "--relay", raw.url(), "--key",
                               customer_secret(4), "--home", cli_home->path()},
                              30000);
    EXPECT_EQ(run.code, 1) << run.out << run.err;
    std::size_t reason = run.err.find(raw.url() + ": sent no OK for the request");
    std::size_t verdict = run.err.find("Not published");
    ASSERT_NE(reason, std::string::npos) << run.err;
    ASSERT_NE(verdict, std::string::npos) << run.err;
    EXPECT_LT(reason, verdict) << run.err;
}

// Two providers on one relay: A lacks the model and refuses at once, B answers 0.3 s later.
TEST(CliOps, WaitWithoutProviderOutlastsOneProvidersErrorButANamedProvidersErrorEndsIt) {
    if (!node_available()) {
        GTEST_SKIP() << node_unavailable_reason();
    }
    RelayProcess relay = start_relay();
    ReadyChild lacks = start_fake("fake_ollama", {"--models", "qwen2.5:7b"});
    ReadyChild has_it = start_fake(
        "fake_ollama", {"--models", "llama3.2", "--tokens", "6", "--token-delay-ms", "50"});
    NodeConfig a = node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(lacks.port));
    NodeConfig b = node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(has_it.port));
    a.shards = 1;
    b.shards = 1;
    PylonNode refuser(a);  // the provider_mnemonic key
    PylonNode answerer(b);
    ASSERT_TRUE(
        write_file(answerer.home() + "/identity.mnemonic", std::string(other_mnemonic) + "\n")
            .ok());
    refuser.start();
    answerer.start();
    auto cli_home = TempDir::create("pylon-cli");
    ASSERT_TRUE(cli_home.ok());
    auto submit = [&](std::vector<std::string> extra) {
        std::vector<std::string> args = {
            "job",     "submit",           "Say hi", "--model",       "llama3.2",
            "--relay", relay.url(),        "--wait", "--timeout",     "20",
            "--key",   customer_secret(4), "--home", cli_home->path()};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_pylon(args, 40000);
    };
    RunResult open = submit({"--json"});
    EXPECT_EQ(open.code, 0) << open.out << open.err;
    EXPECT_TRUE(has(open.out, "\"status\":\"completed\"")) << open.out;
    EXPECT_TRUE(has(open.out, "\"result\":\"alpha bravo charlie delta echo foxtrot\"")) << open.out;
    EXPECT_TRUE(has(open.out, "\"provider_errors\":[\"" + std::string(provider_pubkey) + ": "))
        << open.out;
    EXPECT_FALSE(has(open.out, "\"provider\":\"" + std::string(provider_pubkey)));
    EXPECT_TRUE(has(open.out, "\"last_feedback\":\"success\"")) << open.out;
    // The relays' stored events, in whatever order they come, say the same to `job status`.
    std::size_t at = open.out.find("\"request_id\":\"");
    ASSERT_NE(at, std::string::npos) << open.out;
    std::string id = open.out.substr(at + 14, 64);
    RunResult looked = run_pylon(
        {"job", "status", id, "--relay", relay.url(), "--json", "--home", cli_home->path()});
    EXPECT_EQ(looked.code, 0) << looked.err;
    EXPECT_TRUE(has(looked.out, "\"status\":\"completed\"")) << looked.out;
    EXPECT_TRUE(has(looked.out, "\"last_feedback\":\"success\"")) << looked.out;
    // Without --relay it asks the relays the request went to (recorded in jobs.db), not the
    // config's (this home has none reachable); an upper-case id names the same request.
    std::string upper = id;
    for (char& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    RunResult recorded = run_pylon(
        {"job", "status", upper, "--timeout", "10", "--json", "--home", cli_home->path()}, 20000);
    EXPECT_EQ(recorded.code, 0) << recorded.err;
    EXPECT_TRUE(has(recorded.out, "\"request_id\":\"" + id + "\"")) << recorded.out;
    EXPECT_TRUE(has(recorded.out, "\"status\":\"completed\"")) << recorded.out;
    EXPECT_TRUE(has(recorded.out, "\"relays\":[\"" + relay.url() + "\"]")) << recorded.out;
    RunResult local =
        run_pylon({"job", "status", id, "--local", "--json", "--home", cli_home->path()});
    EXPECT_EQ(local.code, 0) << local.err;
    EXPECT_TRUE(has(local.out, "\"status\":\"completed\"")) << local.out;
    EXPECT_TRUE(has(local.out, "\"relays\":[]")) << local.out;  // --local asked none

    RunResult human = submit({});
    EXPECT_EQ(human.code, 0) << human.err;
    EXPECT_TRUE(has(human.err, "[" + std::string(provider_pubkey).substr(0, 16) + "] error"))
        << human.err;

    RunResult named = submit({"--json", "--provider", provider_pubkey});
    EXPECT_EQ(named.code, 1) << named.out << named.err;
    EXPECT_TRUE(has(named.out, "\"status\":\"failed\"")) << named.out;
    EXPECT_TRUE(has(named.out, "\"provider\":\"" + std::string(provider_pubkey) + "\""))
        << named.out;
    // The error feedback that ended it is listed too, as documented (before: an empty list).
    EXPECT_TRUE(has(named.out, "\"provider_errors\":[\"" + std::string(provider_pubkey) + ": "))
        << named.out;
    EXPECT_EQ(refuser.stop().code, 0);
    EXPECT_EQ(answerer.stop().code, 0);
}

}  // namespace
}  // namespace pylon::test
