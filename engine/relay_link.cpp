#include "engine/relay_link.hpp"

#include <algorithm>
#include <cstring>

#include "engine/intake.hpp"
#include "engine/ok_policy.hpp"
#include "engine/relay_pool.hpp"
#include "net/url.hpp"
#include "proto/auth_event.hpp"
#include "proto/client_message.hpp"
#include "proto/deletion.hpp"
#include "proto/handler_announcement.hpp"
#include "proto/hex.hpp"
#include "reactor/clock.hpp"
#include "reactor/log.hpp"
#include "reactor/ops.hpp"

namespace pylon::engine {

using reactor::Task;

namespace {

std::int64_t now_ms() {
    return reactor::monotonic_ms();
}

BackoffOptions backoff_options(const RelayPoolConfig& c) {
    BackoffOptions o;
    o.initial_ms = c.backoff_initial_ms;
    o.max_ms = c.backoff_max_ms;
    o.stable_after_ms = c.stable_after_ms;
    return o;
}

std::uint64_t seed_of(std::string_view url) {
    std::uint64_t h = static_cast<std::uint64_t>(reactor::monotonic_ns());
    for (char c : url) {
        h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    }
    return h;
}

// Sends and returns the failure, if any, from a coroutine returning Task<Status>.
#define LINK_TRY(expr)          \
    do {                        \
        Status link_st_ = expr; \
        if (!link_st_.ok()) {   \
            co_return link_st_; \
        }                       \
    } while (0)

std::string short_id(const proto::EventId& id) {
    return proto::hex_encode(std::span<const std::uint8_t>(id.data(), 8));
}

}  // namespace

RelayLink::RelayLink(RelayPool* pool, std::string url, int index, std::int64_t cursor)
    : pool_(pool),
      url_(std::move(url)),
      index_(index),
      cursor_(cursor),
      backoff_(backoff_options(pool->config().relay_pool)),
      rng_(seed_of(url_)),
      queue_(PublishQueueLimits::from(
          static_cast<std::size_t>(pool->config().relay_pool.publish_queue_max))),
      reader_(proto::received_limits()) {
    sub_id_ = "pylon-jobs-" + pool_->hub().pubkey_hex().substr(0, 8);
    watch_sub_id_ = "pylon-cancels-" + pool_->hub().pubkey_hex().substr(0, 8);
}

RelayLink::~RelayLink() {
    PYLON_ASSERT_MSG(queue_.empty(), "RelayLink destroyed with publications queued");
}

void RelayLink::start() {
    pool_->gate().spawn(run(this));
}

Task<void> RelayLink::stop() {
    stopping_ = true;
    stop_.cancel();
    wake();
    co_await done_.wait();
}

proto::RelayInfo RelayLink::info() const {
    proto::RelayInfo i;
    i.url = url_;
    i.state = state_;
    i.last_error = last_error_;
    i.connected_since_ms = connected_ ? connected_since_ms_ : 0;
    i.connects = connects_;
    i.disconnects = disconnects_;
    i.events_received = events_received_;
    i.events_published = events_published_;
    i.progress_dropped = progress_dropped_;
    i.publish_refused = refused_;
    i.unreadable = unreadable_;
    return i;
}

void RelayLink::set_state(const char* state, std::string error) {
    state_ = state;
    if (!error.empty()) {
        last_error_ = std::move(error);
    }
    revision_++;
    pool_->link_changed(this, true);
}

void RelayLink::set_subscribed(bool on) {
    want_sub_ = on;
    passed_while_paused_ = 0;
    if (!on && sub_active_) {
        need_close_ = true;
    }
    wake();
}

void RelayLink::watch(std::shared_ptr<const std::vector<proto::EventId>> ids) {
    if (temporary()) {
        return;
    }
    watch_ids_ = std::move(ids);
    watch_rev_++;
    wake();
}

void RelayLink::leave(std::int64_t created_at) {
    cursor_.defer(created_at);
    if (!pool_->hub().publish_pressure() && want_sub_ && sub_active_) {
        sub_active_ = false;  // send_due sends the REQ again, from the deferred mark
        wake();
    }
}

void RelayLink::enqueue(PublicationRef pub) {
    using Admit = PublishQueue::Admit;
    PublishQueue::Pushed pushed = queue_.push(pub);
    if (pushed.dropped) {
        progress_dropped_++;
        revision_++;  // the status board shows it within pool_status_refresh_ms
        pool_->report(pushed.dropped, false, url_ + ": replaced by newer feedback");
    }
    switch (pushed.admit) {
        case Admit::over_bound:
            LOG_DEBUG("relay %s: publish queue past its bound (%zu events) with event %s",
                      url_.c_str(), queue_.size(), short_id(pub->id).c_str());
            [[fallthrough]];
        case Admit::queued:
        case Admit::replaced:
        case Admit::evicted:
            idle_since_ms_ = -1;
            update_pressure();
            wake();
            return;
        case Admit::duplicate:
            pool_->report(pub, false, url_ + ": already queued");
            return;
        case Admit::refused_busy:
        case Admit::refused_full:
            break;
    }
    PYLON_ASSERT_MSG(pub->cls != PublishClass::terminal, "a terminal event is never refused");
    refused_++;
    revision_++;
    LOG_DEBUG("relay %s: publish queue busy: event %s (kind %u) not sent there", url_.c_str(),
              short_id(pub->id).c_str(), pub->kind);
    pool_->report(pub, false, url_ + ": publish queue full");
}

// A configured relay's connected link with a busy queue pauses intake (ProviderHub): the call
// that made the node-wide change logs it, counts it and tells every shard.
void RelayLink::update_pressure() {
    bool pressing = !temporary() && connected_ && queue_.busy();
    if (pressing == pressing_) {
        return;
    }
    pressing_ = pressing;
    ProviderHub& hub = pool_->hub();
    PublishPressure::Change change = hub.note_publish_pressure(pressing);
    if (change == PublishPressure::Change::none) {
        return;
    }
    bool paused = change == PublishPressure::Change::paused;
    if (paused) {
        LOG_INFO(
            "relay %s: %zu results and final feedback wait for its OK: intake paused (job "
            "subscriptions closed) until it drains",
            url_.c_str(), queue_.kept());
    } else {
        LOG_INFO(
            "relay %s: publish queue drained (%zu waiting): intake resumed, subscribing again "
            "from the cursor (so far %llu progress feedback replaced or dropped, %llu events "
            "refused for room)",
            url_.c_str(), queue_.kept(), static_cast<unsigned long long>(progress_dropped_),
            static_cast<unsigned long long>(refused_));
    }
    if (Intake* in = hub.here().intake) {
        in->count(paused ? IntakeReason::paused : IntakeReason::resumed);
    }
    RelayPool::broadcast_pause(&hub);
}

// Connect, serve, back off, again; until stop() (or, for a temporary link, until it gives up).
Task<void> RelayLink::run(RelayLink* self) {
    const RelayPoolConfig& c = self->pool_->config().relay_pool;
    ProviderHub& hub = self->pool_->hub();
    std::int64_t failed_connects = 0;
    while (!self->stopping_) {
        self->set_state("connecting");
        net::WebSocketOptions o;
        o.connect_timeout_ms = c.connect_timeout_ms;
        o.handshake_timeout_ms = c.connect_timeout_ms;
        o.ping_interval_ms = c.ping_interval_ms;
        o.message_bytes_max = link_message_bytes_max;
        auto parsed = net::parse_ws_url(self->url_);
        if (parsed.ok() && parsed.value().secure) {
            o.tls = hub.tls();  // the first wss:// connect makes the node's TLS context
        }
        o.resolver = &hub.resolver();
        // A request's `relays` entry is the customer's choice: unless the operator allows it,
        // it may not lead the node to loopback or private hosts, however its name is written
        // (127.1, a decimal address, a name that resolves there).
        o.public_only = self->temporary() && !c.reply_relays_private;
        auto ws = co_await net::WebSocket::connect(self->url_, o, self->stop_.token());
        if (ws.ok()) {
            failed_connects = 0;
            self->connects_++;
            self->backoff_.on_connected(now_ms());
            self->connected_since_ms_ = reactor::unix_ms();
            self->connected_ = true;
            self->update_pressure();
            self->set_state("connected");
            LOG_INFO("relay %s: connected", self->url_.c_str());
            self->pool_->link_connected(self, true, "");
            co_await self->session(ws.value().get());
            co_await ws.value()->close();
            self->connected_ = false;
            self->update_pressure();
            self->disconnects_++;
            self->pool_->link_connected(self, false, self->last_error_);
        } else if (!self->stopping_) {
            self->last_error_ = ws.error().message();
            failed_connects++;
        }
        if (self->stopping_ ||
            (self->temporary() && failed_connects >= temp_connect_attempts_max)) {
            break;
        }
        std::int64_t delay = self->backoff_.on_failure(now_ms(), self->rng_);
        self->backoff_until_ms_ = now_ms() + delay;
        self->set_state("backoff");
        LOG_WARN("relay %s: %s; reconnecting in %.1f s", self->url_.c_str(),
                 self->last_error_.empty() ? "disconnected" : self->last_error_.c_str(),
                 static_cast<double>(delay) / 1000.0);
        bool waited = co_await self->wait_backoff(delay);
        if (!waited) {
            break;
        }
    }
    std::string why =
        self->stopping_ ? "the relay link stopped" : "cannot connect: " + self->last_error_;
    while (!self->queue_.empty()) {
        self->settle(self->queue_.begin(), false, self->url_ + ": " + why);
    }
    self->set_state("disconnected");
    self->finished_ = true;
    self->done_.set();
}

// Sleeps delay_ms in ticks (publications still expire meanwhile); false when stopping.
Task<bool> RelayLink::wait_backoff(std::int64_t delay_ms) {
    std::int64_t until = now_ms() + delay_ms;
    for (;;) {
        std::int64_t left = until - now_ms();
        if (left <= 0) {
            co_return !stopping_;
        }
        bool slept = co_await reactor::sleep_ms(std::min(left, link_tick_ms), stop_.token());
        if (!slept) {
            co_return false;
        }
        housekeeping(now_ms());
    }
}

}  // namespace pylon::engine

namespace pylon::engine {

// One connection: the reader here, the writer beside it, until an error or stop().
Task<void> RelayLink::session(net::WebSocket* ws) {
    sub_active_ = false;
    need_close_ = false;
    sub_refused_ = false;
    watch_active_ = false;
    watch_sent_rev_ = 0;
    watch_refused_ = false;
    watch_retry_at_ms_ = 0;
    authed_ = false;
    auth_pending_ = false;
    auth_due_ = false;
    auth_next_ms_ = 0;
    auth_challenges_ = 0;
    auth_signed_ = 0;
    challenge_.clear();
    auth_frame_.clear();
    for (PublishQueue::Entry& o : queue_) {
        o.in_flight = false;
        o.wait_auth = false;
        o.next_send_ms = 0;
    }
    skipped_seen_ = 0;
    reactor::CancelSource cancel;
    session_cancel_ = &cancel;
    reactor::Gate writers;
    writers.spawn(writer(this, ws, cancel.token()));
    std::int64_t last_tick = now_ms();
    std::uint32_t in_a_row = 0;
    for (;;) {
        if (++in_a_row >= link_messages_per_turn_max) {
            in_a_row = 0;
            co_await reactor::yield();
        }
        auto m = co_await ws->next_message(link_tick_ms, stop_.token());
        std::int64_t now = now_ms();
        if (ws->messages_skipped() != skipped_seen_) {
            note_unreadable("over the link's message bound", ws->messages_skipped() - skipped_seen_,
                            ws->last_skipped_bytes());
            skipped_seen_ = ws->messages_skipped();
        }
        if (now - last_tick >= link_tick_ms) {
            last_tick = now;
            housekeeping(now);
            if (temporary() && idle_since_ms_ >= 0 &&
                now - idle_since_ms_ >= pool_->config().relay_pool.temp_idle_ms) {
                stopping_ = true;  // nothing left to send: a temporary link ends
                break;
            }
        }
        if (!m.ok()) {
            const Error& e = m.error();
            if (e.code() == Errc::timeout && e.message().find("dead") == std::string::npos) {
                continue;  // a quiet tick
            }
            if (!stopping_ && !stop_.cancelled() && !cancel.cancelled()) {  // else the writer's
                last_error_ =
                    e.code() == Errc::closed && ws->close_code() != 0
                        ? "closed by the relay (" + std::to_string(ws->close_code()) +
                              (ws->close_reason().empty() ? "" : " " + ws->close_reason()) + ")"
                        : e.message();
            }
            break;
        }
        if (cancel.cancelled()) {
            break;  // the writer failed
        }
        proto::PaddedJson json(m->data.data(), m->data.size(),
                               m->data.size() + net::WebSocket::message_padding_bytes);
        if (!on_message(json)) {
            co_await pool_->room();
        }
    }
    cancel.cancel();
    co_await writers.close();
    session_cancel_ = nullptr;
}

Task<void> RelayLink::writer(RelayLink* self, net::WebSocket* ws, reactor::CancelToken token) {
    while (!token.cancelled()) {
        self->work_.reset();
        Status st = co_await self->send_due(ws);
        if (!st.ok()) {
            if (!token.cancelled()) {
                self->last_error_ = st.error().message();  // else the reader's error stands
            }
            if (self->session_cancel_ != nullptr) {
                self->session_cancel_->cancel();
            }
            break;
        }
        if (!self->work_.is_set()) {
            (void)co_await self->work_.wait(token);
        }
    }
}

// Sends what is due: AUTH, CLOSE, the REQ, then publications whose time has come.
Task<Status> RelayLink::send_due(net::WebSocket* ws) {
    std::int64_t now = now_ms();
    if (auth_due_ && now >= auth_next_ms_) {
        auth_next_ms_ = now + auth_answer_interval_ms;
        build_auth();
    }
    if (!auth_frame_.empty()) {
        std::string frame = std::move(auth_frame_);
        auth_frame_.clear();
        LINK_TRY(co_await ws->send_text(frame));
    }
    if (need_close_) {
        need_close_ = false;
        sub_active_ = false;
        std::string frame;
        proto::write_client_close(frame, sub_id_);
        LINK_TRY(co_await ws->send_text(frame));
    }
    if (want_sub_ && !sub_active_ && !sub_refused_ && !auth_pending_ && !temporary() &&
        now >= resubscribe_at_ms_) {
        sub_active_ = true;
        sub_live_ = false;
        std::string frame = pool_->subscription_frame(sub_id_, cursor_.take_since_for_req());
        LINK_TRY(co_await ws->send_text(frame));
    }
    // The deletion watch (watch() gives none to a temporary link): its REQ, or its CLOSE.
    if (watch_sent_rev_ != watch_rev_ && !watch_refused_ && !auth_pending_ &&
        now >= watch_retry_at_ms_) {
        watch_sent_rev_ = watch_rev_;
        bool any = watch_ids_ != nullptr && !watch_ids_->empty();
        if (any || watch_active_) {
            watch_active_ = any;
            std::string frame;
            if (any) {
                frame = pool_->watch_frame(watch_sub_id_, *watch_ids_);
            } else {
                proto::write_client_close(frame, watch_sub_id_);
            }
            LINK_TRY(co_await ws->send_text(frame));
        }
    }
    const RelayPoolConfig& c = pool_->config().relay_pool;
    batch_.clear();
    for (PublishQueue::Entry& o : queue_) {
        if (!o.in_flight && !o.wait_auth && o.next_send_ms <= now) {
            o.in_flight = true;
            o.sends++;
            o.ok_deadline_ms = now + c.publish_ok_timeout_ms;
            batch_.push_back(o.pub);
        }
    }
    for (const PublicationRef& pub : batch_) {
        LINK_TRY(co_await ws->send_text(pub->frame));
    }
    batch_.clear();
    co_return Ok{};
}

// A parsed relay message; false when routing asks the reader to wait for room.
bool RelayLink::on_message(proto::PaddedJson json) {
    proto::Reject r = msg_.read_json(reader_, json);
    if (r != proto::Reject::none) {
        note_unreadable(proto::reject_text(r), 1, json.text().size());
        return true;
    }
    switch (msg_.type) {
        case proto::RelayMessageType::event:
            // A temporary link (a request's `relays` entry) only publishes: it never sent a REQ,
            // so an EVENT on it is pushed by a relay that guessed the subscription id.
            if (temporary() || (msg_.subid != sub_id_ && msg_.subid != watch_sub_id_)) {
                return true;
            }
            if (msg_.subid == watch_sub_id_ && msg_.event.kind() != proto::deletion_kind) {
                return true;  // the watch asks for deletions only
            }
            events_received_++;
            revision_++;  // the status board shows it within pool_status_refresh_ms
            return pool_->on_event(this, msg_.event);
        case proto::RelayMessageType::ok:
            on_ok();
            return true;
        case proto::RelayMessageType::closed:
            on_closed();
            return true;
        case proto::RelayMessageType::auth:
            on_auth_challenge();
            return true;
        case proto::RelayMessageType::notice:
            on_notice();
            return true;
        case proto::RelayMessageType::eose:
            if (msg_.subid == sub_id_ && !sub_live_) {
                sub_live_ = true;  // once per subscription: operators (and tests) look for it
                LOG_INFO("relay %s: subscribed (stored requests replayed)", url_.c_str());
            }
            return true;
        case proto::RelayMessageType::count:
            return true;
    }
    return true;
}

void RelayLink::on_ok() {
    if (auth_pending_ && msg_.ok_id == auth_id_) {
        auth_pending_ = auth_due_;  // a newer challenge waits for its answer
        authed_ = msg_.ok_accepted;
        if (!authed_) {
            LOG_WARN("relay %s: refused our AUTH: %s", url_.c_str(), msg_.text.c_str());
            last_error_ = "AUTH refused: " + msg_.text;
        } else {
            // Subscriptions the relay closed for want of AUTH go again now.
            resubscribe_at_ms_ = 0;
            watch_retry_at_ms_ = 0;
        }
        for (PublishQueue::Entry& o : queue_) {
            o.wait_auth = false;
        }
        wake();
        return;
    }
    PublishQueue::iterator it = queue_.find(msg_.ok_id);
    if (it == queue_.end()) {
        return;
    }
    const RelayPoolConfig& c = pool_->config().relay_pool;
    auto why = [this] { return url_ + ": " + msg_.text; };  // only a refusal needs it
    switch (ok_action(msg_.ok_accepted, msg_.prefix)) {
        case OkAction::delivered:
            settle(it, true, "");
            return;
        case OkAction::auth_then_retry:
            if (!challenge_.empty() && pool_->config().relay_pool.auth && !authed_) {
                it->in_flight = false;
                it->wait_auth = auth_pending_;
                it->next_send_ms = 0;
                wake();
                return;
            }
            [[fallthrough]];
        case OkAction::retry:
            if (it->sends >= static_cast<unsigned>(c.publish_attempts_max)) {
                settle(it, false, why());
                return;
            }
            it->in_flight = false;
            it->next_send_ms = now_ms() + publish_retry_delay_ms(it->sends + 1);
            return;
        case OkAction::give_up:
            LOG_WARN("relay %s: refused event %s (kind %u): %s", url_.c_str(),
                     short_id(it->pub->id).c_str(), it->pub->kind, msg_.text.c_str());
            settle(it, false, why());
            return;
    }
}

void RelayLink::on_closed() {
    if (msg_.subid == watch_sub_id_) {
        on_watch_closed();
        return;
    }
    if (msg_.subid != sub_id_) {
        return;
    }
    sub_active_ = false;
    using P = proto::MachinePrefix;
    if (msg_.prefix == P::blocked || msg_.prefix == P::restricted) {
        sub_refused_ = true;
        LOG_WARN("relay %s: refused our subscription: %s", url_.c_str(), msg_.text.c_str());
        set_state(state_.c_str(), "subscription refused: " + msg_.text);
        return;
    }
    if (msg_.prefix == P::auth_required && auth_pending_) {
        wake();  // the REQ goes again once AUTH is accepted
        return;
    }
    // An auth-required: with no AUTH under way (answering is off, the relay refused ours, or it
    // asks again after accepting it) waits like any other CLOSED: at once, it looped REQ/CLOSED
    // as fast as the relay answered. An accepted AUTH sends it again at once (on_ok).
    LOG_INFO("relay %s: closed our subscription (%s); subscribing again", url_.c_str(),
             msg_.text.c_str());
    resubscribe_at_ms_ = now_ms() + resubscribe_delay_ms;
    wake();
}

// The relay ended the deletion watch: refused for good on this connection (blocked:,
// restricted:), or sent again later (after the AUTH it asked for, or resubscribe_delay_ms).
void RelayLink::on_watch_closed() {
    watch_active_ = false;
    using P = proto::MachinePrefix;
    if (msg_.prefix == P::blocked || msg_.prefix == P::restricted) {
        watch_refused_ = true;
        LOG_WARN(
            "relay %s: refused the watch for cancellations (deletions without a `k` tag are "
            "not seen there): %s",
            url_.c_str(), msg_.text.c_str());
        return;
    }
    watch_sent_rev_ = 0;
    watch_retry_at_ms_ =
        now_ms() + (msg_.prefix == P::auth_required && auth_pending_ ? 0 : resubscribe_delay_ms);
    wake();
}

// A challenge is answered by the writer (send_due): at most one signature per
// auth_answer_interval_ms, for the latest challenge, however many arrive.
void RelayLink::on_auth_challenge() {
    challenge_ = msg_.text;
    auth_challenges_++;
    if (!pool_->config().relay_pool.auth) {
        std::uint64_t held = 0;
        if (auth_off_log_.allow(now_ms(), held)) {
            LOG_WARN("relay %s: asks for NIP-42 AUTH but relay_pool.auth is false", url_.c_str());
        }
        return;
    }
    auth_due_ = true;
    auth_pending_ = true;
    authed_ = false;
    if (now_ms() >= auth_next_ms_) {
        wake();  // else housekeeping wakes the writer when the interval has passed
    }
}

void RelayLink::build_auth() {
    auth_due_ = false;
    proto::AuthEvent auth;
    auth.relay_url = url_;
    auth.challenge = challenge_;
    proto::Event ev;
    auth.build(reactor::unix_ms() / 1000, pool_->hub().keys(), proto::csprng(), ev);
    auth_id_ = ev.id();
    auth_frame_.clear();
    proto::write_client_auth(auth_frame_, ev);
    auth_pending_ = true;
    authed_ = false;
    auth_signed_++;
    if (auth_signed_ == 10 || auth_signed_ % 100 == 0) {
        LOG_WARN(
            "relay %s: %llu AUTH challenges on this connection, %llu answered (at most one "
            "per %lld ms)",
            url_.c_str(), static_cast<unsigned long long>(auth_challenges_),
            static_cast<unsigned long long>(auth_signed_),
            static_cast<long long>(auth_answer_interval_ms));
    }
}

void RelayLink::on_notice() {
    std::uint64_t held = 0;
    if (!notice_log_.allow(now_ms(), held)) {
        return;
    }
    log_notices_held(held);
    LOG_INFO("relay %s: NOTICE %.200s", url_.c_str(), msg_.text.c_str());
}

void RelayLink::log_notices_held(std::uint64_t held) const {
    if (held > 0) {
        LOG_INFO("relay %s: %llu NOTICE(s) not logged (more than %u a minute)", url_.c_str(),
                 static_cast<unsigned long long>(held), notice_log_lines_max);
    }
}

// Counted in this shard's intake (`unreadable`) and logged within unreadable_log_.
void RelayLink::note_unreadable(std::string_view why, std::uint64_t n, std::size_t bytes) {
    unreadable_ += n;
    revision_++;  // the status board shows it within pool_status_refresh_ms
    if (Intake* in = pool_->hub().here().intake) {
        in->count(IntakeReason::unreadable, n);
    }
    std::uint64_t held = 0;
    if (!unreadable_log_.allow(now_ms(), held)) {
        return;
    }
    LOG_WARN(
        "relay %s: dropped an unreadable message (%.*s, %zu bytes; the bound is %zu); %llu "
        "more not logged since the last report, %llu in all",
        url_.c_str(), static_cast<int>(why.size()), why.data(), bytes, link_message_bytes_max,
        static_cast<unsigned long long>(held + n - 1),
        static_cast<unsigned long long>(unreadable_));
}

void RelayLink::settle(PublishQueue::iterator it, bool delivered, std::string reason) {
    PublicationRef pub = it->pub;
    queue_.erase(it);
    update_pressure();
    if (delivered) {
        events_published_++;
        revision_++;
    }
    if (pub->kind == proto::handler_announcement_kind) {
        if (delivered) {
            LOG_INFO("relay %s: NIP-89 announcement published (accepted)", url_.c_str());
        } else {
            LOG_WARN("NIP-89 announcement not published: %s", reason.c_str());
        }
    }
    if (queue_.empty()) {
        idle_since_ms_ = now_ms();
    }
    pool_->report(pub, delivered, std::move(reason));
}

// Expired publications are given up; unanswered sends go again (or are given up).
void RelayLink::housekeeping(std::int64_t now) {
    const RelayPoolConfig& c = pool_->config().relay_pool;
    bool due = false;
    for (auto it = queue_.begin(); it != queue_.end();) {
        auto next = std::next(it);
        if (now - it->pub->created_ms > c.publish_ttl_ms) {
            settle(it, false,
                   url_ + ": not acknowledged within " + std::to_string(c.publish_ttl_ms / 1000) +
                       " s" + (connected_ ? "" : " (" + last_error_ + ")"));
        } else if (it->in_flight && now >= it->ok_deadline_ms) {
            if (it->sends >= static_cast<unsigned>(c.publish_attempts_max)) {
                settle(it, false,
                       url_ + ": no OK within " + std::to_string(c.publish_ok_timeout_ms) + " ms");
            } else {
                it->in_flight = false;
                it->next_send_ms = now;
                due = true;
            }
        } else if (!it->in_flight && it->next_send_ms <= now) {
            due = true;
        }
        it = next;
    }
    log_notices_held(notice_log_.flush(now));
    if (std::uint64_t held = unreadable_log_.flush(now)) {
        LOG_WARN("relay %s: %llu more unreadable message(s) dropped, %llu in all", url_.c_str(),
                 static_cast<unsigned long long>(held),
                 static_cast<unsigned long long>(unreadable_));
    }
    if (due || (auth_due_ && connected_ && now >= auth_next_ms_) ||
        (want_sub_ && !sub_active_ && connected_ && now >= resubscribe_at_ms_)) {
        wake();
    }
}

}  // namespace pylon::engine
