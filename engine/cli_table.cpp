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
    };
    return table;
}

}  // namespace pylon::engine
