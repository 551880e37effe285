// ArgParser: the command-line parser every `pylon` command uses. A command declares its options
// (short and long names, whether they take a value, whether they repeat, a help line); the parser
// accepts `-x V`, `-xV`, `--long V`, `--long=V`, `--` and positionals, and refuses unknown
// options with a message that names them. Pure (no I/O); any thread.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "reactor/result.hpp"

namespace pylon::engine {

struct OptionSpec {
    char short_name;             // 0 if none
    std::string_view long_name;  // without dashes
    bool takes_value;
    bool repeatable;
    std::string_view value_name;  // e.g. "DIR" (help only)
    std::string_view help;
};

class ParsedArgs {
  public:
    bool has(std::string_view long_name) const;
    // The last value given for the option, or `fallback`.
    std::string value(std::string_view long_name, std::string_view fallback = {}) const;
    const std::vector<std::string>& values(std::string_view long_name) const;
    const std::vector<std::string>& positionals() const noexcept { return positionals_; }
    // Parses the option's value as an integer in [min, max]; errors name the option.
    Result<long long> integer(std::string_view long_name, long long fallback, long long min,
                              long long max) const;

    void add(std::string_view long_name, std::string value);
    void add_positional(std::string value) { positionals_.push_back(std::move(value)); }

  private:
    std::map<std::string, std::vector<std::string>, std::less<>> options_;
    std::vector<std::string> positionals_;
};

// Parses argv[first..argc) against `specs`. Errors are Errc::invalid_input with a usage message.
Result<ParsedArgs> parse_args(int argc, char** argv, int first,
                              const std::vector<OptionSpec>& specs);

// "  -f, --foreground       Run in the foreground" lines for --help.
std::string format_options(const std::vector<OptionSpec>& specs);

}  // namespace pylon::engine
