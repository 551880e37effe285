#include "engine/runtime.hpp"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include "engine/config_file.hpp"
#include "engine/control_commands.hpp"
#include "engine/file_ops.hpp"
#include "engine/runtime_status.hpp"
#include "engine/settings.hpp"
#include "engine/standard_services.hpp"
#include "engine/store.hpp"
#include "reactor/clock.hpp"
#include "reactor/gate.hpp"
#include "reactor/log.hpp"
#include "reactor/shard_set.hpp"

namespace pylon::engine {

using reactor::Shard;
using reactor::Task;

namespace {

struct StartedService {
    const ServiceSpec* spec;
    std::unique_ptr<Service> service;
};

// What the runtime keeps per shard; touched only by that shard while the set runs.
struct ShardState {
    std::unique_ptr<ServiceContext> context;
    Config config;
    std::vector<StartedService> started;
    reactor::AsyncEvent release;  // set by shard 0 when this shard may exit
};

enum class Phase : std::uint8_t { idle, starting, running, stopped };

}  // namespace

class RuntimeCore {
  public:
    explicit RuntimeCore(RuntimeOptions o) : options(std::move(o)), config(options.config) {}

    RuntimeOptions options;
    std::vector<ServiceSpec> specs;  // sorted by order (stable)
    unsigned shard_count = 0;
    std::unique_ptr<Store> store;
    StatusBoard board;
    std::unique_ptr<EventBus> bus;
    std::vector<std::unique_ptr<ShardState>> shards;
    ControlCommands commands;            // shard 0
    Supervisor* supervisor = nullptr;    // shard 0, while the supervision service runs
    MemoryMonitor* memory = nullptr;     // shard 0, likewise
    reactor::AsyncEvent stop_requested;  // shard 0
    std::atomic<bool> stop_flag{false};
    std::thread thread;
    std::int64_t started_at_ms = 0;
    std::int64_t started_mono_ms = 0;

    mutable std::mutex mutex;  // guards what follows
    std::condition_variable changed;
    Phase phase = Phase::idle;
    std::string stop_reason;  // the first request_stop's, for the ShuttingDown event
    Shard* shard0 = nullptr;
    bool start_done = false;
    Status start_status;
    Status run_status;
    bool finished = false;
    bool joined = false;
    Config config;  // in force (reloads applied)

    void note_started(const Status& st) {
        std::lock_guard lock(mutex);
        start_done = true;
        start_status = st;
        if (st.ok()) {
            phase = Phase::running;
        } else if (run_status.ok()) {
            run_status = st;
        }
        changed.notify_all();
    }
};

namespace {

ShardState& shard_state(RuntimeCore* core) {
    unsigned id = Shard::current().id();
    PYLON_ASSERT(id < core->shards.size());
    ShardState& st = *core->shards[id];
    if (!st.context) {
        st.context = std::make_unique<ServiceContext>(core, &Shard::current());
    }
    return st;
}

Task<Status> start_one(RuntimeCore* core, const ServiceSpec* spec) {
    ShardState& st = shard_state(core);
    std::unique_ptr<Service> service = spec->make(*st.context);
    if (!service) {
        co_return Error(Errc::internal, "service " + spec->name + " could not be made");
    }
    Status started = co_await service->start();
    if (!started.ok()) {
        co_return Error(started.error().code(), spec->name + ": " + started.error().message(),
                        started.error().sys_errno());
    }
    LOG_DEBUG("service %s started on shard %u", spec->name.c_str(), Shard::current().id());
    st.started.push_back(StartedService{spec, std::move(service)});
    co_return Ok{};
}

Task<void> stop_order(RuntimeCore* core, int order) {
    ShardState& st = shard_state(core);
    for (std::size_t i = st.started.size(); i > 0; i--) {
        StartedService& s = st.started[i - 1];
        if (s.spec->order != order || !s.service) {
            continue;
        }
        co_await s.service->stop();
        LOG_DEBUG("service %s stopped on shard %u", s.spec->name.c_str(), Shard::current().id());
        s.service.reset();
    }
}

void apply_config_here(RuntimeCore* core, const Config* next) {
    ShardState& st = shard_state(core);
    st.config = *next;
    for (StartedService& s : st.started) {
        if (s.service) {
            s.service->reload(st.config);
        }
    }
}

Task<Status> start_all(RuntimeCore* core) {
    for (const ServiceSpec& spec : core->specs) {
        unsigned targets = spec.placement == ServicePlacement::shard0 ? 1 : core->shard_count;
        for (unsigned t = 0; t < targets; t++) {
            const ServiceSpec* s = &spec;
            Status st = co_await reactor::submit_to(t, [core, s]() { return start_one(core, s); });
            if (!st.ok()) {
                co_return st;
            }
        }
    }
    co_return Ok{};
}

Task<void> stop_order_on(RuntimeCore* core, unsigned shard, int order) {
    co_await reactor::submit_to(shard, [core, order]() { return stop_order(core, order); });
}

// Each order on every shard at once: a service's stop may wait (the job runner gives running
// jobs shutdown_grace_ms), and shard by shard those waits added up (N shards x the grace).
Task<void> stop_all(RuntimeCore* core) {
    std::set<int, std::greater<>> orders;
    for (const ServiceSpec& spec : core->specs) {
        orders.insert(spec.order);
    }
    for (int order : orders) {
        reactor::Gate shards;
        for (unsigned t = 0; t < core->shard_count; t++) {
            shards.spawn(stop_order_on(core, t, order));
        }
        co_await shards.close();
    }
}

void log_running(RuntimeCore* core) {
    const RuntimeOptions& o = core->options;
    LOG_INFO("pylon running: %u shard(s), mode %.*s, home %s%s%s", core->shard_count,
             static_cast<int>(run_mode_name(o.mode).size()), run_mode_name(o.mode).data(),
             o.home_dir.c_str(), o.control_socket_path.empty() ? "" : ", control socket ",
             o.control_socket_path.c_str());
    if (core->board.relays().empty() && core->board.backends().empty()) {
        const char* why = !runs_provider(o.mode) ? "this mode runs no provider"
                          : !o.identity          ? "no identity, so no provider (pylon init)"
                                                 : "`relays` is empty and no backend is enabled";
        LOG_INFO("idle: no relay and no backend in use (%s); waiting for a stop request", why);
    }
}

Task<void> coordinate(RuntimeCore* core) {
    {
        std::lock_guard lock(core->mutex);
        core->shard0 = &Shard::current();
    }
    Status started = co_await start_all(core);
    core->note_started(started);
    if (started.ok()) {
        log_running(core);
        if (!core->stop_flag.load()) {
            co_await core->stop_requested.wait();
        }
        proto::DomainEvent bye;
        bye.kind = proto::EventKind::shutting_down;
        {
            std::lock_guard lock(core->mutex);
            bye.reason = core->stop_reason;
        }
        core->bus->emit(std::move(bye));
        LOG_INFO("stopping: services in reverse order");
    }
    co_await stop_all(core);
    Status flushed = co_await core->store->flush();
    if (!flushed.ok()) {
        LOG_ERROR("store flush failed: %s", flushed.error().message().c_str());
    }
    {
        std::lock_guard lock(core->mutex);
        core->shard0 = nullptr;
    }
    for (unsigned t = 1; t < core->shard_count; t++) {
        co_await reactor::submit_to(t, [core]() { shard_state(core).release.set(); });
    }
}

Task<void> shard_main(RuntimeCore* core, Shard* shard) {
    char name[16];
    std::snprintf(name, sizeof name, "pylon-shard%u", shard->id());
    pthread_setname_np(pthread_self(), name);  // what top -H and /proc/<pid>/task show
    ShardState& st = shard_state(core);
    if (shard->id() == 0) {
        co_await coordinate(core);
    } else {
        co_await st.release.wait();
    }
}

void run_thread(RuntimeCore* core, reactor::ShardSetOptions set_options) {
    Status st;
    {
        reactor::ShardSet set(set_options);
        st = set.run([core](Shard& s) { return shard_main(core, &s); });
    }
    if (!st.ok()) {
        LOG_ERROR("shards: %s", st.error().message().c_str());
        std::lock_guard lock(core->mutex);
        if (!core->start_done) {
            core->start_done = true;
            core->start_status = st;
        }
        if (core->run_status.ok()) {
            core->run_status = st;
        }
    }
    core->store->close();
    std::lock_guard lock(core->mutex);
    core->finished = true;
    core->phase = Phase::stopped;
    core->changed.notify_all();
}

Task<Result<ReloadReport>> apply_reload(RuntimeCore* core, Config next,
                                        std::vector<std::string> warnings) {
    Config running;
    {
        std::lock_guard lock(core->mutex);
        running = core->config;
    }
    ReloadPlan plan = plan_reload(running, next);
    if (auto problem = check_config(plan.applied)) {
        co_return Error(Errc::invalid_input, problem->path + ": " + problem->reason);
    }
    if (!plan.changed.empty()) {
        const Config* applied = &plan.applied;
        for (unsigned t = 0; t < core->shard_count; t++) {
            co_await reactor::submit_to(t, [core, applied]() { apply_config_here(core, applied); });
        }
        std::lock_guard lock(core->mutex);
        core->config = plan.applied;
    }
    reactor::LogLevel level{};
    if (reactor::parse_log_level(plan.applied.log.level, level)) {
        reactor::Log::set_level(level);
    }
    LOG_INFO("config reloaded: %zu change(s) applied, %zu need a restart", plan.changed.size(),
             plan.not_applied.size());
    for (const std::string& key : plan.not_applied) {
        LOG_WARN("config: %s changed; restart pylon to apply it", key.c_str());
    }
    proto::DomainEvent ev;
    ev.kind = proto::EventKind::config_reloaded;
    ev.keys = plan.changed;
    ev.not_applied = plan.not_applied;
    core->bus->emit(std::move(ev));
    co_return ReloadReport{std::move(plan.changed), std::move(plan.not_applied),
                           std::move(warnings)};
}

Task<Result<ReloadReport>> reload_from_file_on_shard0(RuntimeCore* core) {
    const std::string& path = core->options.config_path;
    if (path.empty()) {
        co_return Error(Errc::unsupported, "this runtime has no config file to reload");
    }
    // Read through io_uring (a shard never blocks on the disk). A missing file is refused when
    // it was named (-c), as the start refuses it; the home's config.toml missing is the defaults.
    auto text = co_await read_file_async(path, config_file_bytes_max);
    if (!text.ok() && (text.error().code() != Errc::not_found || core->options.config_given)) {
        LOG_ERROR("config reload refused: %s", text.error().message().c_str());
        co_return std::move(text).error();
    }
    auto loaded =
        text.ok() ? parse_config_text(text.value(), path) : Result<LoadedConfig>(LoadedConfig{});
    if (!loaded.ok()) {
        LOG_ERROR("config reload refused: %s", loaded.error().message().c_str());
        co_return std::move(loaded).error();
    }
    if (!text.ok()) {
        // As a restart would, but said: a moved or deleted file resets every setting.
        loaded->warnings.push_back(path + " does not exist: every setting is back to its default");
    }
    for (const std::string& w : loaded->warnings) {
        LOG_WARN("config: %s", w.c_str());
    }
    co_return co_await apply_reload(core, std::move(loaded->config), loaded->warnings);
}

reactor::ShardSetOptions shard_set_options(const RuntimeCore& core) {
    reactor::ShardSetOptions o;
    o.shard_count = core.shard_count;
    o.pin = core.options.config.shards.pin;
    for (std::int64_t cpu : core.options.config.shards.cpus) {
        o.cpus.push_back(static_cast<int>(cpu));
    }
    return o;
}

unsigned pick_shard_count(const RuntimeOptions& o) {
    if (o.shards && *o.shards > 0) {
        return *o.shards;
    }
    if (!o.shards && o.config.shards.count > 0) {
        return static_cast<unsigned>(o.config.shards.count);
    }
    std::size_t cpus =
        o.config.shards.cpus.empty() ? reactor::allowed_cpus().size() : o.config.shards.cpus.size();
    return static_cast<unsigned>(std::max<std::size_t>(1, cpus));
}

Status open_store(RuntimeCore& core) {
    const RuntimeOptions& o = core.options;
    StoreOptions so;
    so.db.path = o.db_path.empty() ? o.home_dir + "/pylon.db" : o.db_path;
    so.db.busy_timeout_ms = o.config.store.busy_timeout_ms;
    so.shard_count = core.shard_count;
    so.queue_max = static_cast<std::size_t>(o.config.store.queue_max);
    so.batch_writes_max = static_cast<std::size_t>(o.config.store.batch_writes_max);
    so.processed_requests_keep_ms = o.config.store.processed_requests_keep_s * 1000;
    so.group_commit_wait_us = o.config.store.group_commit_wait_us;
    so.group_commit_jobs_min = static_cast<std::uint32_t>(o.config.store.group_commit_jobs_min);
    auto store = Store::open(so);
    if (!store.ok()) {
        return Error(store.error().code(),
                     "database " + so.db.path + ": " + store.error().message());
    }
    core.store = std::move(store.value());
    auto counts = core.store->read_sync([](StoreDb& db) { return db.counts(); });
    if (!counts.ok()) {
        return std::move(counts).error();
    }
    core.board.seed_counts(counts->jobs_completed, counts->earnings_msats);
    return Ok{};
}

}  // namespace

// -- ServiceContext --

Supervisor* ServiceContext::supervisor() const noexcept {
    return core_->supervisor;
}

MemoryMonitor* ServiceContext::memory_monitor() const noexcept {
    return core_->memory;
}

void ServiceContext::set_supervision(Supervisor* supervisor, MemoryMonitor* memory) const noexcept {
    PYLON_ASSERT(shard_->id() == 0);
    core_->supervisor = supervisor;
    core_->memory = memory;
}

unsigned ServiceContext::shard_count() const noexcept {
    return core_->shard_count;
}
const Config& ServiceContext::config() const noexcept {
    return core_->shards[shard_->id()]->config;
}
Store& ServiceContext::store() const noexcept {
    return *core_->store;
}
EventBus& ServiceContext::events() const noexcept {
    return *core_->bus;
}
StatusBoard& ServiceContext::board() const noexcept {
    return core_->board;
}
RunMode ServiceContext::mode() const noexcept {
    return core_->options.mode;
}
const std::string& ServiceContext::home_dir() const noexcept {
    return core_->options.home_dir;
}
void ServiceContext::emit(proto::DomainEvent event) const {
    core_->bus->emit(std::move(event));
}
ControlCommands& ServiceContext::control_commands() const noexcept {
    PYLON_ASSERT(shard_->id() == 0);
    return core_->commands;
}

void ServiceContext::request_stop(std::string_view reason) const {
    std::lock_guard lock(core_->mutex);
    // The reason is in place before the flag is seen (coordinate() reads it once it stops).
    if (core_->stop_flag.load()) {
        return;
    }
    core_->stop_reason.assign(reason);
    core_->stop_flag.store(true);
    LOG_INFO("shutdown requested: %.*s", static_cast<int>(reason.size()), reason.data());
    if (core_->shard0 != nullptr) {
        RuntimeCore* core = core_;
        core_->shard0->post_foreign(reactor::Message([core]() { core->stop_requested.set(); }));
    }
}

RuntimeStatus ServiceContext::status() const {
    RuntimeStatus s;
    const RuntimeCore& c = *core_;
    {
        std::lock_guard lock(c.mutex);
        s.running = c.phase == Phase::running;
    }
    s.pid = ::getpid();
    s.started_at_ms = c.started_at_ms;
    std::int64_t up_ms = reactor::monotonic_ms() - c.started_mono_ms;
    s.uptime_secs = c.started_mono_ms == 0 ? 0 : static_cast<std::uint64_t>(up_ms / 1000);
    s.mode = c.options.mode;
    s.provider_active = c.board.provider_active();
    s.host_active = c.board.host_active();
    s.shards = c.shard_count;
    s.jobs_completed = c.board.jobs_completed();
    s.earnings_msats = c.board.earnings_msats();
    s.events_dropped = c.bus ? c.bus->dropped_total() : 0;
    s.home = c.options.home_dir;
    s.config_path = c.options.config_path;
    s.relays = c.board.relays();
    s.backends = c.board.backends();
    return s;
}

Task<std::vector<proto::ShardInfo>> ServiceContext::shard_infos() const {
    RuntimeCore* core = core_;
    std::vector<proto::ShardInfo> out;
    for (unsigned t = 0; t < core->shard_count; t++) {
        proto::ShardInfo info = co_await reactor::submit_to(t, [core]() {
            const Shard& s = Shard::current();
            const reactor::ShardCounters& c = s.counters();
            proto::ShardInfo i;
            i.id = s.id();
            i.loops = c.loops;
            i.waits = c.waits;
            i.cqes = c.cqes;
            i.tasks_resumed = c.tasks_resumed;
            i.timers_fired = c.timers_fired;
            i.messages_in = c.messages_in;
            i.messages_out = c.messages_out;
            i.wakes_sent = c.wakes_sent;
            i.wakes_received = c.wakes_received;
            i.foreign_posts = c.foreign_posts;
            i.mailbox_full = c.mailbox_full;
            i.stalls = c.stalls;
            i.stall_max_us = c.stall_max_us;
            i.events_emitted = core->bus->emitted(s.id());
            i.events_dropped = core->bus->dropped(s.id());
            i.store_requests = core->store->shard_requests(s.id());
            return i;
        });
        out.push_back(info);
    }
    co_return out;
}

Task<Result<ReloadReport>> ServiceContext::reload_from_file() const {
    co_return co_await reload_from_file_on_shard0(core_);
}

// -- Runtime --

Runtime::Runtime(RuntimeOptions options)
    : core_(std::make_unique<RuntimeCore>(std::move(options))) {}

Runtime::~Runtime() {
    bool started = false;
    {
        std::lock_guard lock(core_->mutex);
        started = core_->phase != Phase::idle;
    }
    if (started) {
        (void)stop();
    }
}

Status Runtime::start() {
    RuntimeCore& c = *core_;
    {
        std::lock_guard lock(c.mutex);
        if (c.phase != Phase::idle) {
            return Error(Errc::busy, "this runtime was already started (a Runtime starts once)");
        }
        c.phase = Phase::starting;
    }
    auto refuse = [&c](Error e) -> Status {
        std::lock_guard lock(c.mutex);
        c.phase = Phase::stopped;
        c.finished = true;
        c.joined = true;
        return e;
    };
    if (auto problem = check_config(c.options.config)) {
        return refuse(Error(Errc::invalid_input, problem->path + ": " + problem->reason));
    }
    reactor::LogLevel level{};
    if (reactor::parse_log_level(c.options.config.log.level, level)) {
        reactor::Log::set_level(level);
    }
    c.shard_count = pick_shard_count(c.options);
    if (Status st = open_store(c); !st.ok()) {
        return refuse(std::move(st).error());
    }
    c.bus = std::make_unique<EventBus>(EventBusOptions{c.shard_count}, &c.board);
    for (unsigned i = 0; i < c.shard_count; i++) {
        c.shards.push_back(std::make_unique<ShardState>());
        c.shards.back()->config = c.options.config;
    }
    c.specs = standard_services(c.options);
    for (const ServiceSpec& s : c.options.services) {
        c.specs.push_back(s);
    }
    std::stable_sort(c.specs.begin(), c.specs.end(),
                     [](const ServiceSpec& a, const ServiceSpec& b) { return a.order < b.order; });
    c.started_at_ms = reactor::unix_ms();
    c.started_mono_ms = reactor::monotonic_ms();
    c.thread = std::thread(run_thread, core_.get(), shard_set_options(c));
    std::unique_lock lock(c.mutex);
    c.changed.wait(lock, [&c] { return c.start_done; });
    if (c.start_status.ok()) {
        return Ok{};
    }
    Status failed = c.start_status;
    lock.unlock();
    (void)wait();
    return failed;
}

void Runtime::request_stop(std::string_view reason) {
    ServiceContext(core_.get(), nullptr).request_stop(reason);
}

Status Runtime::wait() {
    RuntimeCore& c = *core_;
    std::unique_lock lock(c.mutex);
    c.changed.wait(lock, [&c] { return c.finished; });
    if (!c.joined) {
        c.joined = true;
        lock.unlock();
        c.thread.join();
        lock.lock();
    }
    return c.run_status;
}

bool Runtime::stopped_within(int timeout_ms) {
    RuntimeCore& c = *core_;
    std::unique_lock lock(c.mutex);
    return c.changed.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                              [&c] { return c.finished; });
}

Status Runtime::stop() {
    request_stop("stop() called");
    return wait();
}

bool Runtime::running() const {
    std::lock_guard lock(core_->mutex);
    return core_->phase == Phase::running;
}

RuntimeStatus Runtime::status() const {
    return ServiceContext(core_.get(), nullptr).status();
}

std::shared_ptr<EventSubscription> Runtime::subscribe(std::size_t events_max) {
    PYLON_ASSERT_MSG(core_->bus != nullptr, "Runtime::subscribe before start()");
    return core_->bus->subscribe_external(events_max);
}

Config Runtime::config() const {
    std::lock_guard lock(core_->mutex);
    return core_->config;
}

unsigned Runtime::shard_count() const {
    return core_->shard_count;
}

namespace {

struct HostReload {
    RuntimeCore* core;
    Config next;
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<Result<ReloadReport>> result;
};

Task<void> run_host_reload(HostReload* r) {
    Result<ReloadReport> res = co_await apply_reload(r->core, std::move(r->next), {});
    std::lock_guard lock(r->mutex);
    r->result.emplace(std::move(res));
    r->cv.notify_one();
}

}  // namespace

Result<ReloadReport> Runtime::reload(Config next) {
    HostReload request{core_.get(), std::move(next), {}, {}, {}};
    {
        std::lock_guard lock(core_->mutex);
        if (core_->shard0 == nullptr || core_->phase != Phase::running) {
            return Error(Errc::closed, "the runtime is not running");
        }
        HostReload* r = &request;
        core_->shard0->post_foreign(
            reactor::Message([r]() { Shard::current().spawn(run_host_reload(r)); }));
    }
    // The runtime may stop before shard 0 runs the request: look at that too.
    for (;;) {
        std::unique_lock lock(request.mutex);
        if (request.cv.wait_for(lock, std::chrono::milliseconds(100),
                                [&request] { return request.result.has_value(); })) {
            return std::move(*request.result);
        }
        lock.unlock();
        std::lock_guard core_lock(core_->mutex);
        if (core_->finished) {
            return Error(Errc::closed, "the runtime stopped before the reload ran");
        }
    }
}

}  // namespace pylon::engine
