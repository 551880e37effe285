// RelaySim: the relay simulator of pylon-bench, a loopback WebSocket server on our reactor that
// speaks just enough NIP-01 to drive a node: it answers the node's REQ with EOSE and then feeds
// the pre-signed requests of a LoadGen on that subscription (at most `inflight` unanswered, at
// `rate_per_s` or as fast as the node takes them), OKs every EVENT the node publishes, matches
// each result (kind 6050) and feedback (kind 7000) to its request by the `e` tag, verifies every
// verify_every-th event it receives, and times each job from the send of its request to the
// arrival of its result. Measurement equipment, not a product relay: one shard (the caller's),
// the listening socket is the caller's (made before the reactor runs), connections and the
// subscription are its own. Every wait is bounded (subscribe, stall, send room).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/socket_stream.hpp"
#include "proto/client_message.hpp"
#include "proto/json_reader.hpp"
#include "reactor/cancel.hpp"
#include "reactor/gate.hpp"
#include "reactor/sync.hpp"
#include "reactor/task.hpp"
#include "tools/pylon_bench/load_gen.hpp"

namespace pylon::reactor {
class AcceptStream;
}

namespace pylon::bench {

inline constexpr std::uint32_t sim_inflight_max = 100'000;
inline constexpr std::size_t sim_connections_max = 16;
inline constexpr std::int64_t sim_linger_ms_max = 120000;  // serving after the last job

struct SimOptions {
    std::size_t warmup = 0;       // requests 0..warmup-1: sent first, not measured
    std::size_t jobs = 0;         // requests warmup..warmup+jobs-1: measured
    std::uint32_t inflight = 64;  // requests sent and not yet answered (result or error)
    double rate_per_s = 0;        // 0: as fast as the window allows
    unsigned verify_every = 16;   // verify 1 in N received events (0: none)
    std::int64_t subscribe_timeout_ms = 30000;
    std::int64_t stall_timeout_ms = 30000;        // no job finished for this long: the run fails
    std::int64_t progress_interval_ms = 200;      // on_progress cadence
    std::size_t out_bytes_max = 4 * 1024 * 1024;  // queued frames per connection
    std::size_t frame_bytes_max = 1024 * 1024;
};

// What the simulator saw. Counts are over the whole run (warm-up included) except the
// latencies, which are the measured jobs' (µs, in completion order).
struct SimStats {
    std::vector<std::int64_t> latency_us;
    std::size_t measured_done = 0;
    std::size_t measured_failed = 0;
    std::size_t warmup_failed = 0;
    double measured_seconds = 0;
    std::uint64_t results = 0;
    std::uint64_t results_duplicate = 0;
    std::uint64_t feedback_processing = 0;
    std::uint64_t feedback_partial = 0;
    std::uint64_t feedback_success = 0;
    std::uint64_t feedback_error = 0;
    std::uint64_t feedback_other = 0;
    std::uint64_t other_events = 0;  // announcements and anything else the node published
    std::uint64_t wrong_e_tag = 0;   // a result or feedback naming no request of ours
    std::uint64_t verified = 0;
    std::uint64_t verify_failed = 0;
    std::uint64_t bad_messages = 0;  // client messages that did not parse
    std::uint64_t connections = 0;
    std::string first_error_feedback;  // content of the first `error` feedback
};

struct SimHooks {
    std::function<void()> on_subscribed;     // the node's job REQ arrived
    std::function<void()> on_measure_start;  // warm-up done, measured jobs about to be sent
    std::function<void()> on_measure_end;    // every measured job finished
    std::function<void(std::size_t done, std::size_t total)> on_progress;
};

class RelaySim {
  public:
    RelaySim(int listen_fd, const LoadGen* load, SimOptions options, SimHooks hooks);
    RelaySim(const RelaySim&) = delete;
    RelaySim& operator=(const RelaySim&) = delete;
    ~RelaySim();

    // Serves until every job finished and request_stop() was called (so the node can be stopped
    // while its relay still answers), or until the run failed; closes its connections before
    // returning. Call once, on the shard that will own the simulator.
    reactor::Task<Status> run();
    // Any thread: ends run() once the measured jobs are done (at most linger_ms_max later).
    void request_stop() noexcept { stop_requested_.store(true); }
    const SimStats& stats() const noexcept { return stats_; }

  private:
    struct Conn;
    enum class JobState : std::uint8_t { idle, sent, done, failed };

    reactor::Task<void> accept_loop();
    reactor::Task<void> serve(int fd);
    reactor::Task<void> write_loop(Conn* conn);
    reactor::Task<Status> handshake(Conn* conn);
    reactor::Task<void> watchdog();
    reactor::Task<Status> run_all();
    reactor::Task<Status> run_phase(std::size_t begin, std::size_t end);
    Status on_frames(Conn* conn);
    void on_message(Conn* conn, std::string_view text);
    void on_req(Conn* conn);
    void send_request(Conn* conn, std::size_t k);
    void resend_unanswered(Conn* conn);
    void on_event(Conn* conn);
    void finish_job(std::int64_t k, bool ok);
    void queue_frame(Conn* conn, std::string_view payload);
    void fail(std::string why);

    int listen_fd_;
    const LoadGen* load_;
    SimOptions options_;
    SimHooks hooks_;
    SimStats stats_;
    reactor::CancelSource stop_;
    reactor::Gate gate_;
    std::unique_ptr<reactor::AcceptStream> accept_;
    std::list<std::unique_ptr<Conn>> conns_;
    Conn* feed_conn_ = nullptr;  // the connection whose REQ we feed
    std::string subid_;
    reactor::AsyncEvent subscribed_;
    reactor::AsyncEvent sub_open_;  // cleared by the node's CLOSE (a paused intake), set by REQ
    reactor::AsyncSemaphore window_{1};
    reactor::AsyncEvent phase_done_;
    std::size_t phase_begin_ = 0;
    std::size_t phase_end_ = 0;
    std::size_t phase_finished_ = 0;
    std::vector<JobState> state_;
    std::vector<std::int64_t> sent_us_;
    std::int64_t last_finish_ms_ = 0;
    bool measuring_ = false;
    std::uint64_t events_seen_ = 0;
    std::optional<Error> failure_;
    std::atomic<bool> stop_requested_{false};
    proto::JsonReader reader_;
    proto::ClientMessage msg_;
    std::string frame_;  // scratch for building one outgoing frame
    std::string text_;   // scratch for one outgoing message
};

}  // namespace pylon::bench
