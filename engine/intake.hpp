// Intake: the front of the provider on every shard (service_order::intake: it starts last and
// stops first). On the shard of the relay link that received a request it runs the prescreen
// (IntakeScreen: kind, created_at window, targeting) before the request is routed; on the
// request's owner shard it runs the rest (dedup, id, signature, rate limits, decryption,
// params, prompt, price, backend and model, memory admission; the per-customer rate is decided
// node-wide by the shard that owns the customer's bucket, hash(pubkey) % N, asked by message
// when that is another shard) and then either drops the request
// (counted), refuses it with an `error` feedback that says why (remembered in the store so the
// copy from the next relay, or after a restart, is not answered again; at most
// refusal_feedback_per_second of these), or admits it: a queue place is reserved on the job's
// backend (beyond the bound: refused, "queue full"), the job is written `pending` and its id
// remembered in one store transaction (a duplicate there is dropped), and only then handed to
// the JobRunner, which sends the first feedback. A store error there is retried
// (store_retries_max, backing off) with the queue place kept; if the row still cannot be
// written the customer gets an `error` feedback saying so and the id is forgotten (nothing is
// dropped silently).
//
// While intake is paused (a relay's publish queue is busy: PublishPressure; the relay links
// CLOSE their job subscriptions) a request already past the prescreen is held, up to [limits]
// held_requests_max per shard, and admitted on resume; beyond that bound it is left for the
// relay to send again, as if never read: the dedup cache forgets it and its relay link's cursor
// is held back to it (RelayPool::mark_cursor), so the resume's REQ fetches it. Nobody is told
// "busy" (that feedback could not be queued while the relay is busy anyway). The persisted
// cursor stays at or before every request held or left, so a restart fetches them too.
//
// At start each shard fills its DedupCache with the request ids the store saw within the
// acceptance window; when the last shard's intake is open, every relay link subscribes, the
// unfinished jobs of the previous run are reconciled (young ones run again, old ones get an
// `error` feedback), and shard 0 serves the `Intake` control request (the counters of every
// shard, by reason). The memory monitor's admission flag (StatusBoard::admitting) is read per
// request. Its shard only.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/intake_counters.hpp"
#include "engine/intake_screen.hpp"
#include "engine/provider_hub.hpp"
#include "engine/publication.hpp"
#include "engine/rate_limiter.hpp"
#include "engine/service.hpp"
#include "engine/store_db.hpp"
#include "reactor/cancel.hpp"
#include "reactor/gate.hpp"

namespace pylon::engine {

inline constexpr std::size_t dedup_entries_max = 100'000;  // per shard; the store is exact
// A job's row that the store could not write is tried again this many times, the first after
// store_retry_first_ms, each wait twice the last (1 + 2 + 4 + 8 s), before its customer is told.
inline constexpr int store_retries_max = 4;
inline constexpr std::int64_t store_retry_first_ms = 1000;
// The start-up reconcile is tried again until it succeeds, the wait doubling up to this.
inline constexpr std::int64_t reconcile_retry_max_ms = 60000;

class Intake final : public Service {
  public:
    Intake(ServiceContext& context, std::shared_ptr<ProviderHub> hub);
    ~Intake() override;

    reactor::Task<Status> start() override;
    reactor::Task<void> stop() override;
    void reload(const Config& next) override;

    // On the relay link's shard: counts the request; IntakeReason::received to route it on.
    IntakeReason prescreen(const proto::Event& event);
    // On the owner shard: the request as received from relay_url (read synchronously).
    void on_event(const proto::Event& event, std::string_view relay_url);
    // A job the previous run left unfinished: run again, or answer that it was abandoned.
    void rerun(const UnfinishedJob& unfinished);
    void abandon(const UnfinishedJob& unfinished);

    // On the shard that holds `customer`'s rate bucket: true when the request may go on.
    bool take_pubkey_token(const RateLimiter::Key& customer);
    void count(IntakeReason reason, std::uint64_t n = 1) noexcept { counters_.add(reason, n); }
    // Intake paused or resumed (RelayPool::apply_pause): on resume, admits the held requests.
    void apply_pause(bool paused);
    std::size_t held() const noexcept { return held_.size(); }
    const IntakeCounters& counters() const noexcept { return counters_; }

  private:
    static reactor::Task<void> admit(Intake* self, std::unique_ptr<Job> job);
    // Writes the job's pending row, retrying store errors (store_retries_max).
    static reactor::Task<Result<AcceptOutcome>> record(Intake* self, const Job* unshared);
    // The row could not be written: counted, forgotten, the customer told why.
    void not_recorded(const Job& job, const std::string& why);
    // Paused: held for the resume while there is room, else left for the relay to send again.
    void hold_or_leave(std::unique_ptr<Job> job);
    // Asks the customer's rate shard, then refuses or admits as screened (or drops).
    static reactor::Task<void> check_rate(Intake* self, Screened s, unsigned rate_shard);
    static reactor::Task<void> refuse(Intake* self, std::unique_ptr<Job> job, IntakeReason reason,
                                      std::string message);
    // Fails a restored job's row; answers its customer when the request could be read.
    // pending_seq: the job's pending_results row (0: none), deleted with the failed row.
    static reactor::Task<void> fail_row(Intake* self, std::string job_id, std::int64_t pending_seq,
                                        std::string reason, std::unique_ptr<Job> job);
    static reactor::Task<void> reconcile(Intake* self);
    static reactor::Task<std::string> intake_command(void* context, proto::ControlRequest req);
    reactor::Task<void> fill_dedup();
    std::unique_ptr<Job> restore(const UnfinishedJob& unfinished, Screened* outcome);
    void send_error(const Job& job, std::string_view message, PublishClass cls);
    bool memory_ok() const noexcept;

    ServiceContext& context_;
    std::shared_ptr<ProviderHub> hub_;
    std::unique_ptr<IntakeScreen> screen_;
    RateLimiter refusal_budget_;
    bool refusals_silent_ =
        false;  // refusal_feedback_per_second = 0: none (the limiter's 0 is "off")
    IntakeCounters counters_;
    proto::JsonReader reader_;
    bool open_ = false;
    std::size_t held_max_ = 0;                // [limits] held_requests_max
    std::vector<std::unique_ptr<Job>> held_;  // while paused, at most held_max_
    reactor::CancelSource stop_;  // cancelled by stop(): ends the waits between store retries
    reactor::Gate gate_;
};

}  // namespace pylon::engine
