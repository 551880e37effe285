#include "tests/support/raw_http_connection.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "reactor/assert.hpp"

namespace pylon::test {
namespace {

constexpr std::size_t read_chunk_bytes = 64 * 1024;

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return s;
}

int ms_left(TestClock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - TestClock::now());
    return static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 1'000'000));
}

}  // namespace

std::optional<std::string> RawResponse::header(std::string_view name) const {
    std::string want = lower(name);
    for (const auto& [k, v] : headers) {
        if (k == want) {
            return v;
        }
    }
    return std::nullopt;
}

Result<RawHttpConnection> RawHttpConnection::connect(std::uint16_t port, int timeout_ms) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return Error::from_errno(errno, "socket");
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string where = "127.0.0.1:" + std::to_string(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        if (errno != EINPROGRESS) {
            int e = errno;
            ::close(fd);
            return Error::from_errno(e, where);
        }
        pollfd p{fd, POLLOUT, 0};
        int rc = ::poll(&p, 1, timeout_ms);
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (rc <= 0 || err != 0) {
            ::close(fd);
            return rc <= 0 ? Error(Errc::timeout, where + ": connect timed out")
                           : Error::from_errno(err, where);
        }
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return RawHttpConnection(fd);
}

RawHttpConnection RawHttpConnection::adopt(int fd) {
    PYLON_ASSERT(fd >= 0);
    int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    return RawHttpConnection(fd);
}

RawHttpConnection::RawHttpConnection(RawHttpConnection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), buffered_(std::move(other.buffered_)) {}

RawHttpConnection& RawHttpConnection::operator=(RawHttpConnection&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = std::exchange(other.fd_, -1);
        buffered_ = std::move(other.buffered_);
    }
    return *this;
}

RawHttpConnection::~RawHttpConnection() {
    close();
}

void RawHttpConnection::close() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

void RawHttpConnection::reset() {
    if (fd_ >= 0) {
        linger lg{1, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close();
    }
}

Status RawHttpConnection::send(std::string_view bytes) {
    PYLON_ASSERT(fd_ >= 0);
    auto deadline = TestClock::now() + std::chrono::seconds(10);
    while (!bytes.empty()) {
        ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            pollfd p{fd_, POLLOUT, 0};
            if (::poll(&p, 1, ms_left(deadline)) <= 0) {
                return Error(Errc::timeout, "send: peer does not read");
            }
            continue;
        }
        return Error::from_errno(errno, "send");
    }
    return Ok{};
}

Status RawHttpConnection::send_request(std::string_view method, std::string_view target,
                                       std::string_view body,
                                       const std::vector<std::string>& extra_headers) {
    return send(make_request(method, target, body, extra_headers));
}

PeerEvent RawHttpConnection::fill(TestClock::time_point deadline) {
    PYLON_ASSERT(fd_ >= 0);
    char buf[read_chunk_bytes];
    for (;;) {
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n > 0) {
            buffered_.append(buf, static_cast<std::size_t>(n));
            return PeerEvent::data;
        }
        if (n == 0) {
            return PeerEvent::closed;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN) {
            return PeerEvent::reset;  // ECONNRESET (or another hard error)
        }
        pollfd p{fd_, POLLIN, 0};
        int rc = ::poll(&p, 1, ms_left(deadline));
        if (rc == 0) {
            return PeerEvent::timeout;
        }
    }
}

PeerEvent RawHttpConnection::wait_peer(int timeout_ms) {
    if (!buffered_.empty()) {
        return PeerEvent::data;
    }
    return fill(TestClock::now() + std::chrono::milliseconds(timeout_ms));
}

Result<std::string> RawHttpConnection::read_bytes(std::size_t n, int timeout_ms) {
    PYLON_ASSERT(n <= body_bytes_max);
    auto deadline = TestClock::now() + std::chrono::milliseconds(timeout_ms);
    while (buffered_.size() < n) {
        PeerEvent ev = fill(deadline);
        if (ev == PeerEvent::timeout) {
            return Error(Errc::timeout, "read_bytes: " + std::to_string(buffered_.size()) + " of " +
                                            std::to_string(n) + " bytes in time");
        }
        if (ev != PeerEvent::data) {
            return Error(Errc::closed, ev == PeerEvent::reset ? "read_bytes: reset by peer"
                                                              : "read_bytes: closed by peer");
        }
    }
    std::string out = buffered_.substr(0, n);
    buffered_.erase(0, n);
    return out;
}

std::string RawHttpConnection::read_until_close(int timeout_ms) {
    auto deadline = TestClock::now() + std::chrono::milliseconds(timeout_ms);
    while (buffered_.size() < body_bytes_max && fill(deadline) == PeerEvent::data) {
    }
    return std::exchange(buffered_, {});
}

bool RawHttpConnection::parse_head(RawResponse& r) {
    std::size_t end = buffered_.find("\r\n\r\n");
    PYLON_ASSERT(end != std::string::npos);
    r.head = buffered_.substr(0, end + 4);
    buffered_.erase(0, end + 4);
    std::string_view head(r.head);
    std::size_t eol = head.find("\r\n");
    std::string_view status_line = head.substr(0, eol);
    std::size_t sp1 = status_line.find(' ');
    if (sp1 == std::string_view::npos || !status_line.starts_with("HTTP/1.")) {
        return false;
    }
    r.version = std::string(status_line.substr(0, sp1));
    std::string_view rest = status_line.substr(sp1 + 1);
    std::size_t sp2 = rest.find(' ');
    std::string code(rest.substr(0, sp2));
    if (code.size() != 3 || !std::all_of(code.begin(), code.end(), ::isdigit)) {
        return false;
    }
    r.status = std::atoi(code.c_str());
    r.reason = sp2 == std::string_view::npos ? "" : std::string(rest.substr(sp2 + 1));
    head.remove_prefix(eol + 2);
    while (!head.empty() && !head.starts_with("\r\n")) {
        std::size_t line_end = head.find("\r\n");
        std::string_view line = head.substr(0, line_end);
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) {
            return false;
        }
        r.headers.emplace_back(lower(line.substr(0, colon)), trim(line.substr(colon + 1)));
        head.remove_prefix(line_end + 2);
    }
    return true;
}

Result<RawResponse> RawHttpConnection::read_response(
    int timeout_ms, bool head_request, const std::function<bool(const RawChunk&)>& on_chunk) {
    auto deadline = TestClock::now() + std::chrono::milliseconds(timeout_ms);
    RawResponse r;
    while (buffered_.find("\r\n\r\n") == std::string::npos) {
        if (buffered_.size() > head_bytes_max) {
            return Error(Errc::too_large, "response head larger than head_bytes_max");
        }
        PeerEvent ev = fill(deadline);
        if (ev == PeerEvent::timeout) {
            return Error(Errc::timeout, "no complete response head in time");
        }
        if (ev == PeerEvent::closed || ev == PeerEvent::reset) {
            return Error(Errc::closed, ev == PeerEvent::reset ? "reset before a response head"
                                                              : "closed before a response head");
        }
    }
    r.head_at = TestClock::now();
    if (!parse_head(r)) {
        return Error(Errc::protocol, "malformed response head: " + r.head);
    }
    read_body(r, deadline, head_request, on_chunk);
    return r;
}

void RawHttpConnection::note_end(RawResponse& r, PeerEvent ev) {
    r.peer_closed = r.peer_closed || ev == PeerEvent::closed;
    r.peer_reset = r.peer_reset || ev == PeerEvent::reset;
}

bool RawHttpConnection::read_body(RawResponse& r, TestClock::time_point deadline, bool head_request,
                                  const std::function<bool(const RawChunk&)>& on_chunk) {
    auto te = r.header("transfer-encoding");
    auto cl = r.header("content-length");
    bool no_body = head_request || r.status == 204 || r.status == 304 || r.status / 100 == 1;
    if (no_body) {
        r.complete = true;
        return true;
    }
    if (te && lower(*te).find("chunked") != std::string::npos) {
        r.chunked = true;
        return read_chunked(r, deadline, on_chunk);
    }
    std::size_t want =
        cl ? static_cast<std::size_t>(std::strtoull(cl->c_str(), nullptr, 10)) : body_bytes_max;
    for (;;) {
        if (!buffered_.empty()) {
            std::size_t take = std::min(want - r.body.size(), buffered_.size());
            RawChunk piece{buffered_.substr(0, take), TestClock::now()};
            buffered_.erase(0, take);
            r.body += piece.data;
            r.chunks.push_back(piece);
            if (on_chunk && !on_chunk(r.chunks.back())) {
                return false;
            }
        }
        if (r.body.size() == want) {
            r.complete = true;
            return true;
        }
        PeerEvent ev = fill(deadline);
        if (ev != PeerEvent::data) {
            note_end(r, ev);
            r.complete = !cl && ev == PeerEvent::closed;  // close-delimited body
            return r.complete;
        }
    }
}

bool RawHttpConnection::read_chunked(RawResponse& r, TestClock::time_point deadline,
                                     const std::function<bool(const RawChunk&)>& on_chunk) {
    for (;;) {
        std::size_t eol = buffered_.find("\r\n");
        if (eol != std::string::npos) {
            char* end = nullptr;
            std::size_t size = std::strtoull(buffered_.c_str(), &end, 16);
            std::size_t digits = static_cast<std::size_t>(end - buffered_.c_str());
            if (digits == 0 || (digits != eol && buffered_[digits] != ';') ||
                r.body.size() + size > body_bytes_max) {
                r.framing_error = true;
                return false;
            }
            if (size == 0) {
                // Last chunk: no trailers ("0\r\n\r\n") or trailers ending in an empty line.
                std::size_t end_of_trailers = buffered_.find("\r\n\r\n");
                if (end_of_trailers != std::string::npos) {
                    buffered_.erase(0, end_of_trailers + 4);
                    r.complete = true;
                    return true;
                }
            } else if (buffered_.size() >= eol + 2 + size + 2) {
                if (buffered_.compare(eol + 2 + size, 2, "\r\n") != 0) {
                    r.framing_error = true;
                    return false;
                }
                RawChunk chunk{buffered_.substr(eol + 2, size), TestClock::now()};
                buffered_.erase(0, eol + 2 + size + 2);
                r.body += chunk.data;
                r.chunks.push_back(std::move(chunk));
                if (on_chunk && !on_chunk(r.chunks.back())) {
                    return false;
                }
                continue;
            }
        }
        PeerEvent ev = fill(deadline);
        if (ev != PeerEvent::data) {
            note_end(r, ev);
            return false;
        }
    }
}

std::string make_request(std::string_view method, std::string_view target, std::string_view body,
                         const std::vector<std::string>& extra_headers) {
    std::string req;
    req.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (const auto& h : extra_headers) {
        req.append(h).append("\r\n");
    }
    if (!body.empty() || method == "POST") {
        req.append("Content-Type: application/json\r\n");
        req.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    }
    req.append("\r\n").append(body);
    return req;
}

}  // namespace pylon::test
