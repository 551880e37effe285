#include "engine/child_machine.hpp"

#include <signal.h>

#include <utility>

namespace pylon::engine {

const char* child_state_name(ChildState state) noexcept {
    switch (state) {
        case ChildState::not_spawning:
            return "not_spawning";
        case ChildState::stopped:
            return "stopped";
        case ChildState::starting:
            return "starting";
        case ChildState::running:
            return "running";
        case ChildState::stopping:
            return "stopping";
        case ChildState::restarting:
            return "restarting";
        case ChildState::failed:
            return "failed";
    }
    return "?";
}

ChildMachine::ChildMachine(std::string name, RestartPolicy policy, reactor::Clock& clock,
                           reactor::Rng& rng, ChildDriver& driver)
    : name_(std::move(name)),
      policy_(std::move(policy)),
      clock_(clock),
      rng_(rng),
      driver_(driver) {
    status_.state_since_ms = now();
}

void ChildMachine::enter(ChildState next) {
    ChildState previous = status_.state;
    status_.state = next;
    status_.state_since_ms = now();
    if (next != ChildState::restarting) {
        status_.next_restart_ms = 0;
    }
    driver_.changed(status_, previous);
}

bool ChildMachine::set_not_spawning(std::string reason) {
    ChildState s = status_.state;
    if (process_alive() || s == ChildState::starting || s == ChildState::running ||
        s == ChildState::stopping) {
        return false;
    }
    driver_.disarm_timer();
    status_.reason = std::move(reason);
    enter(ChildState::not_spawning);
    return true;
}

void ChildMachine::clear_not_spawning() {
    if (status_.state == ChildState::not_spawning) {
        status_.reason.clear();
        enter(ChildState::stopped);
    }
}

bool ChildMachine::start() {
    switch (status_.state) {
        case ChildState::not_spawning:
            return false;
        case ChildState::stopped:
        case ChildState::failed:
            driver_.disarm_timer();
            status_.consecutive_failures = 0;
            spawn_now();
            return true;
        case ChildState::stopping:
            if (stop_cause_ == StopCause::operator_stop) {
                stop_cause_ = StopCause::operator_restart;
            }
            return true;
        case ChildState::starting:
        case ChildState::running:
        case ChildState::restarting:
            return true;
    }
    return false;
}

bool ChildMachine::stop() {
    switch (status_.state) {
        case ChildState::starting:
        case ChildState::running:
            begin_stop(StopCause::operator_stop);
            return true;
        case ChildState::stopping:
            stop_cause_ = StopCause::operator_stop;
            return true;
        case ChildState::restarting:
        case ChildState::failed:
            driver_.disarm_timer();
            enter(ChildState::stopped);
            return true;
        case ChildState::stopped:
        case ChildState::not_spawning:
            return true;
    }
    return false;
}

bool ChildMachine::restart() {
    switch (status_.state) {
        case ChildState::not_spawning:
            return false;
        case ChildState::starting:
        case ChildState::running:
            begin_stop(StopCause::operator_restart);
            return true;
        case ChildState::stopping:
            stop_cause_ = StopCause::operator_restart;
            return true;
        case ChildState::restarting:
        case ChildState::failed:
        case ChildState::stopped:
            driver_.disarm_timer();
            status_.consecutive_failures = 0;
            if (status_.total_spawns > 0) {
                status_.total_restarts++;
            }
            spawn_now();
            return true;
    }
    return false;
}

bool ChildMachine::kill_for_memory() {
    if (status_.state != ChildState::starting && status_.state != ChildState::running) {
        return false;
    }
    status_.last_error = "stopped by the memory policy (oom-policy)";
    begin_stop(StopCause::memory_policy);
    return true;
}

void ChildMachine::spawn_now() {
    PYLON_ASSERT(!process_alive());
    status_.pid = 0;
    status_.started_ms = now();
    status_.healthy_ms = 0;
    status_.total_spawns++;
    stop_cause_ = StopCause::none;
    kill_sent_ = false;
    spawn_pending_ = true;
    enter(ChildState::starting);
    driver_.arm_timer(now() + policy_.start_timeout_ms);
    driver_.spawn();  // may answer synchronously
}

void ChildMachine::begin_stop(StopCause cause) {
    PYLON_ASSERT(status_.state == ChildState::starting || status_.state == ChildState::running);
    stop_cause_ = cause;
    kill_sent_ = false;
    driver_.end_health();
    enter(ChildState::stopping);
    if (status_.pid != 0) {
        driver_.signal(SIGTERM);
    }
    driver_.arm_timer(now() + policy_.stop_grace_ms);
}

void ChildMachine::on_spawned(pid_t pid) {
    PYLON_ASSERT(spawn_pending_ && pid > 0);
    spawn_pending_ = false;
    status_.pid = pid;
    if (status_.state == ChildState::stopping) {
        driver_.signal(SIGTERM);  // a stop arrived while the spawn was under way
        driver_.arm_timer(now() + policy_.stop_grace_ms);
        return;
    }
    PYLON_ASSERT(status_.state == ChildState::starting);
    driver_.changed(status_, status_.state);
    driver_.begin_health();
}

void ChildMachine::on_spawn_failed(const std::string& error) {
    PYLON_ASSERT(spawn_pending_);
    spawn_pending_ = false;
    driver_.disarm_timer();
    status_.last_error = "spawn failed: " + error;
    if (status_.state == ChildState::stopping && stop_cause_ == StopCause::operator_stop) {
        enter(ChildState::stopped);
        return;
    }
    after_failure();
}

void ChildMachine::on_healthy() {
    if (status_.state != ChildState::starting || status_.pid == 0) {
        return;  // a late answer from a probe of a process that is going away
    }
    status_.healthy_ms = now();
    driver_.end_health();
    enter(ChildState::running);
    if (status_.consecutive_failures > 0) {
        driver_.arm_timer(now() + policy_.stable_ms);
    } else {
        driver_.disarm_timer();
    }
}

void ChildMachine::on_exit(const ExitStatus& exit) {
    PYLON_ASSERT(status_.pid != 0);
    ChildState was = status_.state;
    status_.pid = 0;
    status_.has_exit = true;
    status_.last_exit = exit;
    driver_.disarm_timer();
    driver_.end_health();
    if (was != ChildState::stopping) {
        after_unexpected_exit(exit, was);
        return;
    }
    switch (stop_cause_) {
        case StopCause::operator_stop:
        case StopCause::none:
            enter(ChildState::stopped);
            return;
        case StopCause::operator_restart:
            status_.consecutive_failures = 0;
            status_.total_restarts++;
            spawn_now();
            return;
        case StopCause::start_timeout:
        case StopCause::memory_policy:
            after_failure();
            return;
    }
}

void ChildMachine::after_unexpected_exit(const ExitStatus& exit, ChildState was) {
    if (was == ChildState::running && now() - status_.healthy_ms >= policy_.stable_ms) {
        status_.consecutive_failures = 0;
    }
    status_.last_error =
        (was == ChildState::starting ? "exited before becoming healthy: " : "exited: ") +
        exit.describe();
    if (exit.exited && policy_.is_permanent(exit.code)) {
        status_.last_error += " (a permanent exit code: not restarted)";
        status_.consecutive_failures++;
        enter(ChildState::failed);
        return;
    }
    if (policy_.mode == RestartMode::never ||
        (policy_.mode == RestartMode::on_failure && exit.clean())) {
        enter(ChildState::stopped);
        return;
    }
    after_failure();
}

void ChildMachine::after_failure() {
    status_.consecutive_failures++;
    if (status_.consecutive_failures >= policy_.failures_max) {
        driver_.disarm_timer();
        enter(ChildState::failed);
        return;
    }
    std::int64_t delay = policy_.delay_ms(status_.consecutive_failures, rng_);
    status_.next_restart_ms = now() + delay;
    enter(ChildState::restarting);
    driver_.arm_timer(status_.next_restart_ms);
}

void ChildMachine::on_timer() {
    switch (status_.state) {
        case ChildState::starting:
            status_.last_error =
                "not healthy within " + std::to_string(policy_.start_timeout_ms) + " ms";
            begin_stop(StopCause::start_timeout);
            return;
        case ChildState::running:
            if (status_.consecutive_failures > 0) {
                status_.consecutive_failures = 0;
                driver_.changed(status_, status_.state);
            }
            return;
        case ChildState::stopping:
            if (!kill_sent_ && status_.pid != 0) {
                kill_sent_ = true;
                driver_.signal(SIGKILL);
            }
            return;
        case ChildState::restarting:
            status_.total_restarts++;
            spawn_now();
            return;
        case ChildState::not_spawning:
        case ChildState::stopped:
        case ChildState::failed:
            return;
    }
}

}  // namespace pylon::engine
