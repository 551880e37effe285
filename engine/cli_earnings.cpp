// `pylon earnings [--json] [-l N]`: totals, by source and the most recent earnings, from the
// running daemon ("Earnings" on the control socket) or, when none runs, from pylon.db opened
// read-only. JSON is Pylon v0.1's shape: {"summary":{total_sats,total_msats,job_count,
// by_source},"recent":[{id,job_id,amount_msats,source,earned_at}]}. job_count (human: "Paid
// jobs") counts the jobs with an earning, as v0.1 did; `pylon status` counts every completed
// job. This build has no payment backend, so its jobs are free and earn nothing: the human
// report says so when the total is 0.
#include <ctime>

#include "engine/cli_commands.hpp"
#include "engine/cli_util.hpp"
#include "engine/store_db.hpp"
#include "proto/json_reader.hpp"

namespace pylon::engine {
namespace {

// The report from the daemon, or from the database; nullopt with a message when neither.
Result<std::optional<proto::EarningsReport>> load_earnings(CliContext& ctx, std::uint64_t limit) {
    DaemonLink link = find_daemon(ctx.home);
    if (!link.pid_error.empty()) {
        return Error(Errc::permission, link.pid_error);  // unknown, not "no daemon, no data"
    }
    if (link.client) {
        auto reply =
            link.client->request("{\"Earnings\":{\"limit\":" + std::to_string(limit) + "}}");
        if (!reply.ok()) {
            return std::move(reply).error();
        }
        if (reply->tag == "Error") {
            return Error(Errc::internal, reply->error);
        }
        proto::EarningsReport report;
        proto::JsonReader reader(control_reply_limits());
        if (proto::decode_earnings(reply->body_json, reader, report) != proto::Reject::none) {
            return Error(Errc::protocol, "unreadable Earnings reply");
        }
        return std::optional<proto::EarningsReport>(std::move(report));
    }
    auto db = StoreDb::open({ctx.home.db_path(), true});
    if (!db.ok()) {
        if (db.error().code() == Errc::not_found) {
            return std::optional<proto::EarningsReport>();
        }
        return std::move(db).error();
    }
    auto report = (*db)->earnings(limit);
    if (!report.ok()) {
        return std::move(report).error();
    }
    return std::optional<proto::EarningsReport>(std::move(report.value()));
}

void print_human(CliContext& ctx, const proto::EarningsReport& r) {
    std::FILE* o = ctx.out;
    std::fprintf(o, "Earnings\n========\n\n  Total:          %s\n  Paid jobs:      %lld\n",
                 format_sats(r.total_msats).c_str(), static_cast<long long>(r.job_count));
    if (r.total_msats == 0) {
        std::fprintf(o,
                     "\n  This build has no payment backend: jobs run free (price 0) and earn\n"
                     "  nothing. `pylon status` counts every completed job.\n");
    }
    if (!r.by_source.empty()) {
        std::fprintf(o, "\nBy Source:\n");
        for (const auto& [source, msats] : r.by_source) {
            std::fprintf(o, "  %-8s %s\n", source.c_str(), format_sats(msats).c_str());
        }
    }
    if (r.recent.empty()) {
        return;
    }
    std::int64_t now = std::time(nullptr);
    std::fprintf(o, "\nRecent:\n  %10s  %-7s  %-22s  %s\n", "SATS", "SOURCE", "JOB", "TIME AGO");
    for (const proto::EarningInfo& e : r.recent) {
        std::fprintf(o, "  %10lld  %-7s  %-22s  %s\n",
                     static_cast<long long>(e.amount_msats / 1000), e.source.c_str(),
                     e.job_id.empty() ? "-" : e.job_id.c_str(),
                     format_age(e.earned_at, now).c_str());
    }
}

}  // namespace

int cmd_earnings(CliContext& ctx) {
    auto limit =
        ctx.args.integer("limit", 10, 1, static_cast<long long>(proto::control_list_limit_max));
    if (!limit.ok()) {
        std::fprintf(ctx.err, "pylon earnings: %s\n", limit.error().message().c_str());
        return exit_usage;
    }
    auto report = load_earnings(ctx, static_cast<std::uint64_t>(limit.value()));
    if (!report.ok()) {
        return fail(ctx, report.error().message());
    }
    if (!report->has_value()) {
        if (ctx.args.has("json")) {
            std::string out;
            proto::encode_earnings_body(proto::EarningsReport{}, out);
            std::fprintf(ctx.out, "%s\n", out.c_str());
        } else {
            std::fprintf(ctx.out, "No earnings data found.\n");
        }
        return exit_ok;
    }
    if (ctx.args.has("json")) {
        std::string out;
        proto::encode_earnings_body(**report, out);
        std::fprintf(ctx.out, "%s\n", out.c_str());
    } else {
        print_human(ctx, **report);
    }
    return exit_ok;
}

}  // namespace pylon::engine
