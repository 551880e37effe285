// The table of `pylon` commands: name, summary, usage, options, run function. Keep it in the
// order `pylon --help` should list them.
#include "engine/cli.hpp"
#include "engine/cli_commands.hpp"

namespace pylon::engine {

const std::vector<Command>& commands() {
    static const OptionSpec json{0, "json", false, false, "", "Print JSON (docs/cli.md)"};
    static const std::vector<Command> table = {
        {"init",
         "Create the node's identity (a BIP-39 mnemonic) and a default config.toml",
         "[--import] [-f] [--account N] [--json]",
         {
             {0, "import", false, false, "", "Read a 12 or 24 word phrase from stdin"},
             {'f', "force", false, false, "", "Overwrite an existing identity"},
             {0, "account", true, false, "N", "NIP-06 account index to show (default 0)"},
             json,
         },
         cmd_init},
        {"identity",
         "Show the node's npub, hex pubkey, account and mnemonic file",
         "[--account N] [--json]",
         {{0, "account", true, false, "N", "NIP-06 account index (default identity.account)"},
          json},
         cmd_identity},
        {"event sign",
         "Sign an unsigned event read from stdin with the node's key",
         "< event.json",
         {json},
         cmd_event_sign},
        {"event verify",
         "Check the id and signature of an event read from stdin (exit 1 if invalid)",
         "[--json] < event.json",
         {json},
         cmd_event_verify},
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
