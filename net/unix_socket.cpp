#include "net/unix_socket.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>

#include "net/address.hpp"
#include "reactor/ops.hpp"

namespace pylon::net {

using reactor::Task;

namespace {

constexpr mode_t socket_file_mode = 0600;

flock whole_file_write_lock() {
    flock l{};
    l.l_type = F_WRLCK;
    l.l_whence = SEEK_SET;
    return l;
}

// Why the lock file cannot be opened, with the way out when it belongs to another user (a node
// once run as root in this home leaves a root-owned lock file the user cannot open).
Error lock_file_error(int err, const std::string& lock_path) {
    struct stat st {};
    if (err == EACCES && ::stat(lock_path.c_str(), &st) == 0 && st.st_uid != ::geteuid()) {
        return Error(Errc::permission,
                     lock_path + ": owned by uid " + std::to_string(st.st_uid) +
                         ", not by us (uid " + std::to_string(::geteuid()) +
                         "); remove it if no node runs as that user",
                     err);
    }
    return Error::from_errno(err, lock_path);
}

// Is somebody accepting on the socket file at `address`? (A connect that is refused: no.)
Task<bool> socket_is_live(Address address, std::int64_t timeout_ms) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        co_return true;  // cannot tell: do not delete anything
    }
    std::int32_t res = co_await reactor::connect(fd, address.sockaddr_ptr(), address.length,
                                                 {.timeout_ms = timeout_ms});
    (void)co_await reactor::close(fd);
    co_return !(res == -ECONNREFUSED || res == -ENOENT);
}

// Removes a stale socket file at `path`, or explains why the path cannot be used.
Task<Status> clear_path(std::string path, Address address, std::int64_t timeout_ms) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) {
            co_return Ok{};
        }
        co_return Error::from_errno(errno, path);
    }
    if (!S_ISSOCK(st.st_mode)) {
        co_return Error(Errc::exists, path + ": exists and is not a socket; not replacing it");
    }
    if (co_await socket_is_live(address, timeout_ms)) {
        co_return Error(Errc::exists, path + ": another process is listening on this socket");
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        co_return Error::from_errno(errno, path + ": removing the stale socket");
    }
    co_return Ok{};
}

Status bind_0600(int fd, const std::string& path, const Address& address) {
    // Linux gives the new socket file the socket inode's mode (minus the umask): set it first so
    // the file never exists with a wider mode. chmod afterwards in case the kernel differs.
    if (::fchmod(fd, socket_file_mode) != 0) {
        return Error::from_errno(errno, path + ": fchmod");
    }
    if (::bind(fd, address.sockaddr_ptr(), address.length) != 0) {
        return Error::from_errno(errno, path + ": bind");
    }
    struct stat st {};
    if (::chmod(path.c_str(), socket_file_mode) != 0 || ::stat(path.c_str(), &st) != 0) {
        return Error::from_errno(errno, path + ": chmod");
    }
    if ((st.st_mode & 0777) != socket_file_mode) {
        return Error(Errc::permission, path + ": socket file mode is not 0600");
    }
    return Ok{};
}

}  // namespace

std::string listener_lock_path(const std::string& path) {
    return path + ".lock";
}

Result<PathClaim> PathClaim::take(const std::string& path) {
    std::string lock_path = listener_lock_path(path);
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, socket_file_mode);
    if (fd < 0) {
        return lock_file_error(errno, lock_path);
    }
    flock l = whole_file_write_lock();
    if (::fcntl(fd, F_OFD_SETLK, &l) != 0) {
        int err = errno;
        ::close(fd);
        if (err == EAGAIN || err == EACCES) {
            return Error(Errc::exists,
                         path + ": another process is listening on this socket (it holds " +
                             lock_path + ")");
        }
        return Error::from_errno(err, lock_path + ": lock");
    }
    return PathClaim(fd);
}

void PathClaim::release() noexcept {
    if (fd_ < 0) {
        return;
    }
    // Unlocked explicitly: a child forked meanwhile shares the open file description, and a
    // close() alone would leave the lock held for as long as that child lives.
    flock l = whole_file_write_lock();
    l.l_type = F_UNLCK;
    (void)::fcntl(fd_, F_OFD_SETLK, &l);
    ::close(std::exchange(fd_, -1));
}

bool listener_holds(const std::string& path) {
    int fd = ::open(listener_lock_path(path).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return false;
    }
    flock l = whole_file_write_lock();
    bool held = ::fcntl(fd, F_OFD_GETLK, &l) == 0 && l.l_type != F_UNLCK;
    ::close(fd);
    return held;
}

UnixListener::UnixListener(int fd, PathClaim claim, std::string path, UnixListenerOptions options)
    : fd_(fd),
      claim_(std::move(claim)),
      path_(std::move(path)),
      options_(std::move(options)),
      accepts_(fd, options_.accept_backlog_max) {}

UnixListener::~UnixListener() {
    PYLON_ASSERT_MSG(stopped_, "UnixListener destroyed without stop()");
}

Task<Result<std::unique_ptr<UnixListener>>> UnixListener::open(std::string path,
                                                               UnixListenerOptions options) {
    std::optional<Address> address = Address::unix_path(path);
    if (!address) {
        co_return Error(Errc::invalid_input, path + ": not a usable socket path (too long?)");
    }
    Result<PathClaim> claim = PathClaim::take(path);
    if (!claim.ok()) {
        co_return std::move(claim).error();
    }
    // Holding the lock, a socket file here is a dead listener's, or one of a process that does
    // not take the lock (another program's): the connect probe tells them apart.
    Status cleared = co_await clear_path(path, *address, options.probe_timeout_ms);
    if (!cleared.ok()) {
        co_return std::move(cleared).error();
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        co_return Error::from_errno(errno, path + ": socket");
    }
    Status bound = bind_0600(fd, path, *address);
    if (bound.ok() && ::listen(fd, 64) != 0) {
        bound = Error::from_errno(errno, path + ": listen");
    }
    if (!bound.ok()) {
        ::unlink(path.c_str());
        (void)co_await reactor::close(fd);
        co_return std::move(bound).error();
    }
    if (options.allowed_uid == static_cast<uid_t>(-1)) {
        options.allowed_uid = ::geteuid();
    }
    co_return std::unique_ptr<UnixListener>(
        new UnixListener(fd, std::move(claim.value()), std::move(path), std::move(options)));
}

Task<void> UnixListener::refuse(int fd) {
    refused_++;
    if (!options_.refusal_bytes.empty()) {
        (void)co_await reactor::send(fd, options_.refusal_bytes.data(),
                                     options_.refusal_bytes.size(), MSG_NOSIGNAL,
                                     {.timeout_ms = 200});
    }
    (void)co_await reactor::shutdown(fd, SHUT_RDWR);
    (void)co_await reactor::close(fd);
}

Task<Result<std::unique_ptr<SocketStream>>> UnixListener::accept(reactor::CancelToken token) {
    for (;;) {
        if (stopped_ || token.cancelled()) {
            co_return Error(Errc::cancelled, path_ + ": accept stopped");
        }
        int fd = co_await accepts_.next();
        if (fd < 0) {
            co_return Error(fd == -ECANCELED ? Errc::cancelled : Errc::io, path_ + ": accept",
                            fd == -ECANCELED ? 0 : -fd);
        }
        ucred cred{};
        socklen_t len = sizeof cred;
        bool known = ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0;
        bool allowed =
            known && (cred.uid == options_.allowed_uid || (options_.allow_root && cred.uid == 0));
        if (!allowed) {
            co_await refuse(fd);
            continue;
        }
        co_return std::make_unique<SocketStream>(fd, path_, options_.stream);
    }
}

Task<void> UnixListener::stop() {
    if (stopped_) {
        co_return;
    }
    stopped_ = true;
    co_await accepts_.stop();
    (void)co_await reactor::close(fd_);
    ::unlink(path_.c_str());
    claim_.release();  // after the unlink: nobody takes the path while the file is still ours
}

Task<Result<std::unique_ptr<SocketStream>>> unix_connect(std::string path,
                                                         std::int64_t connect_timeout_ms,
                                                         StreamOptions options,
                                                         reactor::CancelToken token) {
    std::optional<Address> address = Address::unix_path(path);
    if (!address) {
        co_return Error(Errc::invalid_input, path + ": not a usable socket path");
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        co_return Error::from_errno(errno, path + ": socket");
    }
    std::int32_t res =
        co_await reactor::connect(fd, address->sockaddr_ptr(), address->length,
                                  {.timeout_ms = connect_timeout_ms, .token = token});
    if (res < 0) {
        (void)co_await reactor::close(fd);
        if (res == -ETIME) {
            co_return Error(Errc::timeout, path + ": no connection within " +
                                               std::to_string(connect_timeout_ms) + " ms");
        }
        co_return Error::from_errno(-res, path);
    }
    co_return std::make_unique<SocketStream>(fd, std::move(path), options);
}

}  // namespace pylon::net
