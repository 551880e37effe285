// ChildProcess: one process the daemon started, held by a pidfd so that no signal or wait can
// ever reach a reused pid. spawn() uses clone3(CLONE_PIDFD) (raw syscall: glibc 2.36 has no
// wrapper) with everything the child needs prepared before the clone (argv, envp, the resolved
// program path), so the child allocates nothing: it calls setsid() (own session and process
// group, pgid == pid), sets PR_SET_PDEATHSIG(SIGKILL) and exits if its parent already died,
// resets signal mask and dispositions, puts /dev/null on stdin and pipes (or /dev/null) on
// stdout and stderr, marks every other fd close-on-exec (close_range), changes directory and
// execs. An exec failure travels back as an errno over a close-on-exec pipe, read through
// io_uring.
//
// Exit is observed without reaping first (IORING_OP_WAITID with WEXITED|WNOWAIT, or POLL_ADD on
// the pidfd as the fallback for kernels before 6.7): while the leader is a zombie its pid, and
// so its process group id, cannot be reused, so a last signal to the group is still safe. reap()
// then collects the status with waitid(P_PIDFD, WNOHANG).
//
// PR_SET_PDEATHSIG fires when the forking *thread* exits: spawn only from a long-lived thread
// (shard 0). Owned by one shard; move-only. Destroying an unreaped child kills and reaps it
// (a safety net; the supervisor always reaps).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "reactor/cancel.hpp"
#include "reactor/result.hpp"
#include "reactor/task.hpp"

namespace pylon::engine {

struct SpawnSpec {
    std::vector<std::string> argv;  // argv[0] is the program; looked up in PATH without a '/'
    std::vector<std::string> env;   // "KEY=VALUE", added to (or replacing) the inherited ones
    bool inherit_env = true;        // start from the daemon's environment
    std::string cwd;                // empty: the daemon's working directory
    bool capture_output = true;     // stdout/stderr to pipes (else /dev/null)
    bool pdeathsig = true;          // PR_SET_PDEATHSIG(SIGKILL)
};

inline constexpr std::size_t spawn_argv_max = 4096;
inline constexpr std::size_t spawn_env_max = 4096;

// How a process ended (waitid's si_code/si_status).
struct ExitStatus {
    bool exited = false;  // true: exit(code); false: killed by `signal`
    int code = 0;
    int signal = 0;

    bool clean() const noexcept { return exited && code == 0; }
    // "exit code 3" / "killed by SIGKILL".
    std::string describe() const;
};

// The exit observation method, chosen once from the io_uring probe.
enum class ExitWatch : unsigned char { waitid, poll };
const char* exit_watch_name(ExitWatch watch) noexcept;

class ChildProcess {
  public:
    // Starts spec.argv. Fails (no process left behind) when the program is not found or cannot
    // be executed, or when pipes or clone3 fail. Call on a long-lived thread (shard 0).
    static reactor::Task<Result<ChildProcess>> spawn(SpawnSpec spec);

    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&& other) noexcept;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess();

    pid_t pid() const noexcept { return pid_; }
    pid_t pgid() const noexcept { return pid_; }  // setsid() in the child: pgid == sid == pid
    int pidfd() const noexcept { return pidfd_; }
    bool reaped() const noexcept { return reaped_; }

    // The read ends of the child's stdout/stderr pipes (-1 without capture). take_*() hands the
    // fd over to the caller, who then closes it.
    int take_stdout_fd() noexcept;
    int take_stderr_fd() noexcept;

    // pidfd_send_signal to the leader. Fails with ESRCH once it has been reaped.
    Status signal(int sig) const;
    // The signal to the leader (pidfd) and to its process group (kill(-pgid)). The group signal
    // is sent only while the leader is not reaped (its zombie pins the pgid).
    Status signal_group(int sig) const;

    // Resumes once the leader has exited (it stays a zombie until reap()): 0, or -errno
    // (-ECANCELED when `token` fires).
    reactor::Task<int> wait_exited(ExitWatch watch, reactor::CancelToken token = {});
    // Collects the exit status (after wait_exited). Fails if the child has not exited yet.
    Result<ExitStatus> reap();

  private:
    ChildProcess(pid_t pid, int pidfd, int out_fd, int err_fd) noexcept
        : pid_(pid), pidfd_(pidfd), out_fd_(out_fd), err_fd_(err_fd) {}
    void release() noexcept;

    pid_t pid_ = -1;
    int pidfd_ = -1;
    int out_fd_ = -1;
    int err_fd_ = -1;
    bool reaped_ = false;
};

// The program path spawn() would execute: `program` itself when it contains a '/', else the
// first executable match in `path_list` (a PATH value). Fails with not_found.
Result<std::string> resolve_program(const std::string& program, const std::string& path_list);

// Kernel facts the supervisor relies on, checked once at start-up (pylon doctor prints them).
// PR_SET_CHILD_SUBREAPER on this process: orphaned descendants are reparented to it.
Status become_subreaper();

}  // namespace pylon::engine
