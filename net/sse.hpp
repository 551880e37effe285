// SseParser: the incremental parser of a Server-Sent Events stream (text/event-stream, as
// llama-server and OpenAI-style routes send it). Lines end in LF or CRLF; "data:" lines are
// joined with "\n" (one leading space after the colon is dropped), "event:" sets the event
// type, "id:"/"retry:" are ignored, lines starting with ":" are comments (keep-alive pings) and
// are skipped, and a blank line dispatches the event if it has data. `done` is set for the
// OpenAI end marker "data: [DONE]". The event being assembled is bounded by event_bytes_max
// (Errc::too_large ends the parser). An event's views stay valid until the next
// feed()/next(); fed bytes must stay valid until next() reports no event. Pure.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "reactor/result.hpp"

namespace pylon::net {

struct SseEvent {
    std::string_view type;  // the "event:" field; empty means the default ("message")
    std::string_view data;  // the data lines joined with "\n"
    bool done = false;      // data is "[DONE]"
};

class SseParser {
  public:
    explicit SseParser(std::size_t event_bytes_max = 1024 * 1024)
        : event_bytes_max_(event_bytes_max) {}

    void feed(std::span<const std::uint8_t> bytes);
    // The next complete event, nullopt when more bytes are needed.
    Result<std::optional<SseEvent>> next();
    std::size_t comments_seen() const noexcept { return comments_; }

  private:
    // The next whole line (without its terminator), nullopt when the input ends first.
    std::optional<std::string_view> next_line();
    bool field(std::string_view line);

    std::size_t event_bytes_max_;
    std::string_view input_;
    std::string line_buf_;  // a line cut by a chunk boundary
    bool line_buf_used_ = false;
    std::string data_;
    std::string type_;
    bool has_data_ = false;
    bool dispatched_ = false;  // data_/type_ belong to the event returned last time
    bool bom_checked_ = false;
    bool failed_ = false;
    std::size_t comments_ = 0;
};

}  // namespace pylon::net
