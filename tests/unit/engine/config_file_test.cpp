#include "engine/config_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <span>

#include "engine/backend_directory.hpp"

namespace pylon::engine {
namespace {

struct ErrorCase {
    const char* text;
    const char* message;
};

void expect_errors(std::span<const ErrorCase> cases) {
    for (const ErrorCase& c : cases) {
        auto r = parse_config_text(c.text, "c.toml");
        ASSERT_FALSE(r.ok()) << c.text;
        EXPECT_EQ(r.error().message(), c.message);
    }
}

TEST(ConfigFile, EmptyTextGivesDefaults) {
    auto r = parse_config_text("", "c.toml");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->config.min_price_msats, 1000);
    EXPECT_TRUE(r->warnings.empty());
}

TEST(ConfigFile, PylonReadmeSampleWithoutNameParses) {
    // Pylon v0.1 refused this (six mandatory keys); every key is optional here.
    auto r =
        parse_config_text("relays = [\"wss://relay.example\"]\nmin_price_msats = 2000\n", "c.toml");
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->config.relays, (std::vector<std::string>{"wss://relay.example"}));
    EXPECT_EQ(r->config.min_price_msats, 2000);
    EXPECT_EQ(r->config.name, "Pylon Provider");
}

TEST(ConfigFile, TablesAndNestedTables) {
    auto r = parse_config_text(
        "[limits]\njob_queue_max = 5\n[backends.ollama]\nurl = \"http://10.0.0.1:11434\"\n"
        "[backends.llamacpp]\nargs = [\"-ngl\", \"99\"]\n[shards]\ncpus = [1, 3]\n",
        "c.toml");
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->config.limits.job_queue_max, 5);
    EXPECT_EQ(r->config.backends.ollama.url, "http://10.0.0.1:11434");
    EXPECT_EQ(r->config.backends.llamacpp.args, (std::vector<std::string>{"-ngl", "99"}));
    EXPECT_EQ(r->config.shards.cpus, (std::vector<std::int64_t>{1, 3}));
}

// A relay URL the link could never connect to is an error at load (it was accepted and then
// retried for ever: "port out of range"), and a scheme in upper case is a URL like any other
// (it was refused though the docs say URLs are normalised): relays and backend urls alike.
TEST(ConfigFile, RelayUrlsAreParsedAtLoadAndSchemesAreCaseInsensitive) {
    for (const char* bad : {"ws://127.0.0.1:99999", "ws://127.0.0.1:0", "ws://127.0.0.1:"}) {
        auto r = parse_config_text("relays = [\"" + std::string(bad) + "\"]\n", "c.toml");
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_EQ(
            r.error().message().rfind("c.toml:1:10: relays: URL '" + std::string(bad) + "'", 0), 0u)
            << r.error().message();
    }
    auto r = parse_config_text(
        "relays = [\"WSS://Relay.Example/\"]\n[backends.ollama]\nurl = "
        "\"HTTP://LocalHost:11434\"\n",
        "c.toml");
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->config.relays, (std::vector<std::string>{"wss://relay.example"}));
    EXPECT_EQ(r->config.backends.ollama.url, "http://localhost:11434");
}

// A backend URL the backends could not use is refused where it is written, with the reason the
// start would give: they speak plain HTTP to a local address, with no path. Before, an https://
// URL passed `pylon config` and then failed `pylon start`.
TEST(ConfigFile, BackendUrlsAreCheckedAsTheBackendsReadThem) {
    const char* bad[][2] = {
        {"https://127.0.0.1:11434", "must start with http://"},
        {"http://127.0.0.1:11434/api", "a path is not supported"},
        {"http://ollama.internal:11434", "the host must be an IP address or localhost"},
        {"http://127.0.0.1:70000", "bad port"},
    };
    for (const auto& [url, why] : bad) {
        auto r = parse_config_text("[backends.llamacpp]\nurl = \"" + std::string(url) + "\"\n",
                                   "c.toml");
        ASSERT_FALSE(r.ok()) << url;
        EXPECT_EQ(r.error().message().rfind("c.toml:2:7: backends.llamacpp.url: ", 0), 0u)
            << r.error().message();
        EXPECT_NE(r.error().message().find(why), std::string::npos) << r.error().message();
    }
    for (const char* good : {"http://[::1]:8080", "http://127.0.0.1:8080/", "http://localhost"}) {
        auto r =
            parse_config_text("[backends.ollama]\nurl = \"" + std::string(good) + "\"\n", "c.toml");
        EXPECT_TRUE(r.ok()) << good << ": " << r.error().message();
    }
}

TEST(ConfigFile, SyntaxErrorNamesLineAndColumn) {
    auto r = parse_config_text("name = \"x\"\nmin_price_msats = = 3\n", "/h/config.toml");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message().rfind("/h/config.toml:2:", 0), 0u) << r.error().message();
}

TEST(ConfigFile, WrongTypeNamesKeyLineAndColumn) {
    auto r = parse_config_text("name = \"x\"\n\nmin_price_msats = \"cheap\"\n", "c.toml");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message(),
              "c.toml:3:19: min_price_msats: expected an integer, found a string");
}

TEST(ConfigFile, OutOfBoundsNamesTheBound) {
    auto r = parse_config_text("[limits]\njob_queue_max = 0\n", "c.toml");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message(), "c.toml:2:17: limits.job_queue_max: 0 is below the minimum 1");
    r = parse_config_text("network = \"moon\"\n", "c.toml");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("c.toml:1:11: network: \"moon\" is not one of"),
              std::string::npos)
        << r.error().message();
}

TEST(ConfigFile, WrongArrayNamesWhatItHolds) {
    const ErrorCase cases[] = {
        {"relays = [1, 2]\n",
         "c.toml:1:10: relays: expected an array of strings, found an array of integers"},
        {"relays = [\"wss://a\", 3]\n",
         "c.toml:1:22: relays: expected an array of strings, found an integer as entry 2"},
        {"[shards]\ncpus = [\"0\"]\n",
         "c.toml:2:8: shards.cpus: expected an array of integers, found an array of strings"},
    };
    expect_errors(cases);
}

TEST(ConfigFile, KnownTableWithTheWrongTypeIsAnError) {
    // Ignoring these as unknown keys would silently give their keys the defaults (account 0:
    // another signing key).
    const ErrorCase cases[] = {
        {"[[identity]]\naccount = 1\n",
         "c.toml:1:1: identity: expected a table, found an array of tables"},
        {"identity = 1\n", "c.toml:1:12: identity: expected a table, found an integer"},
        {"provider = \"x\"\n", "c.toml:1:12: provider: expected a table, found a string"},
        {"backends = 5\n", "c.toml:1:12: backends: expected a table, found an integer"},
        {"[backends]\nollama = 5\n",
         "c.toml:2:10: backends.ollama: expected a table, found an integer"},
        {"limits = [1]\n", "c.toml:1:10: limits: expected a table, found an array of integers"},
    };
    expect_errors(cases);
}

TEST(ConfigFile, JobKindsNeedsOneAndDropsRepeats) {
    auto r = parse_config_text("[provider]\njob_kinds = []\n", "c.toml");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message(), "c.toml:2:13: provider.job_kinds: needs at least one entry");
    r = parse_config_text("[provider]\njob_kinds = [5050, 5050, 5100, 5100]\n", "c.toml");
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->config.provider.job_kinds, (std::vector<std::int64_t>{5050, 5100}));
    ASSERT_EQ(r->warnings.size(), 2u);
    EXPECT_EQ(r->warnings[0], "c.toml:2:20: provider.job_kinds: 5050 is repeated (dropped)");
    EXPECT_EQ(r->warnings[1], "c.toml:2:32: provider.job_kinds: 5100 is repeated (dropped)");
}

// Two agents on one account index would be one identity twice: a repeat is dropped with a
// warning; no accounts at all stays allowed (no agents).
TEST(ConfigFile, AgentAccountsDropRepeats) {
    auto r = parse_config_text("[agents]\naccounts = [1, 2, 1]\n", "c.toml");
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->config.agents.accounts, (std::vector<std::int64_t>{1, 2}));
    ASSERT_EQ(r->warnings.size(), 1u);
    EXPECT_EQ(r->warnings[0], "c.toml:2:19: agents.accounts: 1 is repeated (dropped)");
    r = parse_config_text("[agents]\naccounts = []\n", "c.toml");
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_TRUE(r->config.agents.accounts.empty());
    EXPECT_TRUE(r->warnings.empty());
}

// An agent or worker that counts as started only after alive_after_ms can never start when
// that is beyond its start_timeout_ms: refused at load, naming the key the file sets.
TEST(ConfigFile, AliveAfterMustFitTheStartTimeout) {
    auto r = parse_config_text("[agents]\nalive_after_ms = 90000\n", "c.toml");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("agents.alive_after_ms"), std::string::npos)
        << r.error().message();
    EXPECT_NE(r.error().message().find("start_timeout_ms"), std::string::npos)
        << r.error().message();
    r = parse_config_text("[worker]\nalive_after_ms = 9000\nstart_timeout_ms = 5000\n", "c.toml");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(parse_config_text("[worker]\nalive_after_ms = 9000\n", "c.toml").ok());
}

// ["ollama", "ollama"] means only Ollama: the repeat is dropped with a warning, so the list has
// the one entry that keeps only that backend. An empty list stays allowed (every enabled one).
TEST(ConfigFile, BackendPreferenceDropsRepeats) {
    auto r = parse_config_text("backend_preference = [\"ollama\", \"ollama\"]\n", "c.toml");
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->config.backend_preference, (std::vector<std::string>{"ollama"}));
    ASSERT_EQ(r->warnings.size(), 1u);
    EXPECT_EQ(r->warnings[0], "c.toml:1:33: backend_preference: \"ollama\" is repeated (dropped)");
    EXPECT_EQ(registered_backends(r->config, nullptr),
              (std::vector<BackendKind>{BackendKind::ollama}));
    r = parse_config_text("backend_preference = []\n", "c.toml");
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_TRUE(r->warnings.empty());
    EXPECT_EQ(registered_backends(r->config, nullptr),
              (std::vector<BackendKind>{BackendKind::ollama, BackendKind::llamacpp}));
}

TEST(ConfigFile, RelaysAreNormalisedAndRepeatsDropped) {
    auto r = parse_config_text(
        "relays = [\"ws://h:1\", \"ws://h:1/\", \"wss://R.example/\", \"wss://r.example\", "
        "\"wss://a/path/\", \"ws://h:1\"]\n",
        "c.toml");
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->config.relays,
              (std::vector<std::string>{"ws://h:1", "wss://r.example", "wss://a/path/"}));
    ASSERT_EQ(r->warnings.size(), 3u);
    EXPECT_EQ(r->warnings[0],
              "c.toml:1:23: relays: \"ws://h:1/\" is the same relay as \"ws://h:1\" (dropped)");
    EXPECT_EQ(r->warnings[1], "c.toml:1:56: relays: \"wss://r.example\" is repeated (dropped)");
    EXPECT_EQ(r->warnings[2], "c.toml:1:92: relays: \"ws://h:1\" is repeated (dropped)");
    r = parse_config_text("relays = []\n", "c.toml");
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_TRUE(r->config.relays.empty());
}

TEST(ConfigFile, RuleBetweenKeysPointsAtTheKey) {
    auto r = parse_config_text(
        "[memory]\nmin_available_bytes = 10\ncritical_threshold_bytes = 20\n", "c.toml");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message(),
              "c.toml:3:28: memory.critical_threshold_bytes: must not exceed "
              "memory.min_available_bytes (10)");
}

TEST(ConfigFile, RuleBetweenKeysPointsAtTheKeyTheFileSets) {
    // Only one key of a rule is in the file: the error names that one, with its line and column,
    // and the default it conflicts with.
    const ErrorCase cases[] = {
        {"[provider]\nmax_tokens_max = 256\n",
         "c.toml:2:18: provider.max_tokens_max: must not be below provider.max_tokens_default "
         "(512)"},
        {"[memory]\nmin_available_bytes = 1000\n",
         "c.toml:2:23: memory.min_available_bytes: must not be below "
         "memory.critical_threshold_bytes (1073741824)"},
        {"[supervisor]\nbackoff_max_ms = 500\n",
         "c.toml:2:18: supervisor.backoff_max_ms: must not be below supervisor.backoff_initial_ms "
         "(1000)"},
        {"[provider]\nmax_tokens_default = 9000\n",
         "c.toml:2:22: provider.max_tokens_default: must not exceed provider.max_tokens_max "
         "(8192)"},
    };
    expect_errors(cases);
}

TEST(ConfigFile, UnknownKeysAreWarningsWithTheirLine) {
    auto r = parse_config_text(
        "name = \"x\"\nmin_prize_msats = 3\n[limits]\nfoo = 1\n[nonsense]\nx = 1\n", "c.toml");
    ASSERT_TRUE(r.ok()) << r.error().message();
    ASSERT_EQ(r->warnings.size(), 3u);
    EXPECT_EQ(r->warnings[0], "c.toml:2:1: unknown key 'min_prize_msats' (ignored)");
    EXPECT_EQ(r->warnings[1], "c.toml:4:1: unknown key 'limits.foo' (ignored)");
    EXPECT_EQ(r->warnings[2].rfind("c.toml:5:", 0), 0u);
    EXPECT_NE(r->warnings[2].find("unknown table [nonsense]"), std::string::npos);
}

TEST(ConfigFile, CodexTableIsAcceptedAndIgnoredWithANote) {
    auto r = parse_config_text(
        "[codex]\nenabled = true\nmodel = \"\"\nautonomy = \"supervised\"\n"
        "approval_required_tools = [\"Write\", \"Edit\", \"Bash\"]\n",
        "c.toml");
    ASSERT_TRUE(r.ok()) << r.error().message();
    ASSERT_EQ(r->warnings.size(), 1u);
    EXPECT_NE(r->warnings[0].find("note: [codex]"), std::string::npos);
}

TEST(ConfigFile, MissingFileIsDefaultsUnlessRequired) {
    auto r = load_config_file("/nonexistent/pylon/config.toml");
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->file_found);
    EXPECT_EQ(r->config.default_model, "llama3.2");
    auto must = load_config_file("/nonexistent/pylon/config.toml", true);
    ASSERT_FALSE(must.ok());
    EXPECT_NE(must.error().message().find("/nonexistent/pylon/config.toml"), std::string::npos);
}

TEST(ConfigFile, ReadsAFile) {
    char path[] = "/tmp/pylon-config-test-XXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    {
        std::ofstream out(path);
        out << "default_model = \"qwen\"\n[log]\nlevel = \"debug\"\n";
    }
    auto r = load_config_file(path);
    ::unlink(path);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_TRUE(r->file_found);
    EXPECT_EQ(r->config.default_model, "qwen");
    EXPECT_EQ(r->config.log.level, "debug");
}

}  // namespace
}  // namespace pylon::engine
