// ControlClient: the CLI's side of the control socket, blocking (the CLI has no reactor): connect
// to control.sock, write one request line, read reply lines, each step bounded by a timeout
// (Pylon's client used 5 s). Lines longer than reply_bytes_max are an error. One thread; one
// owner; move-only.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "proto/control_protocol.hpp"
#include "proto/limits.hpp"
#include "reactor/result.hpp"

namespace pylon::engine {

inline constexpr int control_client_timeout_ms = 5000;
inline constexpr std::size_t control_reply_bytes_max = 16 * 1024 * 1024;
// What a reply's body is parsed with (proto's default message bound, 128 KiB, is a relay's:
// a Jobs reply of 1,000 rows is ~470 KB).
proto::Limits control_reply_limits() noexcept;

class ControlClient {
  public:
    // Errc::not_found / refused when no daemon listens there.
    static Result<ControlClient> connect(const std::string& path,
                                         int timeout_ms = control_client_timeout_ms);
    ControlClient(ControlClient&& other) noexcept;
    ControlClient& operator=(ControlClient&& other) noexcept;
    ControlClient(const ControlClient&) = delete;
    ControlClient& operator=(const ControlClient&) = delete;
    ~ControlClient();

    // Sends `line` plus a newline.
    Status send(std::string_view line);
    // The next line (without its newline). timeout_ms < 0 waits forever, 0 only takes what has
    // arrived; Errc::closed at EOF.
    Result<std::string> read_line(int timeout_ms);
    // send() then read_line() and parse_control_reply(). When the send fails because the daemon
    // closed the connection after a last {"Error":..} line (too many connections, idle too
    // long), the error is Errc::busy with that line's text.
    Result<proto::ControlReply> request(std::string_view line);
    int fd() const noexcept { return fd_; }

  private:
    explicit ControlClient(int fd, int timeout_ms) : fd_(fd), timeout_ms_(timeout_ms) {}
    int fd_ = -1;
    int timeout_ms_ = control_client_timeout_ms;
    std::string buffer_;
};

}  // namespace pylon::engine
