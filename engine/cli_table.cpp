// The table of `pylon` commands: name, summary, usage, options, run function. Keep it in the
// order `pylon --help` should list them.
#include "engine/cli.hpp"
#include "engine/cli_commands.hpp"

namespace pylon::engine {

const std::vector<Command>& commands() {
    static const OptionSpec json{0, "json", false, false, "", "Print JSON (docs/cli.md)"};
    static const std::vector<Command> table = {
        {"start",
         "Start the node (in the background unless -f)",
         "[-f] [-m provider|host|both] [-c PATH] [--shards N] [--managed]",
         {
             {'f', "foreground", false, false, "", "Run in the foreground (logs to stderr)"},
             {'m', "mode", true, false, "MODE", "provider, host or both (default both)"},
             {'c', "config", true, false, "PATH", "Config file (default <home>/config.toml)"},
             {0, "shards", true, false, "N", "Number of shards (default: CPUs available)"},
             {0, "managed", false, false, "",
              "Owned by the parent: foreground, no pid file, stop when it dies or stdin closes"},
         },
         cmd_start},
        {"stop",
         "Stop the daemon (graceful, SIGKILL at the timeout)",
         "[-f] [-t SECS]",
         {
             {'f', "force", false, false, "", "Kill at once (SIGKILL)"},
             {'t', "timeout", true, false, "SECS", "Graceful shutdown timeout (default 10)"},
         },
         cmd_stop},
        {"status",
         "Show the daemon, its stats, backends and relays",
         "[--json]",
         {json},
         cmd_status},
        {"doctor",
         "Check identity, config, database, io_uring, backends and relays",
         "[-v] [--json]",
         {
             {'v', "verbose", false, false, "", "Also show unavailable backends and settings"},
             json,
         },
         cmd_doctor},
        {"earnings",
         "Show earnings: totals, by source, recent",
         "[--json] [-l N]",
         {json, {'l', "limit", true, false, "N", "Recent earnings shown (default 10)"}},
         cmd_earnings},
        {"jobs",
         "Show recent jobs",
         "[--json] [-l N] [--status S]",
         {
             json,
             {'l', "limit", true, false, "N", "Jobs shown (default 10)"},
             {0, "status", true, false, "S",
              "Only jobs in state S: pending, processing, completed, failed, cancelled"},
         },
         cmd_jobs},
        {"logs",
         "Show the daemon log (logs/pylon.log)",
         "[-f] [-n N]",
         {
             {'f', "follow", false, false, "", "Keep printing new lines"},
             {'n', "lines", true, false, "N", "Lines shown first (default 50)"},
         },
         cmd_logs},
        {"watch", "Print live events from the daemon", "[--json]", {json}, cmd_watch},
        {"config",
         "Show the effective configuration, or the defaults",
         "[--defaults] [--json] [-c PATH]",
         {
             {0, "defaults", false, false, "", "Print the commented default config.toml"},
             json,
             {'c', "config", true, false, "PATH", "Config file (default <home>/config.toml)"},
             {0, "markdown", false, false, "", "Print the docs/config.md reference"},
         },
         cmd_config},
    };
    return table;
}

}  // namespace pylon::engine
