// RawHttpConnection: a deliberately simple, blocking HTTP/1.1 client over one loopback TCP
// socket, for tests that assert a server's exact wire format (status line, headers, chunked
// framing, the arrival time of each chunk, resets and closes). It is independent of Pylon's own
// net/ code on purpose: a test double's wire format must not be checked with the code under test.
// One connection, one thread; move-only; the destructor closes the socket.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "reactor/result.hpp"

namespace pylon::test {

using TestClock = std::chrono::steady_clock;

// One body piece as received: a chunk of a chunked body, or a read of a Content-Length or
// close-delimited body. `at` is when the piece was complete on our side.
struct RawChunk {
    std::string data;
    TestClock::time_point at;
};

struct RawResponse {
    std::string version;  // "HTTP/1.1"
    int status = 0;
    std::string reason;
    std::vector<std::pair<std::string, std::string>> headers;  // names lowercased, in order
    std::string head;                                          // raw status line + headers
    std::string body;                                          // de-chunked
    std::vector<RawChunk> chunks;
    bool chunked = false;
    bool complete = false;       // the body ended as framed (last chunk, Content-Length, or EOF)
    bool peer_closed = false;    // EOF was seen (after or during the body)
    bool peer_reset = false;     // ECONNRESET was seen
    bool framing_error = false;  // a malformed chunk size line or a chunk without its CRLF
    TestClock::time_point head_at;

    // The first header with this (case-insensitive) name.
    std::optional<std::string> header(std::string_view name) const;
};

enum class PeerEvent : std::uint8_t { data, closed, reset, timeout };

class RawHttpConnection {
  public:
    static constexpr std::size_t body_bytes_max = 64 * 1024 * 1024;
    static constexpr std::size_t head_bytes_max = 64 * 1024;

    // Connects to 127.0.0.1:port.
    static Result<RawHttpConnection> connect(std::uint16_t port, int timeout_ms = 2000);
    // Takes ownership of a connected stream socket (e.g. one end of a socketpair).
    static RawHttpConnection adopt(int fd);

    RawHttpConnection(RawHttpConnection&& other) noexcept;
    RawHttpConnection& operator=(RawHttpConnection&& other) noexcept;
    RawHttpConnection(const RawHttpConnection&) = delete;
    RawHttpConnection& operator=(const RawHttpConnection&) = delete;
    ~RawHttpConnection();

    int fd() const { return fd_; }

    Status send(std::string_view bytes);
    // Sends make_request(method, target, body, extra_headers).
    Status send_request(std::string_view method, std::string_view target,
                        std::string_view body = {},
                        const std::vector<std::string>& extra_headers = {});

    // Reads one response within timeout_ms in total. `on_chunk` (optional) sees each body piece
    // as it arrives; returning false stops reading (the response is returned incomplete).
    // Errors: timeout before the head is complete (Errc::timeout), the peer closing or
    // resetting before a complete head (Errc::closed), a malformed head (Errc::protocol). After
    // the head, a close/reset/timeout is reported in the response flags instead.
    Result<RawResponse> read_response(int timeout_ms, bool head_request = false,
                                      const std::function<bool(const RawChunk&)>& on_chunk = {});

    // Exactly n bytes (what is buffered first), for protocols after an upgrade. Errors: timeout,
    // or the peer closing/resetting first (Errc::closed).
    Result<std::string> read_bytes(std::size_t n, int timeout_ms);

    // Waits for the next thing the peer does: data arriving (left buffered), EOF, RST, or nothing.
    PeerEvent wait_peer(int timeout_ms);

    // Everything until EOF/RST/timeout (including what is already buffered).
    std::string read_until_close(int timeout_ms);

    void close();
    // Closes with SO_LINGER 0: the peer sees a RST.
    void reset();

  private:
    explicit RawHttpConnection(int fd) : fd_(fd) {}
    PeerEvent fill(TestClock::time_point deadline);
    bool parse_head(RawResponse& r);
    bool read_body(RawResponse& r, TestClock::time_point deadline, bool head_request,
                   const std::function<bool(const RawChunk&)>& on_chunk);
    bool read_chunked(RawResponse& r, TestClock::time_point deadline,
                      const std::function<bool(const RawChunk&)>& on_chunk);
    void note_end(RawResponse& r, PeerEvent ev);

    int fd_ = -1;
    std::string buffered_;  // received, not yet consumed
};

// "METHOD target HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra headers + Content-Length (when a body
// is given or the method is POST) + "\r\n" + body.
std::string make_request(std::string_view method, std::string_view target,
                         std::string_view body = {},
                         const std::vector<std::string>& extra_headers = {});

}  // namespace pylon::test
