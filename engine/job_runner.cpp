#include "engine/job_runner.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "engine/backend_factory.hpp"
#include "engine/backend_registry.hpp"
#include "engine/partial_throttle.hpp"
#include "engine/relay_pool.hpp"
#include "engine/store.hpp"
#include "proto/hex.hpp"
#include "proto/utf8.hpp"
#include "reactor/clock.hpp"
#include "reactor/log.hpp"
#include "reactor/ops.hpp"
#include "reactor/shard_set.hpp"

namespace pylon::engine {

using reactor::Message;
using reactor::Task;

namespace {

std::int64_t now_ms() {
    return reactor::monotonic_ms();
}

std::int64_t unix_ms() {
    return reactor::unix_ms();
}

// Failures that say the server is not there (rather than refusing this job).
bool backend_unreachable(const Error& e) {
    return e.code() == Errc::refused || e.code() == Errc::io || e.code() == Errc::closed ||
           e.code() == Errc::timeout;
}

}  // namespace

// BackendSlots' messages to the lender on shard 0.
struct JobRunner::Uplink final : BackendSlots::Uplink {
    Uplink(ProviderHub* h, BackendKind k) : hub(h), kind(k) {}
    void request() override {
        ProviderHub* h = hub;
        BackendKind k = kind;
        unsigned shard = reactor::Shard::current().id();
        reactor::post(0, Message([h, k, shard]() {
                          if (BackendRegistry* r = h->here().registry) {
                              r->lend_request(k, shard);
                          }
                      }));
    }
    void withdraw() override {
        ProviderHub* h = hub;
        BackendKind k = kind;
        unsigned shard = reactor::Shard::current().id();
        reactor::post(0, Message([h, k, shard]() {
                          if (BackendRegistry* r = h->here().registry) {
                              r->lend_withdraw(k, shard);
                          }
                      }));
    }
    void give_back(std::uint32_t n) override {
        ProviderHub* h = hub;
        BackendKind k = kind;
        unsigned shard = reactor::Shard::current().id();
        reactor::post(0, Message([h, k, shard, n]() {
                          if (BackendRegistry* r = h->here().registry) {
                              r->lend_give_back(k, shard, n);
                          }
                      }));
    }
    ProviderHub* hub;
    BackendKind kind;
};

std::size_t JobRunner::IdHash::operator()(const proto::EventId& id) const noexcept {
    std::size_t h = 0;
    std::memcpy(&h, id.data() + 8, sizeof h);  // bytes 0..7 chose the shard; use others
    return h;
}

JobRunner::JobRunner(ServiceContext& context, std::shared_ptr<ProviderHub> hub)
    : context_(context), hub_(std::move(hub)), responses_(hub_->keys(), proto::csprng()) {}

JobRunner::~JobRunner() = default;

Task<Status> JobRunner::start() {
    const Config& c = context_.config();
    unsigned shards = context_.shard_count();
    auto queue_max = static_cast<std::size_t>((c.limits.job_queue_max + shards - 1) / shards);
    for (BackendKind kind : {BackendKind::ollama, BackendKind::llamacpp}) {
        std::size_t i = backend_slot_index(kind);
        uplinks_[i] = std::make_unique<Uplink>(hub_.get(), kind);
        slots_[i] = std::make_unique<BackendSlots>(
            uplinks_[i].get(), std::max<std::size_t>(1, queue_max), slot_linger_ms);
    }
    for (BackendKind kind : registered_backends(c, nullptr)) {
        auto client = make_backend(kind, backend_url(kind, c), c, BackendUse::generate);
        if (!client.ok()) {
            co_return std::move(client).error();
        }
        clients_[backend_slot_index(kind)] = std::move(client.value());
    }
    hub_->here().runner = this;
    if (reactor::Shard::current().id() == 0) {
        context_.control_commands().add("Metrics", &JobRunner::metrics_command, this);
    }
    sweeper_.spawn(sweep_loop(this));
    ProviderHub* hub = hub_.get();
    directory_ = co_await reactor::submit_to(0, [hub]() {
        BackendRegistry* r = hub->here().registry;
        return r ? r->directory() : std::shared_ptr<const BackendDirectory>();
    });
    co_return Ok{};
}

void JobRunner::reload(const Config& next) {
    for (const auto& client : clients_) {
        if (client) {
            client->set_request_timeout_ms(request_timeout_ms(client->kind(), next));
        }
    }
}

Task<void> JobRunner::stop() {
    stopping_ = true;
    std::int64_t deadline = now_ms() + context_.config().provider.shutdown_grace_ms;
    stop_deadline_ms_ = deadline;
    if (!jobs_.empty()) {
        LOG_INFO("shard %u: %zu job(s) in flight; waiting up to %lld ms for them",
                 reactor::Shard::current().id(), jobs_.size(),
                 static_cast<long long>(context_.config().provider.shutdown_grace_ms));
    }
    while (!jobs_.empty() && now_ms() < deadline) {
        co_await reactor::sleep_ms(50);
    }
    for (auto& [id, job] : jobs_) {
        if (job->phase != Job::Phase::delivering && job->phase != Job::Phase::ending &&
            !job->cancel.cancelled()) {
            job->cancel_reason = "the node is shutting down";
            job->cancel.cancel();
        }
    }
    // A result already out waits for a relay's OK a little longer than the grace, not the
    // whole slack of a running node: the stop must end near shutdown_grace_ms.
    std::int64_t last_call = now_ms() + stop_delivery_slack_ms;
    for (auto& [ticket, d] : deliveries_) {
        d->deadline_ms = std::min(d->deadline_ms, last_call);
    }
    co_await gate_.close();
    if (reactor::Shard::current().id() == 0) {
        context_.control_commands().remove("Metrics");
    }
    stop_.cancel();
    co_await sweeper_.close();
    for (auto& s : slots_) {
        s->return_idle();
    }
    for (auto& client : clients_) {
        if (client) {
            co_await client->close();
        }
    }
    hub_->here().runner = nullptr;
}

// (Not `while (co_await sleep_ms(..))`: g++ 12 miscompiled that form here; the loop never ran.)
Task<void> JobRunner::sweep_loop(JobRunner* self) {
    for (;;) {
        bool slept = co_await reactor::sleep_ms(runner_sweep_interval_ms, self->stop_.token());
        if (!slept) {
            break;
        }
        self->sweep(now_ms());
    }
}

void JobRunner::sweep(std::int64_t now) {
    const Config& c = context_.config();
    for (auto& [id, job] : jobs_) {
        if (job->phase != Job::Phase::queued || job->cancel.cancelled()) {
            continue;
        }
        const BackendView* view = backend_view(job->backend);
        bool loading = view != nullptr && view->waitable();
        std::int64_t wait_max =
            loading ? c.backends.llamacpp.job_wait_ms : c.limits.queue_wait_max_ms;
        if (now - job->received_mono_ms > wait_max) {
            job->cancel_reason = loading ? "llama-server did not finish loading its model within " +
                                               std::to_string(wait_max / 1000) + " s (" +
                                               view->last_error + ")"
                                         : "waited more than " + std::to_string(wait_max / 1000) +
                                               " s for a free backend slot";
            job->cancel.cancel();
        }
    }
    for (auto& [ticket, d] : deliveries_) {
        if (!d->done.is_set() && now >= d->deadline_ms) {
            d->reasons += d->reasons.empty() ? "no relay answered in time" : "; timed out";
            d->done.set();
        }
    }
    for (auto& s : slots_) {
        s->sweep(now);
    }
    share_watch(now);
    if (idle_trim_.tick(!jobs_.empty())) {
        log_heap_trim("shard", trim_thread_heap());
    }
}

void JobRunner::share_watch(std::int64_t now) {
    std::vector<std::pair<std::int64_t, proto::EventId>> open;
    for (const auto& [id, job] : jobs_) {
        bool cancellable = job->phase == Job::Phase::queued || job->phase == Job::Phase::running;
        if (cancellable && !job->cancel.cancelled() &&
            now - job->received_mono_ms >= deletion_watch_after_ms) {
            open.emplace_back(job->received_mono_ms, id);
        }
    }
    std::size_t share = std::max<std::size_t>(1, deletion_watch_ids_max / hub_->shard_count());
    if (open.size() > share) {
        std::nth_element(open.begin(), open.begin() + static_cast<std::ptrdiff_t>(share),
                         open.end());
        open.resize(share);
    }
    std::vector<proto::EventId> ids;
    ids.reserve(open.size());
    for (const auto& [at, id] : open) {
        ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    // Unchanged: nothing to send, except now and then (a pool that was not running when a list
    // came, at its start or a restart of the service, has it again within that time).
    bool refresh = ++watch_sweeps_ % deletion_watch_refresh_sweeps == 0 && !ids.empty();
    if (ids == watch_shared_ && !refresh) {
        return;
    }
    watch_shared_ = ids;
    auto shared = std::make_shared<const std::vector<proto::EventId>>(std::move(ids));
    ProviderHub* hub = hub_.get();
    unsigned from = reactor::Shard::current().id();
    for (unsigned s = 0; s < hub->shard_count(); s++) {
        reactor::post(s, Message([hub, from, shared]() {
                          if (RelayPool* pool = hub->here().pool) {
                              pool->set_watched(from, shared);
                          }
                      }));
    }
}

bool JobRunner::reserve(BackendKind kind) {
    std::size_t i = backend_slot_index(kind);
    const BackendSlots& s = *slots_[i];
    std::uint32_t room =
        (s.held() - s.busy()) +
        static_cast<std::uint32_t>(s.queue_max() - std::min(s.queue_max(), s.waiting()));
    if (stopping_ || reserved_[i] >= room) {
        return false;
    }
    reserved_[i]++;
    return true;
}

bool JobRunner::reserve_rerun(BackendKind kind) {
    if (stopping_) {
        return false;
    }
    reserved_[backend_slot_index(kind)]++;
    return true;
}

void JobRunner::unreserve(BackendKind kind) {
    std::size_t i = backend_slot_index(kind);
    PYLON_ASSERT(reserved_[i] > 0);
    reserved_[i]--;
}

void JobRunner::start_job(std::unique_ptr<Job> job) {
    unreserve(job->backend);
    launch(std::move(job));
}

void JobRunner::resend_result(std::unique_ptr<Job> job) {
    PYLON_ASSERT(job->signed_result != nullptr);
    LOG_INFO("job %s: its result was already signed before the restart; published again",
             job->job_id.c_str());
    launch(std::move(job));
}

void JobRunner::launch(std::unique_ptr<Job> job) {
    Job* raw = job.get();
    auto [it, inserted] = jobs_.emplace(job->request.id, std::move(job));
    PYLON_ASSERT_MSG(inserted, "a job started twice");
    (void)it;
    count_jobs();
    context_.emit(proto::DomainEvent::job_received(raw->job_id, raw->request.kind,
                                                   raw->request.customer.hex()));
    bool spawned =
        raw->signed_result ? gate_.spawn(resend(this, raw)) : gate_.spawn(run(this, raw));
    if (!spawned) {
        forget(raw);
    }
}

void JobRunner::forget(Job* job) {
    jobs_.erase(job->request.id);
    count_jobs();
    idle_trim_.worked();
}

void JobRunner::count_jobs() {
    context_.store().set_open_jobs(static_cast<std::uint32_t>(jobs_.size()));
}

bool JobRunner::cancel_job(const proto::EventId& request, const proto::PublicKey& author) {
    auto it = jobs_.find(request);
    if (it == jobs_.end()) {
        return false;
    }
    Job& job = *it->second;
    if (job.request.customer != author || job.phase == Job::Phase::delivering ||
        job.phase == Job::Phase::ending || job.cancel.cancelled()) {
        return false;
    }
    LOG_INFO("job %s: cancelled by its customer (kind-5 deletion)", job.job_id.c_str());
    job.by_customer = true;
    job.cancel_reason = "cancelled by the customer (kind-5 deletion)";
    job.cancel.cancel();
    return true;
}

std::array<std::uint32_t, 2> JobRunner::slot_figures(BackendKind kind) const noexcept {
    const BackendSlots& s = *slots_[backend_slot_index(kind)];
    return {s.busy(), static_cast<std::uint32_t>(s.waiting())};
}

void JobRunner::set_directory(std::shared_ptr<const BackendDirectory> directory) {
    std::array<bool, backend_kinds_count> was_available{};
    for (std::size_t k = 0; k < backend_kinds_count; k++) {
        const BackendView* before = backend_view(static_cast<BackendKind>(k));
        was_available[k] = before != nullptr && before->available;
    }
    directory_ = std::move(directory);
    // A spawned llama-server that is down (failed, stopped) will not come back by itself, and a
    // backend we do not run that just went away refuses new jobs until it answers again: the
    // jobs queued for either end now, with the reason, rather than at their wait bound blaming
    // the slots. (A backend that was not available before, e.g. not probed yet after a restart,
    // leaves its queued jobs to that bound.)
    for (auto& [id, job] : jobs_) {
        const BackendView* view = backend_view(job->backend);
        if (job->phase != Job::Phase::queued || job->cancel.cancelled() || view == nullptr) {
            continue;
        }
        if (view->down()) {
            job->cancel_reason =
                view->last_error.empty() ? "the supervised llama-server is down" : view->last_error;
            job->cancel.cancel();
        } else if (!view->supervised && !view->available &&
                   was_available[backend_slot_index(job->backend)]) {
            job->cancel_reason = "backend " + std::string(backend_kind_name(view->kind)) +
                                 " is unavailable: " + view->last_error;
            job->cancel.cancel();
        }
    }
}

const BackendView* JobRunner::backend_view(BackendKind kind) const noexcept {
    int i = directory_ ? directory_->index_of(kind) : -1;
    return i < 0 ? nullptr : &directory_->backends[static_cast<std::size_t>(i)];
}

bool JobRunner::publish(PublicationRef pub) {
    RelayPool* pool = hub_->here().pool;
    return pub && pool != nullptr && pool->publish(std::move(pub)) > 0;
}

void JobRunner::publish_outcome(std::uint64_t ticket, bool delivered, std::string reason) {
    auto it = deliveries_.find(ticket);
    if (it == deliveries_.end()) {
        return;  // late: the job stopped waiting
    }
    Delivery& d = *it->second;
    if (delivered) {
        d.delivered = true;
        d.done.set();
        return;
    }
    if (!reason.empty() && d.reasons.size() < 1024) {
        d.reasons += (d.reasons.empty() ? "" : "; ") + reason;
    }
    if (d.remaining > 0 && --d.remaining == 0) {
        d.done.set();
    }
}

void JobRunner::send_feedback(const Job& job, proto::FeedbackStatus status, std::string_view info,
                              std::string_view content) {
    std::int64_t u = unix_ms();
    auto pub = responses_.feedback(job, status, info, content, u / 1000, now_ms());
    if (pub && !publish(std::move(pub))) {
        LOG_DEBUG("job %s: feedback not sent: no relay", job.job_id.c_str());
    }
}

void JobRunner::note_chunk_done(std::int64_t received_ns) noexcept {
    std::int64_t took = reactor::monotonic_ns() - received_ns;
    token_latency_.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, took)));
}

JobEnd JobRunner::ended(Job* job, JobEnd::Kind kind, std::string reason) const {
    JobEnd end;
    end.kind = kind;
    end.reason = std::move(reason);
    end.metrics.backend = std::string(backend_kind_name(job->backend));
    end.metrics.model = job->model;
    return end;
}

// A queued job holds this one small frame (and its Gate's): the slot wait. The coroutines
// that carry the rest of the job (its JobEnd, the generation, the delivery, the record) start
// only once the slot is granted or refused, so a deep queue costs little memory per job.
Task<void> JobRunner::run(JobRunner* self, Job* job) {
    const BackendView* view = self->backend_view(job->backend);
    if (view != nullptr && view->waitable()) {
        // NIP-90 has no "queued" status: `processing` with the reason in words.
        self->send_feedback(*job, proto::FeedbackStatus::processing, waiting_for_load_text,
                            waiting_for_load_text);
    }
    BackendSlots::Acquired got =
        co_await self->slots(job->backend).acquire(job->cancel.token(), job->rerun);
    co_await finish(self, job, got);
    self->forget(job);
}

Task<void> JobRunner::finish(JobRunner* self, Job* job, BackendSlots::Acquired got) {
    JobEnd end;
    if (got == BackendSlots::Acquired::granted) {
        end = co_await self->execute(job);
    } else {
        end = self->refused(job, got);
    }
    co_await self->record(job, std::move(end));
}

// A rerun whose result was signed before the restart: that very event again (same id: relays
// and clients see one result), then `success` and the completed row (complete_job keeps the
// row's metrics where this run has none). The customer may see it twice, never two results.
Task<void> JobRunner::resend(JobRunner* self, Job* job) {
    job->phase = Job::Phase::delivering;
    JobEnd end = self->ended(job, JobEnd::Kind::completed, "");
    SignedResult& stored = *job->signed_result;
    auto pub = std::make_shared<Publication>();
    if (!proto::hex_decode(stored.event_id, pub->id) || stored.frame.empty()) {
        end.kind = JobEnd::Kind::failed;
        end.reason = "its signed result could not be read again after the restart";
    } else {
        pub->kind = job->request.kind + 1000;
        pub->cls = PublishClass::terminal;
        pub->job = job->request.id;
        pub->frame = std::move(stored.frame);
        pub->extra_relays = job->reply_relays;
        pub->customer = job->request.customer.bytes();
        pub->created_ms = now_ms();
        end.result_event_id = std::move(stored.event_id);
        co_await self->publish_result(job, std::move(pub), &end);
    }
    co_await self->record(job, std::move(end));
    self->forget(job);
}

// Why a job got no slot: the queue was full, or it was cancelled while it waited.
JobEnd JobRunner::refused(Job* job, BackendSlots::Acquired got) const {
    if (got == BackendSlots::Acquired::full) {
        return ended(job, JobEnd::Kind::failed,
                     "queue full: too many jobs are waiting for " +
                         std::string(backend_kind_name(job->backend)));
    }
    return ended(job, job->by_customer ? JobEnd::Kind::cancelled : JobEnd::Kind::failed,
                 job->cancel_reason);
}

// The job holds its slot: generates, gives the slot back, delivers the result.
Task<JobEnd> JobRunner::execute(Job* job) {
    job->phase = Job::Phase::running;
    JobEnd end = co_await generate(job, now_ms());
    slots(job->backend).release();
    if (end.kind == JobEnd::Kind::completed) {
        job->phase = Job::Phase::delivering;
        co_await deliver_result(job, &end);
    }
    co_return end;
}

}  // namespace pylon::engine

namespace pylon::engine {

// Streams the generation; the JobEnd is `completed` with the text, or why not.
Task<JobEnd> JobRunner::generate(Job* job, std::int64_t started_ms) {
    const ProviderConfig& pc = context_.config().provider;
    JobEnd end = ended(job, JobEnd::Kind::failed, "");
    JobMetrics& m = end.metrics;
    m.queue_ms = started_ms - job->received_mono_ms;
    m.started_at_ms = unix_ms();
    NoticeSettler settler{notice_processing(job, *m.started_at_ms)};
    ProcessingNotice& notice = *settler.notice;
    context_.emit(proto::DomainEvent::job_started(job->job_id, job->model));
    Backend* backend = clients_[backend_slot_index(job->backend)].get();
    if (backend == nullptr) {
        end.reason = "backend not configured";
        co_return end;
    }
    auto gen = co_await backend->generate(job->generation_params(), job->cancel.token());
    if (!gen.ok()) {
        if (job->cancel.cancelled()) {
            co_return ended(job, job->by_customer ? JobEnd::Kind::cancelled : JobEnd::Kind::failed,
                            job->cancel_reason);
        }
        if (backend_unreachable(gen.error())) {
            ProviderHub* hub = hub_.get();
            BackendKind kind = job->backend;
            reactor::post(0, Message([hub, kind]() {
                              if (BackendRegistry* r = hub->here().registry) {
                                  r->suspect(kind);
                              }
                          }));
        }
        end.reason = gen.error().message();
        co_return end;
    }
    std::size_t cap = static_cast<std::size_t>(pc.output_bytes_max);
    PartialThrottle partials(pc.partial_interval_ms, now_ms());
    std::uint32_t tokens = 0;
    std::string& text = end.text;
    text.reserve(1024);
    bool full = false;  // the text reached `cap`: cut between characters, the rest not wanted
    for (;;) {
        auto ev = co_await gen.value()->next();
        std::int64_t received_ns = gen.value()->received_ns();
        if (received_ns == 0) {
            received_ns = reactor::monotonic_ns();
        }
        if (!ev.ok() || ev->kind == proto::StreamEvent::Kind::error) {
            bool cancelled = job->cancel.cancelled();
            end.kind =
                cancelled && job->by_customer ? JobEnd::Kind::cancelled : JobEnd::Kind::failed;
            end.reason = cancelled ? job->cancel_reason
                         : ev.ok() ? "backend error: " + std::string(ev->error_text)
                                   : ev.error().message();
            co_await gen.value()->cancel();
            break;
        }
        if (ev->kind == proto::StreamEvent::Kind::skip) {
            continue;
        }
        if (ev->kind == proto::StreamEvent::Kind::token && !ev->text.empty()) {
            if (tokens++ == 0) {
                m.first_token_ms = now_ms() - started_ms;
            }
            // A few bytes past the cap show whether a character straddles it; the text is then
            // cut before that character, never inside it (a cut inside became U+FFFD).
            constexpr std::size_t lookahead = 4;
            text.append(
                ev->text.substr(0, cap + lookahead - std::min(cap + lookahead, text.size())));
            if (text.size() > cap) {
                text.resize(proto::utf8_prefix_bytes(text, cap));
                full = true;
            }
        }
        bool last = ev->kind == proto::StreamEvent::Kind::done || ev->last;
        if (ev->has_usage) {
            m.prompt_tokens = ev->prompt_tokens;
            m.completion_tokens = ev->completion_tokens;
        }
        if (last || full) {
            if (!last) {
                co_await gen.value()->cancel();  // enough text: stop the backend
            }
            end.kind = JobEnd::Kind::completed;
            end.last_chunk_ns = received_ns;  // counted once the result is handed over
            break;
        }
        std::int64_t now = now_ms();
        if (partials.due(now, text.size())) {
            partials.sent(now, text.size());
            if (!notice.sent) {  // a partial never comes before `processing`
                send_processing(job, &notice);
            }
            send_feedback(*job, proto::FeedbackStatus::partial, "", text);
            std::uint32_t want = job->params.max_tokens.value_or(0);
            if (want > 0) {
                context_.emit(proto::DomainEvent::job_progress(
                    job->job_id, std::min(1.0, static_cast<double>(tokens) / want)));
            }
        }
        note_chunk_done(received_ns);
    }
    if (!m.completion_tokens && tokens > 0) {
        m.completion_tokens = tokens;
    }
    m.total_ms = now_ms() - job->received_mono_ms;
    co_return end;
}

JobRunner::NoticeSettler::~NoticeSettler() {
    notice->settled = true;
    notice->timer.cancel();
}

std::shared_ptr<JobRunner::ProcessingNotice> JobRunner::notice_processing(
    Job* job, std::int64_t started_unix_ms) {
    auto notice = std::make_shared<ProcessingNotice>();
    notice->started_unix_ms = started_unix_ms;
    std::int64_t delay = context_.config().provider.processing_feedback_delay_ms;
    if (delay <= 0) {
        send_processing(job, notice.get());
    } else {
        gate_.spawn(processing_timer(this, job, notice, delay));
    }
    return notice;
}

// Sends `processing` after delay_ms unless the generation ended (then the job may be gone).
Task<void> JobRunner::processing_timer(JobRunner* self, Job* job,
                                       std::shared_ptr<ProcessingNotice> notice,
                                       std::int64_t delay_ms) {
    bool slept = co_await reactor::sleep_ms(delay_ms, notice->timer.token());
    if (!slept || notice->settled || notice->sent) {
        co_return;
    }
    self->send_processing(job, notice.get());
}

// `processing` to the customer, and the row says so too (not before: a job that ends within
// processing_feedback_delay_ms goes from `pending` to its end in one write, the metrics of that
// write carry its start time). The row is written in the background; a mark that arrives after
// the final state changes nothing (StoreDb::mark_processing).
void JobRunner::send_processing(Job* job, ProcessingNotice* notice) {
    notice->sent = true;
    send_feedback(*job, proto::FeedbackStatus::processing, "", "");
    gate_.spawn(mark_processing(this, job->job_id, job->model, notice->started_unix_ms));
}

Task<void> JobRunner::mark_processing(JobRunner* self, std::string id, std::string model,
                                      std::int64_t at_ms) {
    auto mark = [id, at_ms, model](StoreDb& db) { return db.mark_processing(id, at_ms, model); };
    Status marked = co_await self->context_.store().run(std::move(mark));
    if (!marked.ok() && marked.error().code() != Errc::not_found) {
        LOG_WARN("job %s: could not mark processing: %s", id.c_str(),
                 marked.error().message().c_str());
    }
}

// Publishes the result and waits until one relay accepted it; otherwise the job fails.
Task<bool> JobRunner::deliver_result(Job* job, JobEnd* end) {
    const Config& c = context_.config();
    std::int64_t u = unix_ms();
    proto::ResultReport report;
    auto pub =
        responses_.result(*job, end->text, static_cast<std::size_t>(c.provider.output_bytes_max),
                          u / 1000, now_ms(), &report);
    if (!pub) {
        end->kind = JobEnd::Kind::failed;
        end->reason = "the result could not be built";
        co_return false;
    }
    if (report.content_truncated || report.request_dropped) {
        LOG_INFO("job %s: result trimmed to fit 64 KiB (%s%s%s)", job->job_id.c_str(),
                 report.content_truncated ? "text cut" : "",
                 report.content_truncated && report.request_dropped ? ", " : "",
                 report.request_dropped ? "request tag left out" : "");
    }
    end->result_event_id = proto::hex_encode(pub->id);
    // Recorded before it goes out: after a crash from here on, the job is not generated again
    // but this event published again (resend). A failed write does not hold the result back.
    PublicationRef signed_pub = pub;
    auto keep = [id = job->job_id, event_id = end->result_event_id, signed_pub, u,
                 replaces = job->pending_seq](StoreDb& db) {
        return db.record_pending_result(id, event_id, signed_pub->frame, u, replaces);
    };
    Result<std::int64_t> kept = co_await context_.store().run(std::move(keep));
    if (kept.ok()) {
        job->pending_seq = kept.value();
    } else {
        LOG_WARN("job %s: its signed result could not be recorded before publishing: %s",
                 job->job_id.c_str(), kept.error().message().c_str());
    }
    co_return co_await publish_result(job, std::move(pub), end);
}

// Publishes a signed result and waits until one relay accepted it; otherwise the job fails.
Task<bool> JobRunner::publish_result(Job* job, std::shared_ptr<Publication> pub, JobEnd* end) {
    const Config& c = context_.config();
    Delivery d;
    std::uint64_t ticket = next_ticket_++;
    pub->owner_shard = reactor::Shard::current().id();
    pub->ticket = ticket;
    d.deadline_ms = now_ms() + c.relay_pool.publish_ttl_ms + c.relay_pool.publish_ok_timeout_ms +
                    result_delivery_slack_ms;
    if (stopping_) {
        d.deadline_ms =
            std::min(d.deadline_ms, std::max(stop_deadline_ms_, now_ms()) + stop_delivery_slack_ms);
    }
    RelayPool* pool = hub_->here().pool;
    unsigned targets = pool != nullptr ? pool->publish(pub) : 0;
    if (targets == 0) {
        end->kind = JobEnd::Kind::failed;
        end->reason = "no relay to publish the result to";
        co_return false;
    }
    if (end->last_chunk_ns != 0) {
        note_chunk_done(end->last_chunk_ns);
    }
    d.remaining = targets;
    deliveries_.emplace(ticket, &d);
    co_await d.done.wait();
    deliveries_.erase(ticket);
    if (!d.delivered) {
        end->kind = JobEnd::Kind::failed;
        end->reason = "no relay accepted the result: " + d.reasons;
        co_return false;
    }
    send_feedback(*job, proto::FeedbackStatus::success, "", "");
    co_return true;
}

// The terminal row, then the last feedback of a failure, and the event. The row comes first: a
// customer told `error` (cancelled, failed) while the row still said `processing` got the job
// run again after a crash, and a result after all (audit, session 13). A completed job's result
// and `success` are already out; its row is retried the same way, so a store that recovers within
// end_write_retry_total_ms leaves no finished job open (a restart would run it again unless its
// signed result was recorded).
Task<void> JobRunner::record(Job* job, JobEnd end) {
    job->phase = Job::Phase::ending;
    std::string id = job->job_id;
    std::int64_t at = unix_ms();
    Status st = Ok{};
    if (end.kind == JobEnd::Kind::completed) {
        JobCompletion done;
        done.at_ms = at;
        done.price_msats = static_cast<std::int64_t>(job->price_msats);
        done.result_event_id = std::move(end.result_event_id);
        done.metrics = end.metrics;
        done.pending_seq = job->pending_seq;
        // Named first: g++ 12 destroys a lambda temporary of a co_await expression twice. By
        // reference: this frame outlives the write (no copy of the row, no heap std::function).
        std::function<Status(StoreDb&)> write = [&id, &done](StoreDb& db) {
            return db.complete_job(id, done);
        };
        st = co_await write_end(job, std::move(write));
        std::uint64_t total = static_cast<std::uint64_t>(end.metrics.total_ms.value_or(0));
        context_.emit(proto::DomainEvent::job_completed(id, std::nullopt, total));
        if (job->signed_result) {
            LOG_INFO("job %s: completed (its result, signed before the restart, published again)",
                     id.c_str());
        } else {
            LOG_INFO("job %s: completed on %s/%s (%zu bytes)", id.c_str(),
                     end.metrics.backend.c_str(), end.metrics.model.c_str(), end.text.size());
        }
    } else {
        bool cancelled = end.kind == JobEnd::Kind::cancelled;
        JobMetrics metrics = end.metrics;
        std::string reason = end.reason;
        std::int64_t seq = job->pending_seq;
        std::function<Status(StoreDb&)> write = [id, metrics, reason, at, cancelled,
                                                 seq](StoreDb& db) -> Status {
            PYLON_TRY(db.record_metrics(id, metrics));
            return cancelled ? db.cancel_job(id, reason, at, seq)
                             : db.fail_job(id, reason, at, seq);
        };
        st = co_await write_end(job, std::move(write));
        // Even when the row could not be written: the customer hears how the job ended.
        send_feedback(*job, proto::FeedbackStatus::error, end.reason, end.reason);
        if (cancelled) {
            proto::DomainEvent ev;
            ev.kind = proto::EventKind::job_cancelled;
            ev.job_id = id;
            ev.reason = end.reason;
            context_.emit(std::move(ev));
        } else {
            context_.emit(proto::DomainEvent::job_failed(id, end.reason));
        }
        LOG_INFO("job %s: %s: %s", id.c_str(), cancelled ? "cancelled" : "failed",
                 end.reason.c_str());
    }
    if (!st.ok()) {
        LOG_ERROR(
            "job %s: could not record its end: %s (the row stays open: a restart within "
            "rerun_window_s runs the job again unless its signed result was recorded)",
            id.c_str(), st.error().message().c_str());
    }
}

Task<Status> JobRunner::write_end(const Job* job, std::function<Status(StoreDb&)> write) {
    std::int64_t first_ms = now_ms();
    std::int64_t delay_ms = end_write_retry_first_ms;
    for (;;) {
        auto attempt = [&write](StoreDb& db) { return write(db); };  // no copy of `write`
        Status st = co_await context_.store().run(attempt);
        std::int64_t now = now_ms();
        bool out_of_time = stopping_ ? now >= stop_deadline_ms_
                                     : now - first_ms + delay_ms > end_write_retry_total_ms;
        if (st.ok() || st.error().code() == Errc::not_found || out_of_time) {
            co_return st;
        }
        LOG_WARN("job %s: could not record its end (%s); trying again in %lld ms",
                 job->job_id.c_str(), st.error().message().c_str(),
                 static_cast<long long>(delay_ms));
        // In short steps, so that a stop that begins meanwhile is not held past its grace.
        std::int64_t until = now + delay_ms;
        for (;;) {
            std::int64_t left = until - now_ms();
            if (left <= 0 || (stopping_ && now_ms() >= stop_deadline_ms_)) {
                break;
            }
            co_await reactor::sleep_ms(std::min<std::int64_t>(left, 250));
        }
        if (stopping_ && now_ms() >= stop_deadline_ms_) {
            co_return st;  // no attempt past the grace (it could wait busy_timeout_ms more)
        }
        delay_ms = std::min(delay_ms * 2, end_write_retry_max_ms);
    }
}

// `"Metrics"` or `{"Metrics":{"reset":true}}`: the token latency merged over the shards, in
// microseconds; with reset, every shard's histogram is cleared after it is read.
Task<std::string> JobRunner::metrics_command(void* context, proto::ControlRequest req) {
    auto* self = static_cast<JobRunner*>(context);
    bool reset = req.reset;  // validated by proto::parse_control_request
    ProviderHub* hub = self->hub_.get();
    LatencyHistogram all;
    for (unsigned t = 0; t < hub->shard_count(); t++) {
        auto one = co_await reactor::submit_to(t, [hub, reset]() {
            LatencyHistogram copy;
            if (JobRunner* r = hub->here().runner) {
                copy = r->token_latency();
                if (reset) {
                    r->reset_token_latency();
                }
            }
            return copy;
        });
        all.merge(one);
    }
    auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1e3; };
    char line[320];
    std::snprintf(line, sizeof line,
                  "{\"Metrics\":{\"token_latency_us\":{\"count\":%llu,\"p50\":%.1f,\"p99\":%.1f,"
                  "\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f}}}",
                  static_cast<unsigned long long>(all.count()), us(all.percentile(0.50)),
                  us(all.percentile(0.99)), us(all.percentile(0.999)), us(all.max()),
                  all.count() == 0 ? 0.0 : us(all.sum()) / static_cast<double>(all.count()));
    co_return std::string(line);
}

}  // namespace pylon::engine
