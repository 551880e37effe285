#include "engine/settings.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "engine/config_file.hpp"

namespace pylon::engine {
namespace {

TEST(Settings, PylonKeysKeepTheirNamesAndDefaults) {
    Config c;
    EXPECT_EQ(c.name, "Pylon Provider");
    EXPECT_FALSE(c.description.has_value());
    EXPECT_EQ(c.relays, (std::vector<std::string>{"wss://nexus.openagents.com",
                                                  "wss://relay.damus.io", "wss://nos.lol"}));
    EXPECT_EQ(c.min_price_msats, 1000);
    // The one changed default: v0.1's `true` needs a payment backend this version lacks (a
    // startup error), so a fresh node serves free jobs.
    EXPECT_FALSE(c.require_payment);
    EXPECT_EQ(c.default_model, "llama3.2");
    EXPECT_EQ(c.backend_preference, (std::vector<std::string>{"ollama", "llamacpp", "apple_fm"}));
    EXPECT_FALSE(c.data_dir.has_value());
    EXPECT_EQ(c.network, "regtest");
    EXPECT_TRUE(c.enable_payments);
    for (std::string_view key :
         {"name", "description", "relays", "min_price_msats", "require_payment", "default_model",
          "backend_preference", "data_dir", "network", "enable_payments", "spark_url",
          "spark_token"}) {
        const SettingSpec* s = find_setting(key);
        ASSERT_NE(s, nullptr) << key;
        EXPECT_EQ(s->table, "");
    }
}

TEST(Settings, EveryDefaultIsValidAndEveryEntryIsComplete) {
    Config defaults;
    EXPECT_FALSE(check_config(defaults).has_value());
    std::set<std::string_view> paths;
    for (const SettingSpec& s : settings()) {
        EXPECT_TRUE(paths.insert(s.path).second) << "duplicate " << s.path;
        EXPECT_FALSE(s.doc.empty()) << s.path;
        EXPECT_LE(s.doc.size(), 200u) << s.path;
        EXPECT_LE(s.min, s.max) << s.path;
        EXPECT_FALSE(setting_problem(s, defaults).has_value()) << s.path;
        std::string expected =
            s.table.empty() ? std::string(s.key) : std::string(s.table) + "." + std::string(s.key);
        EXPECT_EQ(s.path, expected);
    }
}

TEST(Settings, TablesListMatchesTheSettingsOrder) {
    auto tables = setting_tables();
    std::size_t t = 0;
    for (const SettingSpec& s : settings()) {
        while (t < tables.size() && tables[t].name != s.table) {
            t++;
        }
        ASSERT_LT(t, tables.size()) << s.path << " is out of table order";
    }
    EXPECT_TRUE(is_setting_table("backends"));
    EXPECT_TRUE(is_setting_table("backends.ollama"));
    EXPECT_FALSE(is_setting_table("backend"));
    EXPECT_FALSE(is_setting_table("codex"));
}

TEST(Settings, ProblemsNameTheBound) {
    Config c;
    c.limits.job_queue_max = 0;
    auto p = check_config(c);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->path, "limits.job_queue_max");
    EXPECT_EQ(p->reason, "0 is below the minimum 1");

    c = Config{};
    c.network = "moonnet";
    p = check_config(c);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->path, "network");
    EXPECT_NE(p->reason.find("\"regtest\""), std::string::npos);

    c = Config{};
    c.relays = {"https://relay.example"};
    p = check_config(c);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->path, "relays");

    c = Config{};
    c.memory.critical_threshold_bytes = c.memory.min_available_bytes + 1;
    p = check_config(c);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->path, "memory.critical_threshold_bytes");

    c = Config{};
    c.worker.env = {"GOOD=1", "1BAD=2"};
    p = check_config(c);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->path, "worker.env");
}

TEST(Settings, RulesBindIntegersOfOneTableAndAreDocumentedNextToBothKeys) {
    std::string md = settings_markdown();
    for (const SettingRule& r : setting_rules()) {
        const SettingSpec* low = find_setting(r.low);
        const SettingSpec* high = find_setting(r.high);
        ASSERT_NE(low, nullptr) << r.low;
        ASSERT_NE(high, nullptr) << r.high;
        EXPECT_EQ(low->type, SettingType::integer) << r.low;
        EXPECT_EQ(high->type, SettingType::integer) << r.high;
        EXPECT_EQ(low->table, high->table) << r.low;
        std::string low_row = "| `" + std::string(low->key) + "` |";
        std::string high_row = "| `" + std::string(high->key) + "` |";
        // The rows of the rule's own table (keys such as start_timeout_ms recur in others).
        std::size_t section = md.find("\n## [" + std::string(low->table) + "]");
        ASSERT_NE(section, std::string::npos) << r.low;
        std::size_t at = md.find(low_row, section);
        ASSERT_NE(at, std::string::npos) << r.low;
        std::string below = r.strict ? "below `" : "at most `";
        std::string above = r.strict ? "above `" : "at least `";
        EXPECT_NE(md.substr(at, md.find('\n', at) - at).find(below + std::string(high->key)),
                  std::string::npos)
            << r.low;
        at = md.find(high_row, section);
        ASSERT_NE(at, std::string::npos) << r.high;
        EXPECT_NE(md.substr(at, md.find('\n', at) - at).find(above + std::string(low->key)),
                  std::string::npos)
            << r.high;
    }
}

// At equal values the start timeout fires when the child would have counted as started, so it
// never starts: the rule is strict.
TEST(Settings, AliveAfterMustBeBelowTheStartTimeout) {
    Config c;
    c.worker.alive_after_ms = c.worker.start_timeout_ms;
    auto p = check_config(c);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->path, "worker.alive_after_ms");
    EXPECT_EQ(p->reason, "must be below worker.start_timeout_ms (" +
                             std::to_string(c.worker.start_timeout_ms) + ")");
    std::vector<std::string> set = {"worker.start_timeout_ms"};
    p = check_config(c, set);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->path, "worker.start_timeout_ms");
    EXPECT_EQ(p->reason, "must be above worker.alive_after_ms (" +
                             std::to_string(c.worker.alive_after_ms) + ")");
    c.worker.alive_after_ms = c.worker.start_timeout_ms - 1;
    EXPECT_FALSE(check_config(c).has_value());

    c = Config{};
    c.agents.alive_after_ms = c.agents.start_timeout_ms;
    p = check_config(c);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->path, "agents.alive_after_ms");
}

TEST(Settings, BrokenRuleBlamesTheKeyThatWasSet) {
    Config c;
    c.provider.max_tokens_max = 256;
    auto p = check_config(c);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->path, "provider.max_tokens_default");
    EXPECT_EQ(p->reason, "must not exceed provider.max_tokens_max (256)");
    std::vector<std::string> set = {"provider.max_tokens_max"};
    p = check_config(c, set);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->path, "provider.max_tokens_max");
    EXPECT_EQ(p->reason, "must not be below provider.max_tokens_default (512)");
    set.push_back("provider.max_tokens_default");
    p = check_config(c, set);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->path, "provider.max_tokens_default");
}

TEST(Settings, JobKindsIsASet) {
    Config c;
    c.provider.job_kinds = {};
    auto p = check_config(c);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->path, "provider.job_kinds");
    EXPECT_EQ(p->reason, "needs at least one entry");
    c.provider.job_kinds = {5050, 5050};
    EXPECT_FALSE(check_config(c).has_value());
    auto notes = tidy_setting(*find_setting("provider.job_kinds"), c);
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_EQ(notes[0].index, 1u);
    EXPECT_EQ(c.provider.job_kinds, (std::vector<std::int64_t>{5050}));
    // Other integer lists keep what they are given.
    c.shards.cpus = {1, 1};
    EXPECT_TRUE(tidy_setting(*find_setting("shards.cpus"), c).empty());
    EXPECT_EQ(c.shards.cpus, (std::vector<std::int64_t>{1, 1}));
}

TEST(Settings, DefaultFileParsesBackToTheDefaults) {
    std::string text = default_config_toml();
    EXPECT_NE(text.find("min_price_msats = 1000"), std::string::npos);
    EXPECT_NE(text.find("[backends.ollama]"), std::string::npos);
    EXPECT_NE(text.find("# description = \"\""), std::string::npos);
    auto loaded = parse_config_text(text, "defaults.toml");
    ASSERT_TRUE(loaded.ok()) << loaded.error().message();
    EXPECT_TRUE(loaded->warnings.empty());
    Config defaults;
    for (const SettingSpec& s : settings()) {
        EXPECT_TRUE(setting_equal(s, loaded->config, defaults)) << s.path;
    }
}

TEST(Settings, EffectiveTomlRoundTripsAChangedConfig) {
    Config c;
    c.name = "a \"quoted\" name\n";
    c.description = "desc";
    c.limits.job_queue_max = 7;
    c.shards.cpus = {0, 2};
    c.backends.llamacpp.args = {"--flash-attn", "x\\y"};
    auto loaded = parse_config_text(config_toml(c), "effective.toml");
    ASSERT_TRUE(loaded.ok()) << loaded.error().message();
    for (const SettingSpec& s : settings()) {
        EXPECT_TRUE(setting_equal(s, loaded->config, c)) << s.path;
    }
}

TEST(Settings, JsonNestsTables) {
    Config c;
    std::string json = config_json(c);
    EXPECT_EQ(json.rfind("{\"name\":\"Pylon Provider\",\"description\":null,", 0), 0u) << json;
    EXPECT_NE(json.find("\"backends\":{\"ollama\":{\"enabled\":true,\"url\":"), std::string::npos);
    EXPECT_NE(json.find("},\"llamacpp\":{"), std::string::npos);
    EXPECT_NE(json.find("\"limits\":{\"job_queue_max\":64,"), std::string::npos);
    EXPECT_EQ(json.back(), '}');
}

TEST(Settings, ReloadAppliesOnlyReloadableKeys) {
    Config running;
    Config next;
    next.min_price_msats = 5000;    // reloadable
    next.log.level = "debug";       // reloadable
    next.limits.job_queue_max = 9;  // restart
    ReloadPlan plan = plan_reload(running, next);
    EXPECT_EQ(plan.applied.min_price_msats, 5000);
    EXPECT_EQ(plan.applied.log.level, "debug");
    EXPECT_EQ(plan.applied.limits.job_queue_max, 64);
    EXPECT_EQ(plan.changed, (std::vector<std::string>{"min_price_msats", "log.level"}));
    EXPECT_EQ(plan.not_applied, (std::vector<std::string>{"limits.job_queue_max"}));
}

TEST(Settings, DocsConfigMdMatchesTheTable) {
    std::string path = std::string(PYLON_SOURCE_DIR) + "/docs/config.md";
    std::ifstream in(path);
    ASSERT_TRUE(in.good()) << "missing " << path << "; run: pylon config --markdown > " << path;
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str(), settings_markdown())
        << "docs/config.md is stale; regenerate it with: pylon config --markdown > docs/config.md";
}

}  // namespace
}  // namespace pylon::engine
