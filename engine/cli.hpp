// The `pylon` command line: a table of commands (engine/cli.cpp), each with its options and a
// run function in its own engine/cli_<topic>.cpp file. Every command accepts --home DIR and
// --help. tools/pylon/main.cpp only calls cli_main(). Runs on the main thread before any shard.
//
// Exit codes (docs/cli.md): 0 success; 1 failure (the message says why); 2 usage error;
// 3 the command needs the daemon and none is running.
#pragma once

#include <cstdio>
#include <string_view>
#include <vector>

#include "engine/cli_args.hpp"
#include "engine/home.hpp"

namespace pylon::engine {

inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;
inline constexpr int exit_not_running = 3;

struct CliContext {
    Home home;
    const ParsedArgs& args;
    std::FILE* out;
    std::FILE* err;
};

struct Command {
    std::string_view name;     // "start", or two words for subcommands: "event sign"
    std::string_view summary;  // one line for `pylon --help`
    std::string_view usage;    // arguments after the name, e.g. "[-f] [-m MODE]"
    std::vector<OptionSpec> options;
    int (*run)(CliContext& ctx);
    bool takes_words = false;  // positional words (the prompt, a request id); others refuse them
};

// The command table (engine/cli.cpp).
const std::vector<Command>& commands();

// Entry point for tools/pylon/main.cpp.
int cli_main(int argc, char** argv);

// Prints "pylon: <message>" to stderr and returns exit_failure (convenience for commands).
int fail(CliContext& ctx, std::string_view message);

}  // namespace pylon::engine
