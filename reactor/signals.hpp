// Signals: the process blocks the signals it handles (INT, TERM, HUP, QUIT, USR1) in every
// thread before any shard starts (call block_handled_signals() first thing in main), ignores
// SIGPIPE (socket writes fail with EPIPE instead), and reads them on one shard through a
// signalfd with io_uring reads. SIGCHLD keeps its default disposition: the supervisor reaps its
// children through pidfds, which SIG_IGN would break.
#pragma once

#include <signal.h>

#include "reactor/cancel.hpp"
#include "reactor/result.hpp"
#include "reactor/task.hpp"

namespace pylon::reactor {

// Blocks the handled signals in the calling thread (threads created later inherit the mask) and
// ignores SIGPIPE. Idempotent.
void block_handled_signals();
// Restores an empty mask and default dispositions (for a child between fork and exec).
void reset_signals_for_exec();

class SignalReader {
  public:
    // Creates the signalfd for the handled signals. Call on the shard that will read.
    static Result<SignalReader> open();
    SignalReader(SignalReader&& other) noexcept;
    SignalReader& operator=(SignalReader&&) = delete;
    SignalReader(const SignalReader&) = delete;
    ~SignalReader();

    // The next signal number; -errno on failure (e.g. -ECANCELED when the token fires).
    Task<int> next(CancelToken token = {});

  private:
    explicit SignalReader(int fd) noexcept : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace pylon::reactor
