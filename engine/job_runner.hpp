// JobRunner: runs the jobs its shard owns (a job lives on shard hash(request id) % N), a
// service on every shard (service_order::jobs). A job accepted by Intake (already `pending` in
// the store) waits for a backend slot (BackendSlots: leases from the registry's SlotLender,
// bounded queue), then: `processing` feedback (at once, or only when the job still runs after
// processing_feedback_delay_ms) and, at the same moment, the row marked processing; the generation
// streamed from this shard's own client of that backend (one HTTP pool per backend per shard);
// `partial` feedback with the text so far at most every partial_interval_ms; the result
// (kind + 1000), published to the job's reply relays and ours and tracked until one relay
// accepts it (the signed result is recorded in the store before it is published: a job whose
// result is out is never generated again after a restart, its result is published again, the
// same event); then `success` feedback and the `completed` row with backend, model, tokens and
// timings (queue, first token, total). Every other ending is an `error` feedback plus a
// `failed` row with the reason (the backend's own words, a timeout, "queue full", the node
// shutting down), or, for a kind-5 deletion by the requester, `cancelled` (the backend stream
// is closed). The text kept is bounded by output_bytes_max (the stream is closed beyond it).
// While it waits for its slot a job holds only its Job, its map entry and one small coroutine
// frame (the slot wait): the coroutines that generate, deliver and record start once the slot
// is granted or refused, so a deep queue stays cheap (bench/README.md, memory per queued job).
//
// A job for a spawned llama-server that is loading its model (starting, restarting: the
// directory's BackendView::waitable()) is told so at once (`processing` feedback "waiting for
// llama-server to load the model") and waits like any other; it runs once the server's slots
// appear, fails after [backends.llamacpp] job_wait_ms if the load takes longer, and fails at
// once when a new directory says the server is down (failed, stopped).
// A sweep every second fails jobs that waited longer than queue_wait_max_ms (job_wait_ms while
// their llama-server loads), gives up on result deliveries past their deadline and returns idle
// slot leases. stop(): running jobs get
// shutdown_grace_ms to finish, the rest fail with feedback; idle leases go back.
//
// Its shard only; other shards reach it through the hub with messages.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "engine/backend.hpp"
#include "engine/backend_directory.hpp"
#include "engine/backend_slots.hpp"
#include "engine/control_commands.hpp"
#include "engine/heap_trim.hpp"
#include "engine/job.hpp"
#include "engine/latency_histogram.hpp"
#include "engine/provider_hub.hpp"
#include "engine/publication.hpp"
#include "engine/response_builder.hpp"
#include "engine/service.hpp"
#include "engine/store_db.hpp"
#include "reactor/gate.hpp"
#include "reactor/sync.hpp"

namespace pylon::engine {

inline constexpr std::int64_t runner_sweep_interval_ms = 1000;
// The relays are asked for the kind-5 deletions of the jobs open this long or longer (with or
// without a `k` tag; the `#k` subscription sees only those with one), at most this many ids
// node-wide (the oldest jobs first; each shard's share is the count over the shards). A job
// that ends sooner needs no cancel; a deletion published before its id was asked for is still
// sent, from the relay's store, when the watch's REQ arrives.
inline constexpr std::int64_t deletion_watch_after_ms = 1000;
inline constexpr std::size_t deletion_watch_ids_max = 256;
inline constexpr std::uint64_t deletion_watch_refresh_sweeps = 30;  // an unchanged list, again
inline constexpr std::int64_t slot_linger_ms = 2000;
inline constexpr std::int64_t result_delivery_slack_ms = 5000;
// At shutdown, once the grace is over: how long a published result still waits for its OK.
inline constexpr std::int64_t stop_delivery_slack_ms = 1000;
// A job's final row that the store refused (a lock held past busy_timeout_ms, a full disk) is
// written again end_write_retry_first_ms later, the wait doubling up to end_write_retry_max_ms,
// for up to end_write_retry_total_ms (a stopping node: until its grace ends). Meanwhile the job
// keeps its place among the shard's open jobs; its slot is already free.
inline constexpr std::int64_t end_write_retry_first_ms = 500;
inline constexpr std::int64_t end_write_retry_max_ms = 15000;
inline constexpr std::int64_t end_write_retry_total_ms = 120000;
inline constexpr const char* waiting_for_load_text = "waiting for llama-server to load the model";

// How a job ended (before it is recorded).
struct JobEnd {
    enum class Kind : std::uint8_t { completed, failed, cancelled };
    Kind kind = Kind::failed;
    std::string reason;
    std::string text;  // completed: the output
    std::string result_event_id;
    JobMetrics metrics;
    std::int64_t last_chunk_ns = 0;  // completed: when the final chunk was read (token latency)
};

class JobRunner final : public Service {
  public:
    JobRunner(ServiceContext& context, std::shared_ptr<ProviderHub> hub);
    ~JobRunner() override;

    reactor::Task<Status> start() override;
    reactor::Task<void> stop() override;
    // [backends.*] request_timeout_ms for the generations started from now on.
    void reload(const Config& next) override;

    // -- From Intake (this shard) --
    const BackendDirectory* directory() const noexcept { return directory_.get(); }
    // Holds a queue place for a job about to be written to the store; false when full.
    bool reserve(BackendKind kind);
    // The same for a job accepted before a restart (Intake::rerun): never refused for room (the
    // previous run granted its place; the queue may hold that many more than job_queue_max until
    // they drain), only while stopping.
    bool reserve_rerun(BackendKind kind);
    void unreserve(BackendKind kind);
    // Takes an accepted job (its reservation and its `pending` row exist) and runs it.
    void start_job(std::unique_ptr<Job> job);
    // Takes a rerun whose result was signed before the restart (job->signed_result): publishes
    // that event again, waits for a relay's OK, `success`, the completed row; no backend slot,
    // no reservation, no generation.
    void resend_result(std::unique_ptr<Job> job);
    // A kind-5 deletion by `author` names `request`: cancels the job if it is ours and theirs.
    bool cancel_job(const proto::EventId& request, const proto::PublicKey& author);
    std::size_t jobs() const noexcept { return jobs_.size(); }

    // -- From relay links (any shard, by message) --
    void publish_outcome(std::uint64_t ticket, bool delivered, std::string reason);

    // -- From the registry (by message) --
    void set_directory(std::shared_ptr<const BackendDirectory> directory);
    BackendSlots& slots(BackendKind kind) noexcept { return *slots_[backend_slot_index(kind)]; }
    // {slots in use, jobs waiting} for `status`.
    std::array<std::uint32_t, 2> slot_figures(BackendKind kind) const noexcept;

    // Publishes a response (no tracking); false when there is nowhere to send it.
    bool publish(PublicationRef pub);
    ResponseBuilder& responses() noexcept { return responses_; }

    // Added latency per backend chunk on this shard (ns): from the chunk's read to its work
    // done (text appended and, when due, the `partial` feedback or the result event handed to
    // the relay pool). Read and reset by the `Metrics` control request.
    const LatencyHistogram& token_latency() const noexcept { return token_latency_; }
    void reset_token_latency() noexcept { token_latency_.reset(); }

  private:
    struct Uplink;
    struct Delivery {
        reactor::AsyncEvent done;
        bool delivered = false;
        unsigned remaining = 0;
        std::int64_t deadline_ms = 0;
        std::string reasons;
    };
    struct IdHash {
        std::size_t operator()(const proto::EventId& id) const noexcept;
    };

    // The `processing` feedback of one job: sent when the job starts, or (with
    // processing_feedback_delay_ms > 0) by a timer unless the generation ended first.
    struct ProcessingNotice {
        reactor::CancelSource timer;
        bool sent = false;
        bool settled = false;  // the generation ended: the timer must not touch the job
        std::int64_t started_unix_ms = 0;
    };
    struct NoticeSettler {
        std::shared_ptr<ProcessingNotice> notice;
        ~NoticeSettler();
    };

    void launch(std::unique_ptr<Job> job);
    void forget(Job* job);  // drops the ended job (its Job is gone after this)
    void count_jobs();      // tells the store how many jobs are open here (group commit)
    static reactor::Task<void> run(JobRunner* self, Job* job);
    static reactor::Task<void> resend(JobRunner* self, Job* job);
    static reactor::Task<void> finish(JobRunner* self, Job* job, BackendSlots::Acquired got);
    JobEnd refused(Job* job, BackendSlots::Acquired got) const;
    std::shared_ptr<ProcessingNotice> notice_processing(Job* job, std::int64_t started_unix_ms);
    void send_processing(Job* job, ProcessingNotice* notice);
    static reactor::Task<void> mark_processing(JobRunner* self, std::string id, std::string model,
                                               std::int64_t at_ms);
    static reactor::Task<void> processing_timer(JobRunner* self, Job* job,
                                                std::shared_ptr<ProcessingNotice> notice,
                                                std::int64_t delay_ms);
    reactor::Task<JobEnd> execute(Job* job);  // once its slot is granted
    reactor::Task<JobEnd> generate(Job* job, std::int64_t queued_at_ms);
    reactor::Task<bool> deliver_result(Job* job, JobEnd* end);
    reactor::Task<bool> publish_result(Job* job, std::shared_ptr<Publication> pub, JobEnd* end);
    reactor::Task<void> record(Job* job, JobEnd end);
    // The store write of a job's end, tried again as end_write_retry_* say; the last status.
    reactor::Task<Status> write_end(const Job* job, std::function<Status(StoreDb&)> write);
    static reactor::Task<void> sweep_loop(JobRunner* self);
    void sweep(std::int64_t now_ms);
    // The ids of this shard's jobs open deletion_watch_after_ms or longer, sent to every shard's
    // RelayPool (set_watched) when they change.
    void share_watch(std::int64_t now_ms);
    JobEnd ended(Job* job, JobEnd::Kind kind, std::string reason) const;
    // `kind`'s entry in the current directory, or nullptr.
    const BackendView* backend_view(BackendKind kind) const noexcept;
    void send_feedback(const Job& job, proto::FeedbackStatus status, std::string_view info,
                       std::string_view content);
    void note_chunk_done(std::int64_t received_ns) noexcept;
    static reactor::Task<std::string> metrics_command(void* context, proto::ControlRequest request);

    ServiceContext& context_;
    std::shared_ptr<ProviderHub> hub_;
    std::shared_ptr<const BackendDirectory> directory_;
    std::array<std::unique_ptr<Uplink>, backend_kinds_count> uplinks_;
    std::array<std::unique_ptr<BackendSlots>, backend_kinds_count> slots_;
    std::array<std::unique_ptr<Backend>, backend_kinds_count> clients_;
    std::array<std::uint32_t, backend_kinds_count> reserved_{};
    std::unordered_map<proto::EventId, std::unique_ptr<Job>, IdHash> jobs_;
    std::unordered_map<std::uint64_t, Delivery*> deliveries_;
    std::vector<proto::EventId> watch_shared_;  // share_watch's last list
    std::uint64_t watch_sweeps_ = 0;
    std::uint64_t next_ticket_ = 1;
    ResponseBuilder responses_;
    LatencyHistogram token_latency_;
    bool stopping_ = false;
    std::int64_t stop_deadline_ms_ = 0;  // the grace's end, once stopping_
    reactor::CancelSource stop_;
    reactor::Gate gate_;
    reactor::Gate sweeper_;
    IdleTrim idle_trim_;  // the shard's heap trim: two idle sweeps after a job ended
};

}  // namespace pylon::engine
