#include "engine/control_server.hpp"

#include <unistd.h>

#include "engine/control_commands.hpp"
#include "engine/store.hpp"
#include "proto/json_writer.hpp"
#include "proto/utf8.hpp"
#include "reactor/log.hpp"
#include "reactor/ops.hpp"

namespace pylon::engine {

namespace {

// An unknown request's name as said back: its first 64 bytes, cut between characters (the reply
// stays UTF-8), then "..." (a request of any length is not echoed whole).
std::string named_back(const std::string& name) {
    constexpr std::size_t shown_max = 64;
    return name.size() > shown_max
               ? name.substr(0, proto::utf8_prefix_bytes(name, shown_max)) + "..."
               : name;
}

constexpr std::size_t subscriber_batch_bytes_max = 64 * 1024;
constexpr std::size_t connection_send_queue_bytes = 256 * 1024;
constexpr std::int64_t final_flush_timeout_ms = 200;
constexpr std::int64_t stop_grace_ms = 500;

std::string error_line(std::string_view message) {
    std::string out;
    proto::encode_error(message, out);
    return out;
}

std::string reload_line(const ReloadReport& r) {
    std::string out;
    proto::JsonWriter w(out);
    w.begin_object();
    w.key("Reloaded");
    w.begin_object();
    for (const auto& [name, list] :
         {std::pair<const char*, const std::vector<std::string>*>{"applied", &r.applied},
          {"not_applied", &r.not_applied},
          {"warnings", &r.warnings}}) {
        w.key(name);
        w.begin_array();
        for (const std::string& s : *list) {
            w.string(s);
        }
        w.end_array();
    }
    w.end_object();
    w.end_object();
    return out;
}

}  // namespace

struct ControlServer::Connection {
    std::unique_ptr<net::SocketStream> stream;
    reactor::CancelSource cancel;
    std::string pending;  // received bytes that do not end a line yet
    bool subscribed = false;
    bool peer_closed = false;  // a subscriber's client shut its sending side
    EventSubscriber* subscriber = nullptr;
};

ControlServer::ControlServer(ServiceContext& context, std::string path)
    : context_(context),
      path_(std::move(path)),
      line_bytes_max_(context.config().control.line_bytes_max),
      send_timeout_ms_(context.config().control.send_timeout_ms),
      idle_timeout_ms_(context.config().control.idle_timeout_ms),
      connections_max_(static_cast<std::size_t>(context.config().control.connections_max)),
      subscriber_events_max_(
          static_cast<std::size_t>(context.config().control.subscriber_events_max)),
      reader_([&context] {
          proto::Limits limits;
          limits.message_bytes_max =
              static_cast<std::size_t>(context.config().control.line_bytes_max);
          return limits;
      }()) {}

reactor::Task<Status> ControlServer::start() {
    net::UnixListenerOptions options;
    options.refusal_bytes = error_line("permission denied: not the daemon's user") + "\n";
    options.stream.send_queue_bytes_max = connection_send_queue_bytes;
    options.stream.send_stall_timeout_ms = send_timeout_ms_;
    auto listener = co_await net::UnixListener::open(path_, options);
    if (!listener.ok()) {
        co_return Error(listener.error().code(),
                        "control socket " + listener.error().message());  // starts with the path
    }
    listener_ = std::move(listener.value());
    gate_.spawn(accept_loop(this));
    LOG_INFO("control socket listening on %s", path_.c_str());
    co_return Ok{};
}

namespace {

reactor::Task<void> cancel_after(reactor::CancelToken stop, std::vector<reactor::CancelSource*>* c,
                                 std::int64_t ms) {
    if (co_await reactor::sleep_ms(ms, stop)) {
        for (reactor::CancelSource* s : *c) {
            s->cancel();
        }
    }
}

}  // namespace

reactor::Task<void> ControlServer::stop() {
    stopping_ = true;
    cancel_.cancel();
    if (listener_) {
        co_await listener_->stop();
    }
    // Subscribers flush what is queued (ShuttingDown, then what the services reported while they
    // stopped); others close at once.
    std::vector<reactor::CancelSource*> lingering;
    for (Connection* c : connections_) {
        if (c->subscriber != nullptr) {
            c->subscriber->ready().set();
            lingering.push_back(&c->cancel);
        } else {
            c->cancel.cancel();
        }
    }
    reactor::CancelSource timer_cancel;
    reactor::Gate timer;
    timer.spawn(cancel_after(timer_cancel.token(), &lingering, stop_grace_ms));
    co_await gate_.close();
    timer_cancel.cancel();
    co_await timer.close();
    listener_.reset();
}

reactor::Task<void> ControlServer::accept_loop(ControlServer* self) {
    while (!self->stopping_) {
        auto stream = co_await self->listener_->accept(self->cancel_.token());
        if (!stream.ok()) {
            if (self->stopping_ || stream.error().code() == Errc::cancelled) {
                co_return;
            }
            LOG_WARN("control socket: accept failed: %s", stream.error().message().c_str());
            co_await reactor::sleep_ms(100, self->cancel_.token());
            continue;
        }
        self->stats_.connections++;
        if (self->connections_.size() >= self->connections_max_) {
            self->stats_.refused_full++;
            self->gate_.spawn(refuse(self, std::move(stream.value())));
            continue;
        }
        // Counted from here, not from when serve() first runs: a burst of connects accepted
        // in one go must not get past connections_max.
        auto conn = std::make_unique<Connection>();
        conn->stream = std::move(stream.value());
        self->connections_.push_back(conn.get());
        self->gate_.spawn(serve(self, std::move(conn)));
    }
}

reactor::Task<void> ControlServer::refuse(ControlServer* self,
                                          std::unique_ptr<net::SocketStream> stream) {
    (void)self;
    std::string line = error_line("too many control connections; try again later") + "\n";
    (void)stream->try_write(net::as_bytes(line));
    (void)co_await stream->flush(final_flush_timeout_ms, reactor::CancelToken{});
    co_await stream->close();
}

reactor::Task<bool> ControlServer::send_line(ControlServer* self, Connection* conn,
                                             std::string line) {
    line += '\n';
    Status st = co_await conn->stream->write(net::as_bytes(line), self->send_timeout_ms_,
                                             conn->cancel.token());
    if (!st.ok()) {
        if (st.error().code() == Errc::timeout) {
            self->stats_.slow_dropped++;
        }
        co_return false;
    }
    co_return true;
}

reactor::Task<bool> ControlServer::send_last(ControlServer* self, Connection* conn,
                                             std::string message) {
    (void)co_await send_line(self, conn, error_line(message));
    (void)co_await conn->stream->flush(final_flush_timeout_ms, reactor::CancelToken{});
    co_return false;
}

reactor::Task<void> ControlServer::serve(ControlServer* self, std::unique_ptr<Connection> owned) {
    Connection* conn = owned.get();
    bool open = co_await read_requests(self, conn);
    if (open && conn->subscribed) {
        co_await stream_events(self, conn);
    }
    std::erase(self->connections_, conn);
    co_await conn->stream->close();
}

reactor::Task<bool> ControlServer::read_requests(ControlServer* self, Connection* conn) {
    while (!self->stopping_ && !conn->subscribed) {
        auto data = co_await conn->stream->read(self->idle_timeout_ms_, conn->cancel.token());
        if (!data.ok()) {
            if (data.error().code() == Errc::timeout) {
                self->stats_.idle_closed++;
                co_return co_await send_last(
                    self, conn,
                    "no request for " + std::to_string(self->idle_timeout_ms_) + " ms; closing");
            }
            co_return false;
        }
        if (data->empty()) {
            // The client closed its side (`printf ... | socat`): every complete line it sent
            // has been answered; the replies leave before the connection closes.
            (void)co_await conn->stream->flush(self->send_timeout_ms_, conn->cancel.token());
            co_return false;
        }
        conn->pending.append(net::as_text(data.value()));
        if (!co_await answer_lines(self, conn)) {
            co_return false;
        }
    }
    co_return true;
}

reactor::Task<bool> ControlServer::answer_lines(ControlServer* self, Connection* conn) {
    auto max = static_cast<std::size_t>(self->line_bytes_max_);
    std::size_t start = 0;
    std::size_t nl = 0;
    while (!conn->subscribed && (nl = conn->pending.find('\n', start)) != std::string::npos) {
        if (nl - start > max) {
            break;  // a complete line over the bound ends the connection like an incomplete one
        }
        std::string line = conn->pending.substr(start, nl - start);
        start = nl + 1;
        if (!co_await handle_line(self, conn, std::move(line))) {
            co_return false;
        }
    }
    conn->pending.erase(0, start);
    if (!conn->subscribed && conn->pending.size() > max) {
        self->stats_.overlong++;
        co_return co_await send_last(
            self, conn, "request line longer than " + std::to_string(max) + " bytes; closing");
    }
    co_return true;
}

reactor::Task<bool> ControlServer::handle_line(ControlServer* self, Connection* conn,
                                               std::string line) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
        co_return true;  // blank lines are ignored
    }
    self->stats_.requests++;
    proto::ControlRequest req;
    std::string detail;
    proto::Reject rej = proto::parse_control_request(line, self->reader_, req, detail);
    if (rej != proto::Reject::none) {
        self->stats_.errors++;
        co_return co_await send_line(self, conn, error_line("bad request: " + detail));
    }
    bool bare_or_tagged = req.form != proto::ControlForm::typed;
    if (bare_or_tagged && req.name == "Subscribe") {
        conn->subscribed = true;
        std::string ok;
        proto::encode_ok(ok);
        co_return co_await send_line(self, conn, std::move(ok));
    }
    bool shutdown = req.name == "Shutdown";
    std::string reply = co_await answer(self, std::move(req));
    bool sent = co_await send_line(self, conn, std::move(reply));
    if (shutdown) {
        (void)co_await conn->stream->flush(final_flush_timeout_ms, reactor::CancelToken{});
        self->context_.request_stop("Shutdown request on the control socket");
    }
    co_return sent;
}

std::string ControlServer::answer_typed(const proto::ControlRequest& req) {
    proto::WorkerReply reply = context_.board().worker();
    reply.memory_available_bytes = context_.board().memory_available_bytes();
    reply.memory_total_bytes = context_.board().memory_total_bytes();
    if (req.name == "Status" || req.name == "GetMetrics") {
        reply.success = true;
        reply.message = req.name == "Status" ? "Daemon status" : "Metrics";
        reply.has_data = true;
    } else if (req.name == "Shutdown") {
        reply = proto::WorkerReply{};
        reply.message = "Shutting down";
    } else {
        reply = proto::WorkerReply{};
        reply.success = false;
        reply.message = "unknown command '" + named_back(req.name) + "'";
    }
    std::string out;
    proto::encode_worker_reply(reply, out);
    return out;
}

reactor::Task<std::string> ControlServer::answer(ControlServer* self, proto::ControlRequest req) {
    ServiceContext& ctx = self->context_;
    std::string out;
    // autopilotd's form knows its own six requests; the worker's three come from the supervision
    // service (in that form's reply shape), the rest of a service's requests do not exist there.
    bool typed = req.form == proto::ControlForm::typed;
    const ControlCommands::Entry* cmd = ctx.control_commands().find(req.name);
    if (cmd != nullptr && (!typed || proto::is_worker_request(req.name))) {
        co_return co_await cmd->fn(cmd->context, std::move(req));
    }
    if (typed) {
        co_return self->answer_typed(req);
    }
    const std::string& name = req.name;
    if (name == "Ping") {
        proto::encode_pong(out);
    } else if (name == "Shutdown") {
        proto::encode_ok(out);
    } else if (name == "Status") {
        RuntimeStatus s = ctx.status();
        proto::encode_status({true, s.uptime_secs, s.provider_active, s.host_active,
                              s.jobs_completed, s.earnings_msats},
                             out);
    } else if (name == "Health") {
        RuntimeStatus s = ctx.status();
        proto::encode_health({s.pid, s.uptime_secs, proto::control_protocol_version, s.shards,
                              PYLON_VERSION_STRING, std::string(run_mode_name(s.mode)),
                              s.started_at_ms, s.home, s.events_dropped, s.config_path},
                             out);
    } else if (name == "Relays") {
        proto::encode_relays(ctx.board().relays(), out);
    } else if (name == "Backends") {
        proto::encode_backends(ctx.board().backends(), out);
    } else if (name == "Jobs") {
        JobQuery query{req.limit, req.status};  // named: see Store::run on g++ 12
        auto jobs = co_await ctx.store().read_call(&StoreDb::list_jobs, query);
        if (jobs.ok()) {
            proto::encode_jobs(jobs.value(), out);
        } else {
            out = error_line("jobs: " + jobs.error().message());
        }
    } else if (name == "Earnings") {
        auto report = co_await ctx.store().read_call(&StoreDb::earnings, req.limit);
        if (report.ok()) {
            proto::encode_earnings(report.value(), out);
        } else {
            out = error_line("earnings: " + report.error().message());
        }
    } else if (name == "Shards") {
        proto::encode_shards(co_await ctx.shard_infos(), out);
    } else if (name == "Store") {
        StoreStats st = ctx.store().stats();
        proto::StoreInfo info;
        info.requests = st.requests;
        info.transactions = st.batches;
        info.transaction_max = st.batch_max;
        info.failed_commits = st.failed_commits;
        info.transaction_reruns = st.batch_reruns;
        info.pruned_requests = st.pruned_requests;
        info.queued = st.queued;
        info.waited_transactions = st.waited_batches;
        info.lock_wait_ms = st.lock_wait_ms;
        info.reads_in_lock_waits = st.reads_in_lock_waits;
        proto::encode_store(info, out);
    } else if (name == "Reload") {
        auto report = co_await ctx.reload_from_file();
        out = report.ok() ? reload_line(report.value())
                          : error_line("reload: " + report.error().message());
    } else {
        self->stats_.errors++;
        out = error_line("unknown request '" + named_back(name) + "'");
    }
    co_return out;
}

reactor::Task<void> ControlServer::watch_eof(Connection* conn) {
    for (;;) {
        auto data = co_await conn->stream->read(0, conn->cancel.token());
        if (!data.ok() || data->empty()) {
            conn->peer_closed = data.ok();
            conn->cancel.cancel();
            co_return;
        }
    }
}

reactor::Task<void> ControlServer::stream_events(ControlServer* self, Connection* conn) {
    EventSubscriber sub(self->subscriber_events_max_);
    conn->subscriber = &sub;
    self->context_.events().subscribe(&sub);
    reactor::Gate watchers;
    watchers.spawn(watch_eof(conn));
    std::string batch;
    for (;;) {
        if (!self->stopping_ && !co_await sub.ready().wait(conn->cancel.token())) {
            break;
        }
        sub.ready().reset();
        batch.clear();
        EventSubscriber::Line line;
        while (batch.size() < subscriber_batch_bytes_max && sub.pop(line)) {
            batch += *line;
        }
        if (sub.queued() > 0) {
            sub.ready().set();
        }
        std::int64_t timeout = self->stopping_ ? final_flush_timeout_ms : self->send_timeout_ms_;
        if (!batch.empty() &&
            !(co_await conn->stream->write(net::as_bytes(batch), timeout, conn->cancel.token()))
                 .ok()) {
            self->stats_.slow_dropped++;
            break;
        }
        if (sub.overflowed()) {
            self->stats_.slow_dropped++;
            std::string last = error_line("subscriber too slow: " + std::to_string(sub.dropped()) +
                                          " events dropped; connection closed") +
                               "\n";
            // Whole or not at all: a cut line would read as garbage, not as the reason.
            if (conn->stream->write_room() >= last.size()) {
                (void)conn->stream->try_write(net::as_bytes(last));
            }
            (void)co_await conn->stream->flush(final_flush_timeout_ms, reactor::CancelToken{});
            break;
        }
        if (self->stopping_ && sub.queued() == 0) {
            (void)co_await conn->stream->flush(final_flush_timeout_ms, reactor::CancelToken{});
            break;
        }
    }
    self->context_.events().unsubscribe(&sub);
    conn->subscriber = nullptr;
    conn->cancel.cancel();
    co_await watchers.close();
    if (conn->peer_closed) {
        // `printf '"Ping"\n"Subscribe"\n' | socat`: the client shut its side at once; the
        // replies to what it sent ("Pong", "Ok") are still queued and leave before the close.
        (void)co_await conn->stream->flush(self->send_timeout_ms_, reactor::CancelToken{});
    }
}

}  // namespace pylon::engine
