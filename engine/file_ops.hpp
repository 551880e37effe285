// File operations through io_uring for code on a shard (a shard never blocks on the disk):
// open, rename, unlink, a bounded whole-file read, and a replace-by-rename write for small state
// files such as the supervisor's run file. Results are -errno ints at the io_uring edge and
// Result/Status above it. Paths are copied into the coroutine frame, so callers may pass
// temporaries. Current shard only.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "reactor/result.hpp"
#include "reactor/task.hpp"

namespace pylon::engine {

// openat(AT_FDCWD, path, flags | O_CLOEXEC, mode): the fd or -errno.
reactor::Task<int> open_file(std::string path, int flags, mode_t mode = 0600);
// renameat(AT_FDCWD, from, AT_FDCWD, to): 0 or -errno.
reactor::Task<int> rename_file(std::string from, std::string to);
// unlinkat(AT_FDCWD, path): 0 or -errno.
reactor::Task<int> unlink_file(std::string path);
// close through io_uring: 0 or -errno.
reactor::Task<int> close_file(int fd);

// The whole file; too_large above size_bytes_max; not_found when it does not exist.
reactor::Task<Result<std::string>> read_file_async(std::string path, std::size_t size_bytes_max);
// Writes `content` to path.tmp (mode 0600) and renames it over `path` (readers see the old or
// the new file, never a torn one). No fsync: used for state that only has to survive a crash
// of the process, not of the machine.
reactor::Task<Status> replace_file_async(std::string path, std::string content);

}  // namespace pylon::engine
