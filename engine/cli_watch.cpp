// `pylon watch [--json]`: live domain events from the running daemon (a "Subscribe" connection).
// Human: one line per event with its local time; --json: the NDJSON lines as the daemon sends
// them. Ends when the daemon closes the connection (exit 0) or drops this watcher for falling
// behind (its final error line is printed, exit 1). No daemon: exit 3.
#include <ctime>

#include "engine/cli_commands.hpp"
#include "engine/cli_util.hpp"
#include "proto/domain_event.hpp"
#include "proto/json_reader.hpp"

namespace pylon::engine {
namespace {

std::string clock_text(std::int64_t unix_ms) {
    std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    ::localtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
    return buf;
}

}  // namespace

int cmd_watch(CliContext& ctx) {
    DaemonLink link = find_daemon(ctx.home);
    if (!link.pid_error.empty()) {
        return fail(ctx, link.pid_error);  // unknown, never "not running"
    }
    if (!link.client) {
        // Running but unreachable (a socket that refused us, or would not connect) is not
        // "not running".
        return link.pid.state == PidState::running && !link.error.empty() ? fail(ctx, link.error)
                                                                          : report_not_running(ctx);
    }
    auto ok = link.client->request("\"Subscribe\"");
    if (!ok.ok() || ok->tag != "Ok") {
        return fail(ctx,
                    ok.ok() ? "the daemon refused Subscribe: " + ok->error : ok.error().message());
    }
    bool json = ctx.args.has("json");
    if (!json) {
        std::fprintf(ctx.out, "Watching events (Ctrl-C to stop)...\n");
        std::fflush(ctx.out);
    }
    proto::JsonReader reader(control_reply_limits());
    for (;;) {
        auto line = link.client->read_line(-1);
        if (!line.ok()) {
            if (!json) {
                std::fprintf(ctx.out, "The daemon closed the connection.\n");
            }
            return line.error().code() == Errc::closed ? exit_ok
                                                       : fail(ctx, line.error().message());
        }
        if (json && line->rfind("{\"Error\":", 0) != 0) {
            std::fprintf(ctx.out, "%s\n", line->c_str());  // raw, also kinds unknown here
            std::fflush(ctx.out);
            continue;
        }
        proto::DomainEvent ev;
        if (proto::decode_domain_event(*line, reader, ev) != proto::Reject::none) {
            proto::ControlReply reply;
            if (proto::parse_control_reply(*line, reader, reply) == proto::Reject::none &&
                reply.tag == "Error") {
                return fail(ctx, reply.error);
            }
            continue;  // an event kind this CLI does not know
        }
        std::fprintf(ctx.out, "%s  %s\n", clock_text(ev.at_ms).c_str(),
                     proto::describe_domain_event(ev).c_str());
        std::fflush(ctx.out);
    }
}

}  // namespace pylon::engine
