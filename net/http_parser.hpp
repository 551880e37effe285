// HttpResponseParser: the incremental parser of one HTTP/1.1 response (RFC 9112), reused for
// each response on a keep-alive connection. Feed received bytes to step(): it buffers the head
// (status line and headers, bounded) until it is complete, then reports body pieces as views
// into the input (Content-Length, chunked through ChunkedDecoder with trailers ignored, or
// delimited by the connection closing), and the end of the message. 1xx interim responses are
// skipped. Every bound is named; hostile input ends in a typed HttpError. Pure: no I/O, no
// thread affinity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/chunked_decoder.hpp"

namespace pylon::net {

enum class HttpError : std::uint8_t {
    none,
    head_too_large,
    bad_status_line,
    bad_header,
    too_many_headers,
    bad_content_length,
    unsupported_transfer_encoding,
    body_too_large,
    bad_chunk,
    truncated,  // the connection ended before the body did
};
const char* http_error_name(HttpError e) noexcept;

struct HttpLimits {
    std::size_t head_bytes_max = 64 * 1024;  // status line + headers
    std::size_t headers_max = 100;
    std::uint64_t body_bytes_max = 256ull * 1024 * 1024;
    ChunkedLimits chunked{};
};

struct HttpResponseHead {
    int version_minor = 1;  // HTTP/1.x
    int status = 0;
    std::string reason;
    std::vector<std::pair<std::string, std::string>> headers;  // names lowercased, in order
    bool chunked = false;
    std::optional<std::uint64_t> content_length;
    bool keep_alive = true;  // the connection may carry another request after this response

    // The first header with this (lowercase) name, or nullopt.
    std::optional<std::string_view> header(std::string_view lower_name) const;
};

enum class HttpEvent : std::uint8_t { need_more, head, body, done, error };

struct HttpStep {
    HttpEvent event = HttpEvent::need_more;
    std::size_t consumed = 0;
    std::span<const std::uint8_t> body;  // for HttpEvent::body: a view into the input
};

class HttpResponseParser {
  public:
    explicit HttpResponseParser(HttpLimits limits = {});

    // Prepares for the next response; `head_request`: no body follows the head;
    // `expect_upgrade`: a 101 Switching Protocols is the final response (the bytes after its
    // head belong to the new protocol) instead of an interim one.
    void reset(bool head_request = false, bool expect_upgrade = false);
    // Parses from the front of `input`; stops at the first event (head, a body piece, done,
    // error) or when the input is used up (need_more). Call again with the rest.
    HttpStep step(std::span<const std::uint8_t> input);
    // The connection reached EOF: done for a close-delimited body, else HttpError::truncated.
    HttpStep finish_eof();

    const HttpResponseHead& head() const noexcept { return head_; }
    HttpError error() const noexcept { return error_; }
    bool head_done() const noexcept { return state_ != State::head && state_ != State::failed; }
    bool done() const noexcept { return state_ == State::done; }
    std::uint64_t body_bytes() const noexcept { return body_bytes_; }

  private:
    enum class State : std::uint8_t { head, body_length, body_chunked, body_eof, done, failed };
    HttpStep fail(HttpStep s, HttpError e);
    HttpStep step_head(std::span<const std::uint8_t> input);
    HttpStep step_body(std::span<const std::uint8_t> input);
    HttpError parse_head(std::string_view text);
    HttpError parse_framing();
    void start_body(HttpStep& s);

    HttpLimits limits_;
    State state_ = State::head;
    HttpError error_ = HttpError::none;
    bool head_request_ = false;
    bool expect_upgrade_ = false;
    std::string head_buf_;
    std::size_t scan_from_ = 0;
    HttpResponseHead head_;
    ChunkedDecoder chunked_;
    std::uint64_t remaining_ = 0;
    std::uint64_t body_bytes_ = 0;
};

}  // namespace pylon::net
