#include "engine/supervision_service.hpp"

#include <signal.h>
#include <sys/stat.h>

#include "engine/control_commands.hpp"
#include "engine/event_bus.hpp"
#include "engine/file_ops.hpp"
#include "engine/home.hpp"
#include "engine/identity_file.hpp"
#include "engine/status_board.hpp"
#include "engine/store.hpp"
#include "engine/supervised_children.hpp"
#include "proto/domain_event.hpp"
#include "proto/nip06.hpp"
#include "proto/nip19.hpp"
#include "reactor/clock.hpp"
#include "reactor/log.hpp"
#include "reactor/probe.hpp"

namespace pylon::engine {

using reactor::Task;

namespace {

constexpr std::size_t mnemonic_file_bytes_max = 4096;
constexpr const char* child_commands[] = {"ChildStart", "ChildStop", "ChildRestart"};

// autopilotd's worker_status words (not_spawning has none: the worker cannot run).
const char* autopilotd_status(ChildState state) {
    return state == ChildState::not_spawning ? "stopped" : child_state_name(state);
}

// Pylon v0.1's agents.lifecycle_state for a supervisor state.
const char* agent_lifecycle(ChildState state) {
    switch (state) {
        case ChildState::starting:
        case ChildState::running:
        case ChildState::stopping:
        case ChildState::restarting:
            return "active";
        case ChildState::not_spawning:
        case ChildState::stopped:
        case ChildState::failed:
            return "dormant";
    }
    return "dormant";
}

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) {
        text.pop_back();
    }
    return text;
}

}  // namespace

ServiceSpec supervision_service_spec() {
    return {"supervision", ServicePlacement::shard0, service_order::supervisor,
            [](ServiceContext& ctx) -> std::unique_ptr<Service> {
                return std::make_unique<SupervisionService>(ctx);
            }};
}

MemoryMonitorOptions memory_options_from(const MemoryConfig& m) {
    MemoryMonitorOptions o;
    o.thresholds.min_available_bytes = static_cast<std::uint64_t>(m.min_available_bytes);
    o.thresholds.critical_threshold_bytes = static_cast<std::uint64_t>(m.critical_threshold_bytes);
    o.thresholds.low_available_percent = static_cast<unsigned>(m.low_available_percent);
    o.thresholds.critical_available_percent = static_cast<unsigned>(m.critical_available_percent);
    o.thresholds.poll_min_ms = m.poll_interval_min_ms;
    o.thresholds.poll_max_ms = m.poll_interval_max_ms;
    o.psi_path = m.psi ? "/proc/pressure/memory" : "";
    o.hog_patterns = m.hog_patterns;
    o.hog_rss_bytes_min = static_cast<std::uint64_t>(m.hog_rss_bytes_min);
    o.kill_grace_ms = m.kill_grace_ms;
    o.kill_cooldown_ms = m.kill_cooldown_ms;
    return o;
}

SupervisionService::SupervisionService(ServiceContext& context) : context_(context) {}

SupervisionService::~SupervisionService() = default;

Task<Status> SupervisionService::start() {
    const Config& cfg = context_.config();
    Home home(context_.home_dir());
    if (cfg.supervisor.subreaper) {
        if (Status st = become_subreaper(); !st.ok()) {
            LOG_WARN("supervision: %s (orphaned descendants go to init)",
                     st.error().message().c_str());
        }
    }
    SupervisorOptions so = supervisor_options_from(cfg, home, reactor::probe_uring());
    so.adopt_orphans = cfg.supervisor.subreaper;
    so.reap_all_orphans = cfg.supervisor.subreaper;
    ::mkdir(home.logs_dir().c_str(), 0700);  // one metadata call at start-up
    supervisor_ = std::make_unique<Supervisor>(so);
    if (runs_provider(context_.mode())) {
        if (auto llama = llamacpp_child(cfg)) {
            if (Status st_ = supervisor_->add(std::move(*llama)); !st_.ok()) {
                co_return std::move(st_).error();
            }
        }
    }
    if (auto worker = worker_child(cfg, home)) {
        if (Status st_ = supervisor_->add(std::move(*worker)); !st_.ok()) {
            co_return std::move(st_).error();
        }
    }
    if (runs_host(context_.mode())) {
        if (Status st_ = co_await add_agents(); !st_.ok()) {
            co_return std::move(st_).error();
        }
    }
    if (Status st_ = supervisor_->on_change([this](const SupervisorEvent& e) { on_child(e); });
        !st_.ok()) {
        co_return std::move(st_).error();
    }
    Status started = co_await supervisor_->start();
    if (!started.ok()) {
        co_await supervisor_->stop();
        co_return started;
    }
    if (cfg.memory.enabled) {
        memory_ =
            std::make_unique<MemoryMonitor>(memory_options_from(cfg.memory), supervisor_.get());
        (void)memory_->on_event([this](const MemoryEvent& e) { on_memory(e); });
        StatusBoard* board = &context_.board();
        memory_->set_reading_hook(
            [board](const MemInfo& m) { board->set_memory(m.available_bytes, m.total_bytes); });
        Status st = co_await memory_->start();
        if (!st.ok()) {
            LOG_WARN("supervision: no memory monitor: %s", st.error().message().c_str());
            memory_.reset();
        }
    }
    if (auto worker = supervisor_->view(worker_child_name)) {
        publish_worker(*worker);
    }
    context_.set_supervision(supervisor_.get(), memory_.get());
    register_commands();
    // Host mode's service is the agents' supervision: `host_active` while it runs agents.
    context_.board().set_host_active(!agents_.empty());
    co_return Ok{};
}

Task<Status> SupervisionService::add_agents() {
    const Config& cfg = context_.config();
    if (cfg.agents.command.empty() || cfg.agents.accounts.empty()) {
        co_return Ok{};
    }
    Home home(context_.home_dir());
    std::string no_identity;
    std::optional<proto::Mnemonic> mnemonic;
    std::string mnemonic_path = identity_path(home, cfg);  // data_dir's, when set
    auto text = co_await read_file_async(mnemonic_path, mnemonic_file_bytes_max);
    if (!text.ok()) {
        no_identity = "no identity (" + text.error().message() + "); run `pylon init`";
    } else if (auto parsed = proto::Mnemonic::parse(trimmed(*text)); parsed.ok()) {
        mnemonic.emplace(std::move(parsed).value());
    } else {
        no_identity = mnemonic_path + ": " + parsed.error().message();
    }
    for (std::int64_t account : cfg.agents.accounts) {
        Agent agent{"agent-" + std::to_string(account), "", account};
        if (mnemonic) {
            auto kp = proto::nip06_keypair(*mnemonic, "", static_cast<std::uint32_t>(account));
            if (kp.ok()) {
                agent.npub = proto::npub_encode(kp->public_key());
            }
        }
        ChildConfig c = agent_child(cfg, home, agent.name, account, agent.npub);
        if (!no_identity.empty()) {
            c.not_spawning_reason = no_identity;
        }
        if (Status st_ = supervisor_->add(std::move(c)); !st_.ok()) {
            co_return std::move(st_).error();
        }
        if (!agent.npub.empty()) {
            Status row = co_await context_.store().call(&StoreDb::upsert_agent, agent.npub,
                                                        agent.name, account, reactor::unix_ms());
            if (!row.ok()) {
                LOG_WARN("agent %s: %s", agent.name.c_str(), row.error().message().c_str());
            }
        }
        agents_.push_back(std::move(agent));
    }
    co_return Ok{};
}

Task<void> SupervisionService::stop() {
    for (std::string_view name : proto::worker_requests) {
        context_.control_commands().remove(name);
    }
    for (const char* name : child_commands) {
        context_.control_commands().remove(name);
    }
    context_.control_commands().remove("Supervisor");
    context_.control_commands().remove("Memory");
    context_.board().set_host_active(false);
    context_.set_supervision(nullptr, nullptr);
    if (memory_) {
        co_await memory_->stop();
    }
    if (supervisor_) {
        co_await supervisor_->stop();
    }
    context_.board().set_admitting(true);
    co_await gate_.close();
}

void SupervisionService::reload(const Config& next) {
    if (memory_) {
        memory_->set_reloadable(memory_options_from(next.memory));
    }
}

void SupervisionService::on_child(const SupervisorEvent& event) {
    const ChildView& v = *event.child;
    if (v.status.state != event.previous) {
        proto::DomainEvent e;
        e.kind = proto::EventKind::child_state_changed;
        e.at_ms = reactor::unix_ms();
        e.name = v.name;
        e.state = child_state_name(v.status.state);
        if (v.status.pid != 0) {
            e.pid = v.status.pid;
        }
        e.reason =
            v.status.state == ChildState::not_spawning ? v.status.reason : v.status.last_error;
        context_.emit(std::move(e));
    }
    if (v.name == worker_child_name) {
        publish_worker(v);
    }
    for (const Agent& a : agents_) {
        if (a.name == v.name && !a.npub.empty()) {
            AgentSupervision s;
            s.lifecycle_state = agent_lifecycle(v.status.state);
            s.supervisor_state = child_state_name(v.status.state);
            if (v.status.pid != 0) {
                s.pid = v.status.pid;
            }
            s.restarts = static_cast<std::int64_t>(v.status.total_restarts);
            s.last_error =
                v.status.state == ChildState::not_spawning ? v.status.reason : v.status.last_error;
            gate_.spawn(record_agent(this, a.npub, std::move(s)));
        }
    }
}

Task<void> SupervisionService::record_agent(SupervisionService* self, std::string npub,
                                            AgentSupervision state) {
    Status st = co_await self->context_.store().call(&StoreDb::record_agent_supervision, npub,
                                                     state, reactor::unix_ms());
    if (!st.ok()) {
        LOG_WARN("agent %s: %s", npub.c_str(), st.error().message().c_str());
    }
}

void SupervisionService::publish_worker(const ChildView& v) {
    proto::WorkerReply w;
    w.success = true;
    w.message = "Daemon status";
    w.has_data = true;
    w.worker_status = autopilotd_status(v.status.state);
    if (v.status.pid != 0) {
        w.worker_pid = v.status.pid;
    }
    w.total_restarts = v.status.total_restarts;
    w.consecutive_failures = v.status.consecutive_failures;
    std::int64_t started = v.status.pid != 0 ? reactor::unix_ms() - v.uptime_ms : 0;
    context_.board().set_worker(w, started);
}

void SupervisionService::on_memory(const MemoryEvent& event) {
    context_.board().set_admitting(memory_ == nullptr || memory_->admitting());
    proto::DomainEvent e;
    e.at_ms = reactor::unix_ms();
    e.available_bytes = event.mem.available_bytes;
    e.total_bytes = event.mem.total_bytes;
    switch (event.kind) {
        case MemoryEventKind::low:
            e.kind = proto::EventKind::memory_low;
            break;
        case MemoryEventKind::critical:
            e.kind = proto::EventKind::memory_critical;
            break;
        case MemoryEventKind::recovered:
            e.kind = proto::EventKind::memory_normal;
            break;
        case MemoryEventKind::process_killed:
            e.kind = proto::EventKind::process_killed;
            e.pid = event.pid;
            e.name = event.name;
            e.rss_bytes = event.rss_bytes;
            e.reason =
                std::string(event.signal == SIGKILL ? "SIGKILL: " : "SIGTERM: ") + event.reason;
            break;
        case MemoryEventKind::kill_aborted:
            return;  // logged by the monitor; nothing happened to report
    }
    last_memory_event_ = proto::describe_domain_event(e);
    last_memory_event_at_ms_ = e.at_ms;
    context_.emit(std::move(e));
}

void SupervisionService::register_commands() {
    ControlCommands& cmds = context_.control_commands();
    for (std::string_view name : proto::worker_requests) {
        cmds.add(std::string(name), &SupervisionService::worker_command, this);
    }
    for (const char* name : child_commands) {
        cmds.add(name, &SupervisionService::child_command, this);
    }
    cmds.add("Supervisor", &SupervisionService::supervisor_command, this);
    cmds.add("Memory", &SupervisionService::memory_command, this);
}

Task<std::string> SupervisionService::worker_command(void* ctx, proto::ControlRequest req) {
    auto* self = static_cast<SupervisionService*>(ctx);
    Status st = Ok{};
    std::string done;
    if (!self->supervisor_->view(worker_child_name)) {
        st = Error(Errc::not_found, "no worker is configured ([worker] command is empty)");
    } else if (req.name == "StartWorker") {
        st = self->supervisor_->start_child(worker_child_name);
        done = "Worker started";
    } else if (req.name == "StopWorker") {
        st = self->supervisor_->stop_child(worker_child_name);
        done = "Worker stopped";
    } else {
        st = self->supervisor_->restart_child(worker_child_name);
        done = "Worker restarting";
    }
    std::string out;
    if (req.form == proto::ControlForm::typed) {
        proto::WorkerReply reply;
        reply.success = st.ok();
        reply.message = st.ok() ? done : st.error().message();
        proto::encode_worker_reply(reply, out);
    } else if (st.ok()) {
        proto::encode_ok(out);
    } else {
        proto::encode_error(st.error().message(), out);
    }
    co_return out;
}

Task<std::string> SupervisionService::child_command(void* ctx, proto::ControlRequest req) {
    auto* self = static_cast<SupervisionService*>(ctx);
    std::string name;
    std::string out;
    if (req.args_json.empty() ||
        proto::decode_child_name(req.args_json, self->reader_, name) != proto::Reject::none) {
        proto::encode_error("bad request: " + req.name +
                                " takes one argument, a child's name: {\"" + req.name +
                                "\":{\"name\":\"<child>\"}}",
                            out);
        co_return out;
    }
    Status st = req.name == "ChildStart"  ? self->supervisor_->start_child(name)
                : req.name == "ChildStop" ? self->supervisor_->stop_child(name)
                                          : self->supervisor_->restart_child(name);
    if (st.ok()) {
        proto::encode_ok(out);
    } else {
        proto::encode_error(st.error().message(), out);
    }
    co_return out;
}

Task<std::string> SupervisionService::supervisor_command(void* ctx, proto::ControlRequest) {
    std::string out;
    proto::encode_supervisor(static_cast<SupervisionService*>(ctx)->supervisor_info(), out);
    co_return out;
}

Task<std::string> SupervisionService::memory_command(void* ctx, proto::ControlRequest) {
    std::string out;
    proto::encode_memory(static_cast<SupervisionService*>(ctx)->memory_info(), out);
    co_return out;
}

proto::SupervisorInfo SupervisionService::supervisor_info() const {
    proto::SupervisorInfo info;
    info.exit_watch = exit_watch_name(supervisor_->options().exit_watch);
    info.orphans_reaped = supervisor_->counters().orphans_reaped;
    info.stale_terminated = supervisor_->counters().stale_terminated;
    for (const ChildView& v : supervisor_->views()) {
        proto::ChildInfo c;
        c.name = v.name;
        c.kind = v.kind;
        c.state = child_state_name(v.status.state);
        if (v.status.pid != 0) {
            c.pid = v.status.pid;
        }
        c.uptime_secs = static_cast<std::uint64_t>(v.uptime_ms / 1000);
        c.restarts = v.status.total_restarts;
        c.consecutive_failures = v.status.consecutive_failures;
        c.last_error = v.status.last_error;
        c.reason = v.status.reason;
        c.last_exit = v.status.has_exit ? v.status.last_exit.describe() : "";
        c.next_restart_in_ms = v.next_restart_in_ms;
        c.priority = v.priority;
        c.health = v.health;
        c.log_path = v.log_path;
        info.children.push_back(std::move(c));
    }
    return info;
}

proto::MemoryInfo SupervisionService::memory_info() const {
    proto::MemoryInfo m;
    if (!memory_) {
        return m;
    }
    m.enabled = true;
    m.level = memory_level_name(memory_->level());
    m.admitting = memory_->admitting();
    m.available_bytes = memory_->last().available_bytes;
    m.total_bytes = memory_->last().total_bytes;
    m.low_threshold_bytes = memory_->assessment().low_threshold_bytes;
    m.critical_threshold_bytes = memory_->assessment().critical_threshold_bytes;
    m.psi_armed = memory_->psi_armed();
    const MemoryCounters& k = memory_->counters();
    m.polls = k.polls;
    m.psi_wakes = k.psi_wakes;
    m.signals_sent = k.signals_sent;
    m.kills_aborted = k.kills_aborted;
    m.poll_cost_ns_last = k.poll_cost_ns_last;
    m.last_event = last_memory_event_;
    m.last_event_at_ms = last_memory_event_at_ms_;
    return m;
}

}  // namespace pylon::engine
