#include "engine/memory_monitor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "engine/file_ops.hpp"
#include "engine/hog_finder.hpp"
#include "engine/pidfd.hpp"
#include "engine/supervisor.hpp"
#include "reactor/clock.hpp"
#include "reactor/log.hpp"
#include "reactor/ops.hpp"

namespace pylon::engine {

using reactor::CancelSource;
using reactor::Task;

namespace {

std::uint64_t mib(std::uint64_t bytes) {
    return bytes >> 20;
}

const char* signal_name(int sig) {
    return sig == SIGKILL ? "SIGKILL" : "SIGTERM";
}

}  // namespace

const char* memory_event_name(MemoryEventKind kind) noexcept {
    switch (kind) {
        case MemoryEventKind::low:
            return "MemoryLow";
        case MemoryEventKind::critical:
            return "MemoryCritical";
        case MemoryEventKind::recovered:
            return "MemoryRecovered";
        case MemoryEventKind::process_killed:
            return "ProcessKilled";
        case MemoryEventKind::kill_aborted:
            return "KillAborted";
    }
    return "?";
}

MemoryMonitor::MemoryMonitor(MemoryMonitorOptions options, Supervisor* supervisor)
    : options_(std::move(options)), supervisor_(supervisor), proc_(options_.proc_root) {}

MemoryMonitor::~MemoryMonitor() {
    if (meminfo_fd_ >= 0) {
        ::close(meminfo_fd_);
    }
}

void MemoryMonitor::set_reloadable(const MemoryMonitorOptions& next) {
    options_.thresholds = next.thresholds;
    options_.hog_patterns = next.hog_patterns;
    options_.hog_rss_bytes_min = next.hog_rss_bytes_min;
    options_.kill_grace_ms = next.kill_grace_ms;
    options_.kill_cooldown_ms = next.kill_cooldown_ms;
}

Status MemoryMonitor::on_event(Listener listener) {
    if (listeners_.size() >= options_.listeners_max) {
        return Error(Errc::too_large, "too many memory listeners");
    }
    listeners_.push_back(std::move(listener));
    return Ok{};
}

Task<Status> MemoryMonitor::start() {
    PYLON_ASSERT(!started_);
    int fd = co_await open_file(options_.meminfo_path, O_RDONLY);
    if (fd < 0) {
        co_return Error::from_errno(-fd, "open " + options_.meminfo_path);
    }
    meminfo_fd_ = fd;
    auto first = co_await read_now();
    if (!first.ok()) {
        co_return std::move(first).error();
    }
    started_ = true;
    evaluate(*first);
    if (!options_.psi_path.empty()) {
        auto trigger = PsiTrigger::open(options_.psi_path, options_.psi_trigger);
        if (trigger.ok()) {
            psi_.emplace(std::move(trigger).value());
            gate_.spawn(psi_loop(this));
        } else {
            LOG_INFO("memory: no PSI wake-up (%s); polling /proc/meminfo only",
                     trigger.error().message().c_str());
        }
    }
    LOG_INFO(
        "memory: %llu MiB available of %llu MiB; low below %llu MiB, critical below %llu "
        "MiB; PSI %s",
        static_cast<unsigned long long>(mib(first->available_bytes)),
        static_cast<unsigned long long>(mib(first->total_bytes)),
        static_cast<unsigned long long>(mib(assessment_.low_threshold_bytes)),
        static_cast<unsigned long long>(mib(assessment_.critical_threshold_bytes)),
        psi_ ? "armed" : "off");
    gate_.spawn(poll_loop(this));
    co_return Ok{};
}

Task<void> MemoryMonitor::stop() {
    if (!started_) {
        co_return;
    }
    stop_.cancel();
    if (sleep_wake_ != nullptr) {
        sleep_wake_->cancel();
    }
    co_await gate_.close();
    psi_.reset();
    started_ = false;
}

Task<Result<MemInfo>> MemoryMonitor::read_now() {
    char buf[meminfo_bytes_max];
    int n = co_await reactor::read(meminfo_fd_, buf, sizeof buf, 0);
    if (n < 0) {
        counters_.read_errors++;
        co_return Error::from_errno(-n, "read " + options_.meminfo_path);
    }
    auto mem = parse_meminfo(std::string_view(buf, static_cast<std::size_t>(n)));
    if (!mem.ok()) {
        counters_.read_errors++;
    }
    co_return mem;
}

Task<void> MemoryMonitor::poll_loop(MemoryMonitor* m) {
    while (!m->stop_.cancelled()) {
        std::int64_t t0 = reactor::monotonic_ns();
        auto mem = co_await m->read_now();
        if (mem.ok()) {
            m->evaluate(*mem);
            auto cost = static_cast<std::uint64_t>(reactor::monotonic_ns() - t0);
            m->counters_.polls++;
            m->counters_.poll_cost_ns_last = cost;
            m->counters_.poll_cost_ns_total += cost;
            if (m->level_ == MemoryLevel::critical) {
                co_await m->relieve_critical();
            } else if (m->level_ == MemoryLevel::low) {
                co_await m->relieve_low();
            }
        } else {
            LOG_WARN("memory: %s", mem.error().message().c_str());
        }
        std::int64_t next =
            mem.ok() ? m->assessment_.next_poll_ms : m->options_.thresholds.poll_max_ms;
        co_await m->wait_next(next);
    }
}

Task<void> MemoryMonitor::wait_next(std::int64_t ms) {
    if (psi_pending_) {
        psi_pending_ = false;
        co_return;
    }
    CancelSource wake;
    sleep_wake_ = &wake;
    co_await reactor::sleep_ms(ms, wake.token());
    sleep_wake_ = nullptr;
}

Task<void> MemoryMonitor::psi_loop(MemoryMonitor* m) {
    while (!m->stop_.cancelled()) {
        int res = co_await reactor::poll(m->psi_->fd(), m->options_.psi_events,
                                         {.token = m->stop_.token()});
        if (res < 0) {
            break;  // stopped
        }
        auto revents = static_cast<unsigned>(res);
        if ((revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
            LOG_WARN("memory: the PSI trigger went away (poll events 0x%x); polling only", revents);
            break;  // never re-poll a fd that reports an error: that would spin
        }
        m->counters_.psi_wakes++;
        if ((revents & POLLIN) != 0) {
            char drain[256];
            ssize_t ignored = ::read(m->psi_->fd(), drain, sizeof drain);  // a test pipe
            (void)ignored;
        }
        if (m->sleep_wake_ != nullptr) {
            m->sleep_wake_->cancel();
        } else {
            m->psi_pending_ = true;
        }
        co_await reactor::sleep_ms(m->options_.psi_min_gap_ms, m->stop_.token());
    }
}

void MemoryMonitor::evaluate(const MemInfo& mem) {
    last_ = mem;
    assessment_ = assess_memory(mem, options_.thresholds, level_);
    if (reading_hook_) {
        reading_hook_(mem);
    }
    if (assessment_.level == level_) {
        return;
    }
    MemoryLevel previous = level_;
    level_ = assessment_.level;
    level_atomic_.store(level_, std::memory_order_relaxed);
    admitting_.store(level_ == MemoryLevel::normal, std::memory_order_relaxed);
    MemoryEventKind kind = level_ == MemoryLevel::critical ? MemoryEventKind::critical
                           : level_ == MemoryLevel::low    ? MemoryEventKind::low
                                                           : MemoryEventKind::recovered;
    std::string text = shortage_text();
    if (level_ == MemoryLevel::normal) {
        LOG_INFO("memory: recovered (%s): admitting jobs again", text.c_str());
    } else {
        LOG_WARN("memory: %s -> %s (%s)%s", memory_level_name(previous), memory_level_name(level_),
                 text.c_str(), previous == MemoryLevel::normal ? ": not admitting new jobs" : "");
    }
    emit(kind, 0, 0, "", text, 0);
}

std::string MemoryMonitor::shortage_text() const {
    std::uint64_t threshold = level_ == MemoryLevel::critical ? assessment_.critical_threshold_bytes
                                                              : assessment_.low_threshold_bytes;
    return std::to_string(mib(last_.available_bytes)) + " MiB available (" +
           (level_ == MemoryLevel::critical ? "critical" : "low") + " threshold " +
           std::to_string(mib(threshold)) + " MiB)";
}

void MemoryMonitor::emit(MemoryEventKind kind, pid_t pid, std::uint64_t rss, std::string name,
                         std::string reason, int sig) {
    MemoryEvent e;
    e.kind = kind;
    e.level = level_;
    e.mem = last_;
    e.pid = pid;
    e.rss_bytes = rss;
    e.name = std::move(name);
    e.reason = std::move(reason);
    e.signal = sig;
    if (kind == MemoryEventKind::process_killed) {
        counters_.signals_sent++;
        LOG_WARN("memory: %s pid %d (%s, %llu MiB RSS): %s", signal_name(sig), pid, e.name.c_str(),
                 static_cast<unsigned long long>(mib(rss)), e.reason.c_str());
    } else if (kind == MemoryEventKind::kill_aborted) {
        counters_.kills_aborted++;
        LOG_INFO("memory: not killing pid %d (%s): memory recovered", pid, e.name.c_str());
    }
    for (const Listener& l : listeners_) {
        l(e);
    }
}

Task<bool> MemoryMonitor::still_short(MemoryLevel level) {
    auto mem = co_await read_now();
    if (!mem.ok()) {
        co_return true;  // cannot tell: keep going with what we knew
    }
    evaluate(*mem);
    co_return level_ >= level;
}

Task<void> MemoryMonitor::relieve_low() {
    std::int64_t now = reactor::monotonic_ms();
    if (options_.hog_patterns.empty() || now < next_hog_scan_ms_) {
        co_return;
    }
    HogRules rules;
    rules.patterns = options_.hog_patterns;
    rules.rss_bytes_min = options_.hog_rss_bytes_min;
    rules.uid = ::getuid();
    rules.self = ::getpid();
    if (supervisor_ != nullptr) {
        for (const SupervisedProcess& p : supervisor_->processes()) {
            rules.exclude.push_back(p.pid);
        }
    }
    std::vector<HogCandidate> hogs = find_hogs(proc_, rules);
    for (const HogCandidate& h : hogs) {
        if (stop_.cancelled() || level_ == MemoryLevel::normal) {
            break;
        }
        co_await kill_hog(h.pid, h.name, h.rss_bytes);
    }
    next_hog_scan_ms_ = reactor::monotonic_ms() +
                        (hogs.empty() ? options_.no_victim_pause_ms : options_.kill_cooldown_ms);
}

Task<void> MemoryMonitor::kill_hog(pid_t pid, std::string name, std::uint64_t rss_bytes) {
    int fd = pidfd_open_fd(pid);
    if (fd < 0) {
        co_return;  // already gone
    }
    // Verify through the handle's pid after opening it: a reused pid fails the hog rules.
    HogRules rules;
    rules.patterns = options_.hog_patterns;
    rules.rss_bytes_min = options_.hog_rss_bytes_min;
    rules.uid = ::getuid();
    rules.self = ::getpid();
    auto st = proc_.stat(pid);
    if (!st.ok() || !is_hog(proc_, rules, *st)) {
        ::close(fd);
        co_return;
    }
    std::string reason = "memory " + shortage_text() + "; matches a hog pattern";
    if (!co_await still_short(MemoryLevel::low)) {
        emit(MemoryEventKind::kill_aborted, pid, rss_bytes, name, "memory recovered", SIGTERM);
        ::close(fd);
        co_return;
    }
    pidfd_signal(fd, SIGTERM);
    emit(MemoryEventKind::process_killed, pid, rss_bytes, name, reason, SIGTERM);
    int res = co_await reactor::poll(
        fd, POLLIN,
        {.timeout_ms = std::max<std::int64_t>(options_.kill_grace_ms, 1), .token = stop_.token()});
    if (res < 0 && res != -ECANCELED) {
        if (co_await still_short(MemoryLevel::low)) {
            pidfd_signal(fd, SIGKILL);
            pidfd_mrelease(fd);
            emit(MemoryEventKind::process_killed, pid, rss_bytes, name, reason, SIGKILL);
            co_await reactor::poll(fd, POLLIN, {.timeout_ms = options_.kill_grace_ms + 1});
        } else {
            emit(MemoryEventKind::kill_aborted, pid, rss_bytes, name, "memory recovered", SIGKILL);
        }
    }
    co_await close_file(fd);
}

Task<void> MemoryMonitor::relieve_critical() {
    co_await relieve_low();  // the opted-in hogs go first
    std::int64_t now = reactor::monotonic_ms();
    if (supervisor_ == nullptr || level_ != MemoryLevel::critical || now < next_child_kill_ms_) {
        co_return;
    }
    struct Victim {
        SupervisedProcess p;
        std::uint64_t rss = 0;
    };
    std::vector<Victim> victims;
    for (const SupervisedProcess& p : supervisor_->processes()) {
        auto st = proc_.stat(p.pid);
        victims.push_back(Victim{p, st.ok() ? st->rss_pages * ProcFs::page_bytes() : 0});
    }
    if (victims.empty()) {
        next_child_kill_ms_ = now + options_.no_victim_pause_ms;
        co_return;
    }
    std::sort(victims.begin(), victims.end(), [](const Victim& a, const Victim& b) {
        return a.p.priority != b.p.priority ? a.p.priority < b.p.priority : a.rss > b.rss;
    });
    const Victim& v = victims.front();
    co_await kill_child(v.p.name, v.p.pid, v.rss);
    next_child_kill_ms_ = reactor::monotonic_ms() + options_.kill_cooldown_ms;
}

Task<void> MemoryMonitor::kill_child(std::string name, pid_t pid, std::uint64_t rss_bytes) {
    std::string reason = "memory " + shortage_text() + "; lowest-priority supervised child";
    if (!co_await still_short(MemoryLevel::critical)) {
        emit(MemoryEventKind::kill_aborted, pid, rss_bytes, name, "memory recovered", SIGTERM);
        co_return;
    }
    if (!supervisor_->kill_for_memory(name).ok()) {
        co_return;  // it stopped on its own meanwhile
    }
    emit(MemoryEventKind::process_killed, pid, rss_bytes, name, reason, SIGTERM);
    std::int64_t deadline = reactor::monotonic_ms() + options_.kill_grace_ms;
    while (supervisor_->owns_pid(pid) && reactor::monotonic_ms() < deadline && !stop_.cancelled()) {
        co_await reactor::sleep_ms(options_.kill_poll_ms, stop_.token());
    }
    if (!supervisor_->owns_pid(pid) || stop_.cancelled()) {
        co_return;
    }
    if (!co_await still_short(MemoryLevel::critical)) {
        emit(MemoryEventKind::kill_aborted, pid, rss_bytes, name, "memory recovered", SIGKILL);
        co_return;
    }
    if (supervisor_->owns_pid(pid) && supervisor_->signal_child(name, SIGKILL).ok()) {
        emit(MemoryEventKind::process_killed, pid, rss_bytes, name, reason, SIGKILL);
    }
}

}  // namespace pylon::engine
