#include "engine/pid_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace pylon::engine {
namespace {

constexpr int acquire_attempts_max = 8;

flock whole_file(short type) {
    flock l{};
    l.l_type = type;
    l.l_whence = SEEK_SET;
    l.l_start = 0;
    l.l_len = 0;
    return l;
}

bool try_lock(int fd) {
    flock l = whole_file(F_WRLCK);
    return ::fcntl(fd, F_OFD_SETLK, &l) == 0;
}

// True if some other open file description holds a lock on the file.
bool locked_elsewhere(int fd) {
    flock l = whole_file(F_WRLCK);
    if (::fcntl(fd, F_OFD_GETLK, &l) != 0) {
        return false;
    }
    return l.l_type != F_UNLCK;
}

pid_t read_pid(int fd) {
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) {
        return 0;
    }
    long v = std::strtol(buf, nullptr, 10);
    return v > 0 && v < (1L << 30) ? static_cast<pid_t>(v) : 0;
}

bool same_file(int fd, const std::string& path) {
    struct stat a {};
    struct stat b {};
    return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

void fsync_parent(const std::string& path) {
    std::string dir = path.substr(0, path.rfind('/') == std::string::npos ? 0 : path.rfind('/'));
    int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

// A locked temporary file holding our pid, ready to be linked into place.
Result<int> make_locked_temp(const std::string& tmp) {
    int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return Error::from_errno(errno, "create " + tmp);
    }
    char text[32];
    int len = std::snprintf(text, sizeof text, "%d\n", static_cast<int>(::getpid()));
    bool ok =
        try_lock(fd) && ::write(fd, text, static_cast<std::size_t>(len)) == len && ::fsync(fd) == 0;
    if (!ok) {
        int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return Error::from_errno(err, "write " + tmp);
    }
    return fd;
}

}  // namespace

Result<PidInfo> PidFile::inspect(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return PidInfo{PidState::absent, 0};
        }
        return Error::from_errno(errno, "open " + path);
    }
    PidInfo info;
    info.pid = read_pid(fd);
    info.state = locked_elsewhere(fd) ? PidState::running : PidState::stale;
    ::close(fd);
    return info;
}

Result<PidFile> PidFile::acquire(const std::string& path) {
    // Unique per thread (threads of one process share a pid); a leftover of a crashed process
    // that had the same pid and tid is removed first.
    std::string tmp =
        path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(::gettid());
    ::unlink(tmp.c_str());
    auto made = make_locked_temp(tmp);
    if (!made.ok()) {
        return std::move(made).error();
    }
    int fd = made.value();
    for (int attempt = 0; attempt < acquire_attempts_max; attempt++) {
        if (::link(tmp.c_str(), path.c_str()) == 0) {
            ::unlink(tmp.c_str());
            fsync_parent(path);
            PYLON_ASSERT(same_file(fd, path));
            return PidFile(fd, path);
        }
        if (errno != EEXIST) {
            int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            return Error::from_errno(err, "link " + path);
        }
        int old = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        if (old < 0) {
            continue;  // removed meanwhile: try the link again
        }
        if (!try_lock(old)) {
            pid_t pid = read_pid(old);
            ::close(old);
            ::close(fd);
            ::unlink(tmp.c_str());
            return Error(Errc::exists, "a daemon is running (pid " + std::to_string(pid) + ")");
        }
        // Stale, and now locked by us: remove it if it is still the file at that name.
        if (same_file(old, path)) {
            ::unlink(path.c_str());
        }
        ::close(old);
    }
    ::close(fd);
    ::unlink(tmp.c_str());
    return Error(Errc::busy, "could not claim " + path + " (it keeps changing)");
}

PidFile::PidFile(PidFile&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) {
    other.fd_ = -1;
}

PidFile& PidFile::operator=(PidFile&& other) noexcept {
    if (this != &other) {
        release();
        fd_ = other.fd_;
        path_ = std::move(other.path_);
        other.fd_ = -1;
    }
    return *this;
}

PidFile::~PidFile() {
    release();
}

void PidFile::release() {
    if (fd_ < 0) {
        return;
    }
    // Unlink while still holding the lock, and only if the name is still ours.
    if (same_file(fd_, path_)) {
        ::unlink(path_.c_str());
    }
    ::close(fd_);
    fd_ = -1;
}

bool remove_stale_pid_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    bool removed = false;
    if (try_lock(fd) && same_file(fd, path)) {
        removed = ::unlink(path.c_str()) == 0;
    }
    ::close(fd);
    return removed;
}

}  // namespace pylon::engine
