#include "engine/supervisor.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "engine/file_ops.hpp"
#include "engine/http_probe.hpp"
#include "engine/pidfd.hpp"
#include "engine/run_file.hpp"
#include "reactor/log.hpp"
#include "reactor/ops.hpp"
#include "reactor/shard.hpp"
#include "reactor/sync.hpp"

namespace pylon::engine {

using reactor::CancelSource;
using reactor::Shard;
using reactor::Task;

namespace {

constexpr std::size_t recent_sessions_max = 64;
constexpr std::int64_t shutdown_extra_ms = 5000;    // beyond the longest stop grace
constexpr std::int64_t shutdown_poll_ms = 10;       // stop(): how often it checks
constexpr std::int64_t drain_after_stop_ms = 1000;  // output still read after the last exit
constexpr std::int64_t http_probe_start_delay_ms = 100;

bool valid_name(const std::string& name) {
    if (name.empty() || name.size() > 64) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
               ch == '_' || ch == '-' || ch == '.';
    });
}

std::string hex64(std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
    return buf;
}

std::string join_argv(const std::vector<std::string>& argv) {
    std::string out;
    for (const std::string& a : argv) {
        if (!out.empty()) {
            out.push_back(' ');
        }
        out += a;
    }
    return out;
}

}  // namespace

const char* health_kind_name(HealthKind kind) noexcept {
    switch (kind) {
        case HealthKind::alive:
            return "alive";
        case HealthKind::ready_line:
            return "ready-line";
        case HealthKind::http:
            return "http";
    }
    return "?";
}

// One supervised child: its configuration, its machine, its log and its current process. The
// Child is the machine's driver.
struct Supervisor::Child final : ChildDriver {
    Child(Supervisor* s, ChildConfig cfg)
        : sup(s),
          config(std::move(cfg)),
          machine(config.name, config.policy, *s->clock_, s->rng_, *this),
          timer(&Child::on_timer_fire, this) {}
    ~Child() override {
        if (timer.armed()) {
            timer.wheel->cancel(&timer);
        }
    }

    void spawn() override {
        generation++;
        ready.reset();
        sup->gate_.spawn(spawn_child(sup, this, generation));
    }
    void begin_health() override {
        health_wanted = true;
        sup->gate_.spawn(run_health(this, generation));
    }
    void end_health() override {
        health_wanted = false;
        if (health_cancel != nullptr) {
            health_cancel->cancel();
        }
    }
    void signal(int sig) override {
        if (process && !process->reaped()) {
            Status st = process->signal_group(sig);
            if (log) {
                log->note("sent " + std::string(sig == SIGKILL ? "SIGKILL" : "SIGTERM") +
                          " to process group " + std::to_string(process->pgid()));
            }
            if (!st.ok()) {
                LOG_WARN("child %s: %s", config.name.c_str(), st.error().message().c_str());
            }
        }
    }
    void arm_timer(std::int64_t deadline_ms) override {
        std::int64_t delay = std::max<std::int64_t>(deadline_ms - sup->clock_->now_ms(), 0);
        Shard::current().timers().arm(&timer, reactor::monotonic_ms() + delay);
    }
    void disarm_timer() override {
        if (timer.armed()) {
            timer.wheel->cancel(&timer);
        }
    }
    void changed(const ChildStatus&, ChildState previous) override { sup->notify(*this, previous); }

    static void on_timer_fire(reactor::TimerNode* node) {
        static_cast<Child*>(node->context)->machine.on_timer();
    }
    static void on_ready_line(void* context, std::uint64_t tag) {
        auto* c = static_cast<Child*>(context);
        if (tag == c->generation) {
            c->ready.set();
        }
    }

    Supervisor* sup;
    ChildConfig config;
    ChildMachine machine;
    std::unique_ptr<ChildLog> log;
    std::optional<ChildProcess> process;
    std::uint64_t generation = 0;
    std::uint64_t starttime_ticks = 0;
    std::uint64_t argv_hash_value = 0;
    std::string token;
    reactor::TimerNode timer;
    reactor::AsyncEvent ready;  // the ready line of the current generation was seen
    bool health_wanted = false;
    CancelSource* health_cancel = nullptr;  // owned by the running run_health frame
    CancelSource* exit_cancel = nullptr;    // owned by the running watch_exit frame
    CancelSource drain_cancel;              // stops this child's pipe drains at shutdown
};

Supervisor::Supervisor(SupervisorOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : &reactor::SystemClock::instance()),
      rng_(options_.rng_seed != 0 ? options_.rng_seed
                                  : static_cast<std::uint64_t>(reactor::monotonic_ns()) ^
                                        (static_cast<std::uint64_t>(::getpid()) << 32)),
      proc_(options_.proc_root) {
    instance_ = hex64(rng_.next()).substr(0, 12);
}

Supervisor::~Supervisor() {
    PYLON_ASSERT_MSG(!started_ || stopping_, "Supervisor destroyed without stop()");
}

Status Supervisor::add(ChildConfig config) {
    if (!valid_name(config.name)) {
        return Error(Errc::invalid_input, "child name '" + config.name +
                                              "' must be 1-64 characters of A-Z a-z 0-9 _ - .");
    }
    if (find(config.name) != nullptr) {
        return Error(Errc::exists, "a child named '" + config.name + "' already exists");
    }
    if (children_.size() >= options_.children_max) {
        return Error(Errc::too_large, "too many children (children_max " +
                                          std::to_string(options_.children_max) + ")");
    }
    if (config.health.kind == HealthKind::http) {
        auto target = parse_probe_url(config.health.url);
        if (!target.ok()) {
            return std::move(target).error();
        }
    }
    if (options_.logs_dir.empty()) {
        if (config.health.kind == HealthKind::ready_line) {
            return Error(Errc::invalid_input, "a ready-line health gate needs a logs directory");
        }
        config.spawn.capture_output = false;
    }
    children_.push_back(std::make_unique<Child>(this, std::move(config)));
    Child* c = children_.back().get();
    if (!options_.logs_dir.empty()) {
        ChildLogOptions lo;
        lo.path = options_.logs_dir + "/" + c->config.name + ".log";
        lo.file_bytes_max = options_.log_file_bytes_max;
        lo.files_kept = options_.log_files_kept;
        c->log = std::make_unique<ChildLog>(std::move(lo));
    }
    if (started_ && !stopping_) {
        gate_.spawn([](Child* child) -> Task<void> {
            if (child->log) {
                Status st = co_await child->log->open();
                if (!st.ok()) {
                    LOG_WARN("child %s: %s", child->config.name.c_str(),
                             st.error().message().c_str());
                }
            }
            if (!child->config.not_spawning_reason.empty()) {
                child->machine.set_not_spawning(child->config.not_spawning_reason);
            } else if (child->config.autostart) {
                child->machine.start();
            }
        }(c));
    }
    return Ok{};
}

Status Supervisor::on_change(Listener listener) {
    auto id = add_listener(std::move(listener));
    if (!id.ok()) {
        return std::move(id).error();
    }
    return Ok{};
}

Result<std::uint64_t> Supervisor::add_listener(Listener listener) {
    if (listeners_.size() >= options_.listeners_max) {
        return Error(Errc::too_large, "too many supervisor listeners");
    }
    std::uint64_t id = next_listener_id_++;
    listeners_.emplace_back(id, std::move(listener));
    return id;
}

void Supervisor::remove_listener(std::uint64_t id) noexcept {
    for (std::size_t i = 0; i < listeners_.size(); i++) {
        if (listeners_[i].first == id) {
            listeners_.erase(listeners_.begin() + static_cast<std::ptrdiff_t>(i));
            return;
        }
    }
}

Supervisor::Child* Supervisor::find(const std::string& name) const {
    for (const auto& c : children_) {
        if (c->config.name == name) {
            return c.get();
        }
    }
    return nullptr;
}

Task<Status> Supervisor::start() {
    PYLON_ASSERT(!started_);
    started_ = true;
    auto boot = proc_.boot_id();
    boot_id_ = boot.ok() ? *boot : std::string();
    co_await reconcile();
    for (auto& c : children_) {
        if (c->log) {
            Status st = co_await c->log->open();
            if (!st.ok()) {
                LOG_WARN("child %s: %s (its output is dropped)", c->config.name.c_str(),
                         st.error().message().c_str());
            }
        }
    }
    for (auto& c : children_) {
        if (!c->config.not_spawning_reason.empty()) {
            c->machine.set_not_spawning(c->config.not_spawning_reason);
        } else if (c->config.autostart) {
            c->machine.start();
        }
    }
    if (options_.adopt_orphans && options_.orphan_scan_interval_ms > 0) {
        gate_.spawn(orphan_scan_loop(this));
    }
    LOG_INFO("supervisor: %zu child(ren), exit watch %s", children_.size(),
             exit_watch_name(options_.exit_watch));
    co_return Ok{};
}

Task<void> Supervisor::orphan_scan_loop(Supervisor* s) {
    for (;;) {
        bool slept =
            co_await reactor::sleep_ms(s->options_.orphan_scan_interval_ms, s->shutdown_.token());
        if (!slept || s->stopping_) {
            break;
        }
        s->adopt_orphans();
    }
}

Task<void> Supervisor::reconcile() {
    if (options_.run_file.empty()) {
        co_return;
    }
    std::string dir = options_.run_file.substr(0, options_.run_file.rfind('/'));
    if (!dir.empty() && dir != options_.run_file) {
        ::mkdir(dir.c_str(), 0700);  // one small metadata call at start-up
    }
    auto text = co_await read_file_async(options_.run_file, run_file_bytes_max);
    if (!text.ok()) {
        if (text.error().code() != Errc::not_found) {
            LOG_WARN("supervisor: run file: %s", text.error().message().c_str());
        }
        co_return;
    }
    auto file = RunFile::decode(*text);
    if (!file.ok()) {
        LOG_WARN("supervisor: %s (ignored)", file.error().message().c_str());
        co_return;
    }
    if (file->boot_id != boot_id_) {
        LOG_INFO("supervisor: run file is from an earlier boot: nothing to reconcile");
        co_return;
    }
    std::vector<StaleProcess> stale = find_stale(*file, proc_, boot_id_);
    if (stale.empty()) {
        co_return;
    }
    LOG_WARN("supervisor: %zu process(es) of an earlier daemon (pid %d) still run: terminating",
             stale.size(), file->daemon_pid);
    ReconcileReport report =
        co_await terminate_stale(std::move(stale), options_.reconcile_grace_ms);
    counters_.stale_terminated += report.terminated + report.killed;
    if (report.survived > 0) {
        LOG_ERROR("supervisor: %zu stale process(es) survived SIGKILL", report.survived);
    }
    request_run_file_write();
}

Task<void> Supervisor::stop() {
    if (!started_ || stopping_) {
        co_return;
    }
    stopping_ = true;
    std::int64_t grace_max = 0;
    for (auto& c : children_) {
        c->machine.stop();
        grace_max = std::max(grace_max, c->config.policy.stop_grace_ms);
    }
    std::int64_t deadline = reactor::monotonic_ms() + grace_max + shutdown_extra_ms;
    auto any_alive = [this] {
        return std::any_of(children_.begin(), children_.end(),
                           [](const auto& c) { return c->machine.process_alive(); });
    };
    while (any_alive() && reactor::monotonic_ms() < deadline) {
        co_await reactor::sleep_ms(shutdown_poll_ms);
    }
    for (auto& c : children_) {
        if (c->machine.process_alive()) {
            LOG_ERROR("child %s: still alive at shutdown: SIGKILL", c->config.name.c_str());
            c->signal(SIGKILL);
        }
    }
    for (auto& [pid, orphan] : orphans_) {
        // Ours are leftovers: terminated. Others (reap_all_orphans) are never signalled: no
        // longer waited for either; init reaps them once we are gone.
        (orphan.ours ? orphan.terminate : orphan.abandon) = true;
        if (orphan.wake != nullptr) {
            orphan.wake->cancel();
        }
    }
    std::int64_t drain_deadline = reactor::monotonic_ms() + drain_after_stop_ms;
    for (auto& c : children_) {
        while (c->log && c->log->drains_active() > 0 && reactor::monotonic_ms() < drain_deadline) {
            co_await reactor::sleep_ms(shutdown_poll_ms);
        }
        c->drain_cancel.cancel();
    }
    shutdown_.cancel();
    for (auto& c : children_) {
        if (c->log) {
            co_await c->log->close();
        }
    }
    co_await gate_.close();
    if (!options_.run_file.empty()) {
        co_await unlink_file(options_.run_file);
    }
}

Task<void> Supervisor::spawn_child(Supervisor* s, Child* c, std::uint64_t generation) {
    PYLON_ASSERT(!c->process);
    SpawnSpec spec = c->config.spawn;
    c->token = s->instance_ + "-" + c->config.name + "-" + std::to_string(generation);
    spec.env.push_back(std::string(child_token_env) + "=" + c->token);
    s->spawning_++;  // until its pid is recorded, an orphan scan could take it for an orphan
    auto spawned = co_await ChildProcess::spawn(spec);
    s->spawning_--;
    if (!spawned.ok()) {
        s->counters_.spawn_failures++;
        std::string msg = spawned.error().message();
        if (c->log) {
            c->log->note("spawn failed: " + msg);
        }
        LOG_WARN("child %s: spawn failed: %s", c->config.name.c_str(), msg.c_str());
        c->machine.on_spawn_failed(msg);
        co_return;
    }
    c->process.emplace(std::move(spawned).value());
    pid_t pid = c->process->pid();
    s->counters_.spawns++;
    auto st = s->proc_.stat(pid);
    c->starttime_ticks = st.ok() ? st->starttime_ticks : 0;
    c->argv_hash_value = argv_hash(spec.argv);
    s->recent_sessions_.push_back(pid);
    if (s->recent_sessions_.size() > recent_sessions_max) {
        s->recent_sessions_.erase(s->recent_sessions_.begin());
    }
    if (c->log) {
        c->log->note("started pid " + std::to_string(pid) + ": " + join_argv(spec.argv));
        std::string needle =
            c->config.health.kind == HealthKind::ready_line ? c->config.health.ready_line : "";
        int out = c->process->take_stdout_fd();
        int err = c->process->take_stderr_fd();
        if (out >= 0) {
            c->log->start_drain(out, needle, &Child::on_ready_line, c, generation,
                                c->drain_cancel.token());
        }
        if (err >= 0) {
            c->log->start_drain(err, "", nullptr, nullptr, 0, c->drain_cancel.token());
        }
    }
    s->request_run_file_write();
    s->gate_.spawn(watch_exit(s, c, generation));
    c->machine.on_spawned(pid);
}

Task<void> Supervisor::watch_exit(Supervisor* s, Child* c, std::uint64_t generation) {
    PYLON_ASSERT(c->process && c->generation == generation);
    int res = 0;
    {
        CancelSource cancel;
        c->exit_cancel = &cancel;
        res = co_await c->process->wait_exited(s->options_.exit_watch, cancel.token());
        c->exit_cancel = nullptr;
    }
    if (res < 0) {
        LOG_WARN("child %s: exit watch (%s) failed (%d): falling back to poll",
                 c->config.name.c_str(), exit_watch_name(s->options_.exit_watch), res);
        res = co_await c->process->wait_exited(ExitWatch::poll);
    }
    s->counters_.last_exit_detect_ns = reactor::monotonic_ns();
    // The zombie leader pins the pgid: a last SIGTERM reaches what is left of its group.
    ::kill(-c->process->pgid(), SIGTERM);
    pid_t pid = c->process->pid();
    auto status = c->process->reap();
    ExitStatus exit = status.ok() ? *status : ExitStatus{false, 0, 0};
    if (!status.ok()) {
        LOG_ERROR("child %s: reap: %s", c->config.name.c_str(), status.error().message().c_str());
    }
    c->process.reset();
    s->counters_.exits++;
    if (c->log) {
        c->log->note("pid " + std::to_string(pid) + " " + exit.describe());
    }
    s->request_run_file_write();
    if (s->options_.adopt_orphans) {
        // Descendants adopted while their session leader lived are leftovers now.
        for (auto& [orphan_pid, orphan] : s->orphans_) {
            if (orphan.sid == pid && !orphan.terminate) {
                orphan.terminate = true;
                if (orphan.wake != nullptr) {
                    orphan.wake->cancel();
                }
            }
        }
        s->adopt_orphans();
    }
    c->machine.on_exit(exit);
}

Task<void> Supervisor::run_health(Child* c, std::uint64_t generation) {
    if (c->generation != generation || !c->health_wanted) {
        co_return;
    }
    CancelSource cancel;
    c->health_cancel = &cancel;
    const HealthGate& gate = c->config.health;
    bool healthy = false;
    if (gate.kind == HealthKind::alive) {
        healthy = co_await reactor::sleep_ms(gate.alive_ms, cancel.token());
    } else if (gate.kind == HealthKind::ready_line) {
        healthy = co_await c->ready.wait(cancel.token());
    } else {
        auto target = parse_probe_url(gate.url);
        PYLON_ASSERT(target.ok());  // checked by add()
        bool waited = co_await reactor::sleep_ms(http_probe_start_delay_ms, cancel.token());
        while (waited && !healthy) {
            auto code = co_await http_probe_status(*target, gate.probe_timeout_ms, cancel.token());
            healthy = code.ok() && *code == 200;
            if (!healthy) {
                waited = co_await reactor::sleep_ms(gate.poll_interval_ms, cancel.token());
            }
        }
    }
    if (c->health_cancel == &cancel) {
        c->health_cancel = nullptr;
    }
    if (healthy && !cancel.cancelled() && c->generation == generation) {
        c->machine.on_healthy();
    }
}

bool Supervisor::is_our_descendant(pid_t pid, const ProcStat& st) const {
    if (std::find(recent_sessions_.begin(), recent_sessions_.end(), st.session) !=
        recent_sessions_.end()) {
        return true;
    }
    auto token = proc_.environ_value(pid, child_token_env);
    return token.ok() && token->has_value() && (*token)->rfind(instance_ + "-", 0) == 0;
}

void Supervisor::adopt_orphans() {
    if (spawning_ > 0) {
        return;  // a new child's pid is not recorded yet; the next scan comes soon
    }
    auto& table = orphans_;
    for (pid_t pid : proc_.children_of(::getpid())) {
        if (owns_pid(pid) || table.count(pid) != 0) {
            continue;
        }
        auto st = proc_.stat(pid);
        if (!st.ok()) {
            continue;
        }
        bool ours = is_our_descendant(pid, *st);
        if (!ours && !options_.reap_all_orphans) {
            continue;  // not from our children (e.g. a process a test or host app started)
        }
        if (table.size() >= options_.orphans_max) {
            LOG_WARN("supervisor: orphans_max (%zu) reached; pid %d left to init",
                     options_.orphans_max, pid);
            break;
        }
        int fd = pidfd_open_fd(pid);
        if (fd < 0) {
            continue;
        }
        // An orphan of ours whose session leader (our child) is gone is a leftover: terminate it.
        // Others are only reaped when they exit.
        bool terminate = ours && !owns_pid(st->session);
        table[pid] = OrphanEntry{st->session, ours, terminate, false, nullptr};
        LOG_INFO("supervisor: adopted orphan pid %d (%s) of session %d", pid, st->comm.c_str(),
                 st->session);
        gate_.spawn(reap_orphan(this, pid, fd));
    }
}

Task<void> Supervisor::reap_orphan(Supervisor* s, pid_t pid, int pidfd) {
    auto& table = s->orphans_;
    bool term_sent = false;
    bool kill_sent = false;
    std::int64_t kill_at = 0;
    for (;;) {
        OrphanEntry& entry = table[pid];
        if (entry.abandon) {
            ::close(pidfd);
            table.erase(pid);
            co_return;
        }
        if (entry.terminate && !term_sent) {
            pidfd_signal(pidfd, SIGTERM);
            term_sent = true;
            kill_at = reactor::monotonic_ms() + s->options_.orphan_grace_ms;
        }
        if (term_sent && !kill_sent && reactor::monotonic_ms() >= kill_at) {
            pidfd_signal(pidfd, SIGKILL);
            kill_sent = true;
        }
        std::int64_t timeout = 0;
        if (term_sent) {
            timeout = kill_sent ? s->options_.orphan_grace_ms : kill_at - reactor::monotonic_ms();
        }
        CancelSource wake;
        entry.wake = &wake;
        // After SIGTERM the wait must end (0 would mean "no limit": the SIGKILL never sent).
        int res = co_await reactor::poll(
            pidfd, POLLIN,
            {.timeout_ms = std::max<std::int64_t>(timeout, term_sent ? 1 : 0),
             .token = wake.token()});
        table[pid].wake = nullptr;
        if (res >= 0 || (kill_sent && res == -ETIME)) {
            break;
        }
    }
    siginfo_t info{};
    ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG);
    ::close(pidfd);
    table.erase(pid);
    s->counters_.orphans_reaped++;
}

void Supervisor::request_run_file_write() {
    if (options_.run_file.empty()) {
        return;
    }
    run_file_dirty_ = true;
    if (!run_file_writer_active_) {
        run_file_writer_active_ = true;
        if (!gate_.spawn(write_run_file_loop(this))) {
            run_file_writer_active_ = false;
        }
    }
}

std::string Supervisor::encode_run_file() const {
    RunFile file;
    file.boot_id = boot_id_;
    file.daemon_pid = ::getpid();
    for (const auto& c : children_) {
        if (c->process && !c->process->reaped()) {
            file.children.push_back(RunRecord{c->config.name, c->process->pid(), c->process->pgid(),
                                              c->starttime_ticks, c->argv_hash_value, c->token});
        }
    }
    return file.encode();
}

Task<void> Supervisor::write_run_file_loop(Supervisor* s) {
    while (s->run_file_dirty_) {
        s->run_file_dirty_ = false;
        Status st = co_await replace_file_async(s->options_.run_file, s->encode_run_file());
        if (!st.ok()) {
            LOG_WARN("supervisor: run file: %s", st.error().message().c_str());
        }
    }
    s->run_file_writer_active_ = false;
}

ChildView Supervisor::make_view(const Child& c) const {
    ChildView v;
    v.name = c.config.name;
    v.kind = c.config.kind;
    v.status = c.machine.status();
    v.priority = c.config.priority;
    std::int64_t now = clock_->now_ms();
    if (v.status.pid != 0 && v.status.started_ms > 0) {
        v.uptime_ms = now - v.status.started_ms;
    }
    if (v.status.state == ChildState::restarting) {
        v.next_restart_in_ms = std::max<std::int64_t>(v.status.next_restart_ms - now, 0);
    }
    if (c.log) {
        v.log_path = c.log->path();
        v.log_bytes_dropped = c.log->counters().bytes_dropped;
    }
    const HealthGate& h = c.config.health;
    switch (h.kind) {
        case HealthKind::alive:
            v.health = "alive " + std::to_string(h.alive_ms) + " ms";
            break;
        case HealthKind::ready_line:
            v.health = "ready-line " + h.ready_line;
            break;
        case HealthKind::http:
            v.health = "http " + h.url;
            break;
    }
    return v;
}

void Supervisor::notify(Child& c, ChildState previous) {
    ChildView v = make_view(c);
    const ChildStatus& st = v.status;
    if (st.state != previous) {
        LOG_INFO("child %s: %s -> %s%s%s", v.name.c_str(), child_state_name(previous),
                 child_state_name(st.state),
                 st.pid != 0 ? (" pid " + std::to_string(st.pid)).c_str() : "",
                 (st.state == ChildState::restarting || st.state == ChildState::failed)
                     ? (" (" + st.last_error + ")").c_str()
                     : "");
    }
    SupervisorEvent event{&v, previous};
    for (const auto& l : listeners_) {
        l.second(event);
    }
}

Status Supervisor::start_child(const std::string& name) {
    Child* c = find(name);
    if (c == nullptr) {
        return Error(Errc::not_found, "no child named '" + name + "'");
    }
    if (stopping_) {
        return Error(Errc::closed, "the supervisor is shutting down");
    }
    if (!c->machine.start()) {
        return Error(Errc::invalid_input, name + " cannot start: " + c->machine.status().reason);
    }
    return Ok{};
}

Status Supervisor::stop_child(const std::string& name) {
    Child* c = find(name);
    if (c == nullptr) {
        return Error(Errc::not_found, "no child named '" + name + "'");
    }
    c->machine.stop();
    return Ok{};
}

Status Supervisor::restart_child(const std::string& name) {
    Child* c = find(name);
    if (c == nullptr) {
        return Error(Errc::not_found, "no child named '" + name + "'");
    }
    if (stopping_) {
        return Error(Errc::closed, "the supervisor is shutting down");
    }
    if (!c->machine.restart()) {
        return Error(Errc::invalid_input, name + " cannot start: " + c->machine.status().reason);
    }
    return Ok{};
}

Status Supervisor::set_not_spawning(const std::string& name, std::string reason) {
    Child* c = find(name);
    if (c == nullptr) {
        return Error(Errc::not_found, "no child named '" + name + "'");
    }
    if (reason.empty()) {
        c->config.not_spawning_reason.clear();
        c->machine.clear_not_spawning();
        return Ok{};
    }
    c->config.not_spawning_reason = reason;
    if (!c->machine.set_not_spawning(std::move(reason))) {
        return Error(Errc::busy, name + " is running; stop it first");
    }
    return Ok{};
}

std::optional<ChildView> Supervisor::view(const std::string& name) const {
    const Child* c = find(name);
    if (c == nullptr) {
        return std::nullopt;
    }
    return make_view(*c);
}

std::vector<ChildView> Supervisor::views() const {
    std::vector<ChildView> out;
    out.reserve(children_.size());
    for (const auto& c : children_) {
        out.push_back(make_view(*c));
    }
    return out;
}

std::vector<SupervisedProcess> Supervisor::processes() const {
    std::vector<SupervisedProcess> out;
    for (const auto& c : children_) {
        if (c->process && !c->process->reaped()) {
            out.push_back(SupervisedProcess{c->config.name, c->process->pid(), c->config.priority});
        }
    }
    return out;
}

bool Supervisor::owns_pid(pid_t pid) const {
    return std::any_of(children_.begin(), children_.end(), [pid](const auto& c) {
        return c->process && !c->process->reaped() && c->process->pid() == pid;
    });
}

Status Supervisor::kill_for_memory(const std::string& name) {
    Child* c = find(name);
    if (c == nullptr) {
        return Error(Errc::not_found, "no child named '" + name + "'");
    }
    if (!c->machine.kill_for_memory()) {
        return Error(Errc::invalid_input, name + " is not running");
    }
    return Ok{};
}

Status Supervisor::signal_child(const std::string& name, int sig) {
    Child* c = find(name);
    if (c == nullptr) {
        return Error(Errc::not_found, "no child named '" + name + "'");
    }
    if (!c->process || c->process->reaped()) {
        return Error(Errc::not_found, name + " has no process", ESRCH);
    }
    c->signal(sig);
    return Ok{};
}

Task<bool> Supervisor::wait_for_state(std::string name, ChildState state, std::int64_t timeout_ms) {
    std::int64_t deadline = reactor::monotonic_ms() + timeout_ms;
    for (;;) {
        const Child* c = find(name);
        if (c != nullptr && c->machine.status().state == state) {
            co_return true;
        }
        if (reactor::monotonic_ms() >= deadline) {
            co_return false;
        }
        co_await reactor::sleep_ms(2);
    }
}

}  // namespace pylon::engine
