#include "engine/config_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "engine/settings.hpp"

// toml++ header-only, without exceptions (STYLE 9), in this translation unit only. The Debian
// package's CMake target asks for its shared library (built with exceptions); its symbols live
// in another ABI namespace, so the two never mix.
#undef TOML_HEADER_ONLY
#undef TOML_SHARED_LIB
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#define TOML_ENABLE_FORMATTERS 0
#include <toml++/toml.h>

namespace pylon::engine {
namespace {

struct Parser {
    std::string_view source;
    LoadedConfig* out;
    std::vector<std::string> set_paths;  // the settings the file sets, for check_config

    std::string where(const toml::source_region& region) const {
        return std::string(source) + ":" + std::to_string(region.begin.line) + ":" +
               std::to_string(region.begin.column);
    }
    Error error_at(const toml::source_region& region, const std::string& message) const {
        return Error(Errc::invalid_input, where(region) + ": " + message);
    }

    Status walk(const toml::table& table, const std::string& prefix);
    Status take(const SettingSpec& spec, const toml::node& node);
    Status assign(const SettingSpec& spec, const toml::node& node);
};

// How a message names a TOML type: one value ("an integer") and the items of an array
// ("integers").
struct TypeNames {
    std::string_view one;
    std::string_view many;
};

TypeNames type_names(toml::node_type type) {
    switch (type) {
        case toml::node_type::table:
            return {"a table", "tables"};
        case toml::node_type::array:
            return {"an array", "arrays"};
        case toml::node_type::string:
            return {"a string", "strings"};
        case toml::node_type::integer:
            return {"an integer", "integers"};
        case toml::node_type::floating_point:
            return {"a float", "floats"};
        case toml::node_type::boolean:
            return {"a boolean", "booleans"};
        case toml::node_type::date:
        case toml::node_type::time:
        case toml::node_type::date_time:
            return {"a date/time", "dates/times"};
        case toml::node_type::none:
            break;
    }
    return {"nothing", ""};
}

// "integers" for an array whose items are all integers, "" when they differ (or it is empty).
std::string_view items_type_plural(const toml::array& array) {
    if (array.empty() || !array.is_homogeneous(array.front().type())) {
        return "";
    }
    return type_names(array.front().type()).many;
}

// What the file holds, for a type error: "an integer", "an array of tables" ([[x]]).
std::string found_text(const toml::node& node) {
    const toml::array* array = node.as_array();
    std::string_view items = array != nullptr ? items_type_plural(*array) : "";
    return items.empty() ? std::string(type_names(node.type()).one)
                         : "an array of " + std::string(items);
}

std::string expected_text(SettingType type) {
    switch (type) {
        case SettingType::boolean:
            return "true or false";
        case SettingType::integer:
            return "an integer";
        case SettingType::string:
        case SettingType::optional_string:
            return "a string";
        case SettingType::string_list:
            return "an array of strings";
        case SettingType::integer_list:
            return "an array of integers";
    }
    return "?";
}

Status Parser::assign(const SettingSpec& spec, const toml::node& node) {
    std::string mismatch = std::string(spec.path) + ": expected " + expected_text(spec.type) +
                           ", found " + found_text(node);
    Config& c = out->config;
    switch (spec.type) {
        case SettingType::boolean:
            if (!node.is_boolean()) {
                return error_at(node.source(), mismatch);
            }
            spec.ref<setting_Bool>(c) = node.as_boolean()->get();
            return Ok{};
        case SettingType::integer:
            if (!node.is_integer()) {
                return error_at(node.source(), mismatch);
            }
            spec.ref<setting_Int>(c) = node.as_integer()->get();
            return Ok{};
        case SettingType::string:
        case SettingType::optional_string:
            if (!node.is_string()) {
                return error_at(node.source(), mismatch);
            }
            if (spec.type == SettingType::string) {
                spec.ref<setting_Str>(c) = node.as_string()->get();
            } else {
                spec.ref<setting_OptStr>(c) = node.as_string()->get();
            }
            return Ok{};
        case SettingType::string_list:
        case SettingType::integer_list:
            break;
    }
    const toml::array* array = node.as_array();
    if (array == nullptr) {
        return error_at(node.source(), mismatch);
    }
    bool strings = spec.type == SettingType::string_list;
    toml::node_type want = strings ? toml::node_type::string : toml::node_type::integer;
    for (std::size_t i = 0; i < array->size(); i++) {
        const toml::node& item = *array->get(i);
        if (item.type() == want) {
            continue;
        }
        if (!items_type_plural(*array).empty()) {
            return error_at(node.source(), mismatch);  // "found an array of integers"
        }
        return error_at(item.source(), std::string(spec.path) + ": expected " +
                                           expected_text(spec.type) + ", found " +
                                           found_text(item) + " as entry " + std::to_string(i + 1));
    }
    if (array->size() > setting_list_items_max * 4) {
        return error_at(node.source(), std::string(spec.path) + ": too many entries");
    }
    if (strings) {
        setting_StrList& list = spec.ref<setting_StrList>(c);
        list.clear();
        for (const toml::node& item : *array) {
            list.push_back(item.as_string()->get());
        }
    } else {
        setting_IntList& list = spec.ref<setting_IntList>(c);
        list.clear();
        for (const toml::node& item : *array) {
            list.push_back(item.as_integer()->get());
        }
    }
    return Ok{};
}

// Every key of the document, flattened, in the order it appears in the file (toml++ iterates
// tables in key order), so that warnings and the first error follow the file.
struct Entry {
    std::string path;
    const toml::key* key;
    const toml::node* node;
};

void flatten(const toml::table& table, const std::string& prefix, std::vector<Entry>& out) {
    for (const auto& [key, node] : table) {
        std::string path =
            prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
        if (node.is_table() && find_setting(path) == nullptr && is_setting_table(path)) {
            flatten(*node.as_table(), path, out);
            continue;
        }
        out.push_back(Entry{std::move(path), &key, &node});
    }
}

bool source_before(const Entry& a, const Entry& b) {
    const toml::source_position& pa = a.key->source().begin;
    const toml::source_position& pb = b.key->source().begin;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
}

Status Parser::walk(const toml::table& table, const std::string& prefix) {
    std::vector<Entry> entries;
    flatten(table, prefix, entries);
    std::stable_sort(entries.begin(), entries.end(), source_before);
    for (const Entry& e : entries) {
        const toml::node& node = *e.node;
        if (e.path == "codex" && node.is_table()) {
            out->warnings.push_back(where(e.key->source()) +
                                    ": note: [codex] (Pylon v0.1's Codex agent backend) is "
                                    "accepted for compatibility and ignored");
            continue;
        }
        if (const SettingSpec* spec = find_setting(e.path)) {
            PYLON_TRY(take(*spec, node));
            continue;
        }
        if (is_setting_table(e.path)) {
            // A known table as a value (`identity = 1`) or as an array of tables
            // ([[identity]]): ignoring it would drop its keys for their defaults.
            bool located = node.source().begin.line > 0;
            return error_at(located ? node.source() : e.key->source(),
                            e.path + ": expected a table, found " + found_text(node));
        }
        out->warnings.push_back(
            where(e.key->source()) + ": unknown " +
            (node.is_table() ? "table [" + e.path + "]" : "key '" + e.path + "'") + " (ignored)");
    }
    return Ok{};
}

// One setting from the file: its type, its bounds, then its canonical form (a repeated entry
// dropped with a warning pointing at it).
Status Parser::take(const SettingSpec& spec, const toml::node& node) {
    PYLON_TRY(assign(spec, node));
    if (auto problem = setting_problem(spec, out->config)) {
        return error_at(node.source(), std::string(spec.path) + ": " + *problem);
    }
    const toml::array* array = node.as_array();
    for (const SettingTidyNote& note : tidy_setting(spec, out->config)) {
        const toml::node* item = array != nullptr ? array->get(note.index) : nullptr;
        out->warnings.push_back(where(item != nullptr ? item->source() : node.source()) + ": " +
                                std::string(spec.path) + ": " + note.message);
    }
    set_paths.emplace_back(spec.path);
    return Ok{};
}

// The location of `path` in the parsed document, for errors found after the walk.
std::string location_of(const toml::table& root, std::string_view source, const std::string& path) {
    const toml::node* node = &root;
    std::size_t pos = 0;
    while (node != nullptr && pos <= path.size()) {
        std::size_t dot = path.find('.', pos);
        std::size_t end = dot == std::string::npos ? path.size() : dot;
        const toml::table* t = node->as_table();
        node = t != nullptr ? t->get(std::string_view(path).substr(pos, end - pos)) : nullptr;
        pos = end + 1;
    }
    if (node == nullptr) {
        return std::string(source);
    }
    return std::string(source) + ":" + std::to_string(node->source().begin.line) + ":" +
           std::to_string(node->source().begin.column);
}

}  // namespace

Result<LoadedConfig> parse_config_text(std::string_view text, std::string_view source_name) {
    if (text.size() > config_file_bytes_max) {
        return Error(Errc::too_large, std::string(source_name) + ": larger than " +
                                          std::to_string(config_file_bytes_max) + " bytes");
    }
    toml::parse_result parsed = toml::parse(text, source_name);
    if (!parsed) {
        const toml::parse_error& err = parsed.error();
        return Error(Errc::invalid_input, std::string(source_name) + ":" +
                                              std::to_string(err.source().begin.line) + ":" +
                                              std::to_string(err.source().begin.column) + ": " +
                                              std::string(err.description()));
    }
    LoadedConfig loaded;
    loaded.path = std::string(source_name);
    loaded.file_found = true;
    Parser parser{source_name, &loaded, {}};
    PYLON_TRY(parser.walk(parsed.table(), ""));
    if (auto problem = check_config(loaded.config, parser.set_paths)) {
        return Error(Errc::invalid_input, location_of(parsed.table(), source_name, problem->path) +
                                              ": " + problem->path + ": " + problem->reason);
    }
    return loaded;
}

Result<LoadedConfig> load_config_file(const std::string& path, bool must_exist) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        if (err == ENOENT && !must_exist) {
            LoadedConfig defaults;
            defaults.path = path;
            return defaults;
        }
        return Error::from_errno(err, "cannot read config file " + path);
    }
    std::string text;
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int err = errno;
            ::close(fd);
            return Error::from_errno(err, "cannot read config file " + path);
        }
        if (n == 0) {
            break;
        }
        text.append(buf, static_cast<std::size_t>(n));
        if (text.size() > config_file_bytes_max) {
            ::close(fd);
            return Error(Errc::too_large, path + ": larger than " +
                                              std::to_string(config_file_bytes_max) + " bytes");
        }
    }
    ::close(fd);
    return parse_config_text(text, path);
}

}  // namespace pylon::engine
