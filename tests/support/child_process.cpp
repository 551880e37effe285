#include "tests/support/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "reactor/assert.hpp"
#include "tests/support/test_env.hpp"

extern char** environ;

namespace pylon::test {
namespace {

// glibc 2.36's <sys/pidfd.h> lacks extern "C" guards for C++, so call the syscalls directly.
int sys_pidfd_open(pid_t pid) {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

int sys_pidfd_send_signal(int pidfd, int sig) {
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

constexpr std::size_t read_chunk_bytes = 64 * 1024;
constexpr int output_drain_ms_max = 2000;  // wait_exit: pipes drained after the exit
constexpr std::size_t describe_lines_max = 20;

std::vector<std::string> build_env(const std::vector<std::pair<std::string, std::string>>& add) {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string_view entry(*e);
        std::string_view key = entry.substr(0, entry.find('='));
        bool replaced =
            std::any_of(add.begin(), add.end(), [&](const auto& kv) { return kv.first == key; });
        if (!replaced) {
            env.emplace_back(entry);
        }
    }
    for (const auto& [key, value] : add) {
        env.push_back(key + "=" + value);
    }
    return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
    std::vector<char*> out;
    out.reserve(strings.size() + 1);
    for (auto& s : strings) {
        out.push_back(s.data());
    }
    out.push_back(nullptr);
    return out;
}

// Runs in the forked child: only async-signal-safe calls. Reports errno on `report_fd` if the
// exec fails.
[[noreturn]] void child_exec(pid_t parent, int out_w, int err_w, int report_fd, const char* cwd,
                             const char* program, char* const* argv, char* const* envp) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
        ::_exit(127);  // the parent died before the prctl took effect
    }
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGQUIT}) {
        ::signal(sig, SIG_DFL);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
        ::dup2(devnull, 0);
    }
    ::dup2(out_w, 1);
    ::dup2(err_w, 2);
    if (report_fd != 3) {
        ::dup2(report_fd, 3);
        ::fcntl(3, F_SETFD, FD_CLOEXEC);
    }
    ::close_range(4, ~0U, 0);
    int err = 0;
    if (cwd != nullptr && ::chdir(cwd) != 0) {
        err = errno;
    } else {
        ::execve(program, argv, envp);
        err = errno;
    }
    ssize_t n = ::write(3, &err, sizeof err);
    (void)n;
    ::_exit(127);
}

ExitInfo exit_info_from(const siginfo_t& info) {
    ExitInfo e;
    if (info.si_code == CLD_EXITED) {
        e.exited = true;
        e.code = info.si_status;
    } else {
        e.signal = info.si_status;
    }
    return e;
}

}  // namespace

ChildProcess::ChildProcess(ChildSpec spec) : spec_(std::move(spec)) {}

Result<std::unique_ptr<ChildProcess>> ChildProcess::spawn(ChildSpec spec) {
    PYLON_ASSERT(!spec.argv.empty());
    PYLON_ASSERT(spec.tail_bytes_max > 0 && spec.tail_lines_max > 0);
    std::unique_ptr<ChildProcess> child(new ChildProcess(std::move(spec)));
    PYLON_TRY(child->start());
    return child;
}

Status ChildProcess::start() {
    // PATH lookup here in the parent: execve in the child is async-signal-safe, execvp is not.
    // An unknown name is passed on as is; execve then fails with ENOENT, which is reported.
    std::string program = find_in_path(spec_.argv[0]).value_or(spec_.argv[0]);
    std::vector<std::string> argv_storage = spec_.argv;
    std::vector<std::string> env_storage = build_env(spec_.env_add);
    std::vector<char*> argv = c_strings(argv_storage);
    std::vector<char*> envp = c_strings(env_storage);
    int out_pipe[2];
    int err_pipe[2];
    int report_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
        return Error::from_errno(errno, "pipe");
    }
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
        int e = errno;
        ::close(out_pipe[0]);
        ::close(out_pipe[1]);
        return Error::from_errno(e, "pipe");
    }
    if (::pipe2(report_pipe, O_CLOEXEC) != 0) {
        int e = errno;
        for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
            ::close(fd);
        }
        return Error::from_errno(e, "pipe");
    }
    const char* cwd = spec_.cwd.empty() ? nullptr : spec_.cwd.c_str();
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid == 0) {
        child_exec(parent, out_pipe[1], err_pipe[1], report_pipe[1], cwd, program.c_str(),
                   argv.data(), envp.data());
    }
    int fork_errno = errno;
    for (int fd : {out_pipe[1], err_pipe[1], report_pipe[1]}) {
        ::close(fd);
    }
    if (pid < 0) {
        for (int fd : {out_pipe[0], err_pipe[0], report_pipe[0]}) {
            ::close(fd);
        }
        return Error::from_errno(fork_errno, "fork");
    }
    pid_ = pid;
    out_fd_ = out_pipe[0];
    err_fd_ = err_pipe[0];
    pidfd_ = sys_pidfd_open(pid);
    PYLON_ASSERT_MSG(pidfd_ >= 0, "pidfd_open on our own unreaped child");
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
    PYLON_ASSERT(wake_fd_ >= 0);
    reader_ = std::thread([this] { reader_main(); });

    int exec_errno = 0;
    ssize_t n;
    do {
        n = ::read(report_pipe[0], &exec_errno, sizeof exec_errno);
    } while (n < 0 && errno == EINTR);
    ::close(report_pipe[0]);
    if (n == static_cast<ssize_t>(sizeof exec_errno)) {
        reap(-1);
        return Error::from_errno(exec_errno, "exec " + program);
    }
    return Ok{};
}

ChildProcess::~ChildProcess() {
    if (pid_ > 0) {
        stop(spec_.term_grace_ms);
    }
    if (reader_.joinable()) {
        std::uint64_t one = 1;
        ssize_t n = ::write(wake_fd_, &one, sizeof one);
        (void)n;
        reader_.join();
    }
    for (int fd : {pidfd_, out_fd_, err_fd_, wake_fd_}) {
        if (fd >= 0) {
            ::close(fd);
        }
    }
}

void ChildProcess::reader_main() {
    std::string buf(read_chunk_bytes, '\0');
    bool out_open = true;
    bool err_open = true;
    while (out_open || err_open) {
        pollfd fds[3] = {{out_open ? out_fd_ : -1, POLLIN, 0},
                         {err_open ? err_fd_ : -1, POLLIN, 0},
                         {wake_fd_, POLLIN, 0}};
        int rc = ::poll(fds, 3, -1);
        if (rc < 0) {
            PYLON_ASSERT(errno == EINTR);
            continue;
        }
        if ((fds[2].revents & POLLIN) != 0) {
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].revents == 0) {
                continue;
            }
            ssize_t n = ::read(fds[i].fd, buf.data(), buf.size());
            if (n < 0 && errno == EINTR) {
                continue;
            }
            std::lock_guard lock(mutex_);
            Output& out = i == 0 ? out_ : err_;
            if (n <= 0) {
                out.eof = true;
                (i == 0 ? out_open : err_open) = false;
            } else {
                append_output(out, std::string_view(buf.data(), static_cast<std::size_t>(n)));
            }
            changed_.notify_all();
        }
    }
    std::lock_guard lock(mutex_);
    out_.eof = true;
    err_.eof = true;
    changed_.notify_all();
}

void ChildProcess::append_output(Output& out, std::string_view data) {
    out.bytes_total += data.size();
    out.tail.append(data);
    if (out.tail.size() > spec_.tail_bytes_max) {
        out.tail.erase(0, out.tail.size() - spec_.tail_bytes_max);
    }
    while (!data.empty()) {
        std::size_t nl = data.find('\n');
        std::string_view piece = data.substr(0, nl);
        std::size_t room =
            spec_.line_bytes_max - std::min(spec_.line_bytes_max, out.partial.size());
        out.partial.append(piece.substr(0, std::min(room, piece.size())));
        if (nl == std::string_view::npos) {
            break;
        }
        if (!out.partial.empty() && out.partial.back() == '\r') {
            out.partial.pop_back();
        }
        out.lines.push_back(std::move(out.partial));
        out.partial.clear();
        if (out.lines.size() > spec_.tail_lines_max) {
            out.lines.pop_front();
        }
        data.remove_prefix(nl + 1);
    }
}

Status ChildProcess::signal(int sig) {
    if (exit_.has_value()) {
        return Error(Errc::closed, "child " + std::to_string(pid_) + " already reaped");
    }
    if (sys_pidfd_send_signal(pidfd_, sig) != 0) {
        return Error::from_errno(errno, "signal child " + std::to_string(pid_));
    }
    return Ok{};
}

std::optional<ExitInfo> ChildProcess::reap(int timeout_ms) {
    if (exit_.has_value()) {
        return exit_;
    }
    pollfd p{pidfd_, POLLIN, 0};
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (timeout_ms >= 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        int rc = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, left.count())));
        if (rc > 0) {
            break;
        }
        if (rc == 0) {
            return std::nullopt;
        }
        PYLON_ASSERT(errno == EINTR);
    }
    siginfo_t info{};
    int rc;
    do {
        rc = ::waitid(P_PIDFD, static_cast<id_t>(pidfd_), &info, WEXITED);
    } while (rc != 0 && errno == EINTR);
    PYLON_ASSERT_MSG(rc == 0, "waitid on our own child");
    exit_ = exit_info_from(info);
    return exit_;
}

std::optional<ExitInfo> ChildProcess::wait_exit(int timeout_ms) {
    PYLON_ASSERT(timeout_ms >= 0);
    auto e = reap(timeout_ms);
    if (e.has_value()) {
        // The exit can be seen before the reader thread has drained the pipes: give it a
        // bounded moment to reach end of file, so out/err hold everything the child wrote
        // (unless a grandchild still holds the pipes open).
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, std::chrono::milliseconds(output_drain_ms_max),
                          [this] { return out_.eof && err_.eof; });
    }
    return e;
}

bool ChildProcess::running() {
    if (exit_.has_value()) {
        return false;
    }
    pollfd p{pidfd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
}

ExitInfo ChildProcess::stop(int grace_ms) {
    if (exit_.has_value()) {
        return *exit_;
    }
    (void)signal(SIGTERM);
    if (auto e = reap(grace_ms)) {
        return *e;
    }
    (void)signal(SIGKILL);
    auto e = reap(-1);
    PYLON_ASSERT(e.has_value());
    return *e;
}

template <typename Match>
std::optional<std::string> ChildProcess::wait_line(Match&& match, int timeout_ms, Stream stream) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    std::unique_lock lock(mutex_);
    const Output& out = output(stream);
    for (;;) {
        for (const std::string& line : out.lines) {  // bounded by tail_lines_max
            if (match(line)) {
                return line;
            }
        }
        if (out.eof || std::chrono::steady_clock::now() >= deadline) {
            return std::nullopt;
        }
        changed_.wait_until(lock, deadline);
    }
}

std::optional<std::string> ChildProcess::wait_for_line(std::string_view prefix, int timeout_ms,
                                                       Stream stream) {
    return wait_line([&](const std::string& line) { return line.starts_with(prefix); }, timeout_ms,
                     stream);
}

std::optional<std::string> ChildProcess::wait_for_line(const std::regex& re, int timeout_ms,
                                                       Stream stream) {
    return wait_line([&](const std::string& line) { return std::regex_search(line, re); },
                     timeout_ms, stream);
}

std::optional<std::uint16_t> ChildProcess::wait_ready_port(int timeout_ms) {
    auto line = wait_for_line("READY port=", timeout_ms);
    if (!line) {
        return std::nullopt;
    }
    char* end = nullptr;
    const char* digits = line->c_str() + std::strlen("READY port=");
    unsigned long port = std::strtoul(digits, &end, 10);
    if (end == digits || port == 0 || port > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(port);
}

std::string ChildProcess::tail(Stream stream) {
    std::lock_guard lock(mutex_);
    return output(stream).tail;
}

std::vector<std::string> ChildProcess::lines(Stream stream) {
    std::lock_guard lock(mutex_);
    const Output& out = output(stream);
    return {out.lines.begin(), out.lines.end()};
}

std::uint64_t ChildProcess::bytes_total(Stream stream) {
    std::lock_guard lock(mutex_);
    return output(stream).bytes_total;
}

std::string ChildProcess::describe() {
    std::string s = "child pid " + std::to_string(pid_) + ":";
    for (const auto& a : spec_.argv) {
        s += " " + a;
    }
    std::lock_guard lock(mutex_);
    for (Stream st : {Stream::out, Stream::err}) {
        const Output& out = output(st);
        s += st == Stream::out ? "\n-- stdout (last lines):" : "\n-- stderr (last lines):";
        std::size_t first =
            out.lines.size() > describe_lines_max ? out.lines.size() - describe_lines_max : 0;
        for (std::size_t i = first; i < out.lines.size(); ++i) {
            s += "\n" + out.lines[i];
        }
        if (!out.partial.empty()) {
            s += "\n" + out.partial + " (no newline)";
        }
    }
    return s;
}

Result<ReadyChild> spawn_ready(ChildSpec spec, int timeout_ms) {
    auto child = ChildProcess::spawn(std::move(spec));
    if (!child.ok()) {
        return std::move(child).error();
    }
    std::unique_ptr<ChildProcess> process = std::move(child).value();
    auto port = process->wait_ready_port(timeout_ms);
    if (!port) {
        process->stop(1000);
        return Error(Errc::timeout, "no READY line: " + process->describe());
    }
    return ReadyChild{std::move(process), *port};
}

}  // namespace pylon::test
