// Unix stream sockets: UnixListener (the control socket's server side) and unix_connect (its
// client side). The listener's socket file is created with mode 0600 (the socket is fchmod'ed
// before bind, which Linux applies to the new file, then chmod'ed again and checked). While it
// listens, a listener holds a write lock on `<path>.lock` (an open file description lock: the
// kernel drops it when the process dies, even by SIGKILL; the file itself stays): a second
// listener on the same path fails with Errc::exists however busy the first one is, and
// listener_holds() tells anyone whether a live listener owns the path without talking to it.
// Holding the lock, an existing file at the path is replaced only if it is a socket that nobody
// accepts on (a connect attempt is refused: a dead listener's); a socket that accepts belongs
// to a process that does not take the lock, and makes open() fail with Errc::exists. Each accepted
// connection's peer uid (SO_PEERCRED) must be the listener's allowed uid (or root when
// allow_root): others get the optional refusal bytes and are closed, and counted.
// Owned by one shard; stop() before destroying (it also removes the socket file).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "net/socket_stream.hpp"
#include "reactor/accept_stream.hpp"
#include "reactor/cancel.hpp"
#include "reactor/task.hpp"

namespace pylon::net {

struct UnixListenerOptions {
    uid_t allowed_uid = static_cast<uid_t>(-1);  // -1: our effective uid
    bool allow_root = true;
    std::string refusal_bytes;              // sent to a refused peer before closing (may be empty)
    std::uint32_t accept_backlog_max = 64;  // accepted, not yet taken connections
    std::int64_t probe_timeout_ms = 500;    // the liveness check of an existing socket file
    StreamOptions stream{};
};

// `path` + ".lock": the file a listener on `path` locks.
std::string listener_lock_path(const std::string& path);
// True while some live UnixListener (in any process, this one included) listens on `path`, or
// some PathClaim holds it.
bool listener_holds(const std::string& path);

// The lock on `path`.lock that a UnixListener holds while it listens. Taken on its own, it lets
// a caller check and clean up the socket path with no listener able to bind there meanwhile
// (pylon start removing a dead daemon's socket). Released (unlocked, then closed) by release()
// or the destructor.
class PathClaim {
  public:
    // Errc::exists when another claim (a live listener) holds the path; Errc::permission with
    // the way out when the lock file belongs to another user.
    static Result<PathClaim> take(const std::string& path);
    PathClaim(PathClaim&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    PathClaim& operator=(PathClaim&& other) noexcept {
        if (this != &other) {
            release();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    PathClaim(const PathClaim&) = delete;
    PathClaim& operator=(const PathClaim&) = delete;
    ~PathClaim() { release(); }
    void release() noexcept;

  private:
    explicit PathClaim(int fd) noexcept : fd_(fd) {}
    int fd_ = -1;
};

class UnixListener {
  public:
    // Binds and listens on `path` (see the header paragraph for the stale-file rule).
    static reactor::Task<Result<std::unique_ptr<UnixListener>>> open(std::string path,
                                                                     UnixListenerOptions options);
    static reactor::Task<Result<std::unique_ptr<UnixListener>>> open(std::string path) {
        return open(std::move(path), UnixListenerOptions{});
    }

    UnixListener(const UnixListener&) = delete;
    UnixListener& operator=(const UnixListener&) = delete;
    ~UnixListener();

    const std::string& path() const noexcept { return path_; }
    std::uint64_t refused_count() const noexcept { return refused_; }

    // The next connection from an allowed peer. Errc::cancelled after stop() or on the token.
    reactor::Task<Result<std::unique_ptr<SocketStream>>> accept(reactor::CancelToken token = {});
    // Stops accepting, closes the socket, unlinks the file and then lets go of the lock.
    // Idempotent.
    reactor::Task<void> stop();

  private:
    UnixListener(int fd, PathClaim claim, std::string path, UnixListenerOptions options);
    reactor::Task<void> refuse(int fd);

    int fd_;
    PathClaim claim_;
    std::string path_;
    UnixListenerOptions options_;
    reactor::AcceptStream accepts_;
    std::uint64_t refused_ = 0;
    bool stopped_ = false;
};

// Connects to the Unix stream socket at `path`. (No class-type default arguments on
// coroutines: g++ 12 mishandles them.)
reactor::Task<Result<std::unique_ptr<SocketStream>>> unix_connect(std::string path,
                                                                  std::int64_t connect_timeout_ms,
                                                                  StreamOptions options,
                                                                  reactor::CancelToken token = {});
inline reactor::Task<Result<std::unique_ptr<SocketStream>>> unix_connect(std::string path) {
    return unix_connect(std::move(path), 2000, StreamOptions{});
}

}  // namespace pylon::net
