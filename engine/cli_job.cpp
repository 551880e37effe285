// `pylon job submit|status|list`: the customer side (Pylon v0.1's buyer commands). submit signs
// a NIP-90 request with the node's identity (or --key), publishes it to the relays (--relay,
// else the config's `relays`), and with --wait follows it: feedback on stderr, partial text
// streamed to stdout, then the verified result; exit 1 on a timeout, or on an `error` feedback
// from the provider named by --provider (without one, errors are printed and the wait goes on
// for another provider's result). A request no relay accepts is recorded `failed` with the
// relays' reasons, exit 1.
// status asks the relays what became of a request; list prints the local history (jobs.db in
// the home, Pylon's buyer table). Each run of submit/status uses its own one-shard reactor.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <string>

#include "engine/buyer_history.hpp"
#include "engine/cli_commands.hpp"
#include "engine/cli_util.hpp"
#include "engine/config_file.hpp"
#include "engine/identity_file.hpp"
#include "engine/job_client.hpp"
#include "engine/relay_url.hpp"
#include "engine/settings.hpp"
#include "proto/hex.hpp"
#include "proto/json_writer.hpp"
#include "proto/nip19.hpp"
#include "reactor/clock.hpp"

namespace pylon::engine {
namespace {

constexpr std::int64_t status_timeout_s_default = 5;

std::string short_hex(const std::string& hex) {
    return hex.substr(0, 16);
}

// The relays from --relay (repeatable, also comma-separated), else `fallback` (the config's, or
// those a recorded request was published to). A --relay that is not a ws:// or wss:// URL is a
// usage error, checked as the config loader checks `relays`.
Result<std::vector<std::string>> relays_from(const CliContext& ctx,
                                             const std::vector<std::string>& fallback) {
    const SettingSpec* spec = find_setting("relays");
    PYLON_ASSERT(spec != nullptr);
    std::vector<std::string> out;
    for (const std::string& v : ctx.args.values("relay")) {
        std::size_t start = 0;
        while (start <= v.size()) {
            std::size_t comma = v.find(',', start);
            std::string one = v.substr(start, comma == std::string::npos ? comma : comma - start);
            if (auto problem = setting_string_problem(*spec, one)) {
                return Error(Errc::invalid_input, "--relay: " + *problem);
            }
            std::string url = normalize_relay_url(one);  // WSS://Host/ as wss://host
            if (!url.empty() && std::find(out.begin(), out.end(), url) == out.end()) {
                out.push_back(std::move(url));  // a relay named twice is asked once
            }
            if (comma == std::string::npos) {
                break;
            }
            start = comma + 1;
        }
    }
    if (out.empty() && ctx.args.has("relay")) {
        return Error(Errc::invalid_input, "--relay: give a ws:// or wss:// URL, not nothing");
    }
    if (out.empty()) {
        return fallback;
    }
    return out;
}

// The relays a request recorded in jobs.db went to (its comma-separated `relay` column); empty
// for a row written without them.
std::vector<std::string> recorded_relays(const BuyerJob& row) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < row.relay.size()) {
        std::size_t comma = row.relay.find(',', start);
        std::size_t end = comma == std::string::npos ? row.relay.size() : comma;
        if (end > start) {
            out.push_back(row.relay.substr(start, end - start));
        }
        start = end + 1;
    }
    return out;
}

Result<Config> cli_config(const CliContext& ctx) {
    std::string path = ctx.args.value("config", ctx.home.config_path());
    auto loaded = load_config_file(path, ctx.args.has("config"));
    if (!loaded.ok()) {
        return std::move(loaded).error();
    }
    return std::move(loaded->config);
}

Result<proto::Keypair> customer_keys(const CliContext& ctx, const Config& config) {
    if (ctx.args.has("key")) {
        auto secret = proto::parse_secret_text(ctx.args.value("key"));
        if (!secret.ok()) {
            return Error(Errc::invalid_input, "--key: not an nsec or 64-character hex secret");
        }
        return proto::Keypair::from_secret(secret.value());
    }
    auto id = load_identity(identity_path(ctx.home, config),
                            static_cast<std::uint32_t>(config.identity.account));
    if (!id.ok()) {
        return id.error().code() == Errc::not_found
                   ? Error(Errc::not_found, "no identity: run pylon init, or pass --key NSEC")
                   : std::move(id).error();
    }
    return std::move(id->keypair);
}

// Prints feedback as it arrives; partial text is streamed to stdout.
class TerminalWatcher final : public JobWatcher {
  public:
    // quiet: no feedback lines (no --wait, or --json); silent: not even relay problems (--json).
    // Partial text is streamed only to a terminal: stdout captured by a script gets the result
    // alone (a provider that runs the job again after a restart streams from the start again).
    TerminalWatcher(CliContext& ctx, bool quiet, bool silent)
        : ctx_(ctx),
          quiet_(quiet || silent),
          silent_(silent),
          stream_partials_(::isatty(::fileno(ctx.out)) == 1) {}
    void on_published(const std::string& relay, bool accepted, const std::string& text) override {
        if (!silent_ && !accepted) {
            std::fprintf(ctx_.err, "%s refused the request: %s\n", relay.c_str(), text.c_str());
        }
    }
    void on_relay_error(const std::string& relay, const std::string& error) override {
        if (!silent_) {
            std::fprintf(ctx_.err, "%s: %s\n", relay.c_str(), error.c_str());
        }
    }
    void on_feedback(const proto::JobFeedback& f, const std::string& provider) override {
        if (quiet_) {
            return;
        }
        if (f.status == proto::FeedbackStatus::partial) {
            if (stream_partials_) {
                stream(f.content);
            }
            return;
        }
        // An error is printed as it comes: without --provider the wait goes on for others.
        std::string info = f.extra_info;
        if (info.empty() && f.status == proto::FeedbackStatus::error) {
            info = f.content;
        }
        std::fprintf(ctx_.err, "%s[%s] %s%s%s\n", printed_.empty() ? "" : "\n",
                     short_hex(provider).c_str(), f.status_text.c_str(), info.empty() ? "" : ": ",
                     info.c_str());
    }
    // Prints what of `text` was not printed yet; a text that does not continue it starts over.
    void stream(const std::string& text) {
        if (text.size() > printed_.size() && text.compare(0, printed_.size(), printed_) == 0) {
            std::fputs(text.c_str() + printed_.size(), ctx_.out);
        } else if (text != printed_) {
            std::fprintf(ctx_.out, "%s%s", printed_.empty() ? "" : "\n", text.c_str());
        }
        std::fflush(ctx_.out);
        printed_ = text;
    }
    bool printed_any() const noexcept { return !printed_.empty(); }

  private:
    CliContext& ctx_;
    bool quiet_;
    bool silent_;
    bool stream_partials_;
    std::string printed_;
};

void print_outcome_json(CliContext& ctx, const JobOutcome& o, const std::vector<std::string>& r) {
    std::string out;
    proto::JsonWriter w(out);
    w.begin_object();
    w.field("request_id", o.request_id);
    w.field("status", o.timed_out && o.status != "failed" ? "timeout" : o.status);
    w.field("result", o.result);
    w.field("result_event_id", o.result_event_id);
    w.field("provider", o.provider);
    w.field("error", o.error);
    w.field("last_feedback", o.last_feedback);
    w.field_int("relays_accepted", o.relays_accepted);
    auto list = [&w](const char* key, const std::vector<std::string>& items) {
        w.key(key);
        w.begin_array();
        for (const std::string& item : items) {
            w.string(item);
        }
        w.end_array();
    };
    list("relays", r);
    list("relay_errors", o.relay_errors);
    list("provider_errors", o.provider_errors);
    w.end_object();
    std::fprintf(ctx.out, "%s\n", out.c_str());
}

void record_outcome(BuyerHistory* history, const JobOutcome& o) {
    if (history == nullptr || o.status == "pending") {
        return;
    }
    bool final = o.status == "completed" || o.status == "failed";
    std::optional<std::string> result;
    if (o.status == "completed") {
        result = o.result;
    } else if (o.status == "failed") {
        result = o.error;
    }
    std::optional<std::int64_t> done;
    if (final) {
        done = reactor::unix_ms() / 1000;
    }
    (void)history->update(o.request_id, o.status, o.provider, result, done);
}

}  // namespace
}  // namespace pylon::engine

namespace pylon::engine {
namespace {

Result<JobSpec> spec_from(CliContext& ctx) {
    JobSpec spec;
    const auto& pos = ctx.args.positionals();
    if (pos.empty()) {
        return Error(Errc::invalid_input, "give the prompt: pylon job submit \"<prompt>\"");
    }
    for (const std::string& p : pos) {
        spec.prompt += (spec.prompt.empty() ? "" : " ") + p;
    }
    if (spec.prompt.find_first_not_of(" \t\r\n") == std::string::npos) {
        return Error(Errc::invalid_input, "the prompt is empty (providers refuse it)");
    }
    auto kind = ctx.args.integer("kind", 5050, 5000, 5999);
    if (!kind.ok()) {
        return std::move(kind).error();
    }
    spec.kind = static_cast<std::uint32_t>(kind.value());
    spec.model = ctx.args.value("model");
    for (const std::string& kv : ctx.args.values("param")) {
        std::size_t eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) {
            return Error(Errc::invalid_input, "--param " + kv + ": expected KEY=VALUE");
        }
        spec.params.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    if (ctx.args.has("bid")) {
        auto bid = ctx.args.integer("bid", 0, 0, 2100000000000000000LL);
        if (!bid.ok()) {
            return std::move(bid).error();
        }
        spec.bid_msats = static_cast<std::uint64_t>(bid.value());
    }
    if (ctx.args.has("provider")) {
        proto::PublicKey pk;
        if (proto::Reject r = proto::parse_pubkey_text(ctx.args.value("provider"), pk);
            r != proto::Reject::none) {
            return Error(
                Errc::invalid_input,
                r == proto::Reject::bad_pubkey
                    ? "--provider: not anyone's public key (no secp256k1 point has it as x)"
                    : "--provider: not an npub or 64-character hex key");
        }
        spec.provider = pk;
    }
    return spec;
}

int usage_error(CliContext& ctx, const Error& e) {
    std::fprintf(ctx.err, "pylon job: %s\n", e.message().c_str());
    return e.code() == Errc::invalid_input ? exit_usage : exit_failure;
}

// A config file that does not load is a failure (exit 1, path:line:column), not a usage error.
int config_failure(CliContext& ctx, const Error& e) {
    std::fprintf(ctx.err, "pylon job: %s\n", e.message().c_str());
    return exit_failure;
}

// The human end of a submit: where it went and what came back.
void print_submit_outcome(CliContext& ctx, const TerminalWatcher& watcher, const JobWatch& watch,
                          const JobOutcome& o, std::int64_t timeout_s) {
    const char* gap = watcher.printed_any() ? "\n" : "";
    if (!o.published) {
        std::fprintf(ctx.err,
                     "Not published: none of the %zu relay(s) accepted the request (reasons "
                     "above). Recorded as failed in pylon job list.\n",
                     watch.relays.size());
    } else if (!watch.wait_result) {
        std::fprintf(ctx.out, "%s\n", o.request_id.c_str());
        std::fprintf(ctx.err,
                     "Published to %u of %zu relay(s). Follow it with: pylon job status %s\n",
                     o.relays_accepted, watch.relays.size(), o.request_id.c_str());
    } else if (o.status == "completed") {
        std::fprintf(ctx.err, "Result verified: event %s from %s\n", o.result_event_id.c_str(),
                     o.provider.c_str());
    } else if (o.status == "failed" && !o.provider.empty()) {
        std::fprintf(ctx.err, "%sJob failed (provider %s): %s\n", gap,
                     short_hex(o.provider).c_str(), o.error.c_str());
    } else if (o.status == "failed") {
        std::fprintf(ctx.err,
                     "%sNo result within %lld s; %zu provider(s) answered with an error: %s\n", gap,
                     static_cast<long long>(timeout_s), o.provider_errors.size(), o.error.c_str());
    } else {
        std::fprintf(ctx.err, "%sNo result within %lld s (last feedback: %s)\n", gap,
                     static_cast<long long>(timeout_s),
                     o.last_feedback.empty() ? "none" : o.last_feedback.c_str());
    }
}

void record_request(BuyerHistory& history, const JobSpec& spec, const JobWatch& watch,
                    const std::string& id, std::int64_t now_s) {
    BuyerJob row;
    row.id = id;
    row.kind = spec.kind;
    row.prompt = spec.prompt;
    for (const std::string& r : watch.relays) {
        row.relay += (row.relay.empty() ? "" : ",") + r;
    }
    row.provider = spec.provider ? spec.provider->hex() : "";
    if (spec.bid_msats) {
        row.bid_msats = static_cast<std::int64_t>(*spec.bid_msats);
    }
    row.created_at = now_s;
    (void)history.insert(row);
}

// `relays_asked`: how many relays were asked (0 with --local); o.relay_errors says which of
// them could not be.
void print_status_human(CliContext& ctx, const JobOutcome& o, bool unknown,
                        std::size_t relays_asked) {
    std::fprintf(
        ctx.out, "Job %s\n  Status:   %s%s\n", o.request_id.c_str(), o.status.c_str(),
        o.last_feedback.empty() ? "" : (" (last feedback: " + o.last_feedback + ")").c_str());
    if (!o.provider.empty()) {
        std::fprintf(ctx.out, "  Provider: %s\n", o.provider.c_str());
    }
    if (!o.error.empty()) {
        std::fprintf(ctx.out, "  Error:    %s\n", o.error.c_str());
    }
    if (!o.result.empty()) {
        std::fprintf(ctx.out, "  Result:   %s\n", o.result.c_str());
    }
    for (const std::string& e : o.relay_errors) {
        std::fprintf(ctx.out, "  Not asked: %s\n", e.c_str());
    }
    if (!unknown) {
        return;
    }
    if (relays_asked == 0) {
        std::fprintf(ctx.out, "  (not in the local history; --local asked no relay)\n");
    } else if (o.relay_errors.size() >= relays_asked) {
        std::fprintf(ctx.out, "  (not in the local history, and no relay could be asked)\n");
    } else if (!o.relay_errors.empty()) {
        std::fprintf(ctx.out,
                     "  (not in the local history, and the relays that were asked know nothing of "
                     "it)\n");
    } else {
        std::fprintf(ctx.out, "  (not in the local history, and the relays know nothing of it)\n");
    }
}

}  // namespace

int cmd_job_submit(CliContext& ctx) {
    auto spec = spec_from(ctx);
    auto timeout = ctx.args.integer("timeout", 60, 1, 86400);
    if (!spec.ok() || !timeout.ok()) {
        return usage_error(ctx, !spec.ok() ? spec.error() : timeout.error());
    }
    auto config = cli_config(ctx);
    if (!config.ok()) {
        return config_failure(ctx, config.error());
    }
    auto relays = relays_from(ctx, config->relays);
    auto keys = customer_keys(ctx, config.value());
    if (!relays.ok() || !keys.ok()) {
        return usage_error(ctx, !relays.ok() ? relays.error() : keys.error());
    }
    if (relays->empty()) {  // nothing published, nothing recorded
        return usage_error(ctx, Error(Errc::invalid_input,
                                      "no relay to publish to: the config's relays = []; give "
                                      "--relay ws://... or wss://..."));
    }
    JobWatch watch;
    watch.relays = std::move(relays.value());
    watch.wait_result = ctx.args.has("wait");
    watch.timeout_ms = timeout.value() * 1000;
    watch.provider = spec->provider;
    spec->relays_tag = watch.relays;
    std::int64_t now_s = reactor::unix_ms() / 1000;
    proto::Event request = build_job_request(spec.value(), keys.value(), now_s);
    std::string id = proto::hex_encode(request.id());
    // Recorded before publishing (a crash mid-way leaves a trace); a request no relay took is
    // then recorded `failed` with each relay's reason, never left `pending`. A home that does
    // not exist yet is created (0700) for it, as `init` would.
    Status home_ready = ctx.home.ensure_exists();
    auto history = home_ready.ok() ? BuyerHistory::open(ctx.home.path("jobs.db"), true)
                                   : Result<std::unique_ptr<BuyerHistory>>(home_ready.error());
    if (history.ok()) {
        record_request(*history.value(), spec.value(), watch, id, now_s);
    } else {
        std::fprintf(ctx.err, "pylon job: warning: not recorded in jobs.db: %s\n",
                     history.error().message().c_str());
    }
    bool json = ctx.args.has("json");
    TerminalWatcher watcher(ctx, !watch.wait_result, json);
    if (!json) {
        std::fprintf(ctx.err, "Request %s (kind %u) to %zu relay(s)\n", id.c_str(), spec->kind,
                     watch.relays.size());
    }
    auto outcome = run_job(request.id(), spec->kind, &request, watch, &watcher);
    if (!outcome.ok()) {
        return fail(ctx, outcome.error().message());
    }
    const JobOutcome& o = outcome.value();
    record_outcome(history.ok() ? history.value().get() : nullptr, o);
    if (json) {
        print_outcome_json(ctx, o, watch.relays);
    } else {
        if (watch.wait_result && o.status == "completed") {
            watcher.stream(o.result);
            std::fprintf(ctx.out, "\n");
        }
        print_submit_outcome(ctx, watcher, watch, o, timeout.value());
    }
    if (!watch.wait_result) {
        return o.published ? exit_ok : exit_failure;
    }
    return o.status == "completed" ? exit_ok : exit_failure;
}

int cmd_job_status(CliContext& ctx) {
    const auto& pos = ctx.args.positionals();
    proto::EventId id{};
    if (pos.size() != 1 || !proto::hex_decode(pos[0], id, proto::HexCase::any)) {
        std::fprintf(ctx.err, "pylon job status: give one request id (64 hex characters)\n");
        return exit_usage;
    }
    // Event ids are lower-case hex on the wire and in jobs.db; an upper-case copy names the same.
    const std::string id_hex(proto::hex_of(id).view());
    auto timeout = ctx.args.integer("timeout", status_timeout_s_default, 1, 3600);
    if (!timeout.ok()) {
        return usage_error(ctx, timeout.error());
    }
    auto config = cli_config(ctx);
    if (!config.ok()) {
        return config_failure(ctx, config.error());
    }
    auto history = BuyerHistory::open(ctx.home.path("jobs.db"), true);
    std::optional<BuyerJob> row;
    if (history.ok()) {
        auto got = history.value()->get(id_hex);
        if (got.ok()) {
            row = got.value();
        }
    }
    std::uint32_t kind = row ? row->kind : 5050;
    // Asked where it was published (the recorded relays) unless --relay says otherwise; the
    // config's relays only for a request this home did not submit.
    std::vector<std::string> recorded = row ? recorded_relays(*row) : std::vector<std::string>();
    auto relays = relays_from(ctx, recorded.empty() ? config->relays : recorded);
    if (!relays.ok()) {
        return usage_error(ctx, relays.error());
    }
    bool local = ctx.args.has("local");
    JobWatch watch;
    if (!local) {
        watch.relays = std::move(relays.value());  // --local asks none: none are listed
    }
    watch.timeout_ms = timeout.value() * 1000;
    proto::PublicKey named;
    if (row && proto::parse_pubkey_text(row->provider, named) == proto::Reject::none) {
        watch.provider = named;  // submitted with --provider: only its answers count
    }
    JobOutcome o;
    o.request_id = id_hex;
    if (!local) {
        auto looked = run_job(id, kind, nullptr, watch, nullptr);
        if (!looked.ok()) {
            return fail(ctx, looked.error().message());
        }
        o = looked.value();
        o.timed_out = false;
        if (row) {
            record_outcome(history.value().get(), o);
        }
    }
    if (o.status == "pending" && row) {
        o.status = row->status;
        o.result = row->status == "completed" ? row->result : "";
        o.error = row->status == "failed" ? row->result : "";
        o.provider = row->provider;
    }
    // Neither in the history nor known to the relays: nothing says it is pending.
    bool unknown = !row && o.status == "pending" && o.last_feedback.empty();
    if (unknown) {
        o.status = "unknown";
    }
    int code = unknown ? exit_failure : exit_ok;
    if (ctx.args.has("json")) {
        print_outcome_json(ctx, o, watch.relays);
        return code;
    }
    print_status_human(ctx, o, unknown, local ? 0 : watch.relays.size());
    return code;
}

int cmd_job_list(CliContext& ctx) {
    auto limit = ctx.args.integer("limit", 10, 1, 10000);
    if (!limit.ok()) {
        return usage_error(ctx, limit.error());
    }
    std::string path = ctx.home.path("jobs.db");
    auto history = BuyerHistory::open(path, false);
    std::vector<BuyerJob> jobs;
    if (!history.ok()) {
        // Only a missing file is an empty history; an unreadable home or file is an error.
        if (::access(path.c_str(), F_OK) == 0) {
            return fail(ctx, history.error().message());
        }
        if (errno != ENOENT) {
            return fail(ctx, Error::from_errno(errno, path).message());
        }
    } else {
        auto listed = history.value()->list(static_cast<std::size_t>(limit.value()));
        if (!listed.ok()) {
            return fail(ctx, listed.error().message());
        }
        jobs = std::move(listed.value());
    }
    if (ctx.args.has("json")) {
        std::string out;
        proto::JsonWriter w(out);
        w.begin_array();
        for (const BuyerJob& j : jobs) {
            w.begin_object();
            w.field("id", j.id);
            w.field_int("kind", j.kind);
            w.field("status", j.status);
            w.field("prompt", j.prompt);
            w.field("provider", j.provider);
            // jobs.db keeps a failed job's error in its result column (Pylon's schema): as in
            // `job status --json`, the error is `error`, never `result`.
            bool failed = j.status == "failed";
            w.field("result", failed ? std::string_view() : std::string_view(j.result));
            w.field("error", failed ? std::string_view(j.result) : std::string_view());
            w.field_int("created_at", j.created_at);
            w.end_object();
        }
        w.end_array();
        std::fprintf(ctx.out, "%s\n", out.c_str());
        return exit_ok;
    }
    if (jobs.empty()) {
        std::fprintf(ctx.out, "No jobs submitted yet. Try: pylon job submit \"<prompt>\" --wait\n");
        return exit_ok;
    }
    std::int64_t now = reactor::unix_ms() / 1000;
    std::fprintf(ctx.out, "%-18s %-10s %-5s %-10s %s\n", "REQUEST", "STATUS", "KIND", "AGE",
                 "PROMPT");
    for (const BuyerJob& j : jobs) {
        std::string prompt = j.prompt.substr(0, 40);
        std::fprintf(ctx.out, "%-18s %-10s %-5u %-10s %s\n", short_hex(j.id).c_str(),
                     j.status.c_str(), j.kind, format_age(j.created_at, now).c_str(),
                     prompt.c_str());
    }
    return exit_ok;
}

}  // namespace pylon::engine
