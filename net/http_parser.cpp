#include "net/http_parser.hpp"

#include <algorithm>
#include <cstring>

namespace pylon::net {

const char* http_error_name(HttpError e) noexcept {
    switch (e) {
        case HttpError::none:
            return "none";
        case HttpError::head_too_large:
            return "response head too large";
        case HttpError::bad_status_line:
            return "malformed status line";
        case HttpError::bad_header:
            return "malformed header";
        case HttpError::too_many_headers:
            return "too many headers";
        case HttpError::bad_content_length:
            return "bad Content-Length";
        case HttpError::unsupported_transfer_encoding:
            return "unsupported Transfer-Encoding";
        case HttpError::body_too_large:
            return "response body too large";
        case HttpError::bad_chunk:
            return "malformed chunked body";
        case HttpError::truncated:
            return "connection closed before the body ended";
    }
    return "?";
}

std::optional<std::string_view> HttpResponseHead::header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers) {
        if (name == lower_name) {
            return std::string_view(value);
        }
    }
    return std::nullopt;
}

HttpResponseParser::HttpResponseParser(HttpLimits limits)
    : limits_(limits), chunked_(limits.chunked) {}

void HttpResponseParser::reset(bool head_request, bool expect_upgrade) {
    state_ = State::head;
    error_ = HttpError::none;
    head_request_ = head_request;
    expect_upgrade_ = expect_upgrade;
    head_buf_.clear();
    scan_from_ = 0;
    head_ = HttpResponseHead{};
    chunked_.reset();
    remaining_ = 0;
    body_bytes_ = 0;
}

HttpStep HttpResponseParser::fail(HttpStep s, HttpError e) {
    state_ = State::failed;
    error_ = e;
    s.event = HttpEvent::error;
    return s;
}

namespace {

bool is_token_char(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

std::string_view trim(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
        v.remove_prefix(1);
    }
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) {
        v.remove_suffix(1);
    }
    return v;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); i++) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
        char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
        if (x != y) {
            return false;
        }
    }
    return true;
}

// Does a comma-separated header value contain `token` (case-insensitive)?
bool has_token(std::string_view value, std::string_view token) {
    while (!value.empty()) {
        std::size_t comma = value.find(',');
        if (iequals(trim(value.substr(0, comma)), token)) {
            return true;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        value.remove_prefix(comma + 1);
    }
    return false;
}

// The next line of `text` from `pos` (without CRLF/LF); advances pos past the terminator.
std::string_view next_line(std::string_view text, std::size_t& pos) {
    std::size_t nl = text.find('\n', pos);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    return line;
}

bool parse_status_line(std::string_view line, HttpResponseHead& h) {
    // HTTP/1.x SP 3DIGIT [SP reason]
    if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ') {
        return false;
    }
    if (line[7] != '0' && line[7] != '1') {
        return false;
    }
    h.version_minor = line[7] - '0';
    int status = 0;
    for (std::size_t i = 9; i < 12; i++) {
        if (line[i] < '0' || line[i] > '9') {
            return false;
        }
        status = status * 10 + (line[i] - '0');
    }
    if (status < 100 || (line.size() > 12 && line[12] != ' ')) {
        return false;
    }
    h.status = status;
    h.reason = std::string(line.size() > 13 ? line.substr(13) : std::string_view{});
    return true;
}

}  // namespace

HttpError HttpResponseParser::parse_head(std::string_view text) {
    std::size_t pos = 0;
    if (!parse_status_line(next_line(text, pos), head_)) {
        return HttpError::bad_status_line;
    }
    for (;;) {
        std::string_view line = next_line(text, pos);
        if (line.empty()) {
            break;
        }
        if (head_.headers.size() >= limits_.headers_max) {
            return HttpError::too_many_headers;
        }
        std::size_t colon = line.find(':');
        if (colon == 0 || colon == std::string_view::npos) {
            return HttpError::bad_header;  // also rejects obsolete line folding
        }
        std::string name(line.substr(0, colon));
        for (char& c : name) {
            if (!is_token_char(c)) {
                return HttpError::bad_header;
            }
            c = c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
        }
        std::string_view value = trim(line.substr(colon + 1));
        for (char c : value) {
            if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
                return HttpError::bad_header;
            }
        }
        head_.headers.emplace_back(std::move(name), std::string(value));
    }
    return parse_framing();
}

HttpError HttpResponseParser::parse_framing() {
    bool close = head_.version_minor == 0;
    for (const auto& [name, value] : head_.headers) {
        if (name == "transfer-encoding") {
            if (!iequals(trim(value), "chunked")) {
                return HttpError::unsupported_transfer_encoding;
            }
            head_.chunked = true;
        } else if (name == "content-length") {
            if (value.empty() || value.size() > 19 ||
                value.find_first_not_of("0123456789") != std::string::npos) {
                return HttpError::bad_content_length;
            }
            std::uint64_t n = std::stoull(value);
            if (head_.content_length && *head_.content_length != n) {
                return HttpError::bad_content_length;
            }
            head_.content_length = n;
        } else if (name == "connection") {
            if (has_token(value, "close")) {
                close = true;
            } else if (has_token(value, "keep-alive")) {
                close = false;
            }
        }
    }
    if (head_.chunked) {
        head_.content_length.reset();  // Transfer-Encoding wins (RFC 9112 6.3)
    }
    if (head_.content_length && *head_.content_length > limits_.body_bytes_max) {
        return HttpError::body_too_large;
    }
    bool no_body = head_request_ || head_.status == 204 || head_.status == 304;
    if (!no_body && !head_.chunked && !head_.content_length) {
        close = true;  // delimited by the connection closing
    }
    head_.keep_alive = !close;
    return HttpError::none;
}

void HttpResponseParser::start_body(HttpStep& s) {
    bool no_body = head_request_ || head_.status == 204 || head_.status == 304;
    if (no_body || (head_.content_length && *head_.content_length == 0)) {
        state_ = State::done;
    } else if (head_.chunked) {
        state_ = State::body_chunked;
    } else if (head_.content_length) {
        remaining_ = *head_.content_length;
        state_ = State::body_length;
    } else {
        state_ = State::body_eof;
    }
    s.event = HttpEvent::head;
}

HttpStep HttpResponseParser::step_head(std::span<const std::uint8_t> input) {
    HttpStep s;
    std::size_t room = limits_.head_bytes_max - std::min(limits_.head_bytes_max, head_buf_.size());
    std::size_t take = std::min(input.size(), room);
    std::size_t old = head_buf_.size();
    head_buf_.append(reinterpret_cast<const char*>(input.data()), take);
    // Find the blank line that ends the head ("\n\n" or "\n\r\n").
    std::size_t from = scan_from_ > 0 ? scan_from_ - 1 : 0;
    std::size_t end = std::string::npos;
    for (std::size_t i = head_buf_.find('\n', from); i != std::string::npos;
         i = head_buf_.find('\n', i + 1)) {
        if (i + 1 < head_buf_.size() && head_buf_[i + 1] == '\n') {
            end = i + 2;
            break;
        }
        if (i + 2 < head_buf_.size() && head_buf_[i + 1] == '\r' && head_buf_[i + 2] == '\n') {
            end = i + 3;
            break;
        }
    }
    if (end == std::string::npos) {
        scan_from_ = head_buf_.size() > 2 ? head_buf_.size() - 2 : 0;
        s.consumed = take;
        if (take < input.size() || head_buf_.size() >= limits_.head_bytes_max) {
            return fail(s, HttpError::head_too_large);
        }
        return s;
    }
    s.consumed = end - old;
    head_ = HttpResponseHead{};
    HttpError e = parse_head(std::string_view(head_buf_).substr(0, end));
    if (e != HttpError::none) {
        return fail(s, e);
    }
    if (head_.status == 101 && expect_upgrade_) {
        state_ = State::done;
        s.event = HttpEvent::head;
        return s;
    }
    if (head_.status >= 100 && head_.status < 200) {
        head_buf_.clear();  // an interim response: the real one follows
        scan_from_ = 0;
        return s;
    }
    start_body(s);
    return s;
}

HttpStep HttpResponseParser::step_body(std::span<const std::uint8_t> input) {
    HttpStep s;
    if (state_ == State::body_chunked) {
        ChunkedStep c = chunked_.step(input);
        s.consumed = c.consumed;
        if (c.error != ChunkedError::none) {
            return fail(s, HttpError::bad_chunk);
        }
        if (!c.data.empty()) {
            body_bytes_ += c.data.size();
            if (body_bytes_ > limits_.body_bytes_max) {
                return fail(s, HttpError::body_too_large);
            }
            s.event = HttpEvent::body;
            s.body = c.data;
            return s;  // `done` (if also reached) is reported on the next step
        }
        if (c.done) {
            state_ = State::done;
            s.event = HttpEvent::done;
        }
        return s;
    }
    std::size_t take = input.size();
    if (state_ == State::body_length) {
        take = static_cast<std::size_t>(std::min<std::uint64_t>(take, remaining_));
        remaining_ -= take;
    } else if (body_bytes_ + take > limits_.body_bytes_max) {
        s.consumed = take;
        return fail(s, HttpError::body_too_large);
    }
    body_bytes_ += take;
    s.consumed = take;
    s.body = input.subspan(0, take);
    s.event = take > 0 ? HttpEvent::body : HttpEvent::need_more;
    if (state_ == State::body_length && remaining_ == 0 && take == 0) {
        state_ = State::done;
        s.event = HttpEvent::done;
    }
    return s;
}

HttpStep HttpResponseParser::step(std::span<const std::uint8_t> input) {
    switch (state_) {
        case State::head: {
            if (input.empty()) {
                return HttpStep{};
            }
            HttpStep s = step_head(input);
            // After a skipped 1xx response, go on with the real one in the same input.
            while (s.event == HttpEvent::need_more && state_ == State::head && head_buf_.empty() &&
                   s.consumed < input.size()) {
                HttpStep t = step_head(input.subspan(s.consumed));
                t.consumed += s.consumed;
                s = t;
            }
            return s;
        }
        case State::body_length:
            if (remaining_ == 0) {
                state_ = State::done;
                return HttpStep{HttpEvent::done, 0, {}};
            }
            [[fallthrough]];
        case State::body_chunked:
        case State::body_eof:
            if (input.empty()) {
                return HttpStep{};
            }
            return step_body(input);
        case State::done:
            return HttpStep{HttpEvent::done, 0, {}};
        case State::failed:
            return HttpStep{HttpEvent::error, 0, {}};
    }
    return HttpStep{};
}

HttpStep HttpResponseParser::finish_eof() {
    if (state_ == State::body_eof) {
        state_ = State::done;
        return HttpStep{HttpEvent::done, 0, {}};
    }
    if (state_ == State::done) {
        return HttpStep{HttpEvent::done, 0, {}};
    }
    if (state_ == State::failed) {
        return HttpStep{HttpEvent::error, 0, {}};
    }
    return fail(HttpStep{}, HttpError::truncated);
}

}  // namespace pylon::net
