#include "net/http_client.hpp"

#include <cerrno>
#include <cstring>

#include "reactor/clock.hpp"

namespace pylon::net {

using reactor::Task;

namespace {

bool is_token(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && std::strchr("!#$%&'*+-.^_`|~", c) == nullptr) {
            return false;
        }
    }
    return true;
}

bool is_field_value(std::string_view s) {
    for (char c : s) {
        if (c == '\r' || c == '\n' || c == '\0') {
            return false;
        }
    }
    return true;
}

bool is_target(std::string_view s) {
    if (s.empty() || s.front() != '/') {
        return false;
    }
    for (char c : s) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
            return false;
        }
    }
    return true;
}

}  // namespace

Result<std::string> write_request_head(const HttpRequest& request, std::string_view host) {
    if (!is_token(request.method) || !is_target(request.target) || !is_field_value(host) ||
        !is_field_value(request.content_type)) {
        return Error(Errc::invalid_input, "HTTP request: bad method, target or host");
    }
    std::string out;
    out.reserve(256 + request.target.size());
    out.append(request.method).append(" ").append(request.target).append(" HTTP/1.1\r\n");
    out.append("Host: ").append(host).append("\r\n");
    out.append("User-Agent: pylon/0.1\r\n");
    bool with_length = !request.body.empty() || request.method == "POST" ||
                       request.method == "PUT" || request.method == "PATCH";
    if (!request.body.empty()) {
        out.append("Content-Type: ").append(request.content_type).append("\r\n");
    }
    if (with_length) {
        out.append("Content-Length: ").append(std::to_string(request.body.size())).append("\r\n");
    }
    for (const auto& [name, value] : request.headers) {
        if (!is_token(name) || !is_field_value(value)) {
            return Error(Errc::invalid_input, "HTTP request: bad header '" + name + "'");
        }
        out.append(name).append(": ").append(value).append("\r\n");
    }
    out.append("\r\n");
    return out;
}

// ---- HttpResponse ----

HttpResponse::HttpResponse(HttpClient* client, std::int64_t total_timeout_ms,
                           reactor::CancelToken token)
    : client_(client),
      timeouts_(client->options_.timeouts),
      total_(total_timeout_ms, token),
      parser_(client->options_.limits) {}

HttpResponse::~HttpResponse() {
    if (stream_) {
        client_->pool_.discard(std::move(stream_));
    }
}

Error HttpResponse::stream_error(const Error& e, bool mid_body) const {
    const std::string& peer = client_->endpoint().name();
    const HttpTimeouts& t = timeouts_;
    std::string after = " after " + std::to_string(parser_.body_bytes()) + " bytes";
    if (total_.expired()) {
        return Error(Errc::timeout, peer + ": response not complete within " +
                                        std::to_string(t.total_timeout_ms) + " ms");
    }
    if (e.code() == Errc::cancelled) {
        return Error(Errc::cancelled, peer + ": request cancelled");
    }
    if (e.code() == Errc::timeout) {
        if (!got_first_byte_) {
            return Error(Errc::timeout, peer + ": no response within " +
                                            std::to_string(t.first_byte_timeout_ms) + " ms");
        }
        return Error(Errc::timeout, peer + ": no data for " + std::to_string(t.idle_timeout_ms) +
                                        " ms mid-stream" + after);
    }
    if (e.sys_errno() == ECONNRESET || e.sys_errno() == EPIPE) {
        return Error(Errc::closed, peer + (mid_body ? ": connection reset mid-stream" + after
                                                    : ": connection reset before the response"));
    }
    return e;
}

void HttpResponse::release_connection() {
    if (!stream_) {
        return;
    }
    if (parser_.done() && parser_.head().keep_alive && rest_.empty()) {
        client_->pool_.release(std::move(stream_));
    } else {
        client_->pool_.discard(std::move(stream_));
    }
}

Task<Result<Bytes>> HttpResponse::next_body() {
    const std::string& peer = client_->endpoint().name();
    for (;;) {
        if (!stream_) {
            if (parser_.done()) {
                co_return Bytes{};
            }
            co_return Error(Errc::closed, peer + ": response already abandoned");
        }
        HttpStep step = parser_.step(rest_);
        rest_ = rest_.subspan(step.consumed);
        if (step.event == HttpEvent::body) {
            co_return step.body;
        }
        if (step.event == HttpEvent::done) {
            release_connection();
            co_return Bytes{};
        }
        if (step.event == HttpEvent::error) {
            client_->pool_.discard(std::move(stream_));
            co_return Error(Errc::protocol, peer + ": " + http_error_name(parser_.error()));
        }
        PYLON_ASSERT(rest_.empty());  // need_more: everything received was parsed
        Result<Bytes> got = co_await stream_->read(timeouts_.idle_timeout_ms, total_.token());
        if (!got.ok()) {
            Error e = stream_error(got.error(), true);
            client_->pool_.discard(std::move(stream_));
            co_return e;
        }
        if (got->empty()) {
            HttpStep end = parser_.finish_eof();
            client_->pool_.discard(std::move(stream_));
            if (end.event == HttpEvent::done) {
                co_return Bytes{};
            }
            co_return Error(Errc::closed, peer + ": connection closed mid-stream after " +
                                              std::to_string(parser_.body_bytes()) + " bytes");
        }
        rest_ = *got;
    }
}

Task<Result<std::string>> HttpResponse::read_all(std::size_t bytes_max) {
    std::string out;
    for (;;) {
        Result<Bytes> piece = co_await next_body();
        if (!piece.ok()) {
            co_return std::move(piece).error();
        }
        if (piece->empty()) {
            co_return out;
        }
        if (out.size() + piece->size() > bytes_max) {
            co_await cancel();
            co_return Error(Errc::too_large, client_->endpoint().name() + ": body over " +
                                                 std::to_string(bytes_max) + " bytes");
        }
        out.append(as_text(*piece));
    }
}

Task<void> HttpResponse::cancel() {
    if (stream_) {
        std::unique_ptr<SocketStream> s = std::move(stream_);
        co_await s->close();
    }
}

bool HttpResponse::finish_received() {
    for (;;) {
        HttpStep step = parser_.step(rest_);
        rest_ = rest_.subspan(step.consumed);
        if (step.event == HttpEvent::done) {
            release_connection();
            return true;
        }
        if (step.event == HttpEvent::error) {
            client_->pool_.discard(std::move(stream_));
            return true;
        }
        if (step.event != HttpEvent::body) {
            return false;  // need_more: everything received was parsed
        }
    }
}

Task<void> HttpResponse::finish_in_background(std::unique_ptr<HttpResponse> self) {
    HttpClient* client = self->client_;
    const HttpClientOptions& o = client->options_;
    std::uint64_t start_bytes = self->parser_.body_bytes();
    // One deadline for the whole rest (not per read: a server trickling a byte just inside each
    // read's timeout held the connection for hours).
    std::int64_t deadline_ms = reactor::monotonic_ms() + o.finish_timeout_ms;
    while (self->stream_) {
        std::int64_t left_ms = deadline_ms - reactor::monotonic_ms();
        if (self->parser_.body_bytes() - start_bytes > o.finish_bytes_max || left_ms <= 0) {
            break;
        }
        Result<Bytes> got = co_await self->stream_->read(left_ms, client->finish_stop_.token());
        if (!got.ok() || got->empty()) {
            break;
        }
        self->rest_ = *got;
        if (self->finish_received()) {
            client->finished_ += self->parser_.done() ? 1u : 0u;
            co_return;
        }
    }
    if (self->stream_) {
        client->pool_.discard(std::move(self->stream_));
    }
}

void HttpResponse::finish(std::unique_ptr<HttpResponse> response) {
    if (!response->stream_ || response->finish_received()) {
        return;
    }
    HttpClient* client = response->client_;
    if (client->finish_stop_.cancelled()) {
        client->pool_.discard(std::move(response->stream_));
        return;
    }
    response->total_.detach_parent();  // the caller's token may go away before this ends
    client->finishers_.spawn(finish_in_background(std::move(response)));
}

// ---- HttpClient ----

Task<void> HttpClient::close() {
    finish_stop_.cancel();
    co_await finishers_.close();
    co_await pool_.close();
}

HttpClient::HttpClient(Endpoint endpoint, HttpClientOptions options, Resolver* resolver)
    : options_(options),
      pool_(std::move(endpoint),
            TcpOptions{options.timeouts.connect_timeout_ms, true, options.stream}, options.pool,
            resolver) {}

// Writes the request on r->stream_ and reads until the response head is complete.
Task<Status> HttpClient::exchange(HttpResponse* r, const std::string* head, const std::string* body,
                                  bool head_request) {
    r->parser_.reset(head_request);
    r->rest_ = {};
    r->got_first_byte_ = false;
    SocketStream& s = *r->stream_;
    Status w = co_await s.write(as_bytes(*head), options_.timeouts.first_byte_timeout_ms,
                                r->total_.token());
    if (w.ok() && !body->empty()) {
        w = co_await s.write(as_bytes(*body), options_.timeouts.first_byte_timeout_ms,
                             r->total_.token());
    }
    if (!w.ok()) {
        co_return r->stream_error(w.error(), false);
    }
    for (;;) {
        if (r->rest_.empty()) {
            Result<Bytes> got =
                co_await s.read(options_.timeouts.first_byte_timeout_ms, r->total_.token());
            if (!got.ok()) {
                co_return r->stream_error(got.error(), false);
            }
            if (got->empty()) {
                co_return Error(Errc::closed, endpoint().name() + ": connection closed before " +
                                                  "the response head");
            }
            r->got_first_byte_ = true;
            r->rest_ = *got;
        }
        HttpStep step = r->parser_.step(r->rest_);
        r->rest_ = r->rest_.subspan(step.consumed);
        if (step.event == HttpEvent::head) {
            co_return Ok{};
        }
        if (step.event == HttpEvent::error) {
            co_return Error(Errc::protocol,
                            endpoint().name() + ": " + http_error_name(r->parser_.error()));
        }
    }
}

Task<Result<std::unique_ptr<HttpResponse>>> HttpClient::send(HttpRequest request,
                                                             reactor::CancelToken token) {
    std::string host = endpoint().unix_path.empty() ? endpoint().name() : "localhost";
    Result<std::string> head = write_request_head(request, host);
    if (!head.ok()) {
        co_return std::move(head).error();
    }
    std::unique_ptr<HttpResponse> r(
        new HttpResponse(this, options_.timeouts.total_timeout_ms, token));
    for (int attempt = 0; attempt < 2; attempt++) {
        bool reused = false;
        Result<std::unique_ptr<SocketStream>> s =
            co_await pool_.acquire(&reused, r->total_.token());
        if (!s.ok()) {
            co_return r->total_.expired() ? r->stream_error(s.error(), false)
                                          : std::move(s).error();
        }
        r->stream_ = std::move(s).value();
        r->reused_ = reused;
        Status st = co_await exchange(r.get(), &*head, &request.body, request.method == "HEAD");
        if (st.ok()) {
            co_return std::move(r);
        }
        pool_.discard(std::move(r->stream_));
        // A kept-alive connection the server closed while idle: retry once on a new one.
        bool stale = reused && !r->got_first_byte_ && st.error().code() == Errc::closed;
        if (!stale) {
            co_return std::move(st).error();
        }
    }
    co_return Error(Errc::internal, endpoint().name() + ": unreachable");
}

}  // namespace pylon::net
