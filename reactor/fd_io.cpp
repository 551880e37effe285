#include "reactor/fd_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace pylon {

Result<std::string> read_fd_all(int fd, std::size_t bytes_max, std::string_view what) {
    std::string out;
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return Error::from_errno(errno, "read " + std::string(what));
        }
        if (n == 0) {
            return out;
        }
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > bytes_max) {
            return Error(Errc::too_large,
                         std::string(what) + ": more than " + std::to_string(bytes_max) + " bytes");
        }
    }
}

namespace {

Status write_all(int fd, std::string_view text, const std::string& what) {
    std::size_t off = 0;
    while (off < text.size()) {
        ssize_t n = ::write(fd, text.data() + off, text.size() - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return Error::from_errno(n < 0 ? errno : EIO, "write " + what);
        }
        off += static_cast<std::size_t>(n);
    }
    return Ok{};
}

}  // namespace

namespace {

enum class Replace : bool { no, yes };

// Moves `tmp` to `path`. Without replacing, renameat2's RENAME_NOREPLACE does it in one step; a
// file system without it (EINVAL) gets link + unlink, which fails the same way on an existing name.
int move_into_place(const std::string& tmp, const std::string& path, Replace replace) {
    if (replace == Replace::yes) {
        return ::rename(tmp.c_str(), path.c_str());
    }
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) {
        return 0;
    }
    if (errno != EINVAL && errno != ENOSYS) {
        return -1;
    }
    if (::link(tmp.c_str(), path.c_str()) != 0) {
        return -1;
    }
    ::unlink(tmp.c_str());
    return 0;
}

Status write_file(const std::string& path, std::string_view text, mode_t mode, Replace replace) {
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0 && errno == EEXIST) {
        // The name carries this process's pid: a file under it was left by a killed process
        // that had the same pid before. It is nobody's now.
        ::unlink(tmp.c_str());
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    }
    if (fd < 0) {
        // Never Errc::exists: that says the target's name is taken, not the temporary's.
        int err = errno;
        return err == EEXIST ? Error(Errc::io, "create " + tmp + ": " + std::strerror(err), err)
                             : Error::from_errno(err, "create " + tmp);
    }
    Status st = write_all(fd, text, tmp);
    if (st.ok() && (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0)) {
        st = Error::from_errno(errno, "sync " + tmp);
    }
    ::close(fd);
    if (st.ok() && move_into_place(tmp, path, replace) != 0) {
        st = errno == EEXIST ? Status(Error(Errc::exists, path + " already exists", EEXIST))
                             : Status(Error::from_errno(errno, "rename to " + path));
    }
    if (!st.ok()) {
        ::unlink(tmp.c_str());
        return st;
    }
    std::string dir = path.substr(0, path.rfind('/') + 1);
    int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return Ok{};
}

}  // namespace

Status write_file_atomically(const std::string& path, std::string_view text, mode_t mode) {
    return write_file(path, text, mode, Replace::yes);
}

Status write_new_file_atomically(const std::string& path, std::string_view text, mode_t mode) {
    return write_file(path, text, mode, Replace::no);
}

}  // namespace pylon
