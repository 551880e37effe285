// ChildProcess: a test's handle on one real child process (a fake backend, a Node peer, the
// pylon binary). It spawns an argv directly (no shell), optionally with extra environment
// variables and a working directory, and drains the child's stdout and stderr through pipes on
// a reader thread so a chatty child never blocks on a full pipe; only a bounded tail of each
// stream is kept (lines and raw bytes). Tests wait for a line (a prefix or a regex, e.g.
// "READY port=12345"), send signals and wait for the exit.
//
// Process hygiene: the child runs in its own process group with PR_SET_PDEATHSIG(SIGKILL), so a
// crashed test leaves nothing behind. PDEATHSIG fires when the *thread* that spawned the child
// exits: spawn from the test's main thread (or another long-lived one). The destructor sends
// SIGTERM to the pid, waits a grace period, sends SIGKILL and reaps: always by pid (a pidfd, so
// never a reused pid), never by name. Signals go only to the child itself, not to descendants.
//
// Threading: one ChildProcess is used by one test thread; the internal reader thread only touches
// the output buffers under the object's mutex. Not copyable or movable (held by unique_ptr).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "reactor/result.hpp"

namespace pylon::test {

// What to run and how. argv[0] is resolved through PATH when it has no '/'.
struct ChildSpec {
    std::vector<std::string> argv;
    std::vector<std::pair<std::string, std::string>> env_add;  // added to (or replacing in) ours
    std::string cwd;                                           // empty: the test's cwd
    std::size_t tail_bytes_max = 256 * 1024;  // raw bytes kept per stream (the newest)
    std::size_t tail_lines_max = 4096;        // complete lines kept per stream (the newest)
    std::size_t line_bytes_max = 64 * 1024;   // a longer line is cut at this length
    int term_grace_ms = 3000;                 // destructor: SIGTERM, then SIGKILL after this
};

// How a child ended.
struct ExitInfo {
    bool exited = false;  // true: normal exit with `code`; false: killed by `signal`
    int code = 0;
    int signal = 0;
};

enum class Stream : std::uint8_t { out, err };

class ChildProcess {
  public:
    // Forks and execs spec.argv. Fails when the program cannot be found or executed (the exec
    // error travels back through a close-on-exec pipe) or when pipes/fork fail.
    static Result<std::unique_ptr<ChildProcess>> spawn(ChildSpec spec);

    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess();

    pid_t pid() const { return pid_; }

    // Sends `sig` to the child (through its pidfd). Fails once the child has been reaped.
    Status signal(int sig);

    // Waits up to timeout_ms for the child to exit and reaps it. Returns the exit information
    // (also on later calls), or nullopt on timeout. After the exit it also waits (at most 2 s)
    // for the output pipes to reach end of file, so tail()/lines() hold all the child wrote.
    std::optional<ExitInfo> wait_exit(int timeout_ms);

    // True while the child has not exited (does not reap).
    bool running();

    // SIGTERM, wait up to grace_ms, SIGKILL, reap. Returns how it ended. Idempotent.
    ExitInfo stop(int grace_ms);

    // Waits until a complete line of `stream` starts with `prefix` (or matches `re` entirely with
    // std::regex_search semantics); returns the first such line among the retained ones, or
    // nullopt on timeout or when the stream ended without one.
    std::optional<std::string> wait_for_line(std::string_view prefix, int timeout_ms,
                                             Stream stream = Stream::out);
    std::optional<std::string> wait_for_line(const std::regex& re, int timeout_ms,
                                             Stream stream = Stream::out);

    // Waits for the "READY port=<n>" line every Pylon peer prints first; returns n.
    std::optional<std::uint16_t> wait_ready_port(int timeout_ms);

    // The retained tail of a stream (raw bytes, newest last) and its complete lines.
    std::string tail(Stream stream);
    std::vector<std::string> lines(Stream stream);
    // Total bytes the child wrote to a stream (all of them, not only the retained tail).
    std::uint64_t bytes_total(Stream stream);

    // For failure messages: argv, pid and the last lines of both streams.
    std::string describe();

  private:
    struct Output {
        std::string tail;     // newest tail_bytes_max bytes
        std::string partial;  // the current incomplete line
        std::deque<std::string> lines;
        std::uint64_t bytes_total = 0;
        bool eof = false;
    };

    explicit ChildProcess(ChildSpec spec);
    Status start();
    void reader_main();
    void append_output(Output& out, std::string_view data);
    Output& output(Stream stream) { return stream == Stream::out ? out_ : err_; }
    template <typename Match>
    std::optional<std::string> wait_line(Match&& match, int timeout_ms, Stream stream);
    std::optional<ExitInfo> reap(int timeout_ms);

    ChildSpec spec_;
    pid_t pid_ = -1;
    int pidfd_ = -1;
    int out_fd_ = -1;
    int err_fd_ = -1;
    int wake_fd_ = -1;  // eventfd that stops the reader thread
    std::optional<ExitInfo> exit_;
    std::thread reader_;

    std::mutex mutex_;
    std::condition_variable changed_;
    Output out_;
    Output err_;
};

// A spawned peer that has printed "READY port=<n>".
struct ReadyChild {
    std::unique_ptr<ChildProcess> process;
    std::uint16_t port = 0;
};

// Spawns `spec` and waits for its READY line. When none comes in time (or the child exits
// first), the child is stopped and the error message carries its last output lines.
Result<ReadyChild> spawn_ready(ChildSpec spec, int timeout_ms = 10000);

}  // namespace pylon::test
