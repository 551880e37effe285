// The table of `pylon` commands: name, summary, usage, options, run function. Keep it in the
// order `pylon --help` should list them.
#include "engine/cli.hpp"
#include "engine/cli_commands.hpp"

namespace pylon::engine {

const std::vector<Command>& commands() {
    static const std::vector<Command> table = {
        {"start",
         "Start the node",
         "[-f] [-m provider|host|both] [-c PATH] [--shards N]",
         {
             {'f', "foreground", false, false, "", "Run in the foreground (logs to stderr)"},
             {'m', "mode", true, false, "MODE", "provider, host or both (default both)"},
             {'c', "config", true, false, "PATH", "Config file (default <home>/config.toml)"},
             {0, "shards", true, false, "N", "Number of shards (default: CPUs available)"},
         },
         cmd_start},
        {"config",
         "Show the effective configuration, or the defaults",
         "[--defaults] [--json] [-c PATH]",
         {
             {0, "defaults", false, false, "", "Print the commented default config.toml"},
             {0, "json", false, false, "", "Print the effective configuration as JSON"},
             {'c', "config", true, false, "PATH", "Config file (default <home>/config.toml)"},
             {0, "markdown", false, false, "", "Print the docs/config.md reference"},
         },
         cmd_config},
    };
    return table;
}

}  // namespace pylon::engine
