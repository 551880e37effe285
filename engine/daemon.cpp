#include "engine/daemon.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>

#include "engine/config_file.hpp"
#include "engine/control_client.hpp"
#include "engine/identity_file.hpp"
#include "engine/pid_file.hpp"
#include "engine/runtime.hpp"
#include "engine/text_trim.hpp"
#include "net/unix_socket.hpp"
#include "reactor/clock.hpp"
#include "reactor/log.hpp"
#include "reactor/probe.hpp"
#include "reactor/signals.hpp"

namespace pylon::engine {
namespace {

constexpr int ready_wait_ms_max = 120'000;
constexpr int socket_probe_timeout_ms = 1000;  // a live node answers Ping well within this

// Where the daemon process reports how its start went: the waiting parent's pipe in the
// background, the terminal in the foreground.
struct Reporter {
    int pipe_fd = -1;
    std::FILE* out = nullptr;
    std::FILE* err = nullptr;

    void send(const std::string& line) {
        std::string text = line + "\n";
        ssize_t n = ::write(pipe_fd, text.data(), text.size());
        (void)n;
    }
    int error(const std::string& message) {
        if (pipe_fd >= 0) {
            send("error " + message);
        } else {
            std::fprintf(err, "pylon: %s\n", message.c_str());
        }
        LOG_ERROR("%s", message.c_str());
        return 1;
    }
    int already_running() {
        if (pipe_fd >= 0) {
            send("running");
        } else {
            std::fprintf(out, "Pylon daemon is already running.\n");
        }
        return 0;
    }
    void ready(unsigned shards) {
        if (pipe_fd >= 0) {
            send("ready " + std::to_string(::getpid()));
            ::close(pipe_fd);
            pipe_fd = -1;
        } else {
            std::fprintf(out, "Pylon is running (PID: %d, %u shard(s)). Press Ctrl-C to stop.\n",
                         static_cast<int>(::getpid()), shards);
            std::fflush(out);
        }
    }
};

std::string absolute(const std::string& path) {
    if (path.empty() || path[0] == '/') {
        return path;
    }
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd) == nullptr) {
        return path;
    }
    return std::string(cwd) + "/" + path;
}

std::string mode_words(RunMode mode) {
    switch (mode) {
        case RunMode::provider:
            return "Provider";
        case RunMode::host:
            return "Host";
        case RunMode::both:
            return "Both";
    }
    return "Both";
}

Status setup_logging(const StartOptions& o, const Config& config, bool to_file) {
    reactor::LogLevel level{};
    if (reactor::parse_log_level(config.log.level, level)) {
        reactor::Log::set_level(level);
    }
    if (!to_file) {
        return Ok{};
    }
    std::string dir = o.home.logs_dir();
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        return Error::from_errno(errno, "create " + dir);
    }
    reactor::LogFileOptions file;
    file.path = dir + "/pylon.log";
    file.file_bytes_max = static_cast<std::uint64_t>(config.log.file_bytes_max);
    file.files_kept = static_cast<unsigned>(config.log.files_kept);
    return reactor::Log::to_file(file);
}

// True if a live node answers Ping on the control socket at `path`.
bool socket_answers(const std::string& path) {
    auto client = ControlClient::connect(path, socket_probe_timeout_ms);
    if (!client.ok()) {
        return false;
    }
    // Any reply is a live node's: Pong, or a refusal such as "too many control connections"
    // (which a busy --managed node sends, and whose socket must not be taken from it).
    auto reply = client->request("\"Ping\"");
    return reply.ok() || reply.error().code() == Errc::busy;
}

// The daemon itself: from claiming the pid file to the end of the runtime.
int run_node(const StartOptions& o, const LoadedConfig& loaded, const NodeIdentity& identity,
             Reporter report, pid_t parent) {
    std::optional<PidFile> pid_file;
    if (!o.managed) {
        auto claimed = PidFile::acquire(o.home.pid_path());
        if (!claimed.ok()) {
            return claimed.error().code() == Errc::exists ? report.already_running()
                                                          : report.error(claimed.error().message());
        }
        pid_file.emplace(std::move(claimed.value()));
        // Holding the pid file, a control.sock here is either a node without a pid file
        // (--managed, an embedding host), which holds the socket's lock however busy it is, a
        // program that answers Ping without the lock (Pylon v0.1), or a dead daemon's (its
        // listening socket may even accept connections for a moment after a kill -9, while the
        // kernel tears down its io_uring, but it never answers): remove only the latter, holding
        // the lock meanwhile so that no node binds there between the check and the removal.
        auto claim = net::PathClaim::take(o.home.socket_path());
        if (!claim.ok()) {
            return claim.error().code() == Errc::exists ? report.already_running()
                                                        : report.error(claim.error().message());
        }
        if (socket_answers(o.home.socket_path())) {
            return report.already_running();
        }
        ::unlink(o.home.socket_path().c_str());
    }
    if (Status st = setup_logging(o, loaded.config, !o.foreground && !o.managed); !st.ok()) {
        return report.error("logging: " + st.error().message());
    }
    for (const std::string& w : loaded.warnings) {
        LOG_WARN("config: %s", w.c_str());
    }
    if (o.managed) {
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent) {
            return report.error("the managing parent is already gone");
        }
    }
    reactor::block_handled_signals();  // before the runtime starts any thread
    if (Status st = reactor::require_uring(reactor::probe_uring()); !st.ok()) {
        return report.error(st.error().message());
    }
    RuntimeOptions ro;
    ro.identity = identity.keypair;  // the provider signs with it
    ro.config = loaded.config;
    ro.home_dir = o.home.dir();
    ro.config_path = o.config_path;
    ro.config_given = o.config_given;
    ro.mode = o.mode;
    ro.control_socket_path = o.home.socket_path();
    ro.handle_signals = true;
    ro.watch_parent_stdin = o.managed;
    ro.shards = o.shards;
    Runtime runtime(std::move(ro));
    if (Status st = runtime.start(); !st.ok()) {
        return report.error(st.error().message());
    }
    LOG_INFO("pylon started on %u shard(s), pid %d", runtime.shard_count(),
             static_cast<int>(::getpid()));
    report.ready(runtime.shard_count());
    // Start-up has touched most of the code and read-only data of every library once; let
    // the idle node's resident set be what it still uses (engine/text_trim.hpp).
    if (!runtime.stopped_within(text_trim_delay_ms)) {
        TextTrimReport trimmed = trim_loaded_text();
        LOG_DEBUG("text trim: %zu segments, %zu KiB, %zu objects skipped, errno %d",
                  trimmed.segments, trimmed.bytes / 1024, trimmed.objects_skipped, trimmed.error);
    }
    Status end = runtime.wait();
    pid_file.reset();
    LOG_INFO("pylon stopped%s%s", end.ok() ? "" : ": ",
             end.ok() ? "" : end.error().message().c_str());
    reactor::Log::flush();
    return end.ok() ? 0 : 1;
}

// The parent side of a background start: the daemon's one-line report.
int await_report(int fd, const StartOptions& o, std::FILE* out, std::FILE* err) {
    std::string text;
    std::int64_t deadline = reactor::monotonic_ms() + ready_wait_ms_max;
    for (;;) {
        std::int64_t left = deadline - reactor::monotonic_ms();
        pollfd p{fd, POLLIN, 0};
        int r = left > 0 ? ::poll(&p, 1, static_cast<int>(left)) : 0;
        if (r < 0 && errno == EINTR) {
            continue;
        }
        char buf[1024];
        ssize_t n = r > 0 ? ::read(fd, buf, sizeof buf) : -1;
        if (n > 0) {
            text.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        break;  // EOF, timeout or error
    }
    std::string log = o.home.logs_dir() + "/pylon.log";
    if (text.rfind("ready ", 0) == 0) {
        std::string pid = text.substr(6, text.find('\n') - 6);
        std::fprintf(out,
                     "Pylon daemon started successfully. (PID: %s)\n\n"
                     "  Status: pylon status\n  Logs:   pylon logs -f   (%s)\n"
                     "  Stop:   pylon stop\n",
                     pid.c_str(), log.c_str());
        return 0;
    }
    if (text.rfind("running", 0) == 0) {
        std::fprintf(out, "Pylon daemon is already running.\n");
        return 0;
    }
    if (text.rfind("error ", 0) == 0) {
        std::string msg = text.substr(6);
        while (!msg.empty() && msg.back() == '\n') {
            msg.pop_back();
        }
        std::fprintf(err, "pylon: the daemon failed to start: %s\n", msg.c_str());
        return 1;
    }
    std::fprintf(err, "Warning: Daemon may have failed to start. See %s\n", log.c_str());
    return 1;
}

int daemonize_and_run(const StartOptions& o, const LoadedConfig& loaded,
                      const NodeIdentity& identity, std::FILE* out, std::FILE* err) {
    std::fflush(out);
    std::fflush(err);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        std::fprintf(err, "pylon: pipe: %s\n", std::strerror(errno));
        return 1;
    }
    pid_t child = ::fork();
    if (child < 0) {
        std::fprintf(err, "pylon: fork: %s\n", std::strerror(errno));
        return 1;
    }
    if (child > 0) {
        ::close(fds[1]);
        int code = await_report(fds[0], o, out, err);
        ::close(fds[0]);
        int status = 0;
        ::waitpid(child, &status, 0);
        return code;
    }
    ::close(fds[0]);
    Reporter report{fds[1], nullptr, nullptr};
    if (::setsid() < 0) {
        _exit(report.error(std::string("setsid: ") + std::strerror(errno)));
    }
    pid_t grandchild = ::fork();
    if (grandchild != 0) {
        _exit(grandchild < 0 ? report.error(std::string("fork: ") + std::strerror(errno)) : 0);
    }
    if (::chdir("/") != 0) {
        _exit(report.error(std::string("chdir /: ") + std::strerror(errno)));
    }
    int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd >= 0) {
        ::dup2(null_fd, 0);
        ::dup2(null_fd, 1);
        ::dup2(null_fd, 2);
        ::close(null_fd);
    }
    return run_node(o, loaded, identity, report, ::getppid());
}

}  // namespace

int start_daemon(StartOptions o, std::FILE* out, std::FILE* err) {
    ::umask(077);
    o.home = Home(absolute(o.home.dir()));
    o.config_path = absolute(o.config_path.empty() ? o.home.config_path() : o.config_path);
    if (Status st = o.home.ensure_exists(); !st.ok()) {
        std::fprintf(err, "pylon: %s\n", st.error().message().c_str());
        return 1;
    }
    auto loaded = load_config_file(o.config_path, o.config_given);
    if (!loaded.ok()) {
        std::fprintf(err, "pylon: %s\n", loaded.error().message().c_str());
        return 1;
    }
    for (const std::string& w : loaded->warnings) {
        std::fprintf(err, "pylon: warning: %s\n", w.c_str());
    }
    std::string id_path = identity_path(o.home, loaded->config);
    auto identity =
        load_identity(id_path, static_cast<std::uint32_t>(loaded->config.identity.account));
    if (!identity.ok()) {
        if (identity.error().code() == Errc::not_found) {
            std::fprintf(err, "No identity found. Run 'pylon init' first.\n");
        } else {
            std::fprintf(err, "pylon: %s\n", identity.error().message().c_str());
        }
        return 1;
    }
    if (!o.managed) {
        auto info = PidFile::inspect(o.home.pid_path());
        if (info.ok() && info->state == PidState::running) {
            std::fprintf(out, "Pylon daemon is already running.\n");
            return 0;
        }
    }
    bool foreground = o.foreground || o.managed;
    std::fprintf(out, "Starting Pylon daemon%s...\nIdentity: %s\nMode: %s\n",
                 foreground ? " in foreground mode" : "", identity->npub.c_str(),
                 mode_words(o.mode).c_str());
    std::fflush(out);
    if (!foreground) {
        return daemonize_and_run(o, loaded.value(), identity.value(), out, err);
    }
    return run_node(o, loaded.value(), identity.value(), Reporter{-1, out, err}, ::getppid());
}

}  // namespace pylon::engine
