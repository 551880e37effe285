// Settings: the table of every config.toml key, built from the PYLON_SETTING lines of the
// engine/settings_<table>.def files (the same lines declare the Config fields, see config.hpp).
// A line reads
//
//   PYLON_SETTING(field, Type, unit, default, min, max, check, reload, doc)
//
//   field    the key inside its table and the Config member name
//   Type     Bool | Int | Str | OptStr (may be absent) | StrList | IntList
//   unit     shown in docs ("ms", "bytes", "msats", "" for none); keys end in their unit
//   default  a C++ initializer; PYLON_LIST(a, b) for lists, PYLON_NONE for an absent OptStr
//   min,max  Int: the value range. IntList: the range of each item (at most
//            setting_list_items_max items). Str/OptStr: the length in bytes. StrList: the
//            number of items (each at most setting_string_bytes_max bytes). Bool: unused (0, 0)
//   check    "" | "a|b|c" (the allowed strings; for lists, of each item) | "@ws_url" |
//            "@http_url" | "@env" (KEY=VALUE) | "@set" (IntList: at least one item; a
//            repeated item is dropped with a warning) | "@distinct" (IntList: a repeated item
//            is dropped with a warning; may be empty). A "@ws_url" StrList is stored
//            normalised (relay_url.hpp), a repeated URL dropped with a warning
//   reload   reload: a running daemon applies a new value on SIGHUP; restart: it does not
//   doc      one line for `pylon config --defaults` and docs/config.md
//
// The table drives parsing and validation (engine/config_file.hpp), the commented default file,
// the effective config as TOML or JSON, docs/config.md (a test checks it), and which changes a
// SIGHUP applies. Immutable after static initialisation: any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config.hpp"

namespace pylon::engine {

inline constexpr std::size_t setting_list_items_max = 64;      // IntList items
inline constexpr std::size_t setting_string_bytes_max = 4096;  // each StrList item

enum class SettingType : std::uint8_t {
    boolean,
    integer,
    string,
    optional_string,
    string_list,
    integer_list
};

std::string_view setting_type_name(SettingType type) noexcept;  // "bool", "integer", ...

struct SettingSpec {
    std::string_view path;   // "limits.job_queue_max"; "relays" at the top level
    std::string_view table;  // "limits"; "" at the top level
    std::string_view key;    // "job_queue_max"
    SettingType type;
    std::string_view unit;
    std::int64_t min;
    std::int64_t max;
    std::string_view check;
    bool reloadable;
    std::string_view doc;
    void* (*field)(Config& config);

    // The field inside `config`; T must match `type` (asserted by the typed accessors).
    template <typename T>
    T& ref(Config& config) const {
        return *static_cast<T*>(field(config));
    }
    template <typename T>
    const T& ref(const Config& config) const {
        return *static_cast<const T*>(field(const_cast<Config&>(config)));
    }
};

struct SettingTable {
    std::string_view name;  // "backends.ollama"; "" for the top level
    std::string_view doc;
};

// Every setting, grouped by table, in the order of setting_tables().
std::span<const SettingSpec> settings();
std::span<const SettingTable> setting_tables();
const SettingSpec* find_setting(std::string_view path);
// True if `name` is a table (or a parent of one, like "backends").
bool is_setting_table(std::string_view name);

// Why the setting's value in `config` is out of its bounds or check, or nullopt when valid.
std::optional<std::string> setting_problem(const SettingSpec& spec, const Config& config);
// A single string against the spec's check (choices or format); nullopt when valid.
std::optional<std::string> setting_string_problem(const SettingSpec& spec, std::string_view text);

// A rule between two integer settings: `low` <= `high` (for example
// memory.critical_threshold_bytes <= memory.min_available_bytes). docs/config.md and the
// default file write each rule next to both keys.
struct SettingRule {
    std::string_view low;
    std::string_view high;
    bool strict = false;  // low < high, not low <= high
};
std::span<const SettingRule> setting_rules();

// A problem with a whole Config: the key it concerns and why.
struct ConfigProblem {
    std::string path;
    std::string reason;
};
// Every setting's bounds, then the rules between settings. The first problem found. A broken
// rule is blamed on its `low` key, unless only its `high` key is among `set_paths` (the keys a
// file set): the error then names the key the operator wrote.
std::optional<ConfigProblem> check_config(const Config& config,
                                          std::span<const std::string> set_paths = {});

// A value the loader stores in its canonical form: a repeated entry of a "@set" or "@distinct"
// IntList or of a
// "@ws_url" StrList (after normalisation) is dropped; a URL is normalised. One note per dropped
// entry, with its index in the list as written.
struct SettingTidyNote {
    std::size_t index;
    std::string message;  // "\"ws://h:1/\" repeats \"ws://h:1\" (dropped)"
};
std::vector<SettingTidyNote> tidy_setting(const SettingSpec& spec, Config& config);

// The value as a TOML literal ("1000", "\"llama3.2\"", "[\"a\", \"b\"]"); nullopt for an
// absent OptStr.
std::optional<std::string> setting_toml(const SettingSpec& spec, const Config& config);
bool setting_equal(const SettingSpec& spec, const Config& a, const Config& b);
void setting_copy(const SettingSpec& spec, Config& to, const Config& from);

// A TOML basic string literal with escapes.
std::string toml_quote(std::string_view text);

// The commented default config.toml (`pylon config --defaults`, written by `pylon init`).
std::string default_config_toml();
// The effective config as TOML (every key, defaults included) or as one JSON object with a
// nested object per table.
std::string config_toml(const Config& config);
std::string config_json(const Config& config);
// docs/config.md.
std::string settings_markdown();

// What a reload from `running` to `next` means: the reloadable keys that changed (applied) and
// the others that changed (need a restart; not applied).
struct ReloadPlan {
    Config applied;                        // running + the changed reloadable values
    std::vector<std::string> changed;      // paths applied
    std::vector<std::string> not_applied;  // paths that need a restart
};
ReloadPlan plan_reload(const Config& running, const Config& next);

}  // namespace pylon::engine
