#include "engine/cli.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cstring>
#include <string>

#include "engine/cli_commands.hpp"

namespace pylon::engine {
namespace {

const OptionSpec home_option{
    0,     "home", true,
    false, "DIR",  "Pylon's folder (default $PYLON_HOME, else ~/.openagents/pylon)"};
const OptionSpec help_option{'h', "help", false, false, "", "Show this help"};

void print_usage(std::FILE* out) {
    std::fprintf(
        out,
        "pylon %s: a NIP-90 compute provider node for Nostr\n\n"
        "Usage: pylon [COMMAND] [OPTIONS]   (no command = start --foreground --mode both)\n\n"
        "Commands:\n",
        PYLON_VERSION_STRING);
    for (const Command& c : commands()) {
        std::fprintf(out, "  %-18s %.*s\n", std::string(c.name).c_str(),
                     static_cast<int>(c.summary.size()), c.summary.data());
    }
    std::fprintf(out,
                 "\nEvery command accepts --home DIR and --help.\n"
                 "Global: pylon --help | pylon --version\n"
                 "Exit codes: 0 ok, 1 failure, 2 usage error, 3 daemon not running.\n");
}

void print_command_help(std::FILE* out, const Command& c, const std::vector<OptionSpec>& specs) {
    std::fprintf(out, "Usage: pylon %s %s\n\n%s\n\nOptions:\n%s", std::string(c.name).c_str(),
                 std::string(c.usage).c_str(), std::string(c.summary).c_str(),
                 format_options(specs).c_str());
}

// Finds the command named by argv[1] (and argv[2] for two-word commands).
const Command* find_command(int argc, char** argv, int& consumed) {
    const Command* best = nullptr;
    for (const Command& c : commands()) {
        std::string_view name = c.name;
        std::size_t space = name.find(' ');
        if (space == std::string_view::npos) {
            if (argc > 1 && name == argv[1] && best == nullptr) {
                best = &c;
                consumed = 2;
            }
        } else if (argc > 2 && name.substr(0, space) == argv[1] &&
                   name.substr(space + 1) == argv[2]) {
            consumed = 3;
            return &c;
        }
    }
    return best;
}

// A group word alone ("pylon job") lists its subcommands. Prints the commands of `group` (`job`:
// job submit, job status...); false when there is no such group. `out` null: only says whether it
// exists.
bool print_group(std::FILE* out, std::string_view group) {
    bool any = false;
    for (const Command& c : commands()) {
        std::string_view name = c.name;
        std::size_t space = name.find(' ');
        if (space != std::string_view::npos && name.substr(0, space) == group) {
            if (out == nullptr) {
                return true;
            }
            if (!any) {
                std::fprintf(out, "Usage: pylon %.*s <command>\n\nCommands:\n",
                             static_cast<int>(group.size()), group.data());
            }
            any = true;
            std::fprintf(out, "  %-18s %.*s\n", std::string(name).c_str(),
                         static_cast<int>(c.summary.size()), c.summary.data());
        }
    }
    return any;
}

}  // namespace

int fail(CliContext& ctx, std::string_view message) {
    std::fprintf(ctx.err, "pylon: %.*s\n", static_cast<int>(message.size()), message.data());
    return exit_failure;
}

int cli_main(int argc, char** argv) {
    // Whatever any command creates in the home (identity, config, database, logs, socket) is
    // the owner's only, whatever umask the shell had.
    ::umask(077);
    // SQLite page caches grow page by page up to each connection's cache_size, without the
    // 20-page block SQLite otherwise allocates per connection up front (~87 KB of idle RSS for
    // each of the node's three connections). Process-wide, so before the first sqlite3_open.
    sqlite3_config(SQLITE_CONFIG_PAGECACHE, nullptr, 0, 0);
    if (argc > 1 && (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "-V") == 0)) {
        std::printf("pylon %s\n", PYLON_VERSION_STRING);
        return exit_ok;
    }
    if (argc > 1 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
                     std::strcmp(argv[1], "help") == 0)) {
        print_usage(stdout);
        return exit_ok;
    }
    // `pylon --home DIR <command> ...`: the home may come before the command word (it is
    // moved after it). Without a command word it stays a bare `pylon` with options (below).
    std::vector<char*> reordered;
    if (argc > 1 && argv[1][0] == '-') {
        int i = 1;
        while (i < argc) {
            std::string_view a = argv[i];
            if (a == "--home" && i + 1 < argc) {
                i += 2;
            } else if (a.starts_with("--home=")) {
                i += 1;
            } else {
                break;
            }
        }
        std::string_view next = i < argc ? argv[i] : "";
        if (i > 1 && (next == "--help" || next == "-h")) {
            print_usage(stdout);
            return exit_ok;
        }
        if (i > 1 && i < argc && argv[i][0] != '-') {
            // The home goes right after the command's words ("job submit"), before its own
            // options: at the end, an option missing its value (`--model`) would take it.
            std::vector<char*> rest = {argv[0]};
            rest.insert(rest.end(), argv + i, argv + argc);
            int words = 1;
            if (find_command(static_cast<int>(rest.size()), rest.data(), words) == nullptr) {
                words = static_cast<int>(rest.size());  // a group word, or unknown: at the end
            }
            reordered.push_back(argv[0]);
            reordered.insert(reordered.end(), rest.begin() + 1, rest.begin() + words);
            reordered.insert(reordered.end(), argv + 1, argv + i);
            reordered.insert(reordered.end(), rest.begin() + words, rest.end());
            argc = static_cast<int>(reordered.size());
            argv = reordered.data();
        }
    }
    int consumed = 1;
    const Command* cmd = nullptr;
    static char start_word[] = "start";
    static char fg_word[] = "--foreground";
    static char mode_word[] = "--mode";
    static char both_word[] = "both";
    std::vector<char*> bare_args;
    if (argc == 1 || argv[1][0] == '-') {
        // Bare `pylon` (possibly with options such as --home) = start -f -m both; its own -f or
        // -m/--mode are kept, not given twice.
        bool fg = false;
        bool mode = false;
        for (int i = 1; i < argc; i++) {
            std::string_view a = argv[i];
            fg = fg || a == "-f" || a == "--foreground";
            mode = mode || a == "--mode" || a.starts_with("--mode=") || a.starts_with("-m");
        }
        bare_args = {argv[0], start_word};
        if (!fg) {
            bare_args.push_back(fg_word);
        }
        if (!mode) {
            bare_args.push_back(mode_word);
            bare_args.push_back(both_word);
        }
        for (int i = 1; i < argc; i++) {
            bare_args.push_back(argv[i]);
        }
        argc = static_cast<int>(bare_args.size());
        argv = bare_args.data();
    }
    cmd = find_command(argc, argv, consumed);
    if (cmd == nullptr) {
        // `pylon job --help` asks for the list: stdout, exit 0; `pylon job` alone is a usage error.
        bool asked =
            argc >= 3 && (std::strcmp(argv[2], "--help") == 0 || std::strcmp(argv[2], "-h") == 0);
        if (!asked && argc >= 3 && argv[2][0] != '-' && print_group(nullptr, argv[1])) {
            // `pylon job bogus`: name the word, then the group's commands.
            std::fprintf(stderr, "pylon %s: unknown command '%s'\n", argv[1], argv[2]);
        }
        if (argc > 1 && print_group(asked ? stdout : stderr, argv[1])) {
            return asked ? exit_ok : exit_usage;
        }
        std::fprintf(stderr, "pylon: unknown command '%s' (see pylon --help)\n", argv[1]);
        return exit_usage;
    }
    std::vector<OptionSpec> specs = cmd->options;
    specs.push_back(home_option);
    specs.push_back(help_option);
    auto parsed = parse_args(argc, argv, consumed, specs);
    if (!parsed.ok()) {
        std::fprintf(stderr, "pylon %s: %s\n", std::string(cmd->name).c_str(),
                     parsed.error().message().c_str());
        print_command_help(stderr, *cmd, specs);
        return exit_usage;
    }
    if (parsed->has("help")) {
        print_command_help(stdout, *cmd, specs);
        return exit_ok;
    }
    if (!cmd->takes_words && !parsed->positionals().empty()) {
        std::fprintf(stderr, "pylon %s: unexpected argument '%s'\n", std::string(cmd->name).c_str(),
                     parsed->positionals().front().c_str());
        print_command_help(stderr, *cmd, specs);
        return exit_usage;
    }
    // An empty path (`--home "$UNSET"`) is a mistake, never "the default": that would be the
    // production home.
    for (const char* path_option : {"home", "config"}) {
        if (parsed->has(path_option) && parsed->value(path_option).empty()) {
            std::fprintf(stderr, "pylon %s: --%s needs a path, not an empty string\n",
                         std::string(cmd->name).c_str(), path_option);
            return exit_usage;
        }
    }
    auto home = Home::resolve(parsed->value("home"));
    if (!home.ok()) {
        std::fprintf(stderr, "pylon: %s\n", home.error().message().c_str());
        return exit_failure;
    }
    CliContext ctx{std::move(home.value()), parsed.value(), stdout, stderr};
    return cmd->run(ctx);
}

}  // namespace pylon::engine
