// `pylon config`: prints the effective configuration (defaults overlaid with config.toml) as
// TOML or --json, the defaults (--defaults: the commented default file, or with --json every
// key's default value), or the docs/config.md reference (--markdown, alone). Warnings (unknown
// keys) go to stderr; an invalid file is an error (exit 1) with path:line:column.
#include <string>

#include "engine/cli_commands.hpp"
#include "engine/config_file.hpp"
#include "engine/settings.hpp"

namespace pylon::engine {

int cmd_config(CliContext& ctx) {
    if (ctx.args.has("markdown") && (ctx.args.has("defaults") || ctx.args.has("json"))) {
        std::fprintf(ctx.err, "pylon config: --markdown is a form of its own: not with --%s\n",
                     ctx.args.has("json") ? "json" : "defaults");
        return exit_usage;
    }
    if (ctx.args.has("defaults")) {
        if (ctx.args.has("json")) {  // every key's default, as `config --json` prints values
            std::fprintf(ctx.out, "%s\n", config_json(Config{}).c_str());
        } else {
            std::fputs(default_config_toml().c_str(), ctx.out);
        }
        return exit_ok;
    }
    if (ctx.args.has("markdown")) {
        std::fputs(settings_markdown().c_str(), ctx.out);
        return exit_ok;
    }
    std::string path = ctx.args.value("config", ctx.home.config_path());
    auto loaded = load_config_file(path, ctx.args.has("config"));
    if (!loaded.ok()) {
        return fail(ctx, loaded.error().message());
    }
    for (const std::string& w : loaded->warnings) {
        std::fprintf(ctx.err, "pylon: warning: %s\n", w.c_str());
    }
    if (ctx.args.has("json")) {
        std::fprintf(ctx.out, "%s\n", config_json(loaded->config).c_str());
        return exit_ok;
    }
    std::fprintf(ctx.out, "# Effective configuration: %s%s\n", path.c_str(),
                 loaded->file_found ? "" : " (not found: defaults)");
    std::fputs(config_toml(loaded->config).c_str(), ctx.out);
    return exit_ok;
}

}  // namespace pylon::engine
