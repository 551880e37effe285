#include "engine/intake.hpp"

#include "engine/control_commands.hpp"
#include "engine/job_runner.hpp"
#include "engine/relay_pool.hpp"
#include "engine/status_board.hpp"
#include "engine/store.hpp"
#include "proto/hex.hpp"
#include "proto/received_limits.hpp"
#include "reactor/clock.hpp"
#include "reactor/log.hpp"
#include "reactor/ops.hpp"
#include "reactor/shard_set.hpp"

namespace pylon::engine {

using reactor::Message;
using reactor::Task;

namespace {

RateLimit refusal_rate(const Config& c, unsigned shards) {
    double per_s = static_cast<double>(c.provider.refusal_feedback_per_second) / shards;
    return RateLimit{per_s, std::max(1.0, per_s)};
}

RateLimiter::Key refusal_key() {
    return RateLimiter::Key{};
}

// The job's pending row (Intake::admit; runs on the store thread).
NewJob new_job_row(const Job& job) {
    NewJob row;
    row.id = job.job_id;
    row.request_id = proto::hex_encode(job.request.id);
    row.request_created_at = job.request.created_at;
    row.kind = job.request.kind;
    row.customer_pubkey = job.request.customer.hex();
    row.received_at_ms = job.received_unix_ms;
    row.price_msats = static_cast<std::int64_t>(job.price_msats);
    if (job.request.bid_msats) {
        row.bid_msats = static_cast<std::int64_t>(*job.request.bid_msats);
    }
    row.relay_hint = job.relay_url;
    row.reply_relays = job.reply_relays;
    row.request_json = job.request.request_json;
    row.encrypted = job.request.encrypted;
    return row;
}

// Every shard's pool subscribes (or closes its subscriptions).
void broadcast_subscribed(ProviderHub* hub, bool on) {
    for (unsigned t = 0; t < hub->shard_count(); t++) {
        reactor::post(t, Message([hub, on]() {
                          if (RelayPool* p = hub->here().pool) {
                              p->set_subscribed(on);
                          }
                      }));
    }
}

}  // namespace

Intake::Intake(ServiceContext& context, std::shared_ptr<ProviderHub> hub)
    : context_(context),
      hub_(std::move(hub)),
      refusal_budget_(refusal_rate(context.config(), context.shard_count()), RateLimit{0, 0}, 1),
      refusals_silent_(context.config().provider.refusal_feedback_per_second == 0),
      reader_(proto::received_limits()) {}

Intake::~Intake() = default;

Task<Status> Intake::start() {
    const Config& c = context_.config();
    screen_ = std::make_unique<IntakeScreen>(hub_->keys(), reactor::SystemClock::instance(),
                                             IntakePolicy::from(c, context_.shard_count()),
                                             dedup_entries_max);
    held_max_ = static_cast<std::size_t>(c.limits.held_requests_max);
    co_await fill_dedup();
    hub_->here().intake = this;
    open_ = true;
    if (reactor::Shard::current().id() == 0) {
        context_.control_commands().add("Intake", &Intake::intake_command, this);
    }
    if (hub_->note_intake_open()) {
        LOG_INFO("intake open on %u shard(s): subscribing on every relay", hub_->shard_count());
        broadcast_subscribed(hub_.get(), true);
        context_.board().set_provider_active(true);
        proto::DomainEvent online;
        online.kind = proto::EventKind::went_online;
        online.relays = c.relays;
        context_.emit(std::move(online));
        gate_.spawn(reconcile(this));
    }
    co_return Ok{};
}

Task<void> Intake::stop() {
    open_ = false;
    stop_.cancel();  // a job's row waiting to be written again gives up now
    if (hub_->note_intake_closing()) {
        broadcast_subscribed(hub_.get(), false);
        context_.board().set_provider_active(false);
    }
    if (reactor::Shard::current().id() == 0) {
        context_.control_commands().remove("Intake");
    }
    co_await gate_.close();
    hub_->here().intake = nullptr;
}

void Intake::reload(const Config& next) {
    screen_->set_policy(IntakePolicy::from(next, context_.shard_count()));
    refusal_budget_.reconfigure(refusal_rate(next, context_.shard_count()), RateLimit{0, 0});
    refusals_silent_ = next.provider.refusal_feedback_per_second == 0;
}

void Intake::apply_pause(bool paused) {
    if (paused || held_.empty() || !open_) {
        return;
    }
    std::vector<std::unique_ptr<Job>> held = std::move(held_);
    held_.clear();
    LOG_INFO("intake resumed: admitting %zu request(s) held while paused", held.size());
    for (std::unique_ptr<Job>& job : held) {
        gate_.spawn(admit(this, std::move(job)));
    }
}

bool Intake::memory_ok() const noexcept {
    return context_.board().admitting();
}

// The ids this shard owns among the requests the store remembers that are still within the
// acceptance window (an older one is ignored as stale before the cache is asked).
Task<void> Intake::fill_dedup() {
    const ProviderConfig& pc = context_.config().provider;
    std::int64_t since = reactor::unix_ms() / 1000 - pc.request_age_max_s;
    auto ids = co_await context_.store().read_call(&StoreDb::requests_created_since, since,
                                                   dedup_entries_max * hub_->shard_count());
    if (!ids.ok()) {
        LOG_WARN(
            "intake: could not read recent request ids: %s (the store still refuses "
            "duplicates)",
            ids.error().message().c_str());
        co_return;
    }
    unsigned here = reactor::Shard::current().id();
    std::size_t mine = 0;
    for (const std::string& hex : ids.value()) {
        proto::EventId id{};
        if (proto::hex_decode(hex, id) && hub_->job_owner(id) == here) {
            screen_->dedup().insert(id);
            mine++;
        }
    }
    LOG_DEBUG("intake shard %u: %zu recent request id(s) remembered", here, mine);
}

IntakeReason Intake::prescreen(const proto::Event& event) {
    counters_.add(IntakeReason::received);
    IntakeReason r = screen_->prescreen(event);
    if (r != IntakeReason::received) {
        counters_.add(r);
    }
    return r;
}

void Intake::on_event(const proto::Event& event, std::string_view relay_url) {
    if (!open_) {
        counters_.add(IntakeReason::closed);
        return;
    }
    JobRunner* runner = hub_->here().runner;
    unsigned rate_shard = hub_->customer_owner(event.pubkey().bytes());
    bool rate_here = rate_shard == reactor::Shard::current().id();
    Screened s = screen_->screen(event, relay_url, runner ? runner->directory() : nullptr,
                                 memory_ok(), rate_here);
    if (s.pubkey_unchecked && s.job) {
        gate_.spawn(check_rate(this, std::move(s), rate_shard));
        return;
    }
    switch (s.verdict) {
        case Screened::Verdict::drop:
            counters_.add(s.reason);
            return;
        case Screened::Verdict::refuse:
            gate_.spawn(refuse(this, std::move(s.job), s.reason, std::move(s.message)));
            return;
        case Screened::Verdict::accept:
            gate_.spawn(admit(this, std::move(s.job)));
            return;
    }
}

}  // namespace pylon::engine

namespace pylon::engine {

bool Intake::take_pubkey_token(const RateLimiter::Key& customer) {
    return screen_->take_pubkey_token(customer);
}

Task<void> Intake::check_rate(Intake* self, Screened s, unsigned rate_shard) {
    ProviderHub* hub = self->hub_.get();
    RateLimiter::Key key = s.job->request.customer.bytes();
    bool ok = co_await reactor::submit_to(rate_shard, [hub, key]() {
        Intake* in = hub->here().intake;
        return in == nullptr || in->take_pubkey_token(key);
    });
    if (!ok) {
        self->counters_.add(IntakeReason::rate_limited_pubkey);
        co_return;
    }
    if (s.verdict == Screened::Verdict::refuse) {
        co_await refuse(self, std::move(s.job), s.reason, std::move(s.message));
    } else {
        co_await admit(self, std::move(s.job));
    }
}

// Reserve a queue place, write the pending row (dedup by the store), hand over to the runner.
Task<void> Intake::admit(Intake* self, std::unique_ptr<Job> job) {
    JobRunner* runner = self->hub_->here().runner;
    if (runner == nullptr) {
        self->counters_.add(IntakeReason::closed);
        co_return;
    }
    if (self->hub_->publish_pressure()) {
        self->hold_or_leave(std::move(job));
        co_return;
    }
    if (!runner->reserve(job->backend)) {
        std::string why = "queue full: too many jobs are waiting for " +
                          std::string(backend_kind_name(job->backend)) + "; try again later";
        co_await refuse(self, std::move(job), IntakeReason::refused_queue_full, std::move(why));
        co_return;
    }
    // The row is built on the store thread from the job itself (record): while the write is queued
    // this coroutine is suspended and holds the only pointer to the job, so the store thread reads
    // it unshared, and the post back to this shard orders its reads before anything after the
    // co_await. The row's copy of the request lives only while the store thread writes it: built
    // here, a burst of a thousand requests held a thousand copies (and this frame held the row
    // too), which the allocator could not hand back while the jobs admitted with them stayed
    // queued.
    Result<AcceptOutcome> r = co_await record(self, job.get());
    if (!r.ok()) {
        runner->unreserve(job->backend);
        self->not_recorded(*job, r.error().message());
        co_return;
    }
    if (r.value() == AcceptOutcome::duplicate) {
        runner->unreserve(job->backend);
        self->counters_.add(IntakeReason::duplicate);
        co_return;
    }
    self->counters_.add(IntakeReason::accepted);
    LOG_DEBUG("job %s: accepted (%s/%s%s)", job->job_id.c_str(),
              std::string(backend_kind_name(job->backend)).c_str(), job->model.c_str(),
              job->waits_for_load ? ", waits for the model to load" : "");
    runner->start_job(std::move(job));
}

// The job's pending row, written by the store thread from `unshared` (see admit). A store error
// (disk full, the database locked by another process beyond busy_timeout_ms) is tried again,
// store_retries_max times, store_retry_first_ms later and doubling, while intake is open: the
// job keeps its queue place meanwhile (so the retries are bounded by job_queue_max).
Task<Result<AcceptOutcome>> Intake::record(Intake* self, const Job* unshared) {
    std::int64_t delay_ms = store_retry_first_ms;
    for (int attempt = 0;; attempt++) {
        auto fn = [unshared](StoreDb& db) { return db.accept_job(new_job_row(*unshared)); };
        Result<AcceptOutcome> r = co_await self->context_.store().run(std::move(fn));
        if (r.ok() || attempt == store_retries_max || !self->open_) {
            co_return r;
        }
        self->counters_.add(IntakeReason::store_retried);
        LOG_WARN("request %s: could not be recorded (%s); trying again in %lld ms",
                 proto::hex_encode(unshared->request.id).c_str(), r.error().message().c_str(),
                 static_cast<long long>(delay_ms));
        bool slept = co_await reactor::sleep_ms(delay_ms, self->stop_.token());
        if (!slept) {
            co_return r;
        }
        delay_ms *= 2;
    }
}

// A request whose row could not be written, even after the retries, is not run: its customer
// hears why (an `error` feedback, never suppressed) and its id is forgotten, so the same
// request sent again (another relay, a resend) is read afresh.
void Intake::not_recorded(const Job& job, const std::string& why) {
    counters_.add(IntakeReason::store_failed);
    screen_->dedup().forget(job.request.id);
    LOG_ERROR("request %s: not recorded, so not run: %s", proto::hex_encode(job.request.id).c_str(),
              why.c_str());
    send_error(job, "the node could not record the request (" + why + "); send it again later",
               PublishClass::terminal);
}

// Held: admitted on resume (apply_pause). Left: forgotten, so the relay's copy sent on resume is
// not a duplicate. Either way its relay link's cursor is held back to it (until the resume's
// REQ), so the persisted cursor does not pass it and a restart fetches it again.
void Intake::hold_or_leave(std::unique_ptr<Job> job) {
    std::int64_t created_at = std::min(job->request.created_at, reactor::unix_ms() / 1000);
    bool hold = held_.size() < held_max_;
    RelayPool::mark_cursor(hub_.get(), job->relay_url, created_at, hold);
    if (hold) {
        counters_.add(IntakeReason::held);
        held_.push_back(std::move(job));
        return;
    }
    counters_.add(IntakeReason::deferred);
    screen_->dedup().forget(job->request.id);
}

// An `error` feedback for a request we read but will not run, once per request.
Task<void> Intake::refuse(Intake* self, std::unique_ptr<Job> job, IntakeReason reason,
                          std::string message) {
    self->counters_.add(reason);
    std::string id = proto::hex_encode(job->request.id);
    std::string outcome = "refused: " + std::string(intake_reason_name(reason));
    std::int64_t at = reactor::unix_ms();
    std::int64_t created_at = job->request.created_at;
    auto fn = [id, created_at, outcome, at](StoreDb& db) {
        return db.remember_request(id, created_at, outcome, at);
    };
    Result<bool> fresh = co_await self->context_.store().run(std::move(fn));
    if (fresh.ok() && !fresh.value()) {
        co_return;  // answered before (another relay, or before a restart)
    }
    if (self->refusals_silent_ ||
        self->refusal_budget_.admit(refusal_key(), reactor::monotonic_ms()) !=
            RateLimiter::Verdict::admit) {
        self->counters_.add(IntakeReason::feedback_suppressed);
        co_return;
    }
    LOG_INFO("request %.16s from %.16s refused: %s", id.c_str(),
             job->request.customer.hex().c_str(), message.c_str());
    self->send_error(*job, message, PublishClass::courtesy);
}

void Intake::send_error(const Job& job, std::string_view message, PublishClass cls) {
    JobRunner* runner = hub_->here().runner;
    if (runner == nullptr) {
        return;
    }
    std::int64_t u = reactor::unix_ms();
    auto pub = runner->responses().feedback(job, proto::FeedbackStatus::error, message, message,
                                            u / 1000, reactor::monotonic_ms());
    if (pub) {
        pub->cls = cls;
        runner->publish(std::move(pub));
    }
}

// A job restored after a restart that cannot run: its row fails, its customer hears why.
Task<void> Intake::fail_row(Intake* self, std::string id, std::int64_t pending_seq,
                            std::string reason, std::unique_ptr<Job> job) {
    std::int64_t at = reactor::unix_ms();
    auto fn = [id, reason, at, pending_seq](StoreDb& db) {
        return db.fail_job(id, reason, at, pending_seq);
    };
    Status st = co_await self->context_.store().run(std::move(fn));
    if (!st.ok()) {
        LOG_WARN("job %s: could not mark failed: %s", id.c_str(), st.error().message().c_str());
    }
    self->context_.emit(proto::DomainEvent::job_failed(id, reason));
    if (job) {
        self->send_error(*job, reason, PublishClass::terminal);
    }
}

// The unfinished jobs of the previous run go to their owner shards.
Task<void> Intake::reconcile(Intake* self) {
    const ProviderConfig& pc = self->context_.config().provider;
    // The previous run's jobs are those received before now: intake is open, and a retry below
    // must not take this run's jobs for unfinished ones (it would start a running job again).
    std::int64_t started = reactor::unix_ms();
    std::int64_t window = pc.rerun_window_s * 1000;
    // Tried again until it succeeds or the node stops (a full disk, another process holding the
    // write lock): the unfinished jobs would otherwise stay open until the next restart, their
    // customers unanswered and their requests taken for duplicates.
    std::int64_t delay_ms = store_retry_first_ms;
    Result<Reconciliation> rec = Error(Errc::internal, "not tried");
    for (;;) {
        std::int64_t now = reactor::unix_ms();
        auto fn = [now, window, started](StoreDb& db) {
            return db.reconcile(now, window, "the node restarted before the job finished", started);
        };
        rec = co_await self->context_.store().run(std::move(fn));
        if (rec.ok()) {
            break;
        }
        LOG_ERROR("reconcile of the jobs left unfinished: %s; trying again in %lld s",
                  rec.error().message().c_str(), static_cast<long long>(delay_ms / 1000));
        bool slept = co_await reactor::sleep_ms(delay_ms, self->stop_.token());
        if (!slept) {
            co_return;
        }
        delay_ms = std::min(delay_ms * 2, reconcile_retry_max_ms);
    }
    if (!rec->rerun.empty() || !rec->failed.empty()) {
        LOG_INFO("after the restart: %zu unfinished job(s) run again, %zu too old (failed)",
                 rec->rerun.size(), rec->failed.size());
    }
    ProviderHub* hub = self->hub_.get();
    for (int pass = 0; pass < 2; pass++) {
        bool again = pass == 0;
        for (UnfinishedJob& u : again ? rec->rerun : rec->failed) {
            proto::EventId id{};
            if (!proto::hex_decode(u.request_id, id)) {
                continue;
            }
            auto boxed = std::make_unique<UnfinishedJob>(std::move(u));
            reactor::post(hub->job_owner(id), Message([hub, again, boxed = std::move(boxed)]() {
                              if (Intake* in = hub->here().intake) {
                                  again ? in->rerun(*boxed) : in->abandon(*boxed);
                              }
                          }));
        }
    }
}

std::unique_ptr<Job> Intake::restore(const UnfinishedJob& u, Screened* outcome) {
    proto::Event event;
    if (event.read_json(reader_, u.request_json) != proto::Reject::none) {
        LOG_WARN("job %s: its stored request cannot be read", u.id.c_str());
        return nullptr;
    }
    JobRunner* runner = hub_->here().runner;
    *outcome = screen_->restore(event, u.relay_hint, runner ? runner->directory() : nullptr);
    if (outcome->job) {
        outcome->job->reply_relays = u.reply_relays;
        outcome->job->rerun = true;
        if (!u.result_frame.empty()) {
            outcome->job->signed_result =
                std::make_unique<SignedResult>(SignedResult{u.result_event_id, u.result_frame});
            outcome->job->pending_seq = u.result_seq;
        }
    }
    return std::move(outcome->job);
}

void Intake::rerun(const UnfinishedJob& u) {
    Screened s;
    std::unique_ptr<Job> job = restore(u, &s);
    JobRunner* runner = hub_->here().runner;
    if (job && runner != nullptr && job->signed_result) {
        counters_.add(IntakeReason::rerun);  // its signed result goes out again: no generation
        runner->resend_result(std::move(job));
        return;
    }
    if (!job || runner == nullptr || s.verdict != Screened::Verdict::accept) {
        std::string why = !job      ? "its stored request could not be read again"
                          : !runner ? "the node is stopping"
                                    : s.message;
        gate_.spawn(fail_row(this, u.id, u.result_seq, std::move(why), std::move(job)));
        return;
    }
    if (!runner->reserve_rerun(job->backend)) {
        gate_.spawn(fail_row(this, u.id, u.result_seq, "the node is stopping", std::move(job)));
        return;
    }
    counters_.add(IntakeReason::rerun);
    LOG_INFO("job %s: running again after the restart (attempt %lld)", job->job_id.c_str(),
             static_cast<long long>(u.attempts));
    runner->start_job(std::move(job));
}

void Intake::abandon(const UnfinishedJob& u) {
    Screened s;
    std::unique_ptr<Job> job = restore(u, &s);
    if (job) {
        // What its row says (the restart, or the third one in a row).
        send_error(*job,
                   u.failed_reason.empty() ? "the node restarted before the job finished"
                                           : u.failed_reason,
                   PublishClass::terminal);
    }
}

// {"Intake":{"received":N,...}}: every shard's counters, summed.
Task<std::string> Intake::intake_command(void* context, proto::ControlRequest req) {
    (void)req;
    auto* self = static_cast<Intake*>(context);
    ProviderHub* hub = self->hub_.get();
    std::array<std::uint64_t, intake_reason_count> sum{};
    for (unsigned t = 0; t < hub->shard_count(); t++) {
        auto counts = co_await reactor::submit_to(t, [hub]() {
            Intake* in = hub->here().intake;
            return in ? in->counters().all() : std::array<std::uint64_t, intake_reason_count>{};
        });
        for (std::size_t i = 0; i < intake_reason_count; i++) {
            sum[i] += counts[i];
        }
    }
    std::vector<proto::IntakeCounter> out;
    for (std::size_t i = 0; i < intake_reason_count; i++) {
        out.push_back({std::string(intake_reason_name(static_cast<IntakeReason>(i))), sum[i]});
    }
    std::string line;
    proto::encode_intake(out, line);
    co_return line;
}

}  // namespace pylon::engine
