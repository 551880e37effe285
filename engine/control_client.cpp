#include "engine/control_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "proto/json_reader.hpp"
#include "reactor/clock.hpp"

namespace pylon::engine {

Result<ControlClient> ControlClient::connect(const std::string& path, int timeout_ms) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) {
        return Error(Errc::invalid_input, "control socket path too long: " + path);
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return Error::from_errno(errno, "socket");
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        int err = errno;
        ::close(fd);
        return Error::from_errno(err, path);
    }
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return ControlClient(fd, timeout_ms);
}

ControlClient::ControlClient(ControlClient&& other) noexcept
    : fd_(other.fd_), timeout_ms_(other.timeout_ms_), buffer_(std::move(other.buffer_)) {
    other.fd_ = -1;
}

ControlClient& ControlClient::operator=(ControlClient&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = other.fd_;
        timeout_ms_ = other.timeout_ms_;
        buffer_ = std::move(other.buffer_);
        other.fd_ = -1;
    }
    return *this;
}

ControlClient::~ControlClient() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

Status ControlClient::send(std::string_view line) {
    std::string out(line);
    out += '\n';
    std::size_t done = 0;
    while (done < out.size()) {
        ssize_t n = ::send(fd_, out.data() + done, out.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int err = errno;
            return Error(err == EAGAIN ? Errc::timeout : Errc::io, "control socket send", err);
        }
        done += static_cast<std::size_t>(n);
    }
    return Ok{};
}

Result<std::string> ControlClient::read_line(int timeout_ms) {
    std::int64_t deadline = reactor::monotonic_ms() + timeout_ms;
    for (;;) {
        std::size_t nl = buffer_.find('\n');
        if (nl != std::string::npos) {
            std::string line = buffer_.substr(0, nl);
            buffer_.erase(0, nl + 1);
            return line;
        }
        if (buffer_.size() > control_reply_bytes_max) {
            return Error(Errc::too_large, "control socket reply too long");
        }
        int wait = -1;
        if (timeout_ms >= 0) {
            wait = static_cast<int>(std::max<std::int64_t>(deadline - reactor::monotonic_ms(), 0));
        }
        pollfd p{fd_, POLLIN, 0};
        int r = ::poll(&p, 1, wait);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return Error::from_errno(errno, "poll");
        }
        if (r == 0 && wait >= 0 && reactor::monotonic_ms() >= deadline) {
            return Error(Errc::timeout,
                         "no reply from the daemon within " + std::to_string(timeout_ms) + " ms");
        }
        if (r == 0) {
            continue;
        }
        char buf[65536];
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (n < 0) {
            return Error::from_errno(errno, "control socket read");
        }
        if (n == 0) {
            return Error(Errc::closed, "the daemon closed the connection");
        }
        buffer_.append(buf, static_cast<std::size_t>(n));
    }
}

proto::Limits control_reply_limits() noexcept {
    proto::Limits limits;
    limits.message_bytes_max = control_reply_bytes_max;
    return limits;
}

namespace {

proto::Reject parse_reply(const std::string& line, proto::ControlReply& reply) {
    proto::JsonReader reader(control_reply_limits());
    return proto::parse_control_reply(line, reader, reply);
}

}  // namespace

Result<proto::ControlReply> ControlClient::request(std::string_view line) {
    if (Status sent = send(line); !sent.ok()) {
        // The daemon may have closed the connection after a last line (too many connections,
        // idle too long): that line says why, not our "Broken pipe".
        auto last = read_line(0);
        proto::ControlReply reply;
        if (last.ok() && parse_reply(last.value(), reply) == proto::Reject::none &&
            reply.tag == "Error") {
            return Error(Errc::busy, reply.error);
        }
        return std::move(sent).error();
    }
    auto reply_line = read_line(timeout_ms_);
    if (!reply_line.ok()) {
        return std::move(reply_line).error();
    }
    proto::ControlReply reply;
    if (parse_reply(reply_line.value(), reply) != proto::Reject::none) {
        return Error(Errc::protocol,
                     "unreadable reply from the daemon: " + reply_line.value().substr(0, 200));
    }
    return reply;
}

}  // namespace pylon::engine
