// pidfd system calls as raw syscalls. glibc 2.36's <sys/pidfd.h> declares its wrappers without
// extern "C" (they do not link from C++), and process_mrelease has no wrapper at all. Each
// returns what the syscall returns (-1 and errno on failure). Any thread.
#pragma once

#include <signal.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

namespace pylon::engine {

#ifndef SYS_process_mrelease
inline constexpr long sys_process_mrelease_nr = 448;
#else
inline constexpr long sys_process_mrelease_nr = SYS_process_mrelease;
#endif

inline int pidfd_open_fd(pid_t pid) noexcept {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0U));
}

inline int pidfd_signal(int pidfd, int sig) noexcept {
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0U));
}

// Frees a killed process's memory at once (Linux 5.15+); harmless to fail.
inline int pidfd_mrelease(int pidfd) noexcept {
    return static_cast<int>(::syscall(sys_process_mrelease_nr, pidfd, 0U));
}

}  // namespace pylon::engine
