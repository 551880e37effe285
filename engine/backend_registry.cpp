#include "engine/backend_registry.hpp"

#include <algorithm>

#include "engine/backend_factory.hpp"
#include "engine/control_commands.hpp"
#include "engine/job_runner.hpp"
#include "engine/status_board.hpp"
#include "engine/supervised_children.hpp"
#include "engine/supervisor.hpp"
#include "reactor/clock.hpp"
#include "reactor/log.hpp"
#include "reactor/ops.hpp"
#include "reactor/shard_set.hpp"

namespace pylon::engine {

using reactor::Message;
using reactor::Task;

// One registered backend: its probe client, what the last probe said, and its slot lender.
struct BackendRegistry::Entry final : LenderSink {
    Entry(BackendRegistry* r, BackendKind k, std::string u, unsigned shards)
        : registry(r), kind(k), url(std::move(u)), lender(shards, 0, this) {}

    void grant(unsigned shard) override {
        ProviderHub* hub = registry->hub_.get();
        BackendKind k = kind;
        reactor::post(shard, Message([hub, k]() {
                          if (JobRunner* r = hub->here().runner) {
                              r->slots(k).on_grant();
                          }
                      }));
    }
    void recall(unsigned shard, bool on) override {
        ProviderHub* hub = registry->hub_.get();
        BackendKind k = kind;
        reactor::post(shard, Message([hub, k, on]() {
                          if (JobRunner* r = hub->here().runner) {
                              r->slots(k).on_recall(on);
                          }
                      }));
    }
    std::string_view id() const noexcept { return backend_kind_name(kind); }
    // The supervised llama-server is starting or restarting (its jobs wait for it).
    bool supervised_loading() const noexcept {
        return supervised && !available && phase != LlamacppPhase::down;
    }
    // Not answering yet because it loads its model (supervised, or a probe saw "Loading model").
    bool is_loading() const noexcept { return !available && (loading || supervised_loading()); }

    BackendRegistry* registry;
    BackendKind kind;
    std::string url;
    std::unique_ptr<Backend> client;
    bool available = false;
    bool loading = false;
    std::vector<std::string> models;
    std::uint32_t slots = 0;
    std::uint32_t supervised_slots = 0;         // the spawned llama-server's --parallel
    bool supervised = false;                    // the supervisor spawns it (watch_llamacpp)
    LlamacppPhase phase = LlamacppPhase::down;  // supervised: what the supervisor last said
    std::string loading_model;                  // supervised: its model id (--alias or -m)
    std::string last_error = "not probed yet";
    unsigned failures = 0;
    SlotLender lender;
    bool wake_pending = false;             // probe at once
    reactor::CancelSource* nap = nullptr;  // the probe loop's current sleep

    void wake() {
        wake_pending = true;
        if (nap != nullptr) {
            nap->cancel();
        }
    }
};

BackendRegistry::BackendRegistry(ServiceContext& context, std::shared_ptr<ProviderHub> hub)
    : context_(context), hub_(std::move(hub)) {}

BackendRegistry::~BackendRegistry() = default;

BackendRegistry::Entry* BackendRegistry::entry(BackendKind kind) noexcept {
    for (auto& e : entries_) {
        if (e->kind == kind) {
            return e.get();
        }
    }
    return nullptr;
}

Task<Status> BackendRegistry::start() {
    const Config& config = context_.config();
    std::vector<std::string> notes;
    std::vector<BackendKind> kinds = registered_backends(config, &notes);
    // Pylon's default list names apple_fm (macOS only): with a backend left to use, what was
    // skipped is information, not a warning on every start; with none left it is the reason.
    for (const std::string& n : notes) {
        if (kinds.empty()) {
            LOG_WARN("%s", n.c_str());
        } else {
            LOG_INFO("%s", n.c_str());
        }
    }
    proto::DomainEvent registered;
    registered.kind = proto::EventKind::backends_registered;
    for (BackendKind kind : kinds) {
        std::string url = backend_url(kind, config);
        auto client = make_backend(kind, url, config, BackendUse::probe);
        if (!client.ok()) {
            co_return Error(Errc::invalid_input, std::string("[backends.") +
                                                     std::string(backend_kind_name(kind)) + "] " +
                                                     client.error().message());
        }
        entries_.push_back(
            std::make_unique<Entry>(this, kind, std::move(url), context_.shard_count()));
        entries_.back()->client = std::move(client.value());
        registered.ids.emplace_back(backend_kind_name(kind));
    }
    if (entries_.empty()) {
        LOG_WARN(
            "backends: none registered (check backend_preference and [backends.*] enabled); "
            "every job will be refused");
    }
    context_.emit(std::move(registered));
    figures_.assign(entries_.size(), {0, 0});
    hub_->parts(0).registry = this;
    // A first probe of every backend before intake opens, so the first requests are routed.
    reactor::Gate first;
    for (auto& e : entries_) {
        first.spawn(probe_once(e.get()));
    }
    co_await first.close();
    // A llama-server the supervisor spawns: its health changes are probed at once.
    Supervisor* sup = context_.supervisor();
    if (sup != nullptr && entry(BackendKind::llamacpp) != nullptr &&
        !config.backends.llamacpp.binary.empty()) {
        Entry* llama = entry(BackendKind::llamacpp);
        llama->supervised = true;
        llama->loading_model = llamacpp_model_id(config.backends.llamacpp);
        auto id = watch_llamacpp(*sup, config, [this](const BackendHealth& h) { on_health(h); });
        if (id.ok()) {
            supervisor_listener_ = id.value();
        } else {
            LOG_WARN("backends: not told about the spawned llama-server: %s",
                     id.error().message().c_str());
        }
    }
    publish();
    log_waiting();
    for (auto& e : entries_) {
        gate_.spawn(probe_loop(this, e.get()));
    }
    gate_.spawn(status_loop(this));
    co_return Ok{};
}

Task<void> BackendRegistry::stop() {
    if (supervisor_listener_ != 0 && context_.supervisor() != nullptr) {
        context_.supervisor()->remove_listener(supervisor_listener_);
        supervisor_listener_ = 0;
    }
    stop_.cancel();
    for (auto& e : entries_) {
        e->wake();
    }
    co_await gate_.close();
    for (auto& e : entries_) {
        co_await e->client->close();
    }
    hub_->parts(0).registry = nullptr;
    context_.board().set_backends({});
}

Task<void> BackendRegistry::probe_once(Entry* e) {
    BackendProbe probe = co_await e->client->probe(stop_.token());
    if (!stop_.cancelled()) {
        apply_probe(e, probe);
    }
}

// Probes `e` every probe_interval_ms while it answers; while it does not, after 1 s, 2 s, 4 s,
// ... up to the interval. A wake (suspect(), on_health()) probes at once.
Task<void> BackendRegistry::probe_loop(BackendRegistry* self, Entry* e) {
    const Config& c = self->context_.config();
    std::int64_t interval = e->kind == BackendKind::ollama ? c.backends.ollama.probe_interval_ms
                                                           : c.backends.llamacpp.probe_interval_ms;
    while (!self->stop_.cancelled()) {
        std::int64_t wait = interval;
        if (!e->available) {
            unsigned shift = std::min(e->failures, 16u);
            wait = std::min(interval, probe_retry_initial_ms << shift);
        }
        reactor::CancelSource nap;
        e->nap = &nap;
        if (!e->wake_pending) {
            co_await reactor::sleep_ms(wait, nap.token());
        }
        e->nap = nullptr;
        e->wake_pending = false;
        if (self->stop_.cancelled()) {
            break;
        }
        co_await self->probe_once(e);
        self->log_waiting();
    }
}

void BackendRegistry::apply_probe(Entry* e, const BackendProbe& probe) {
    if (!probe.available) {
        e->failures++;
        e->loading = probe.loading;
        set_unavailable(e, probe.error.empty() ? "not answering" : probe.error);
        return;
    }
    const Config& c = context_.config();
    std::int64_t configured =
        e->kind == BackendKind::ollama ? c.backends.ollama.slots : c.backends.llamacpp.slots;
    // A slot count the backend reports is bounded like the `slots` key (1 to 1024): a server
    // claiming four billion slots must not lift the bound on jobs sent to it at once.
    std::uint32_t slots = configured > 0            ? static_cast<std::uint32_t>(configured)
                          : e->supervised_slots > 0 ? e->supervised_slots
                          : probe.slots > 0         ? std::min(probe.slots, probed_slots_max)
                                                    : 1;
    std::vector<std::string> models;
    for (const proto::ModelInfo& m : probe.models) {
        models.push_back(m.name);
    }
    bool changed = !e->available || e->slots != slots || e->models != models;
    bool models_changed = e->models != models;
    if (!e->available) {
        LOG_INFO("backend %.*s is available at %s: %zu model(s), %u slot(s)",
                 static_cast<int>(e->id().size()), e->id().data(), e->url.c_str(), models.size(),
                 slots);
        context_.emit(proto::DomainEvent::backend_available(std::string(e->id())));
    }
    e->available = true;
    e->loading = false;
    e->failures = 0;
    e->last_error.clear();
    e->slots = slots;
    e->models = std::move(models);
    e->lender.set_capacity(slots);
    if (models_changed) {
        proto::DomainEvent ev;
        ev.kind = proto::EventKind::models_refreshed;
        ev.backend_id = std::string(e->id());
        ev.models = e->models;
        context_.emit(std::move(ev));
    }
    if (changed) {
        publish();
    }
}

void BackendRegistry::set_unavailable(Entry* e, std::string reason) {
    bool was = e->available;
    bool reason_changed = e->last_error != reason;
    e->available = false;
    e->last_error = std::move(reason);
    e->lender.set_capacity(0);
    if (was) {
        bool waits = e->supervised && e->phase != LlamacppPhase::down;
        LOG_WARN("backend %.*s is unavailable: %s; %s", static_cast<int>(e->id().size()),
                 e->id().data(), e->last_error.c_str(),
                 waits ? "its jobs wait for it (up to [backends.llamacpp] job_wait_ms)"
                       : "its jobs are refused until it answers again");
        context_.emit(proto::DomainEvent::backend_unavailable(std::string(e->id()), e->last_error));
    }
    if (was || reason_changed) {
        publish();
    }
}

// Sends the new directory to every shard and refreshes the status board.
void BackendRegistry::publish() {
    auto dir = std::make_shared<BackendDirectory>();
    for (auto& e : entries_) {
        BackendView v;
        v.kind = e->kind;
        v.url = e->url;
        v.available = e->available;
        v.use_chat = e->kind == BackendKind::ollama ? context_.config().backends.ollama.use_chat
                                                    : context_.config().backends.llamacpp.use_chat;
        v.models = e->models;
        v.slots = e->slots;
        v.last_error = e->last_error;
        v.supervised = e->supervised;
        v.loading = e->supervised_loading();
        v.loading_model = e->loading_model;
        dir->backends.push_back(std::move(v));
    }
    directory_ = dir;
    ProviderHub* hub = hub_.get();
    for (unsigned t = 0; t < context_.shard_count(); t++) {
        std::shared_ptr<const BackendDirectory> copy = dir;
        reactor::post(t, Message([hub, copy]() mutable {
                          if (JobRunner* r = hub->here().runner) {
                              r->set_directory(std::move(copy));
                          }
                      }));
    }
    publish_board(figures_);
}

void BackendRegistry::publish_board(const std::vector<std::array<std::uint32_t, 2>>& figures) {
    std::vector<proto::BackendInfo> infos;
    int def = directory_ ? directory_->default_backend() : -1;
    for (std::size_t i = 0; i < entries_.size(); i++) {
        const Entry& e = *entries_[i];
        proto::BackendInfo b;
        b.id = std::string(e.id());
        b.url = e.url;
        b.available = e.available;
        b.is_default = static_cast<int>(i) == def;
        b.loading = e.is_loading();
        b.models = e.models;
        b.slots = e.slots;
        b.slots_busy = i < figures.size() ? figures[i][0] : 0;
        b.queued = i < figures.size() ? figures[i][1] : 0;
        b.last_error = e.last_error;
        infos.push_back(std::move(b));
    }
    context_.board().set_backends(std::move(infos));
}

// Every status_refresh_ms: slots in use and jobs queued, summed over the shards.
Task<void> BackendRegistry::status_loop(BackendRegistry* self) {
    ProviderHub* hub = self->hub_.get();
    for (;;) {
        bool slept = co_await reactor::sleep_ms(status_refresh_ms, self->stop_.token());
        if (!slept) {
            break;
        }
        std::vector<std::array<std::uint32_t, 2>> sums(self->entries_.size(), {0, 0});
        for (unsigned t = 0; t < self->context_.shard_count(); t++) {
            for (std::size_t i = 0; i < self->entries_.size(); i++) {
                BackendKind kind = self->entries_[i]->kind;
                std::array<std::uint32_t, 2> f = co_await reactor::submit_to(t, [hub, kind]() {
                    JobRunner* r = hub->here().runner;
                    return r ? r->slot_figures(kind) : std::array<std::uint32_t, 2>{0, 0};
                });
                sums[i][0] += f[0];
                sums[i][1] += f[1];
            }
        }
        if (self->stop_.cancelled()) {
            break;
        }
        if (sums != self->figures_) {
            self->figures_ = sums;
            self->publish_board(sums);
        }
    }
}

void BackendRegistry::log_waiting() {
    if (directory_ && directory_->any_available()) {
        return;
    }
    std::int64_t now = reactor::monotonic_ms();
    if (last_waiting_log_ms_ != 0 && now - last_waiting_log_ms_ < waiting_log_interval_ms) {
        return;
    }
    last_waiting_log_ms_ = now;
    std::string what;
    for (auto& e : entries_) {
        what += (what.empty() ? "" : "; ") + std::string(e->id()) + " at " + e->url + " (" +
                e->last_error + ")";
    }
    LOG_WARN("waiting for an inference backend: %s; %s",
             what.empty() ? "none registered" : what.c_str(),
             directory_ && directory_->any_waitable()
                 ? "requests for the loading llama-server wait, others are refused"
                 : "requests are refused until one answers");
}

void BackendRegistry::lend_request(BackendKind kind, unsigned shard) {
    if (Entry* e = entry(kind)) {
        e->lender.request(shard);
    }
}

void BackendRegistry::lend_withdraw(BackendKind kind, unsigned shard) {
    if (Entry* e = entry(kind)) {
        e->lender.withdraw(shard);
    }
}

void BackendRegistry::lend_give_back(BackendKind kind, unsigned shard, std::uint32_t n) {
    if (Entry* e = entry(kind)) {
        e->lender.give_back(shard, n);
    }
}

void BackendRegistry::suspect(BackendKind kind) {
    if (Entry* e = entry(kind)) {
        e->wake();
    }
}

void BackendRegistry::on_health(const BackendHealth& health) {
    Entry* e = health.backend == "llamacpp" ? entry(BackendKind::llamacpp) : nullptr;
    if (e == nullptr) {
        return;
    }
    if (health.url != e->url) {
        LOG_WARN("supervised llama-server reports %s, registry uses %s", health.url.c_str(),
                 e->url.c_str());
    }
    e->phase = health.phase;
    if (health.healthy) {
        // Still `loading` in the directory until the probe this wake starts finds it.
        e->supervised_slots = health.slots > 0 ? static_cast<std::uint32_t>(health.slots) : 0;
        e->wake();
    } else {
        // Loading: its jobs wait; down: the runners fail the waiting ones (BackendView::down).
        set_unavailable(e, "the supervised llama-server is " + health.detail);
    }
}

}  // namespace pylon::engine
