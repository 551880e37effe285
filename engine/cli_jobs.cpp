// `pylon jobs [--json] [-l N] [--status S]`: the most recent jobs, newest first, from the running
// daemon ("Jobs" on the control socket) or, when none runs, from pylon.db opened read-only.
// JSON: an array of job objects (docs/cli.md).
#include <ctime>

#include "engine/cli_commands.hpp"
#include "engine/cli_util.hpp"
#include "engine/store_db.hpp"
#include "proto/json_reader.hpp"
#include "proto/json_writer.hpp"

namespace pylon::engine {
namespace {

Result<std::vector<proto::JobInfo>> load_jobs(CliContext& ctx, const JobQuery& q) {
    DaemonLink link = find_daemon(ctx.home);
    if (!link.pid_error.empty()) {
        return Error(Errc::permission, link.pid_error);  // unknown, not "no daemon, no data"
    }
    if (link.client) {
        std::string request = "{\"Jobs\":{\"limit\":" + std::to_string(q.limit);
        if (!q.status.empty()) {
            request += ",\"status\":";
            proto::json_append_string(request, q.status);
        }
        request += "}}";
        auto reply = link.client->request(request);
        if (!reply.ok()) {
            return std::move(reply).error();
        }
        if (reply->tag == "Error") {
            return Error(Errc::internal, reply->error);
        }
        std::vector<proto::JobInfo> jobs;
        proto::JsonReader reader(control_reply_limits());
        if (proto::decode_jobs(reply->body_json, reader, jobs) != proto::Reject::none) {
            return Error(Errc::protocol, "unreadable Jobs reply");
        }
        return jobs;
    }
    auto db = StoreDb::open({ctx.home.db_path(), true});
    if (!db.ok()) {
        if (db.error().code() == Errc::not_found) {
            return std::vector<proto::JobInfo>{};
        }
        return std::move(db).error();
    }
    return (*db)->list_jobs(q);
}

std::string tokens_text(const proto::JobInfo& j) {
    if (!j.prompt_tokens && !j.completion_tokens) {
        return "-";
    }
    return std::to_string(j.prompt_tokens.value_or(0)) + "/" +
           std::to_string(j.completion_tokens.value_or(0));
}

void print_human(CliContext& ctx, const std::vector<proto::JobInfo>& jobs) {
    if (jobs.empty()) {
        std::fprintf(ctx.out, "No jobs found.\n");
        return;
    }
    std::int64_t now = std::time(nullptr);
    std::fprintf(ctx.out, "%-22s %-10s %-5s %-16s %-11s %8s %9s  %s\n", "ID", "STATUS", "KIND",
                 "MODEL", "TOKENS", "MS", "MSATS", "RECEIVED");
    for (const proto::JobInfo& j : jobs) {
        std::string ms = j.total_ms ? std::to_string(*j.total_ms) : "-";
        std::fprintf(ctx.out, "%-22s %-10s %-5u %-16.16s %-11s %8s %9lld  %s\n", j.id.c_str(),
                     j.status.c_str(), j.kind, j.model.empty() ? "-" : j.model.c_str(),
                     tokens_text(j).c_str(), ms.c_str(), static_cast<long long>(j.price_msats),
                     format_age(j.created_at, now).c_str());
        if (!j.error_message.empty()) {
            std::fprintf(ctx.out, "  %s\n", j.error_message.c_str());
        }
    }
}

}  // namespace

int cmd_jobs(CliContext& ctx) {
    auto limit =
        ctx.args.integer("limit", 10, 1, static_cast<long long>(proto::control_list_limit_max));
    if (!limit.ok()) {
        std::fprintf(ctx.err, "pylon jobs: %s\n", limit.error().message().c_str());
        return exit_usage;
    }
    std::string status = ctx.args.value("status");
    if (ctx.args.has("status") && status != "pending" && status != "processing" &&
        status != "completed" && status != "failed" && status != "cancelled") {
        std::fprintf(ctx.err,
                     "pylon jobs: --status must be pending, processing, completed, failed or "
                     "cancelled\n");
        return exit_usage;
    }
    JobQuery q{static_cast<std::uint64_t>(limit.value()), status};
    auto jobs = load_jobs(ctx, q);
    if (!jobs.ok()) {
        return fail(ctx, jobs.error().message());
    }
    if (ctx.args.has("json")) {
        std::string out;
        proto::encode_job_list(jobs.value(), out);
        std::fprintf(ctx.out, "%s\n", out.c_str());
    } else {
        print_human(ctx, jobs.value());
    }
    return exit_ok;
}

}  // namespace pylon::engine
