#include "tools/pylon_bench/relay_sim.hpp"

#include <unistd.h>

#include <algorithm>

#include "proto/hex.hpp"
#include "proto/relay_message.hpp"
#include "reactor/accept_stream.hpp"
#include "reactor/assert.hpp"
#include "reactor/clock.hpp"
#include "reactor/ops.hpp"
#include "tools/pylon_bench/ws_server_frame.hpp"

namespace pylon::bench {

namespace {
constexpr std::size_t handshake_bytes_max = 16 * 1024;
constexpr std::int64_t handshake_timeout_ms = 10000;
constexpr std::int64_t write_timeout_ms = 10000;
constexpr std::uint32_t result_kind = 6050;
constexpr std::uint32_t feedback_kind = 7000;
}  // namespace

struct RelaySim::Conn {
    std::unique_ptr<net::SocketStream> stream;
    std::string in;       // received bytes not yet parsed into frames
    std::string message;  // fragments of a message being assembled
    bool assembling = false;
    std::string out;      // frames queued for the writer
    std::string sending;  // frames being written
    reactor::AsyncEvent out_ready;
    reactor::AsyncEvent out_room;
    reactor::Gate gate;
    bool dead = false;
};

RelaySim::RelaySim(int listen_fd, const LoadGen* load, SimOptions options, SimHooks hooks)
    : listen_fd_(listen_fd),
      load_(load),
      options_(options),
      hooks_(std::move(hooks)),
      window_(options.inflight) {
    PYLON_ASSERT(options_.inflight > 0 && options_.inflight <= sim_inflight_max);
    PYLON_ASSERT(options_.warmup + options_.jobs <= load_->size());
    state_.assign(load_->size(), JobState::idle);
    sent_us_.assign(load_->size(), 0);
    stats_.latency_us.reserve(options_.jobs);
}

RelaySim::~RelaySim() = default;

reactor::Task<Status> RelaySim::run() {
    accept_ = std::make_unique<reactor::AcceptStream>(listen_fd_, 16);
    gate_.spawn(accept_loop());
    gate_.spawn(watchdog());
    Status result = co_await run_all();
    stop_.cancel();
    co_await accept_->stop();
    co_await gate_.close();
    accept_.reset();
    co_return result;
}

reactor::Task<Status> RelaySim::run_all() {
    std::int64_t deadline_ms = reactor::monotonic_ms() + options_.subscribe_timeout_ms;
    while (!subscribed_.is_set() && !stop_.cancelled() && reactor::monotonic_ms() < deadline_ms) {
        (void)co_await reactor::sleep_ms(20, stop_.token());
    }
    if (!subscribed_.is_set()) {
        fail("the node did not subscribe for jobs within " +
             std::to_string(options_.subscribe_timeout_ms) + " ms");
        co_return *failure_;
    }
    if (hooks_.on_subscribed) {
        hooks_.on_subscribed();
    }
    Status s = co_await run_phase(0, options_.warmup);
    if (!s.ok()) {
        co_return s;
    }
    if (hooks_.on_measure_start) {
        hooks_.on_measure_start();
    }
    measuring_ = true;
    std::int64_t t0 = reactor::monotonic_us();
    s = co_await run_phase(options_.warmup, options_.warmup + options_.jobs);
    stats_.measured_seconds = static_cast<double>(reactor::monotonic_us() - t0) / 1e6;
    measuring_ = false;
    if (!s.ok()) {
        co_return s;
    }
    if (hooks_.on_measure_end) {
        hooks_.on_measure_end();
    }
    std::int64_t linger_end_ms = reactor::monotonic_ms() + sim_linger_ms_max;
    while (!stop_requested_.load() && !stop_.cancelled() &&
           reactor::monotonic_ms() < linger_end_ms) {
        (void)co_await reactor::sleep_ms(20, stop_.token());
    }
    co_return s;
}

reactor::Task<Status> RelaySim::run_phase(std::size_t begin, std::size_t end) {
    phase_begin_ = begin;
    phase_end_ = end;
    phase_finished_ = 0;
    phase_done_.reset();
    last_finish_ms_ = reactor::monotonic_ms();
    std::int64_t t0 = reactor::monotonic_us();
    for (std::size_t k = begin; k < end && !failure_; k++) {
        if (!co_await window_.acquire(stop_.token())) {
            break;
        }
        if (options_.rate_per_s > 0) {
            auto due = t0 + static_cast<std::int64_t>(static_cast<double>(k - begin) * 1e6 /
                                                      options_.rate_per_s);
            std::int64_t now = reactor::monotonic_us();
            if (due > now + 1000) {
                (void)co_await reactor::sleep_ms((due - now) / 1000, stop_.token());
            }
        }
        while (!sub_open_.is_set() && !failure_ && !stop_.cancelled()) {
            (void)co_await sub_open_.wait(stop_.token());  // the node paused its intake
        }
        Conn* c = feed_conn_;
        if (c == nullptr || c->dead) {
            fail("the node's relay connection closed during the run");
            break;
        }
        if (c->out.size() > options_.out_bytes_max) {
            c->out_room.reset();
            (void)co_await c->out_room.wait(stop_.token());
            if (failure_ || c->dead) {
                continue;  // the loop condition or the next turn reports it
            }
        }
        send_request(c, k);
        state_[k] = JobState::sent;
        sent_us_[k] = reactor::monotonic_us();
    }
    if (!failure_ && phase_finished_ < end - begin) {
        (void)co_await phase_done_.wait(stop_.token());
    }
    if (failure_) {
        co_return *failure_;
    }
    co_return Ok();
}

reactor::Task<void> RelaySim::accept_loop() {
    while (true) {
        int fd = co_await accept_->next();
        if (fd < 0) {
            break;
        }
        if (conns_.size() >= sim_connections_max) {
            ::close(fd);
            continue;
        }
        gate_.spawn(serve(fd));
    }
}

reactor::Task<void> RelaySim::watchdog() {
    std::int64_t last_progress_ms = 0;
    // (An explicit bool, not `while (co_await ...)`: see JobRunner::sweep_loop.)
    for (;;) {
        bool slept = co_await reactor::sleep_ms(50, stop_.token());
        if (!slept) {
            break;
        }
        std::int64_t now = reactor::monotonic_ms();
        if (hooks_.on_progress && now - last_progress_ms >= options_.progress_interval_ms) {
            last_progress_ms = now;
            hooks_.on_progress(stats_.measured_done + stats_.measured_failed, options_.jobs);
        }
        bool waiting = phase_end_ > phase_begin_ && phase_finished_ < phase_end_ - phase_begin_;
        if (waiting && now - last_finish_ms_ > options_.stall_timeout_ms) {
            fail("no job finished for " + std::to_string(options_.stall_timeout_ms) + " ms (" +
                 std::to_string(phase_finished_) + " of " +
                 std::to_string(phase_end_ - phase_begin_) + " done in this phase" +
                 (stats_.first_error_feedback.empty()
                      ? std::string()
                      : "; first error feedback: " + stats_.first_error_feedback) +
                 ")");
        }
    }
}

reactor::Task<void> RelaySim::serve(int fd) {
    auto owned = std::make_unique<Conn>();
    Conn* c = owned.get();
    c->stream = std::make_unique<net::SocketStream>(fd, "node");
    conns_.push_back(std::move(owned));
    stats_.connections++;
    Status hs = co_await handshake(c);
    std::string why = hs.ok() ? "the node closed the connection" : hs.error().message();
    if (hs.ok()) {
        c->gate.spawn(write_loop(c));
        while (!stop_.cancelled()) {
            Result<net::Bytes> r = co_await c->stream->read(0, stop_.token());
            if (!r.ok() || r->empty()) {
                why = r.ok() ? "the node closed the connection" : r.error().message();
                break;
            }
            c->in.append(net::as_text(*r));
            Status frames = on_frames(c);
            if (!frames.ok()) {
                why = frames.error().message();
                break;
            }
        }
    }
    c->dead = true;
    c->out_ready.set();
    c->out_room.set();
    co_await c->gate.close();
    co_await c->stream->close();
    if (c == feed_conn_) {
        feed_conn_ = nullptr;
        if (!stop_.cancelled()) {
            fail("the node's relay connection ended during the run: " + why);
        }
    }
    conns_.remove_if([c](const std::unique_ptr<Conn>& p) { return p.get() == c; });
}

reactor::Task<Status> RelaySim::handshake(Conn* c) {
    std::int64_t deadline_ms = reactor::monotonic_ms() + handshake_timeout_ms;
    std::size_t head_end = std::string::npos;
    while (head_end == std::string::npos) {
        std::int64_t left = deadline_ms - reactor::monotonic_ms();
        if (left <= 0 || c->in.size() > handshake_bytes_max) {
            co_return Error(Errc::protocol, "no WebSocket upgrade request");
        }
        Result<net::Bytes> r = co_await c->stream->read(left, stop_.token());
        if (!r.ok()) {
            co_return r.error();
        }
        if (r->empty()) {
            co_return Error(Errc::closed, "closed during the handshake");
        }
        c->in.append(net::as_text(*r));
        head_end = c->in.find("\r\n\r\n");
    }
    std::string_view key = upgrade_request_key(std::string_view(c->in).substr(0, head_end));
    if (key.empty()) {
        co_return Error(Errc::protocol, "upgrade request without Sec-WebSocket-Key");
    }
    std::string response = upgrade_response(key);
    c->in.erase(0, head_end + 4);
    co_return co_await c->stream->write(net::as_bytes(response), write_timeout_ms, stop_.token());
}

reactor::Task<void> RelaySim::write_loop(Conn* c) {
    while (true) {
        if (c->out.empty()) {
            if (c->dead) {
                break;
            }
            c->out_ready.reset();
            if (!co_await c->out_ready.wait(stop_.token())) {
                break;
            }
            continue;
        }
        std::swap(c->out, c->sending);
        c->out_room.set();
        Status s =
            co_await c->stream->write(net::as_bytes(c->sending), write_timeout_ms, stop_.token());
        c->sending.clear();
        if (!s.ok()) {
            c->dead = true;
            c->out_room.set();
            break;
        }
    }
}

Status RelaySim::on_frames(Conn* c) {
    std::size_t pos = 0;
    Status result = Ok();
    while (pos < c->in.size()) {
        ClientFrame f;
        FrameRead r =
            read_client_frame(c->in.data() + pos, c->in.size() - pos, options_.frame_bytes_max, &f);
        if (r == FrameRead::need_more) {
            break;
        }
        if (r == FrameRead::error) {
            result = Error(Errc::protocol, f.error);
            break;
        }
        pos += f.frame_bytes;
        if (f.opcode == ws_op_text || f.opcode == ws_op_binary) {
            if (f.fin) {
                on_message(c, f.payload);
            } else {
                c->message.assign(f.payload);
                c->assembling = true;
            }
        } else if (f.opcode == ws_op_continuation && c->assembling) {
            c->message.append(f.payload);
            if (c->message.size() > options_.frame_bytes_max) {
                result = Error(Errc::too_large, "message above the size bound");
                break;
            }
            if (f.fin) {
                c->assembling = false;
                on_message(c, c->message);
            }
        } else if (f.opcode == ws_op_ping) {
            append_server_frame(c->out, ws_op_pong, f.payload);
            c->out_ready.set();
        } else if (f.opcode == ws_op_close) {
            append_server_frame(c->out, ws_op_close, f.payload.substr(0, 2));
            c->out_ready.set();
            result = Error(Errc::closed, "close frame");
            break;
        }
    }
    c->in.erase(0, pos);
    return result;
}

void RelaySim::on_message(Conn* c, std::string_view text) {
    if (msg_.read_json(reader_, text) != proto::Reject::none) {
        stats_.bad_messages++;
        return;
    }
    switch (msg_.type) {
        case proto::ClientMessageType::req:
            on_req(c);
            break;
        case proto::ClientMessageType::event:
            on_event(c);
            break;
        case proto::ClientMessageType::close:
            if (c == feed_conn_ && msg_.subid == subid_) {
                sub_open_.reset();
            }
            break;
        case proto::ClientMessageType::auth:
            text_.clear();
            proto::write_relay_ok(text_, msg_.event.id(), true, "");
            queue_frame(c, text_);
            break;
        default:
            break;
    }
}

void RelaySim::on_req(Conn* c) {
    bool jobs = false;
    for (const proto::Filter& f : msg_.filters) {
        if (f.kinds && std::find(f.kinds->begin(), f.kinds->end(), 5050U) != f.kinds->end()) {
            jobs = true;
        }
    }
    if (jobs && feed_conn_ == nullptr) {
        feed_conn_ = c;
        subid_ = msg_.subid;
        subscribed_.set();
        sub_open_.set();
    } else if (jobs && feed_conn_ == c) {
        subid_ = msg_.subid;  // a re-subscription on the same connection
        resend_unanswered(c);
        sub_open_.set();
    }
    text_.clear();
    proto::write_relay_eose(text_, msg_.subid);
    queue_frame(c, text_);
}

// Request k as the subscription's EVENT message.
void RelaySim::send_request(Conn* c, std::size_t k) {
    text_.assign("[\"EVENT\",\"");
    text_.append(subid_);
    text_.append("\",");
    text_.append(load_->event_json(k));
    text_.push_back(']');
    queue_frame(c, text_);
}

// A relay keeps job requests: the sent ones of this phase not answered yet go out again (the
// node's dedup drops those it has; it left the others unread while its intake was paused).
void RelaySim::resend_unanswered(Conn* c) {
    for (std::size_t k = phase_begin_; k < phase_end_; k++) {
        if (state_[k] != JobState::sent) {
            continue;
        }
        send_request(c, k);
    }
}

void RelaySim::on_event(Conn* c) {
    const proto::Event& ev = msg_.event;
    text_.clear();
    proto::write_relay_ok(text_, ev.id(), true, "");
    queue_frame(c, text_);
    events_seen_++;
    if (options_.verify_every != 0 && events_seen_ % options_.verify_every == 0) {
        (ev.verify() == proto::Reject::none ? stats_.verified : stats_.verify_failed)++;
    }
    if (ev.kind() != result_kind && ev.kind() != feedback_kind) {
        stats_.other_events++;
        return;
    }
    proto::EventId request{};
    std::int64_t k = -1;
    if (proto::hex_decode(ev.tag_value("e"), request)) {
        k = load_->find(request);
    }
    if (k < 0) {
        stats_.wrong_e_tag++;
        return;
    }
    if (ev.kind() == result_kind) {
        stats_.results++;
        finish_job(k, true);
        return;
    }
    std::string_view status = ev.tag_value("status");
    if (status == "processing") {
        stats_.feedback_processing++;
    } else if (status == "partial") {
        stats_.feedback_partial++;
    } else if (status == "success") {
        stats_.feedback_success++;
    } else if (status == "error") {
        stats_.feedback_error++;
        if (stats_.first_error_feedback.empty()) {
            stats_.first_error_feedback = std::string(ev.content().substr(0, 200));
        }
        finish_job(k, false);
    } else {
        stats_.feedback_other++;
    }
}

void RelaySim::finish_job(std::int64_t k, bool ok) {
    auto i = static_cast<std::size_t>(k);
    if (state_[i] != JobState::sent) {
        if (ok && state_[i] != JobState::idle) {
            stats_.results_duplicate++;
        }
        return;
    }
    state_[i] = ok ? JobState::done : JobState::failed;
    std::int64_t now_us = reactor::monotonic_us();
    last_finish_ms_ = now_us / 1000;
    if (i < phase_begin_ || i >= phase_end_) {
        return;  // cannot happen: a phase ends only when all its jobs finished
    }
    phase_finished_++;
    if (!measuring_) {
        stats_.warmup_failed += ok ? 0 : 1;
    } else if (ok) {
        stats_.measured_done++;
        stats_.latency_us.push_back(now_us - sent_us_[i]);
    } else {
        stats_.measured_failed++;
    }
    window_.release();
    if (phase_finished_ == phase_end_ - phase_begin_) {
        phase_done_.set();
    }
}

void RelaySim::queue_frame(Conn* c, std::string_view payload) {
    append_server_frame(c->out, ws_op_text, payload);
    c->out_ready.set();
}

void RelaySim::fail(std::string why) {
    if (!failure_) {
        failure_ = Error(Errc::timeout, std::move(why));
    }
    phase_done_.set();
    stop_.cancel();
}

}  // namespace pylon::bench
