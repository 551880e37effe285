// PidFile: pylon.pid, the daemon's claim on its home. The file holds the daemon's pid and a
// newline (Pylon v0.1's format) and carries an OFD write lock (fcntl F_OFD_SETLK) for as long as
// the daemon lives, so liveness is exact: the lock is held iff a daemon runs, whatever the pid
// in the file says (a crashed daemon's file is stale even if its pid was reused).
//
// acquire() writes the pid to a fresh temporary file (O_EXCL), locks and fsyncs it, and links it
// to pylon.pid, which fails if the name exists, so the file appears already locked. An existing
// file whose lock nobody holds is stale: it is locked, checked to still be the file at that
// name, unlinked, and the link retried. Two concurrent starts therefore make exactly one daemon;
// the other sees Errc::exists with the holder's pid. The PidFile object owns the lock: release()
// (or the destructor) unlinks the file and drops the lock. inspect() looks without changing
// anything (F_OFD_GETLK), for status and stop. One owner thread; fds are close-on-exec so
// children never inherit the lock.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "reactor/result.hpp"

namespace pylon::engine {

enum class PidState : std::uint8_t { absent, stale, running };

struct PidInfo {
    PidState state = PidState::absent;
    pid_t pid = 0;  // from the file (0 if unreadable)
};

class PidFile {
  public:
    static Result<PidInfo> inspect(const std::string& path);
    // Errc::exists (context names the pid) when a live daemon holds it.
    static Result<PidFile> acquire(const std::string& path);

    PidFile(PidFile&& other) noexcept;
    PidFile& operator=(PidFile&& other) noexcept;
    PidFile(const PidFile&) = delete;
    PidFile& operator=(const PidFile&) = delete;
    ~PidFile();

    // Unlinks the file (if the name is still ours) and drops the lock. Idempotent. Acquire
    // after the last fork: the lock belongs to the open file, the pid to the process.
    void release();
    bool held() const noexcept { return fd_ >= 0; }

  private:
    PidFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
    int fd_ = -1;
    std::string path_;
};

// Removes a stale pid file (nobody holds its lock). True if one was removed.
bool remove_stale_pid_file(const std::string& path);

}  // namespace pylon::engine
