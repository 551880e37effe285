// `pylon start`: parses the flags and hands over to the daemon (engine/daemon.hpp).
#include "engine/cli_commands.hpp"
#include "engine/daemon.hpp"

namespace pylon::engine {

int cmd_start(CliContext& ctx) {
    auto shards = ctx.args.integer("shards", 0, 0, 256);
    if (!shards.ok()) {
        std::fprintf(ctx.err, "pylon start: %s\n", shards.error().message().c_str());
        return exit_usage;
    }
    std::string mode_text = ctx.args.value("mode", "both");
    std::optional<RunMode> mode = parse_run_mode(mode_text);
    if (!mode) {
        std::fprintf(ctx.err, "pylon start: --mode must be provider, host or both (not '%s')\n",
                     mode_text.c_str());
        return exit_usage;
    }
    StartOptions o;
    o.home = ctx.home;
    o.config_given = ctx.args.has("config");
    o.config_path = ctx.args.value("config");
    o.mode = *mode;
    o.foreground = ctx.args.has("foreground");
    o.managed = ctx.args.has("managed");
    if (ctx.args.has("shards")) {  // 0 = the CPUs, as [shards] count = 0
        o.shards = static_cast<unsigned>(shards.value());
    }
    return start_daemon(std::move(o), ctx.out, ctx.err);
}

}  // namespace pylon::engine
