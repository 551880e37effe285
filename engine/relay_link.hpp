// RelayLink: one WebSocket connection to one relay, owned by shard hash(url) % N (or, for a
// temporary link to a request's `relays` entry, by the shard that needed it). It connects,
// reconnects after any failure with ReconnectBackoff (1 s doubling to 60 s with jitter, reset
// after a stable minute), answers NIP-42 AUTH challenges with a kind-22242 event (at most one per
// auth_answer_interval_ms, for the latest challenge; and sends again what the relay refused with
// `auth-required:` once the relay accepted it), and keeps the
// job subscription: after every (re)connect, once intake is open, one REQ with the served job
// kinds since the last event seen minus since_margin_s (never older than request_age_max_s) and
// kind-5 deletions that carry a `k` tag of a served kind. CLOSED is answered by subscribing
// again (after authenticating for auth-required:, never for blocked: or restricted:).
//
// Publishing: publications wait in a PublishQueue (bounded by publish_queue_max; progress
// feedback gives way first, terminal events of accepted jobs never do) until sent; each send
// waits publish_ok_timeout_ms for the relay's OK, and OkPolicy decides: delivered, retry with
// backoff (up to publish_attempts_max sends), again after AUTH, or give up (logged with the
// relay's reason). An event not delivered within publish_ttl_ms is given up too (also while
// disconnected). Each outcome of a tracked publication is reported to its owner shard. A
// configured relay's link that is connected and whose queue is busy() counts in the hub's
// busy-link count, which makes intake refuse new jobs until the queue drains.
//
// Received messages are parsed where they landed (the WebSocket's padded buffer) into one
// reused RelayMessage, and EVENTs of our subscription go to RelayPool::on_event (routing). A
// message the link cannot read (over link_message_bytes_max: skipped by the WebSocket, which
// stays connected; bad JSON; an event out of bounds) is counted (intake `unreadable`) and logged
// at WARN, like NOTICEs at INFO, within a LogBudget per link.
// State, last error and counters are read by the pool for `status` and `Relays`.
// Its shard only. start() spawns the connection loop into the pool's gate; stop() ends it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/log_budget.hpp"
#include "engine/publication.hpp"
#include "engine/publish_queue.hpp"
#include "engine/reconnect_backoff.hpp"
#include "engine/subscription_cursor.hpp"
#include "net/websocket.hpp"
#include "proto/control_protocol.hpp"
#include "proto/json_reader.hpp"
#include "proto/received_limits.hpp"
#include "proto/relay_message.hpp"
#include "reactor/cancel.hpp"
#include "reactor/rng.hpp"
#include "reactor/sync.hpp"

namespace pylon::engine {

class RelayPool;

inline constexpr std::int64_t link_tick_ms = 500;           // reader wake-up for housekeeping
inline constexpr std::int64_t resubscribe_delay_ms = 5000;  // after a CLOSED
// Messages above it are skipped (counted `unreadable`, logged): see proto::received_limits().
inline constexpr std::size_t link_message_bytes_max = proto::received_message_bytes_max;
// Answers to NIP-42 AUTH challenges: at most one signature per this interval (the latest
// challenge wins), so a relay streaming challenges costs a few signatures per second.
inline constexpr std::int64_t auth_answer_interval_ms = 1000;
// NOTICEs and unreadable messages logged per relay link and window; the rest are counted and
// reported in one line.
inline constexpr std::uint32_t notice_log_lines_max = 5;
inline constexpr std::uint32_t unreadable_log_lines_max = 3;
inline constexpr std::int64_t link_log_window_ms = 60000;
// Messages a link reads in a row before it lets the shard's other work run (a relay that floods
// must not hold the shard for a whole receive backlog).
inline constexpr std::uint32_t link_messages_per_turn_max = 256;
inline constexpr std::int64_t temp_connect_attempts_max = 2;

class RelayLink {
  public:
    // index: the relay's position in the pool's configured list, or -1 for a temporary link.
    RelayLink(RelayPool* pool, std::string url, int index, std::int64_t cursor);
    RelayLink(const RelayLink&) = delete;
    RelayLink& operator=(const RelayLink&) = delete;
    ~RelayLink();

    const std::string& url() const noexcept { return url_; }
    int index() const noexcept { return index_; }
    bool temporary() const noexcept { return index_ < 0; }

    void start();
    reactor::Task<void> stop();
    // Queues `pub` for this relay; reports a failure at once when the queue is full.
    void enqueue(PublicationRef pub);
    // Intake opened or resumed (subscribe on every connection, from the cursor) or is closing
    // or paused (CLOSE the subscription).
    void set_subscribed(bool on);
    // True while publications are waiting or unacknowledged.
    bool busy() const noexcept { return !queue_.empty(); }
    // Busy, and connected, connecting, or due to reconnect before deadline_ms (monotonic): what
    // the pool's stop waits for. A link whose reconnect backoff ends later cannot deliver before
    // the stop's deadline, so waiting for it only delays the exit.
    bool flushing(std::int64_t deadline_ms) const noexcept {
        return busy() && (state_ != "backoff" || backoff_until_ms_ < deadline_ms);
    }
    const PublishQueue& queue() const noexcept { return queue_; }
    // A temporary link that had nothing to do since `since_ms` (monotonic), or -1.
    std::int64_t idle_since_ms() const noexcept { return idle_since_ms_; }
    bool finished() const noexcept { return finished_; }

    // How far this relay's job requests were read; the pool persists `cursor().durable()`.
    const SubscriptionCursor& cursor() const noexcept { return cursor_; }
    void advance_cursor(std::int64_t created_at) noexcept { cursor_.advance(created_at); }
    // A request this relay delivered while intake was paused, left unread: the next REQ starts
    // no later than its created_at, so the relay sends it again (dedup stops a second admission).
    void defer(std::int64_t created_at) noexcept { cursor_.defer(created_at); }
    // A request this relay delivered while intake was paused, held in memory for the resume:
    // the persisted cursor stays at or before it until then.
    void hold(std::int64_t created_at) noexcept { cursor_.hold(created_at); }
    // While paused: true for the first `budget` requests this link routes on during this pause
    // (the owner's intake holds them), false after (they are deferred).
    bool pass_while_paused(std::size_t budget) noexcept {
        if (passed_while_paused_ >= budget) {
            return false;
        }
        passed_while_paused_++;
        return true;
    }
    // A request this relay delivered that the owner shard's intake read and then left for the
    // relay to send again (paused, held buffer full): deferred like one left unread; if the
    // resume's REQ went out before this news arrived, the link subscribes again (the new REQ
    // replaces the live one) so the relay sends it.
    void leave(std::int64_t created_at);
    // The requests whose kind-5 deletions this relay should send, whether or not they carry a
    // `k` tag: a second subscription ({"kinds":[5],"#e":[ids]}) sent again when the set changes
    // and CLOSEd when it empties (RelayPool::set_watched). Kept while intake is paused: running
    // jobs can still be cancelled.
    void watch(std::shared_ptr<const std::vector<proto::EventId>> ids);
    proto::RelayInfo info() const;
    std::uint64_t revision() const noexcept { return revision_; }  // changes with info()

  private:
    static reactor::Task<void> run(RelayLink* self);
    reactor::Task<void> session(net::WebSocket* ws);
    static reactor::Task<void> writer(RelayLink* self, net::WebSocket* ws,
                                      reactor::CancelToken token);
    reactor::Task<Status> send_due(net::WebSocket* ws);
    reactor::Task<bool> wait_backoff(std::int64_t delay_ms);
    bool on_message(proto::PaddedJson json);
    void on_ok();
    void on_closed();
    void on_watch_closed();
    void on_auth_challenge();
    void build_auth();
    void on_notice();
    // "N NOTICE(s) not logged" when N > 0.
    void log_notices_held(std::uint64_t held) const;
    void note_unreadable(std::string_view why, std::uint64_t n, std::size_t bytes);
    void settle(PublishQueue::iterator it, bool delivered, std::string reason);
    void housekeeping(std::int64_t now_ms);
    void set_state(const char* state, std::string error = {});
    void build_req();
    void wake() { work_.set(); }
    void update_pressure();

    RelayPool* pool_;
    std::string url_;
    int index_;
    SubscriptionCursor cursor_;
    ReconnectBackoff backoff_;
    reactor::Rng rng_;
    // Connection state.
    std::string state_ = "disconnected";
    std::int64_t backoff_until_ms_ = 0;  // monotonic: the next connect attempt, while in backoff
    std::string last_error_;
    std::int64_t connected_since_ms_ = 0;  // unix ms
    bool connected_ = false;
    bool want_sub_ = false;     // intake is open
    bool sub_active_ = false;   // a REQ was sent on this connection
    bool sub_live_ = false;     // its EOSE arrived
    bool sub_refused_ = false;  // CLOSED blocked:/restricted:
    std::int64_t resubscribe_at_ms_ = 0;
    bool need_close_ = false;  // send CLOSE for the subscription
    std::string challenge_;
    std::string auth_frame_;  // to send
    proto::EventId auth_id_{};
    bool authed_ = false;
    bool auth_pending_ = false;          // a challenge came: the REQ waits for the relay's OK
    bool auth_due_ = false;              // challenge_ is not answered yet
    std::int64_t auth_next_ms_ = 0;      // no AUTH signed before (monotonic)
    std::uint64_t auth_challenges_ = 0;  // received on this connection
    std::uint64_t auth_signed_ = 0;      // answers signed on this connection
    std::string sub_id_;
    std::string req_frame_;
    // The deletion watch (watch()): the ids wanted, their revision, the revision sent on this
    // connection (0: none), whether a REQ is open, and a relay's refusal (until reconnect).
    std::string watch_sub_id_;
    std::shared_ptr<const std::vector<proto::EventId>> watch_ids_;
    std::uint64_t watch_rev_ = 0;
    std::uint64_t watch_sent_rev_ = 0;
    bool watch_active_ = false;
    bool watch_refused_ = false;
    std::int64_t watch_retry_at_ms_ = 0;
    std::size_t passed_while_paused_ = 0;  // requests routed on during this pause
    // Outgoing.
    PublishQueue queue_;
    std::vector<PublicationRef> batch_;  // send_due's scratch
    bool pressing_ = false;  // counted in the hub's busy links (connected and queue busy)
    std::int64_t idle_since_ms_ = -1;
    // Receiving.
    proto::JsonReader reader_;
    proto::RelayMessage msg_;
    std::uint64_t skipped_seen_ = 0;  // the WebSocket's messages_skipped() already counted
    LogBudget notice_log_{notice_log_lines_max, link_log_window_ms};
    LogBudget unreadable_log_{unreadable_log_lines_max, link_log_window_ms};
    LogBudget auth_off_log_{1, link_log_window_ms};
    // Counters.
    std::uint64_t connects_ = 0;
    std::uint64_t disconnects_ = 0;
    std::uint64_t events_received_ = 0;
    std::uint64_t events_published_ = 0;
    std::uint64_t progress_dropped_ = 0;  // progress feedback replaced or evicted
    std::uint64_t refused_ = 0;           // refused for room (courtesy; terminal: a bug)
    std::uint64_t unreadable_ = 0;        // messages dropped unreadable (also in intake's)
    std::uint64_t revision_ = 0;
    reactor::AsyncEvent work_;
    reactor::CancelSource stop_;
    reactor::CancelSource* session_cancel_ = nullptr;
    bool stopping_ = false;
    bool finished_ = false;
    reactor::AsyncEvent done_;
};

}  // namespace pylon::engine
