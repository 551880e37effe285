// ConfigFile: reads config.toml into a Config, driven by the settings table (settings.hpp).
// An invalid file is refused with "path:line:column: reason" (syntax, a wrong type, also a known
// table written as a value or as [[array]], a value out of its bounds, a rule between two keys,
// pointed at the key the file set); an unknown key is a warning naming the key and its line, and
// so is a repeated entry of a list kept as a set (`relays`, normalised, and `job_kinds`: the
// repeat is dropped); Pylon v0.1's `[codex]` table is accepted and ignored with a note. A missing
// file means every default (as Pylon), unless the caller insists that it exists (`pylon start -c
// PATH`). toml++ is used header-only with exceptions off, in config_file.cpp only. Pure apart from
// reading the file: any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config.hpp"
#include "reactor/result.hpp"

namespace pylon::engine {

inline constexpr std::size_t config_file_bytes_max = 1024 * 1024;

struct LoadedConfig {
    Config config;
    std::vector<std::string> warnings;  // "path:line:column: unknown key 'x' (ignored)", ...
    std::string path;                   // the file read (or that would have been read)
    bool file_found = false;
};

// Parses TOML text; `source_name` prefixes every message (usually the file path).
Result<LoadedConfig> parse_config_text(std::string_view text, std::string_view source_name);

// Reads and parses `path`. A missing file gives the defaults, or an error if `must_exist`.
Result<LoadedConfig> load_config_file(const std::string& path, bool must_exist = false);

}  // namespace pylon::engine
