// Blocking whole-file helpers for the CLI and start-up paths (never on a shard's loop): read an
// fd to its end under a byte bound, and replace a file atomically (temp file in the same folder,
// mode set, fsync, rename, folder fsync) so a crash leaves the old or the new file, never half.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "reactor/result.hpp"

namespace pylon {

// Everything readable from `fd` until end of file; `what` names it in errors. More than
// `bytes_max` bytes is Errc::too_large. Does not close `fd`.
Result<std::string> read_fd_all(int fd, std::size_t bytes_max, std::string_view what);

// Writes `text` to `path` atomically with permission bits `mode`.
Status write_file_atomically(const std::string& path, std::string_view text, mode_t mode);

// The same, but only if `path` does not exist: the complete file appears under its name or, when
// another file already holds the name (even one made a moment earlier by another process),
// nothing is written and the result is Errc::exists. Two processes racing cannot both succeed.
Status write_new_file_atomically(const std::string& path, std::string_view text, mode_t mode);

}  // namespace pylon
