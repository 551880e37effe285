#include "tools/fake_http/http_server.hpp"

#include "tools/fake_http/fake_stats.hpp"

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
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tools/fake_http/fake_assert.hpp"

namespace pylon::fake {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t read_chunk_bytes = 16 * 1024;
// Connections waiting for accept(): a node with 1,024 slots opens that many at once (capped by
// net.core.somaxconn); a full backlog drops SYNs and the client retries only after 1 s.
constexpr int accept_backlog = 4096;
constexpr int send_stall_timeout_ms = 30 * 1000;  // a client that stops reading is dropped
constexpr int close_drain_ms = 500;               // reading leftovers before close
constexpr std::size_t close_drain_bytes_max = 4 * 1024 * 1024;

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
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

// Rounded up: a poll timeout rounded down wakes early and then spins on zero timeouts.
int ms_until(Clock::time_point deadline) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    return static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 24 * 3600 * 1000));
}

}  // namespace

std::string_view status_reason(int status) {
    switch (status) {
        case 100:
            return "Continue";
        case 200:
            return "OK";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 411:
            return "Length Required";
        case 413:
            return "Payload Too Large";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 503:
            return "Service Unavailable";
        default:
            return "Unknown";
    }
}

std::optional<std::string> Request::header(std::string_view name) const {
    std::string want = lower(name);
    for (const auto& [k, v] : headers) {
        if (k == want) {
            return v;
        }
    }
    return std::nullopt;
}

std::optional<std::string> Request::query_param(std::string_view name) const {
    std::string_view rest = query;
    while (!rest.empty()) {
        std::size_t amp = rest.find('&');
        std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
        std::size_t eq = pair.find('=');
        if (pair.substr(0, eq) == name) {
            return std::string(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
        }
    }
    return std::nullopt;
}

// ---- Connection ----

bool Connection::send_all(std::string_view data) {
    if (closed_) {
        return false;
    }
    auto deadline = Clock::now() + std::chrono::milliseconds(send_stall_timeout_ms);
    while (!data.empty()) {
        ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (n > 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            pollfd fds[2] = {{fd_, POLLOUT, 0}, {stop_fd_, POLLIN, 0}};
            int rc = ::poll(fds, 2, ms_until(deadline));
            if (rc > 0 && (fds[1].revents & POLLIN) == 0) {
                continue;
            }
        }
        closed_ = true;  // EPIPE, ECONNRESET, a stalled reader or the server stopping
        return false;
    }
    return true;
}

std::string Connection::head(int status, std::string_view content_type, const Headers& extra,
                             std::string_view length_or_chunked) {
    std::string h =
        "HTTP/1.1 " + std::to_string(status) + " " + std::string(status_reason(status)) + "\r\n";
    if (!content_type.empty()) {
        h.append("Content-Type: ").append(content_type).append("\r\n");
    }
    for (const auto& [k, v] : extra) {
        h.append(k).append(": ").append(v).append("\r\n");
    }
    if (!keep_alive_) {
        h.append("Connection: close\r\n");
    }
    h.append(length_or_chunked).append("\r\n\r\n");
    return h;
}

bool Connection::send_full(int status, std::string_view content_type, std::string_view body,
                           const Headers& extra, bool head_only) {
    FAKE_ASSERT(!streaming_);
    std::string out =
        head(status, content_type, extra, "Content-Length: " + std::to_string(body.size()));
    if (!head_only) {
        out.append(body);
    }
    return send_all(out);
}

bool Connection::begin_chunked(int status, std::string_view content_type, const Headers& extra) {
    FAKE_ASSERT(!streaming_);
    streaming_ = true;
    return send_all(head(status, content_type, extra, "Transfer-Encoding: chunked"));
}

bool Connection::write_chunk(std::string_view data) {
    FAKE_ASSERT(streaming_);
    if (data.empty()) {
        return !closed_;  // an empty chunk would end the body
    }
    char size_line[32];
    int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size());
    std::string out(size_line, static_cast<std::size_t>(n));
    out.append(data).append("\r\n");
    return send_all(out);
}

bool Connection::end_chunked() {
    FAKE_ASSERT(streaming_);
    streaming_ = false;
    return send_all("0\r\n\r\n");
}

void Connection::reset() {
    if (closed_) {
        return;
    }
    linger lg{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    ::close(fd_);  // with linger 0: RST instead of FIN
    fd_ = -1;
    closed_ = true;
    keep_alive_ = false;
}

Wait Connection::wait_ms(int ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(std::max(0, ms));
    for (;;) {
        if (closed_) {
            return Wait::client_closed;
        }
        auto events = static_cast<short>(POLLRDHUP | (pipelined_ ? 0 : POLLIN));
        pollfd fds[2] = {{fd_, events, 0}, {stop_fd_, POLLIN, 0}};
        int rc = ::poll(fds, 2, ms < 0 ? -1 : ms_until(deadline));
        if (rc < 0 && errno == EINTR) {
            continue;
        }
        if (rc == 0) {
            return Wait::elapsed;
        }
        if ((fds[1].revents & POLLIN) != 0) {
            return Wait::stopping;
        }
        if ((fds[0].revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) {
            closed_ = true;
            return Wait::client_closed;
        }
        if ((fds[0].revents & POLLIN) != 0) {
            char c;
            ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
            if (n > 0) {
                pipelined_ = true;  // the next request is waiting: stop watching POLLIN
            } else if (n == 0 || errno != EAGAIN) {
                closed_ = true;
                return Wait::client_closed;
            }
        }
    }
}

Wait Connection::hang() {
    return wait_ms(-1);
}

bool Connection::client_gone() {
    if (closed_) {
        return true;
    }
    return wait_ms(0) == Wait::client_closed;
}

// ---- HttpServer ----

HttpServer::HttpServer(ServerLimits limits) : limits_(limits) {
    FAKE_ASSERT(limits_.connections_max > 0 && limits_.head_bytes_max > 0);
    for (std::size_t i = 0; i < limits_.connections_max; ++i) {
        workers_.push_back(std::make_unique<Worker>());
    }
}

HttpServer::~HttpServer() {
    stop();
    for (int fd : {listen_fd_, stop_pipe_[0], stop_pipe_[1]}) {
        if (fd >= 0) {
            ::close(fd);
        }
    }
}

bool HttpServer::listen(std::uint16_t port, std::string* error) {
    FAKE_ASSERT(listen_fd_ < 0);
    if (::pipe2(stop_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
        *error = std::string("pipe: ") + std::strerror(errno);
        return false;
    }
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listen_fd_ < 0) {
        *error = std::string("socket: ") + std::strerror(errno);
        return false;
    }
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // loopback only, always
    socklen_t len = sizeof addr;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, accept_backlog) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        *error = "127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno);
        return false;
    }
    port_ = ntohs(addr.sin_port);
    return true;
}

void HttpServer::start(Handler handler) {
    FAKE_ASSERT(listen_fd_ >= 0 && !acceptor_.joinable());
    handler_ = std::move(handler);
    acceptor_ = std::thread([this] { accept_loop(); });
}

void HttpServer::stop() {
    if (stopped_ || !acceptor_.joinable()) {
        return;
    }
    stopped_ = true;
    char b = 1;
    ssize_t n = ::write(stop_pipe_[1], &b, 1);  // never read: stays readable for every poll
    FAKE_ASSERT(n == 1);
    acceptor_.join();
    for (auto& w : workers_) {
        if (w->thread.joinable()) {
            w->thread.join();
        }
    }
}

void HttpServer::accept_loop() {
    for (;;) {
        pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        int rc = ::poll(fds, 2, -1);
        if (rc < 0) {
            FAKE_ASSERT(errno == EINTR);
            continue;
        }
        if ((fds[1].revents & POLLIN) != 0) {
            return;
        }
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            continue;  // EAGAIN, ECONNABORTED, EMFILE: try again on the next readiness
        }
        FakeStats::connection_accepted();
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        Worker* free_worker = nullptr;
        for (auto& w : workers_) {
            if (w->done.load()) {
                free_worker = w.get();
                break;
            }
        }
        if (free_worker == nullptr) {
            Connection refuse(fd, stop_pipe_[0]);
            refuse.close_after_response();
            refuse.send_full(503, "text/plain; charset=utf-8", "too many connections\n");
            ::shutdown(fd, SHUT_WR);  // no drain here: the accept loop must not wait
            ::close(fd);
            continue;
        }
        if (free_worker->thread.joinable()) {
            free_worker->thread.join();
        }
        free_worker->done.store(false);
        free_worker->thread = std::thread([this, fd, free_worker] {
            serve(fd);
            free_worker->done.store(true);
        });
    }
}

void HttpServer::serve(int fd) {
    Connection conn(fd, stop_pipe_[0]);
    std::string buffer;
    for (;;) {
        Request req;
        if (!read_request(conn, buffer, req)) {
            break;
        }
        conn.pipelined_ = !buffer.empty();
        auto connection = req.header("connection");
        bool close_requested = connection && lower(*connection) == "close";
        if (req.version == "HTTP/1.0" || close_requested) {
            conn.close_after_response();
        }
        handler_(req, conn);
        FAKE_ASSERT(!conn.streaming_ || conn.closed_ || !conn.keep_alive());
        if (!conn.keep_alive()) {
            break;
        }
    }
    if (conn.fd_ >= 0) {
        close_gracefully(conn.fd_);
    }
}

void HttpServer::close_gracefully(int fd) {
    // Closing with unread input makes the kernel send RST, which can destroy the response we just
    // sent (e.g. a 431 before the client finished its headers). Send FIN, then drain briefly.
    ::shutdown(fd, SHUT_WR);
    auto deadline = Clock::now() + std::chrono::milliseconds(close_drain_ms);
    char sink[read_chunk_bytes];
    std::size_t drained = 0;
    while (drained < close_drain_bytes_max) {
        pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        if (::poll(fds, 2, ms_until(deadline)) <= 0 || (fds[1].revents & POLLIN) != 0) {
            break;
        }
        ssize_t n = ::recv(fd, sink, sizeof sink, 0);
        if (n <= 0) {
            break;
        }
        drained += static_cast<std::size_t>(n);
    }
    ::close(fd);
}

bool HttpServer::read_request(Connection& conn, std::string& buffer, Request& req) {
    std::size_t head_end;
    auto idle_deadline = Clock::now() + std::chrono::milliseconds(limits_.idle_timeout_ms);
    char chunk[read_chunk_bytes];
    auto read_more = [&]() -> bool {
        for (;;) {
            ssize_t n = ::recv(conn.fd_, chunk, sizeof chunk, 0);
            if (n > 0) {
                buffer.append(chunk, static_cast<std::size_t>(n));
                return true;
            }
            if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                return false;
            }
            pollfd fds[2] = {{conn.fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
            int rc = ::poll(fds, 2, ms_until(idle_deadline));
            if (rc == 0 || (rc > 0 && (fds[1].revents & POLLIN) != 0)) {
                return false;  // idle too long, or stopping
            }
        }
    };
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
        if (buffer.size() > limits_.head_bytes_max) {
            conn.close_after_response();
            conn.send_full(431, "text/plain; charset=utf-8", "request head too large\n");
            return false;
        }
        if (!read_more()) {
            return false;
        }
    }
    int error_status = 400;
    if (head_end > limits_.head_bytes_max ||
        !parse_head(std::string_view(buffer).substr(0, head_end + 2), req, &error_status)) {
        conn.close_after_response();
        if (head_end > limits_.head_bytes_max) {
            error_status = 431;
        }
        conn.send_full(error_status, "text/plain; charset=utf-8",
                       std::string(status_reason(error_status)) + "\n");
        return false;
    }
    buffer.erase(0, head_end + 4);
    std::size_t length = 0;
    if (auto cl = req.header("content-length")) {
        char* end = nullptr;
        length = std::strtoull(cl->c_str(), &end, 10);
        if (end == cl->c_str() || *end != '\0') {
            conn.close_after_response();
            conn.send_full(400, "text/plain; charset=utf-8", "bad Content-Length\n");
            return false;
        }
    }
    if (length > limits_.body_bytes_max) {
        conn.close_after_response();
        conn.send_full(413, "text/plain; charset=utf-8", "request body too large\n");
        return false;
    }
    if (auto expect = req.header("expect"); expect && lower(*expect) == "100-continue") {
        if (!conn.send_all("HTTP/1.1 100 Continue\r\n\r\n")) {
            return false;
        }
    }
    while (buffer.size() < length) {
        if (!read_more()) {
            return false;
        }
    }
    req.body = buffer.substr(0, length);
    buffer.erase(0, length);
    return true;
}

bool HttpServer::parse_head(std::string_view head, Request& req, int* error_status) {
    std::size_t eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    std::size_t sp1 = line.find(' ');
    std::size_t sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp2 == sp1) {
        return false;
    }
    req.method = std::string(line.substr(0, sp1));
    req.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
    req.version = std::string(line.substr(sp2 + 1));
    if (req.target.empty() || req.target[0] != '/' ||
        (req.version != "HTTP/1.1" && req.version != "HTTP/1.0")) {
        return false;
    }
    std::size_t q = req.target.find('?');
    req.path = req.target.substr(0, q);
    req.query = q == std::string::npos ? "" : req.target.substr(q + 1);
    head.remove_prefix(eol + 2);
    while (!head.empty()) {
        std::size_t end = head.find("\r\n");
        std::string_view h = head.substr(0, end);
        head.remove_prefix(end + 2);
        std::size_t colon = h.find(':');
        if (colon == std::string_view::npos || colon == 0) {
            return false;
        }
        req.headers.emplace_back(lower(h.substr(0, colon)), trim(h.substr(colon + 1)));
    }
    if (req.header("transfer-encoding")) {
        *error_status = 411;  // chunked request bodies are not supported by the fakes
        return false;
    }
    return true;
}

}  // namespace pylon::fake
