#include "engine/settings.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "engine/backend_factory.hpp"
#include "engine/relay_url.hpp"
#include "net/url.hpp"
#include "proto/json_writer.hpp"
#include "reactor/assert.hpp"

namespace pylon::engine {
namespace {

template <typename T>
constexpr SettingType setting_type_of();
template <>
constexpr SettingType setting_type_of<setting_Bool>() {
    return SettingType::boolean;
}
template <>
constexpr SettingType setting_type_of<setting_Int>() {
    return SettingType::integer;
}
template <>
constexpr SettingType setting_type_of<setting_Str>() {
    return SettingType::string;
}
template <>
constexpr SettingType setting_type_of<setting_OptStr>() {
    return SettingType::optional_string;
}
template <>
constexpr SettingType setting_type_of<setting_StrList>() {
    return SettingType::string_list;
}
template <>
constexpr SettingType setting_type_of<setting_IntList>() {
    return SettingType::integer_list;
}

constexpr bool reload_reload = true;
constexpr bool reload_restart = false;

// One SettingSpec per PYLON_SETTING line; PYLON_SETTING_TABLE, _PREFIX and _MEMBER name the
// table being included.
#define PYLON_SETTING(f, type, unit, def, mn, mx, chk, rl, doc)                     \
    SettingSpec{PYLON_SETTING_PREFIX #f,                                            \
                PYLON_SETTING_TABLE,                                                \
                #f,                                                                 \
                setting_type_of<setting_##type>(),                                  \
                unit,                                                               \
                static_cast<std::int64_t>(mn),                                      \
                static_cast<std::int64_t>(mx),                                      \
                chk,                                                                \
                reload_##rl,                                                        \
                doc,                                                                \
                [](Config& c) -> void* {                                            \
                    return static_cast<setting_##type*>(&c.PYLON_SETTING_MEMBER f); \
                }},

// clang-format off
const SettingSpec k_settings[] = {
#define PYLON_SETTING_TABLE ""
#define PYLON_SETTING_PREFIX ""
#define PYLON_SETTING_MEMBER
#include "engine/settings_top.def"
#undef PYLON_SETTING_TABLE
#undef PYLON_SETTING_PREFIX
#undef PYLON_SETTING_MEMBER
#define PYLON_SETTING_TABLE "identity"
#define PYLON_SETTING_PREFIX "identity."
#define PYLON_SETTING_MEMBER identity.
#include "engine/settings_identity.def"
#undef PYLON_SETTING_TABLE
#undef PYLON_SETTING_PREFIX
#undef PYLON_SETTING_MEMBER
#define PYLON_SETTING_TABLE "provider"
#define PYLON_SETTING_PREFIX "provider."
#define PYLON_SETTING_MEMBER provider.
#include "engine/settings_provider.def"
#undef PYLON_SETTING_TABLE
#undef PYLON_SETTING_PREFIX
#undef PYLON_SETTING_MEMBER
#define PYLON_SETTING_TABLE "relay_pool"
#define PYLON_SETTING_PREFIX "relay_pool."
#define PYLON_SETTING_MEMBER relay_pool.
#include "engine/settings_relay_pool.def"
#undef PYLON_SETTING_TABLE
#undef PYLON_SETTING_PREFIX
#undef PYLON_SETTING_MEMBER
#define PYLON_SETTING_TABLE "backends.ollama"
#define PYLON_SETTING_PREFIX "backends.ollama."
#define PYLON_SETTING_MEMBER backends.ollama.
#include "engine/settings_backends_ollama.def"
#undef PYLON_SETTING_TABLE
#undef PYLON_SETTING_PREFIX
#undef PYLON_SETTING_MEMBER
#define PYLON_SETTING_TABLE "backends.llamacpp"
#define PYLON_SETTING_PREFIX "backends.llamacpp."
#define PYLON_SETTING_MEMBER backends.llamacpp.
#include "engine/settings_backends_llamacpp.def"
#undef PYLON_SETTING_TABLE
#undef PYLON_SETTING_PREFIX
#undef PYLON_SETTING_MEMBER
#define PYLON_SETTING_TABLE "limits"
#define PYLON_SETTING_PREFIX "limits."
#define PYLON_SETTING_MEMBER limits.
#include "engine/settings_limits.def"
#undef PYLON_SETTING_TABLE
#undef PYLON_SETTING_PREFIX
#undef PYLON_SETTING_MEMBER
#define PYLON_SETTING_TABLE "control"
#define PYLON_SETTING_PREFIX "control."
#define PYLON_SETTING_MEMBER control.
#include "engine/settings_control.def"
#undef PYLON_SETTING_TABLE
#undef PYLON_SETTING_PREFIX
#undef PYLON_SETTING_MEMBER
#define PYLON_SETTING_TABLE "store"
#define PYLON_SETTING_PREFIX "store."
#define PYLON_SETTING_MEMBER store.
#include "engine/settings_store.def"
#undef PYLON_SETTING_TABLE
#undef PYLON_SETTING_PREFIX
#undef PYLON_SETTING_MEMBER
#define PYLON_SETTING_TABLE "shards"
#define PYLON_SETTING_PREFIX "shards."
#define PYLON_SETTING_MEMBER shards.
#include "engine/settings_shards.def"
#undef PYLON_SETTING_TABLE
#undef PYLON_SETTING_PREFIX
#undef PYLON_SETTING_MEMBER
#define PYLON_SETTING_TABLE "memory"
#define PYLON_SETTING_PREFIX "memory."
#define PYLON_SETTING_MEMBER memory.
#include "engine/settings_memory.def"
#undef PYLON_SETTING_TABLE
#undef PYLON_SETTING_PREFIX
#undef PYLON_SETTING_MEMBER
#define PYLON_SETTING_TABLE "supervisor"
#define PYLON_SETTING_PREFIX "supervisor."
#define PYLON_SETTING_MEMBER supervisor.
#include "engine/settings_supervisor.def"
#undef PYLON_SETTING_TABLE
#undef PYLON_SETTING_PREFIX
#undef PYLON_SETTING_MEMBER
#define PYLON_SETTING_TABLE "worker"
#define PYLON_SETTING_PREFIX "worker."
#define PYLON_SETTING_MEMBER worker.
#include "engine/settings_worker.def"
#undef PYLON_SETTING_TABLE
#undef PYLON_SETTING_PREFIX
#undef PYLON_SETTING_MEMBER
#define PYLON_SETTING_TABLE "agents"
#define PYLON_SETTING_PREFIX "agents."
#define PYLON_SETTING_MEMBER agents.
#include "engine/settings_agents.def"
#undef PYLON_SETTING_TABLE
#undef PYLON_SETTING_PREFIX
#undef PYLON_SETTING_MEMBER
#define PYLON_SETTING_TABLE "log"
#define PYLON_SETTING_PREFIX "log."
#define PYLON_SETTING_MEMBER log.
#include "engine/settings_log.def"
#undef PYLON_SETTING_TABLE
#undef PYLON_SETTING_PREFIX
#undef PYLON_SETTING_MEMBER
};
// clang-format on
#undef PYLON_SETTING

// In the order of k_settings (a unit test checks that they agree).
const SettingTable k_tables[] = {
    {"", "Pylon v0.1's keys, all optional with Pylon's defaults."},
    {"identity", "Which key the node signs with."},
    {"provider", "NIP-90 job policy."},
    {"relay_pool", "Relay connections: timeouts, reconnect backoff, keep-alive."},
    {"backends.ollama", "The Ollama backend (probed, never spawned)."},
    {"backends.llamacpp",
     "llama.cpp's llama-server; spawned and supervised when `binary` and `model` are set."},
    {"limits", "Bounds on the work the node accepts."},
    {"control", "The control socket (control.sock)."},
    {"store", "The SQLite database (pylon.db)."},
    {"shards", "Reactor threads (one io_uring each)."},
    {"memory", "The memory monitor (autopilotd's names and defaults, earlyoom's percentages)."},
    {"supervisor", "Restart policy of supervised children."},
    {"worker", "One supervised long-running worker (autopilotd's job)."},
    {"agents", "Host mode: one supervised agent process per NIP-06 account index."},
    {"log", "The daemon log (logs/pylon.log in the background, stderr in the foreground)."},
};

// Rules between two keys: low <= high (low < high when strict). Both keys are integers; keep
// each pair in one table.
const SettingRule k_rules[] = {
    {"memory.critical_threshold_bytes", "memory.min_available_bytes"},
    {"memory.critical_available_percent", "memory.low_available_percent"},
    {"memory.poll_interval_min_ms", "memory.poll_interval_max_ms"},
    {"provider.max_tokens_default", "provider.max_tokens_max"},
    {"relay_pool.backoff_initial_ms", "relay_pool.backoff_max_ms"},
    {"supervisor.backoff_initial_ms", "supervisor.backoff_max_ms"},
    // Counting as started after alive_after_ms needs that long before the start timeout: at
    // equal values the start timeout fires first and the child never counts as started.
    {"worker.alive_after_ms", "worker.start_timeout_ms", true},
    {"agents.alive_after_ms", "agents.start_timeout_ms", true},
};

bool is_choice(std::string_view choices, std::string_view text) {
    std::size_t pos = 0;
    while (pos <= choices.size()) {
        std::size_t bar = choices.find('|', pos);
        std::size_t end = bar == std::string_view::npos ? choices.size() : bar;
        if (choices.substr(pos, end - pos) == text) {
            return true;
        }
        pos = end + 1;
    }
    return false;
}

// Does `text` start with scheme `a` or `b` (given in lower case; the text's scheme may be in any
// case, as URLs allow: it is normalised later) followed by something that is not a path?
bool has_url_scheme(std::string_view text, std::string_view a, std::string_view b) {
    auto starts_with_nocase = [text](std::string_view scheme) {
        return text.size() > scheme.size() &&
               std::equal(scheme.begin(), scheme.end(), text.begin(), [](char s, char t) {
                   return s == std::tolower(static_cast<unsigned char>(t));
               });
    };
    for (std::string_view scheme : {a, b}) {
        if (starts_with_nocase(scheme) && text[scheme.size()] != '/') {
            return text.find_first_of(" \t\r\n") == std::string_view::npos;
        }
    }
    return false;
}

bool is_env_entry(std::string_view text) {
    std::size_t eq = text.find('=');
    if (eq == 0 || eq == std::string_view::npos) {
        return false;
    }
    for (std::size_t i = 0; i < eq; i++) {
        char c = text[i];
        bool ok = c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok) {
            return false;
        }
    }
    return true;
}

std::string quoted_list(std::string_view choices) {
    std::string out;
    std::size_t pos = 0;
    while (pos <= choices.size()) {
        std::size_t bar = choices.find('|', pos);
        std::size_t end = bar == std::string_view::npos ? choices.size() : bar;
        if (!out.empty()) {
            out += ", ";
        }
        out += "\"" + std::string(choices.substr(pos, end - pos)) + "\"";
        pos = end + 1;
    }
    return out;
}

std::string int_text(std::int64_t v) {
    return std::to_string(v);
}

std::optional<std::string> length_problem(const SettingSpec& spec, std::size_t bytes) {
    if (static_cast<std::int64_t>(bytes) < spec.min) {
        return spec.min == 1 ? std::string("must not be empty")
                             : "must be at least " + int_text(spec.min) + " bytes long";
    }
    if (static_cast<std::int64_t>(bytes) > spec.max) {
        return "must be at most " + int_text(spec.max) + " bytes long";
    }
    return std::nullopt;
}

std::optional<std::string> int_problem(const SettingSpec& spec, std::int64_t v) {
    if (v < spec.min) {
        return int_text(v) + " is below the minimum " + int_text(spec.min);
    }
    if (v > spec.max) {
        return int_text(v) + " is above the maximum " + int_text(spec.max);
    }
    return std::nullopt;
}

std::optional<std::string> string_list_problem(const SettingSpec& spec,
                                               const setting_StrList& list) {
    auto n = static_cast<std::int64_t>(list.size());
    if (n < spec.min) {
        return "needs at least " + int_text(spec.min) + " entries";
    }
    if (n > spec.max) {
        return "has " + int_text(n) + " entries; at most " + int_text(spec.max) + " allowed";
    }
    for (const std::string& item : list) {
        if (item.size() > setting_string_bytes_max) {
            return "an entry is longer than " + std::to_string(setting_string_bytes_max) + " bytes";
        }
        if (auto p = setting_string_problem(spec, item)) {
            return p;
        }
    }
    return std::nullopt;
}

std::optional<std::string> int_list_problem(const SettingSpec& spec, const setting_IntList& list) {
    if (spec.check == "@set" && list.empty()) {
        return std::string("needs at least one entry");
    }
    if (list.size() > setting_list_items_max) {
        return "has " + std::to_string(list.size()) + " entries; at most " +
               std::to_string(setting_list_items_max) + " allowed";
    }
    for (std::int64_t v : list) {
        if (auto p = int_problem(spec, v)) {
            return "entry " + *p;
        }
    }
    return std::nullopt;
}

std::string toml_string_list(const setting_StrList& list) {
    std::string out = "[";
    for (std::size_t i = 0; i < list.size(); i++) {
        out += i == 0 ? "" : ", ";
        out += toml_quote(list[i]);
    }
    return out + "]";
}

std::string toml_int_list(const setting_IntList& list) {
    std::string out = "[";
    for (std::size_t i = 0; i < list.size(); i++) {
        out += i == 0 ? "" : ", ";
        out += int_text(list[i]);
    }
    return out + "]";
}

std::string range_text(const SettingSpec& spec) {
    switch (spec.type) {
        case SettingType::boolean:
            return "";
        case SettingType::integer:
        case SettingType::integer_list:
            if (spec.check == "@set") {
                return int_text(spec.min) + " to " + int_text(spec.max) +
                       "; at least one, no repeats";
            }
            if (spec.check == "@distinct") {
                return int_text(spec.min) + " to " + int_text(spec.max) + "; no repeats";
            }
            if (!spec.check.empty()) {
                return "";
            }
            return int_text(spec.min) + " to " + int_text(spec.max);
        case SettingType::string:
        case SettingType::optional_string:
        case SettingType::string_list:
            break;
    }
    if (!spec.check.empty() && spec.check[0] != '@') {
        return "one of " + quoted_list(spec.check);
    }
    if (spec.check == "@ws_url") {
        return spec.type == SettingType::string_list ? "ws:// or wss:// URLs, no repeats"
                                                     : "ws:// or wss:// URL";
    }
    if (spec.check == "@http_url") {
        return "http://IP[:port] or http://localhost[:port]";
    }
    if (spec.check == "@env") {
        return "KEY=VALUE strings";
    }
    if (spec.type == SettingType::string_list) {
        return "up to " + int_text(spec.max) + " entries";
    }
    return "";
}

}  // namespace

std::string_view setting_type_name(SettingType type) noexcept {
    switch (type) {
        case SettingType::boolean:
            return "bool";
        case SettingType::integer:
            return "integer";
        case SettingType::string:
            return "string";
        case SettingType::optional_string:
            return "string (optional)";
        case SettingType::string_list:
            return "list of strings";
        case SettingType::integer_list:
            return "list of integers";
    }
    return "?";
}

std::span<const SettingSpec> settings() {
    return k_settings;
}

std::span<const SettingTable> setting_tables() {
    return k_tables;
}

const SettingSpec* find_setting(std::string_view path) {
    for (const SettingSpec& s : k_settings) {
        if (s.path == path) {
            return &s;
        }
    }
    return nullptr;
}

bool is_setting_table(std::string_view name) {
    for (const SettingTable& t : k_tables) {
        if (t.name.empty()) {
            continue;
        }
        if (t.name == name ||
            (t.name.size() > name.size() && t.name.substr(0, name.size()) == name &&
             t.name[name.size()] == '.')) {
            return true;
        }
    }
    return false;
}

std::optional<std::string> setting_string_problem(const SettingSpec& spec, std::string_view text) {
    if (spec.check.empty()) {
        return std::nullopt;
    }
    if (spec.check == "@ws_url") {
        if (!has_url_scheme(text, "ws://", "wss://")) {
            return "\"" + std::string(text) + "\" is not a ws:// or wss:// URL";
        }
        // What the relay link will parse: a port out of range or empty is refused here, not
        // retried for ever at run time.
        auto url = net::parse_ws_url(normalize_relay_url(text));
        if (!url.ok()) {
            return url.error().message();  // it names the URL
        }
    } else if (spec.check == "@http_url") {
        // What the backends will connect to, checked by the parser they use: a local server's
        // plain http:// base URL (no TLS, no path, no name to resolve).
        if (auto url = parse_backend_url(normalize_relay_url(text)); !url.ok()) {
            return url.error().message();
        }
    } else if (spec.check == "@env") {
        if (!is_env_entry(text)) {
            return "\"" + std::string(text) + "\" is not KEY=VALUE";
        }
    } else if (!is_choice(spec.check, text)) {
        return "\"" + std::string(text) + "\" is not one of " + quoted_list(spec.check);
    }
    return std::nullopt;
}

std::optional<std::string> setting_problem(const SettingSpec& spec, const Config& config) {
    switch (spec.type) {
        case SettingType::boolean:
            return std::nullopt;
        case SettingType::integer:
            return int_problem(spec, spec.ref<setting_Int>(config));
        case SettingType::string: {
            const std::string& v = spec.ref<setting_Str>(config);
            if (auto p = length_problem(spec, v.size())) {
                return p;
            }
            return v.empty() ? std::nullopt : setting_string_problem(spec, v);
        }
        case SettingType::optional_string: {
            const setting_OptStr& v = spec.ref<setting_OptStr>(config);
            if (!v) {
                return std::nullopt;
            }
            if (auto p = length_problem(spec, v->size())) {
                return p;
            }
            return setting_string_problem(spec, *v);
        }
        case SettingType::string_list:
            return string_list_problem(spec, spec.ref<setting_StrList>(config));
        case SettingType::integer_list:
            return int_list_problem(spec, spec.ref<setting_IntList>(config));
    }
    return std::nullopt;
}

namespace {

std::int64_t rule_value(std::string_view path, const Config& config) {
    const SettingSpec* spec = find_setting(path);
    PYLON_ASSERT(spec != nullptr && spec->type == SettingType::integer);
    return spec->ref<setting_Int>(config);
}

bool contains(std::span<const std::string> paths, std::string_view path) {
    return std::find(paths.begin(), paths.end(), path) != paths.end();
}

}  // namespace

std::span<const SettingRule> setting_rules() {
    return k_rules;
}

std::optional<ConfigProblem> check_config(const Config& c, std::span<const std::string> set_paths) {
    for (const SettingSpec& s : k_settings) {
        if (auto p = setting_problem(s, c)) {
            return ConfigProblem{std::string(s.path), *p};
        }
    }
    for (const SettingRule& r : k_rules) {
        std::int64_t low = rule_value(r.low, c);
        std::int64_t high = rule_value(r.high, c);
        if (r.strict ? low < high : low <= high) {
            continue;
        }
        if (contains(set_paths, r.high) && !contains(set_paths, r.low)) {
            return ConfigProblem{std::string(r.high),
                                 (r.strict ? "must be above " : "must not be below ") +
                                     std::string(r.low) + " (" + int_text(low) + ")"};
        }
        return ConfigProblem{std::string(r.low),
                             (r.strict ? "must be below " : "must not exceed ") +
                                 std::string(r.high) + " (" + int_text(high) + ")"};
    }
    return std::nullopt;
}

std::vector<SettingTidyNote> tidy_setting(const SettingSpec& spec, Config& config) {
    std::vector<SettingTidyNote> notes;
    if (spec.type == SettingType::string && spec.check == "@http_url") {
        setting_Str& url = spec.ref<setting_Str>(config);
        url = normalize_relay_url(url);  // lower-case scheme and host, as for the relays
        return notes;
    }
    if (spec.type == SettingType::integer_list &&
        (spec.check == "@set" || spec.check == "@distinct")) {
        setting_IntList& list = spec.ref<setting_IntList>(config);
        setting_IntList kept;
        for (std::size_t i = 0; i < list.size(); i++) {
            if (std::find(kept.begin(), kept.end(), list[i]) != kept.end()) {
                notes.push_back({i, int_text(list[i]) + " is repeated (dropped)"});
            } else {
                kept.push_back(list[i]);
            }
        }
        list = std::move(kept);
    } else if (spec.type == SettingType::string_list && spec.check == "@ws_url") {
        setting_StrList& list = spec.ref<setting_StrList>(config);
        setting_StrList kept;
        for (std::size_t i = 0; i < list.size(); i++) {
            std::string url = normalize_relay_url(list[i]);
            auto same = std::find(kept.begin(), kept.end(), url);
            if (same == kept.end()) {
                kept.push_back(std::move(url));
            } else if (*same == list[i]) {
                notes.push_back({i, "\"" + list[i] + "\" is repeated (dropped)"});
            } else {
                notes.push_back(
                    {i, "\"" + list[i] + "\" is the same relay as \"" + *same + "\" (dropped)"});
            }
        }
        list = std::move(kept);
    } else if (spec.type == SettingType::string_list && !spec.check.empty() &&
               spec.check[0] != '@') {
        // A list of names (backend_preference): a repeat says nothing more; dropped, so that
        // ["ollama", "ollama"] is the one-entry list it means.
        setting_StrList& list = spec.ref<setting_StrList>(config);
        setting_StrList kept;
        for (std::size_t i = 0; i < list.size(); i++) {
            if (std::find(kept.begin(), kept.end(), list[i]) != kept.end()) {
                notes.push_back({i, "\"" + list[i] + "\" is repeated (dropped)"});
            } else {
                kept.push_back(list[i]);
            }
        }
        list = std::move(kept);
    }
    return notes;
}

std::optional<std::string> setting_toml(const SettingSpec& spec, const Config& config) {
    switch (spec.type) {
        case SettingType::boolean:
            return spec.ref<setting_Bool>(config) ? "true" : "false";
        case SettingType::integer:
            return int_text(spec.ref<setting_Int>(config));
        case SettingType::string:
            return toml_quote(spec.ref<setting_Str>(config));
        case SettingType::optional_string: {
            const setting_OptStr& v = spec.ref<setting_OptStr>(config);
            if (!v) {
                return std::nullopt;
            }
            return toml_quote(*v);
        }
        case SettingType::string_list:
            return toml_string_list(spec.ref<setting_StrList>(config));
        case SettingType::integer_list:
            return toml_int_list(spec.ref<setting_IntList>(config));
    }
    return std::nullopt;
}

bool setting_equal(const SettingSpec& spec, const Config& a, const Config& b) {
    switch (spec.type) {
        case SettingType::boolean:
            return spec.ref<setting_Bool>(a) == spec.ref<setting_Bool>(b);
        case SettingType::integer:
            return spec.ref<setting_Int>(a) == spec.ref<setting_Int>(b);
        case SettingType::string:
            return spec.ref<setting_Str>(a) == spec.ref<setting_Str>(b);
        case SettingType::optional_string:
            return spec.ref<setting_OptStr>(a) == spec.ref<setting_OptStr>(b);
        case SettingType::string_list:
            return spec.ref<setting_StrList>(a) == spec.ref<setting_StrList>(b);
        case SettingType::integer_list:
            return spec.ref<setting_IntList>(a) == spec.ref<setting_IntList>(b);
    }
    return false;
}

void setting_copy(const SettingSpec& spec, Config& to, const Config& from) {
    switch (spec.type) {
        case SettingType::boolean:
            spec.ref<setting_Bool>(to) = spec.ref<setting_Bool>(from);
            return;
        case SettingType::integer:
            spec.ref<setting_Int>(to) = spec.ref<setting_Int>(from);
            return;
        case SettingType::string:
            spec.ref<setting_Str>(to) = spec.ref<setting_Str>(from);
            return;
        case SettingType::optional_string:
            spec.ref<setting_OptStr>(to) = spec.ref<setting_OptStr>(from);
            return;
        case SettingType::string_list:
            spec.ref<setting_StrList>(to) = spec.ref<setting_StrList>(from);
            return;
        case SettingType::integer_list:
            spec.ref<setting_IntList>(to) = spec.ref<setting_IntList>(from);
            return;
    }
}

std::string toml_quote(std::string_view text) {
    std::string out = "\"";
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        switch (ch) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += ch;
                }
        }
    }
    return out + "\"";
}

namespace {

// `path` as written next to a key of `table`: without the table when it is the same.
std::string key_in(std::string_view path, std::string_view table) {
    if (!table.empty() && path.size() > table.size() && path.substr(0, table.size()) == table &&
        path[table.size()] == '.') {
        return std::string(path.substr(table.size() + 1));
    }
    return std::string(path);
}

// The range, then the rules that bound the key by another ("at most `min_available_bytes`").
std::string limits_text(const SettingSpec& s) {
    std::string out = range_text(s);
    for (const SettingRule& r : k_rules) {
        std::string bound;
        if (r.low == s.path) {
            bound = (r.strict ? "below `" : "at most `") + key_in(r.high, s.table) + "`";
        } else if (r.high == s.path) {
            bound = (r.strict ? "above `" : "at least `") + key_in(r.low, s.table) + "`";
        } else {
            continue;
        }
        out += (out.empty() ? "" : "; ") + bound;
    }
    return out;
}

std::string comment_line(const SettingSpec& s) {
    std::string line = "# " + std::string(s.doc);
    std::vector<std::string> notes;
    if (!s.unit.empty() && s.unit != "path") {
        notes.push_back(std::string(s.unit));
    }
    std::string range = limits_text(s);
    if (!range.empty()) {
        notes.push_back(range);
    }
    if (s.reloadable) {
        notes.push_back("reloads on SIGHUP");
    }
    if (!notes.empty()) {
        line += " (";
        for (std::size_t i = 0; i < notes.size(); i++) {
            line += (i == 0 ? "" : "; ") + notes[i];
        }
        line += ")";
    }
    return line + "\n";
}

std::string render_toml(const Config& config, bool with_comments) {
    std::string out;
    if (with_comments) {
        out +=
            "# Pylon configuration (config.toml). Every key is optional: the values below are "
            "the\n# defaults. Reference: docs/config.md. Regenerate with `pylon config "
            "--defaults`.\n";
    }
    std::string_view table = "";
    bool first = true;
    for (const SettingSpec& s : k_settings) {
        if (s.table != table || first) {
            if (!s.table.empty()) {
                out += "\n[" + std::string(s.table) + "]\n";
                if (with_comments) {
                    for (const SettingTable& t : k_tables) {
                        if (t.name == s.table) {
                            out += "# " + std::string(t.doc) + "\n";
                        }
                    }
                }
            }
            table = s.table;
            first = false;
        }
        if (with_comments) {
            out += "\n" + comment_line(s);
        }
        std::optional<std::string> value = setting_toml(s, config);
        if (value) {
            out += std::string(s.key) + " = " + *value + "\n";
        } else if (with_comments) {
            out += "# " + std::string(s.key) + " = \"\"\n";
        }
    }
    if (with_comments) {
        out +=
            "\n# [codex] (Pylon v0.1's Codex agent backend) is accepted for compatibility and "
            "ignored.\n";
    }
    return out;
}

void json_value(const SettingSpec& s, const Config& c, proto::JsonWriter& w) {
    switch (s.type) {
        case SettingType::boolean:
            w.boolean(s.ref<setting_Bool>(c));
            return;
        case SettingType::integer:
            w.int64(s.ref<setting_Int>(c));
            return;
        case SettingType::string:
            w.string(s.ref<setting_Str>(c));
            return;
        case SettingType::optional_string: {
            const setting_OptStr& v = s.ref<setting_OptStr>(c);
            if (v) {
                w.string(*v);
            } else {
                w.null();
            }
            return;
        }
        case SettingType::string_list:
            w.begin_array();
            for (const std::string& item : s.ref<setting_StrList>(c)) {
                w.string(item);
            }
            w.end_array();
            return;
        case SettingType::integer_list:
            w.begin_array();
            for (std::int64_t item : s.ref<setting_IntList>(c)) {
                w.int64(item);
            }
            w.end_array();
            return;
    }
}

// The dot-separated parts of a table name.
std::vector<std::string_view> table_parts(std::string_view table) {
    std::vector<std::string_view> parts;
    std::size_t pos = 0;
    while (!table.empty() && pos <= table.size()) {
        std::size_t dot = table.find('.', pos);
        std::size_t end = dot == std::string_view::npos ? table.size() : dot;
        parts.push_back(table.substr(pos, end - pos));
        pos = end + 1;
    }
    return parts;
}

std::string markdown_cell(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '|') {
            out += "\\|";
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

std::string default_config_toml() {
    return render_toml(Config{}, true);
}

std::string config_toml(const Config& config) {
    return render_toml(config, false);
}

std::string config_json(const Config& config) {
    std::string out;
    proto::JsonWriter w(out);
    w.begin_object();
    std::vector<std::string_view> open;  // nested table objects currently open
    for (const SettingSpec& s : k_settings) {
        std::vector<std::string_view> parts = table_parts(s.table);
        std::size_t common = 0;
        while (common < open.size() && common < parts.size() && open[common] == parts[common]) {
            common++;
        }
        while (open.size() > common) {
            w.end_object();
            open.pop_back();
        }
        for (std::size_t i = common; i < parts.size(); i++) {
            w.key(parts[i]);
            w.begin_object();
            open.push_back(parts[i]);
        }
        w.key(s.key);
        json_value(s, config, w);
    }
    while (!open.empty()) {
        w.end_object();
        open.pop_back();
    }
    w.end_object();
    return out;
}

std::string settings_markdown() {
    std::string out =
        "# config.toml reference\n\n"
        "<!-- Generated from the settings table (engine/settings_*.def) by `pylon config "
        "--markdown`;\n     a unit test fails when this file and the table disagree. -->\n\n"
        "Pylon reads `config.toml` in its home (`$PYLON_HOME`, `--home DIR`, default\n"
        "`~/.openagents/pylon`), or the file given with `pylon start -c PATH`. A missing file "
        "means\nevery default. Every key is optional. An invalid file is refused with\n"
        "`path:line:column: reason`: a syntax error, a value of the wrong type (also a known "
        "table\nwritten as a value or as an array of tables: `identity = 1`, `[[provider]]`), "
        "a value out of\nits range, or a key beyond the bound another key sets (the Range "
        "column names that key,\nfor example `max_tokens_max` must be at least "
        "`max_tokens_default`: the error points at the\none the file sets). An unknown key is "
        "a warning that names it, and so is a repeated entry of\n`relays`, "
        "`backend_preference`, `[provider] job_kinds` or `[agents] accounts` (dropped; relay "
        "URLs are\ncompared, and kept, normalised: lower-case scheme and host, no `/` alone as the "
        "path). Pylon "
        "v0.1's keys\nkeep their names and defaults; `[codex]` is accepted and ignored. Keys "
        "marked "
        "*reload* take\neffect on SIGHUP; the others need a restart (a SIGHUP logs which ones "
        "changed).\n\n"
        "`pylon config --defaults` prints the commented default file; `pylon config` prints "
        "the\neffective configuration (`--json` as JSON).\n";
    for (const SettingTable& t : k_tables) {
        out += "\n## " +
               (t.name.empty() ? std::string("Top level") : "[" + std::string(t.name) + "]") +
               "\n\n" + std::string(t.doc) + "\n\n";
        out += "| Key | Type | Default | Range | Reload | Description |\n";
        out += "|---|---|---|---|---|---|\n";
        Config defaults;
        for (const SettingSpec& s : k_settings) {
            if (s.table != t.name) {
                continue;
            }
            std::optional<std::string> def = setting_toml(s, defaults);
            std::string type(setting_type_name(s.type));
            if (!s.unit.empty()) {
                type += " (" + std::string(s.unit) + ")";
            }
            out += "| `" + std::string(s.key) + "` | " + type + " | " +
                   (def ? "`" + markdown_cell(*def) + "`" : std::string("none")) + " | " +
                   markdown_cell(limits_text(s)) + " | " + (s.reloadable ? "reload" : "restart") +
                   " | " + markdown_cell(s.doc) + " |\n";
        }
    }
    return out;
}

ReloadPlan plan_reload(const Config& running, const Config& next) {
    ReloadPlan plan{running, {}, {}};
    for (const SettingSpec& s : k_settings) {
        if (setting_equal(s, running, next)) {
            continue;
        }
        if (s.reloadable) {
            setting_copy(s, plan.applied, next);
            plan.changed.emplace_back(s.path);
        } else {
            plan.not_applied.emplace_back(s.path);
        }
    }
    return plan;
}

}  // namespace pylon::engine
