// `pylon stop [-f] [-t SECS]`: Shutdown over the control socket, then wait for the process to
// exit (watched through a pidfd, so a reused pid can never be signalled); half-way through the
// timeout a SIGTERM (the same graceful path, so it cannot cut a shutdown short), at the timeout
// SIGKILL. -f: SIGKILL at once. Pylon v0.1's messages. Not running: says so, exit 0.
// Without -t the timeout is the node's [provider] shutdown_grace_ms (running jobs get that long
// to finish) plus stop_margin_ms, at least 10 s: the config is read as the node read it (the
// file its command line names with -c/--config, else the home's config.toml). A pid file that
// cannot be read (permission) is an error, exit 1, never "not running".
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <iterator>

#include "engine/cli_commands.hpp"
#include "engine/cli_util.hpp"
#include "engine/config_file.hpp"
#include "engine/pidfd.hpp"
#include "reactor/clock.hpp"

namespace pylon::engine {
namespace {

constexpr int kill_wait_ms = 5000;
constexpr std::int64_t stop_timeout_ms_min = 10000;  // Pylon v0.1's default -t
// Beyond the jobs' grace: the store's last commit, the relays' close, the process exit.
constexpr std::int64_t stop_margin_ms = 5000;

// The default timeout: the node's shutdown_grace_ms + the margin (defaults when the file does
// not load: the node would not have started with it either).
std::int64_t default_timeout_ms(const Home& home, pid_t pid, std::int64_t& grace_ms,
                                int ask_ms = node_config_ask_ms) {
    NodeConfigPath config = node_config_path(home, pid, ask_ms);
    auto loaded = load_config_file(config.path, config.given);
    grace_ms = loaded.ok() ? loaded->config.provider.shutdown_grace_ms
                           : Config{}.provider.shutdown_grace_ms;
    return std::max(stop_timeout_ms_min, grace_ms + stop_margin_ms);
}

// Waits until the process behind `pidfd` has exited or `ms` passed; true if it exited.
bool wait_exit(int pidfd, std::int64_t ms) {
    std::int64_t deadline = reactor::monotonic_ms() + ms;
    for (;;) {
        std::int64_t left = deadline - reactor::monotonic_ms();
        if (left < 0) {
            left = 0;
        }
        pollfd p{pidfd, POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(left));
        if (r > 0) {
            return true;
        }
        if (r == 0) {
            return false;
        }
        if (errno != EINTR) {
            return false;
        }
    }
}

// Asks for a graceful shutdown; the connect and the reply together wait at most `timeout_ms`
// (a stopped or wedged daemon's socket still accepts connections into its backlog).
bool request_shutdown(const Home& home, int timeout_ms) {
    auto client = ControlClient::connect(home.socket_path(), timeout_ms);
    if (!client.ok()) {
        return false;
    }
    auto reply = client->request("\"Shutdown\"");
    return reply.ok() && reply->tag == "Ok";
}

// After a kill: the daemon could not remove its files. The pid file is stale once nobody holds
// its lock; the socket then belongs to nobody either (a new daemon claims the pid file before
// it creates its socket). A connect cannot tell: the kernel may keep a killed process's
// listening socket open for a moment while it tears down its io_uring.
void cleanup_after_kill(const Home& home) {
    remove_stale_pid_file(home.pid_path());
    auto info = PidFile::inspect(home.pid_path());
    if (info.ok() && info->state != PidState::running) {
        ::unlink(home.socket_path().c_str());
    }
}

int kill_now(CliContext& ctx, int pidfd) {
    std::fprintf(ctx.out, "Sending SIGKILL...\n");
    pidfd_signal(pidfd, SIGKILL);
    bool gone = wait_exit(pidfd, kill_wait_ms);
    cleanup_after_kill(ctx.home);
    if (!gone) {
        return fail(ctx, "the daemon did not exit after SIGKILL");
    }
    std::fprintf(ctx.out, "Pylon daemon killed.\n");
    return exit_ok;
}

// -t when given (with a note when it is shorter than the node's grace), else the default.
std::int64_t stop_timeout_ms(CliContext& ctx, pid_t pid, std::int64_t secs) {
    if (ctx.args.has("force")) {
        return secs * 1000;  // SIGKILL at once: the node is not asked anything, not even Health
    }
    std::int64_t grace_ms = 0;
    if (!ctx.args.has("timeout")) {
        return default_timeout_ms(ctx.home, pid, grace_ms);
    }
    // -t bounds the whole stop: the look at the node's grace (for the note) takes a quarter of
    // it at most, and its time counts (cmd_stop's clock starts before it).
    (void)default_timeout_ms(
        ctx.home, pid, grace_ms,
        static_cast<int>(std::min<std::int64_t>(node_config_ask_ms, secs * 1000 / 4)));
    if (secs * 1000 < grace_ms && !ctx.args.has("force")) {
        std::fprintf(ctx.err,
                     "pylon stop: note: -t %llds is shorter than the node's shutdown_grace_ms "
                     "(%lld ms): running jobs may be cut short\n",
                     static_cast<long long>(secs), static_cast<long long>(grace_ms));
    }
    return secs * 1000;
}

}  // namespace

int cmd_stop(CliContext& ctx) {
    auto secs = ctx.args.integer("timeout", 10, 1, 3600);
    if (!secs.ok()) {
        std::fprintf(ctx.err, "pylon stop: %s\n", secs.error().message().c_str());
        return exit_usage;
    }
    auto info = PidFile::inspect(ctx.home.pid_path());
    if (!info.ok()) {
        return fail(ctx, info.error().message());
    }
    pid_t pid = info->state == PidState::running ? info->pid : 0;
    if (info->state == PidState::absent) {
        DaemonLink managed = find_daemon(ctx.home);  // a --managed node: no pid file
        if (!managed.client && managed.pid.state == PidState::running) {
            return fail(ctx, managed.error);
        }
        pid = managed.client ? managed.pid.pid : 0;
    }
    if (pid <= 0) {
        std::fprintf(ctx.out, "Pylon daemon is not running.\n");
        return exit_ok;
    }
    int pidfd = pidfd_open_fd(pid);
    if (pidfd < 0) {
        std::fprintf(ctx.out, "Pylon daemon is not running.\n");
        return exit_ok;
    }
    std::fprintf(ctx.out, "Stopping Pylon daemon (PID: %d)...\n", static_cast<int>(pid));
    std::fflush(ctx.out);
    int code = exit_ok;
    // Every wait below ends by `deadline`: -t bounds the whole stop, SIGKILL included, and the
    // look at the node's config before it.
    std::int64_t start_ms = reactor::monotonic_ms();
    std::int64_t timeout_ms = stop_timeout_ms(ctx, pid, secs.value());
    std::int64_t deadline = start_ms + timeout_ms;
    if (ctx.args.has("force")) {
        code = kill_now(ctx, pidfd);
    } else {
        std::fprintf(ctx.out, "Requesting graceful shutdown via control socket...\n");
        std::fflush(ctx.out);
        std::int64_t ask_ms = std::min<std::int64_t>(
            control_client_timeout_ms, start_ms + timeout_ms / 2 - reactor::monotonic_ms());
        bool asked = ask_ms > 0 && request_shutdown(ctx.home, static_cast<int>(ask_ms));
        if (!asked) {
            std::fprintf(ctx.out, "Control socket unavailable. Sending SIGTERM...\n");
            pidfd_signal(pidfd, SIGTERM);
        }
        std::fprintf(ctx.out, "Waiting for graceful shutdown (timeout: %llds)...\n",
                     static_cast<long long>((timeout_ms + 999) / 1000));
        std::fflush(ctx.out);
        std::int64_t first_wait_end = asked ? start_ms + timeout_ms / 2 : deadline;
        bool gone = wait_exit(pidfd, first_wait_end - reactor::monotonic_ms());
        if (!gone && asked) {
            std::fprintf(ctx.out, "Still running. Sending SIGTERM...\n");
            std::fflush(ctx.out);
            pidfd_signal(pidfd, SIGTERM);
            gone = wait_exit(pidfd, deadline - reactor::monotonic_ms());
        }
        if (gone) {
            std::fprintf(ctx.out, "Pylon daemon stopped gracefully.\n");
        } else {
            std::fprintf(ctx.out, "Graceful shutdown timed out.\n");
            code = kill_now(ctx, pidfd);
        }
    }
    ::close(pidfd);
    return code;
}

}  // namespace pylon::engine
