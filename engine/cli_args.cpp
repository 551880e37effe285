#include "engine/cli_args.hpp"

#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace pylon::engine {

bool ParsedArgs::has(std::string_view long_name) const {
    return options_.find(long_name) != options_.end();
}

std::string ParsedArgs::value(std::string_view long_name, std::string_view fallback) const {
    auto it = options_.find(long_name);
    if (it == options_.end() || it->second.empty()) {
        return std::string(fallback);
    }
    return it->second.back();
}

const std::vector<std::string>& ParsedArgs::values(std::string_view long_name) const {
    static const std::vector<std::string> none;
    auto it = options_.find(long_name);
    return it == options_.end() ? none : it->second;
}

Result<long long> ParsedArgs::integer(std::string_view long_name, long long fallback, long long min,
                                      long long max) const {
    if (!has(long_name)) {
        return fallback;
    }
    std::string text = value(long_name);
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(text.c_str(), &end, 10);
    // Digits only, with an optional leading '-': strtoll would also take " 3" and "+3".
    bool digits = !text.empty() && (std::isdigit(static_cast<unsigned char>(text[0])) != 0 ||
                                    (text[0] == '-' && text.size() > 1));
    if (!digits || errno != 0 || end == nullptr || *end != '\0' || v < min || v > max) {
        return Error(Errc::invalid_input, "--" + std::string(long_name) +
                                              ": expected an integer in " + std::to_string(min) +
                                              ".." + std::to_string(max) + ", got '" + text + "'");
    }
    return v;
}

void ParsedArgs::add(std::string_view long_name, std::string value) {
    options_[std::string(long_name)].push_back(std::move(value));
}

namespace {

const OptionSpec* find_long(const std::vector<OptionSpec>& specs, std::string_view name) {
    for (const auto& s : specs) {
        if (s.long_name == name) {
            return &s;
        }
    }
    return nullptr;
}

const OptionSpec* find_short(const std::vector<OptionSpec>& specs, char c) {
    for (const auto& s : specs) {
        if (s.short_name != 0 && s.short_name == c) {
            return &s;
        }
    }
    return nullptr;
}

Status store(ParsedArgs& out, const OptionSpec& spec, std::string value) {
    if (!spec.repeatable && out.has(spec.long_name)) {
        return Error(Errc::invalid_input, "--" + std::string(spec.long_name) + " given twice");
    }
    out.add(spec.long_name, std::move(value));
    return Ok{};
}

}  // namespace

Result<ParsedArgs> parse_args(int argc, char** argv, int first,
                              const std::vector<OptionSpec>& specs) {
    ParsedArgs out;
    bool only_positionals = false;
    for (int i = first; i < argc; i++) {
        std::string_view arg = argv[i];
        if (only_positionals || arg.size() < 2 || arg[0] != '-') {
            out.add_positional(std::string(arg));
            continue;
        }
        if (arg == "--") {
            only_positionals = true;
            continue;
        }
        const OptionSpec* spec = nullptr;
        std::string value;
        bool has_inline = false;
        if (arg.substr(0, 2) == "--") {
            std::string_view name = arg.substr(2);
            std::size_t eq = name.find('=');
            if (eq != std::string_view::npos) {
                value = std::string(name.substr(eq + 1));
                name = name.substr(0, eq);
                has_inline = true;
            }
            spec = find_long(specs, name);
            if (spec == nullptr) {
                return Error(Errc::invalid_input, "unknown option --" + std::string(name));
            }
        } else {
            spec = find_short(specs, arg[1]);
            if (spec == nullptr) {
                return Error(Errc::invalid_input, "unknown option -" + std::string(1, arg[1]));
            }
            if (arg.size() > 2) {
                if (!spec->takes_value) {
                    return Error(Errc::invalid_input,
                                 "option -" + std::string(1, arg[1]) + " takes no value");
                }
                value = std::string(arg.substr(2));
                has_inline = true;
            }
        }
        if (spec->takes_value && !has_inline) {
            // `--account --home X`: the next word is one of this command's own long options, so
            // the value was left out (a value that really starts with "--" can be given as
            // --account=--x).
            std::string_view next = i + 1 < argc ? std::string_view(argv[i + 1]) : "";
            std::string_view next_name = next.size() > 2 && next.starts_with("--")
                                             ? next.substr(2, next.find('=') - 2)
                                             : std::string_view();
            bool next_is_option = !next_name.empty() && find_long(specs, next_name) != nullptr;
            if (i + 1 >= argc || next_is_option) {
                return Error(Errc::invalid_input,
                             "--" + std::string(spec->long_name) + " needs a value");
            }
            value = argv[++i];
        } else if (!spec->takes_value && has_inline) {
            return Error(Errc::invalid_input,
                         "--" + std::string(spec->long_name) + " takes no value");
        }
        PYLON_TRY(store(out, *spec, std::move(value)));
    }
    return out;
}

std::string format_options(const std::vector<OptionSpec>& specs) {
    std::string out;
    for (const auto& s : specs) {
        std::string left = "  ";
        left += s.short_name != 0 ? std::string("-") + s.short_name + ", " : "    ";
        left += "--" + std::string(s.long_name);
        if (s.takes_value) {
            left += " " + std::string(s.value_name.empty() ? "VALUE" : s.value_name);
        }
        if (left.size() < 30) {
            left.resize(30, ' ');
        } else {
            left += "  ";
        }
        out += left + std::string(s.help) + "\n";
    }
    return out;
}

}  // namespace pylon::engine
