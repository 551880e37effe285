#include "engine/child_process.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <utility>

#include "engine/pidfd.hpp"
#include "reactor/ops.hpp"
#include "reactor/signals.hpp"

extern char** environ;

namespace pylon::engine {
namespace {

using reactor::Task;

constexpr const char* default_path = "/usr/local/bin:/usr/bin:/bin";

// Everything execve needs, built before the clone so the child allocates nothing.
struct PreparedExec {
    std::string program;
    std::vector<std::string> argv_storage;
    std::vector<std::string> env_storage;
    std::vector<char*> argv;
    std::vector<char*> envp;
    std::string cwd;
};

std::string_view env_key(std::string_view entry) {
    std::size_t eq = entry.find('=');
    return eq == std::string_view::npos ? entry : entry.substr(0, eq);
}

std::vector<std::string> build_env(const SpawnSpec& spec) {
    std::vector<std::string> env;
    if (spec.inherit_env) {
        for (char** e = environ; e != nullptr && *e != nullptr && env.size() < spawn_env_max; e++) {
            env.emplace_back(*e);
        }
    }
    for (const std::string& add : spec.env) {
        std::string_view key = env_key(add);
        bool replaced = false;
        for (std::string& existing : env) {
            if (env_key(existing) == key) {
                existing = add;
                replaced = true;
                break;
            }
        }
        if (!replaced) {
            env.push_back(add);
        }
    }
    return env;
}

std::string path_of(const std::vector<std::string>& env) {
    for (const std::string& e : env) {
        if (env_key(e) == "PATH") {
            return e.substr(5);
        }
    }
    const char* p = std::getenv("PATH");
    return p != nullptr ? std::string(p) : std::string(default_path);
}

Result<PreparedExec> prepare(const SpawnSpec& spec) {
    if (spec.argv.empty() || spec.argv[0].empty()) {
        return Error(Errc::invalid_input, "spawn: empty argv");
    }
    if (spec.argv.size() > spawn_argv_max || spec.env.size() > spawn_env_max) {
        return Error(Errc::too_large, "spawn: argv or env has too many entries");
    }
    PreparedExec p;
    p.env_storage = build_env(spec);
    auto program = resolve_program(spec.argv[0], path_of(p.env_storage));
    if (!program.ok()) {
        return std::move(program).error();
    }
    p.program = std::move(program).value();
    p.argv_storage = spec.argv;
    for (std::string& a : p.argv_storage) {
        p.argv.push_back(a.data());
    }
    p.argv.push_back(nullptr);
    for (std::string& e : p.env_storage) {
        p.envp.push_back(e.data());
    }
    p.envp.push_back(nullptr);
    p.cwd = spec.cwd;
    return p;
}

// Moves fd above the standard streams (a daemon whose 0-2 are closed would hand them out).
int above_stdio(int fd) {
    if (fd < 0 || fd > 2) {
        return fd;
    }
    int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    ::close(fd);
    return moved;
}

void close_fd(int& fd) {
    if (fd >= 0) {
        ::close(fd);
        fd = -1;
    }
}

// The fds the child gets: stdin, stdout, stderr, and the exec-error pipe.
struct ChildFds {
    int devnull = -1;
    int out_read = -1;
    int out_write = -1;
    int err_read = -1;
    int err_write = -1;
    int exec_err_read = -1;
    int exec_err_write = -1;

    void close_all() {
        for (int* fd : {&devnull, &out_read, &out_write, &err_read, &err_write, &exec_err_read,
                        &exec_err_write}) {
            close_fd(*fd);
        }
    }
};

Status make_pipe(int& read_end, int& write_end) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return Error::from_errno(errno, "spawn: pipe2");
    }
    read_end = above_stdio(fds[0]);
    write_end = above_stdio(fds[1]);
    if (read_end < 0 || write_end < 0) {
        return Error::from_errno(errno, "spawn: fcntl");
    }
    return Ok{};
}

Status open_child_fds(bool capture, ChildFds& fds) {
    fds.devnull = above_stdio(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (fds.devnull < 0) {
        return Error::from_errno(errno, "spawn: open /dev/null");
    }
    if (capture) {
        PYLON_TRY(make_pipe(fds.out_read, fds.out_write));
        PYLON_TRY(make_pipe(fds.err_read, fds.err_write));
    }
    return make_pipe(fds.exec_err_read, fds.exec_err_write);
}

// The child side, between clone3 and execve: async-signal-safe calls only, no allocation.
[[noreturn]] void child_main(const PreparedExec& p, const ChildFds& fds, pid_t parent,
                             bool pdeathsig) {
    int err = 0;
    if (::setsid() < 0) {
        err = errno;
    }
    if (err == 0 && pdeathsig) {
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
            err = errno;
        } else if (::getppid() != parent) {
            ::_exit(127);  // the daemon died before the prctl: do not outlive it
        }
    }
    if (err == 0) {
        reactor::reset_signals_for_exec();
        int out = fds.out_write >= 0 ? fds.out_write : fds.devnull;
        int errfd = fds.err_write >= 0 ? fds.err_write : fds.devnull;
        if (::dup2(fds.devnull, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(errfd, 2) < 0) {
            err = errno;
        }
    }
    if (err == 0 && ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        err = errno;
    }
    if (err == 0 && !p.cwd.empty() && ::chdir(p.cwd.c_str()) != 0) {
        err = errno;
    }
    if (err == 0) {
        ::execve(p.program.c_str(), p.argv.data(), p.envp.data());
        err = errno;
    }
    ssize_t ignored = ::write(fds.exec_err_write, &err, sizeof err);
    (void)ignored;
    ::_exit(127);
}

// clone3 with CLONE_PIDFD: returns the pid (parent), 0 (child) or -errno.
long clone_with_pidfd(int* pidfd) {
    clone_args args;
    std::memset(&args, 0, sizeof args);
    args.flags = CLONE_PIDFD;
    args.pidfd = reinterpret_cast<std::uint64_t>(pidfd);
    args.exit_signal = SIGCHLD;
    long rc = ::syscall(SYS_clone3, &args, sizeof args);
    return rc < 0 ? -errno : rc;
}

// Reads the exec-error pipe: 0 bytes (EOF at exec) means success, else the child's errno.
Task<int> read_exec_error(int fd) {
    int err = 0;
    for (;;) {
        int n = co_await reactor::read(fd, &err, sizeof err);
        if (n == -EINTR || n == -EAGAIN) {
            continue;
        }
        if (n == 0) {
            co_return 0;
        }
        if (n == static_cast<int>(sizeof err)) {
            co_return err != 0 ? err : EIO;
        }
        co_return n < 0 ? -n : EIO;
    }
}

}  // namespace

std::string ExitStatus::describe() const {
    if (exited) {
        return "exit code " + std::to_string(code);
    }
    const char* name = ::sigabbrev_np(signal);
    return std::string("killed by ") +
           (name != nullptr ? std::string("SIG") + name : "signal " + std::to_string(signal));
}

const char* exit_watch_name(ExitWatch watch) noexcept {
    return watch == ExitWatch::waitid ? "waitid" : "poll";
}

Result<std::string> resolve_program(const std::string& program, const std::string& path_list) {
    auto executable = [](const std::string& path) {
        struct stat st {};
        return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
               ::access(path.c_str(), X_OK) == 0;
    };
    if (program.find('/') != std::string::npos) {
        if (!executable(program)) {
            return Error(Errc::not_found, program + ": not an executable file", ENOENT);
        }
        return program;
    }
    std::size_t start = 0;
    while (start <= path_list.size()) {
        std::size_t end = path_list.find(':', start);
        if (end == std::string::npos) {
            end = path_list.size();
        }
        std::string dir = path_list.substr(start, end - start);
        std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + program;
        if (executable(candidate)) {
            return candidate;
        }
        start = end + 1;
    }
    return Error(Errc::not_found, program + ": not found in PATH", ENOENT);
}

Task<Result<ChildProcess>> ChildProcess::spawn(SpawnSpec spec) {
    auto prepared = prepare(spec);
    if (!prepared.ok()) {
        co_return std::move(prepared).error();
    }
    ChildFds fds;
    if (Status st = open_child_fds(spec.capture_output, fds); !st.ok()) {
        fds.close_all();
        co_return st.error();
    }
    int pidfd = -1;
    pid_t parent = ::getpid();
    long rc = clone_with_pidfd(&pidfd);
    if (rc == 0) {
        child_main(*prepared, fds, parent, spec.pdeathsig);
    }
    if (rc < 0) {
        fds.close_all();
        co_return Error::from_errno(static_cast<int>(-rc), "spawn: clone3");
    }
    ChildProcess child(static_cast<pid_t>(rc), pidfd, std::exchange(fds.out_read, -1),
                       std::exchange(fds.err_read, -1));
    close_fd(fds.exec_err_write);  // else the read below never sees EOF
    int exec_errno = co_await read_exec_error(fds.exec_err_read);
    fds.close_all();
    if (exec_errno != 0) {
        // The child exits at once with 127; reap it here so nothing is left behind.
        siginfo_t info{};
        ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(child.pidfd_), &info, WEXITED);
        child.reaped_ = true;
        co_return Error::from_errno(exec_errno, "exec " + prepared->program);
    }
    co_return std::move(child);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      out_fd_(std::exchange(other.out_fd_, -1)),
      err_fd_(std::exchange(other.err_fd_, -1)),
      reaped_(std::exchange(other.reaped_, false)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
    if (this != &other) {
        release();
        pid_ = std::exchange(other.pid_, -1);
        pidfd_ = std::exchange(other.pidfd_, -1);
        out_fd_ = std::exchange(other.out_fd_, -1);
        err_fd_ = std::exchange(other.err_fd_, -1);
        reaped_ = std::exchange(other.reaped_, false);
    }
    return *this;
}

ChildProcess::~ChildProcess() {
    release();
}

void ChildProcess::release() noexcept {
    if (pidfd_ >= 0 && !reaped_) {
        // Safety net: the owner forgot to stop and reap this child.
        pidfd_signal(pidfd_, SIGKILL);
        siginfo_t info{};
        ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_), &info, WEXITED);
    }
    close_fd(pidfd_);
    close_fd(out_fd_);
    close_fd(err_fd_);
    pid_ = -1;
    reaped_ = false;
}

int ChildProcess::take_stdout_fd() noexcept {
    return std::exchange(out_fd_, -1);
}

int ChildProcess::take_stderr_fd() noexcept {
    return std::exchange(err_fd_, -1);
}

Status ChildProcess::signal(int sig) const {
    PYLON_ASSERT(pidfd_ >= 0);
    if (pidfd_signal(pidfd_, sig) != 0) {
        return Error::from_errno(errno, "pidfd_send_signal " + std::to_string(pid_));
    }
    return Ok{};
}

Status ChildProcess::signal_group(int sig) const {
    PYLON_ASSERT(pidfd_ >= 0);
    if (reaped_) {
        return Error(Errc::not_found, "process " + std::to_string(pid_) + " already reaped", ESRCH);
    }
    Status leader = signal(sig);
    // The zombie or live leader pins the pgid, so this cannot reach a reused group.
    if (::kill(-pgid(), sig) != 0 && errno != ESRCH) {
        return Error::from_errno(errno, "kill -" + std::to_string(pgid()));
    }
    return leader;
}

Task<int> ChildProcess::wait_exited(ExitWatch watch, reactor::CancelToken token) {
    PYLON_ASSERT(pidfd_ >= 0 && !reaped_);
    if (watch == ExitWatch::waitid) {
        siginfo_t info{};
        int res =
            co_await reactor::waitid_pidfd(pidfd_, &info, WEXITED | WNOWAIT, {.token = token});
        co_return res < 0 ? res : 0;
    }
    int res = co_await reactor::poll(pidfd_, POLLIN, {.token = token});
    co_return res < 0 ? res : 0;
}

Result<ExitStatus> ChildProcess::reap() {
    PYLON_ASSERT(pidfd_ >= 0 && !reaped_);
    siginfo_t info{};
    if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_), &info,
                 WEXITED | WNOHANG) != 0) {
        return Error::from_errno(errno, "waitid " + std::to_string(pid_));
    }
    if (info.si_pid == 0) {
        return Error(Errc::busy, "process " + std::to_string(pid_) + " has not exited", EAGAIN);
    }
    reaped_ = true;
    ExitStatus status;
    status.exited = info.si_code == CLD_EXITED;
    if (status.exited) {
        status.code = info.si_status;
    } else {
        status.signal = info.si_status;
    }
    return status;
}

Status become_subreaper() {
    if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        return Error::from_errno(errno, "prctl(PR_SET_CHILD_SUBREAPER)");
    }
    return Ok{};
}

}  // namespace pylon::engine
