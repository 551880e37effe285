// ChunkedDecoder: the incremental decoder of an HTTP/1.1 chunked body (RFC 9112 section 7.1).
// Feed it received bytes; each step() returns the decoded data it found as a view into the
// input (no copy), how much input it consumed, and whether the last chunk and the trailers
// (read and ignored) have been seen. Only the chunk-size line and trailer lines are buffered,
// each bounded. Hostile input (bad hex, overflow, missing CRLF, oversized lines) is a typed
// rejection; the decoder then stays failed. Pure, no I/O, no thread affinity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace pylon::net {

enum class ChunkedError : std::uint8_t {
    none,
    bad_size,        // not hex, empty, or larger than chunk_bytes_max
    line_too_long,   // a size line or trailer line over its bound
    bad_terminator,  // chunk data not followed by CRLF
    trailers_too_large,
};
const char* chunked_error_name(ChunkedError e) noexcept;

struct ChunkedLimits {
    std::size_t size_line_bytes_max = 1024;  // "1a2b;ext=..." including extensions
    std::uint64_t chunk_bytes_max = std::uint64_t{1} << 40;
    std::size_t trailer_bytes_max = 16 * 1024;
};

struct ChunkedStep {
    std::size_t consumed = 0;
    std::span<const std::uint8_t> data;  // decoded bytes (a view into the input)
    bool done = false;                   // last chunk and trailers seen
    ChunkedError error = ChunkedError::none;
};

class ChunkedDecoder {
  public:
    explicit ChunkedDecoder(ChunkedLimits limits = {}) : limits_(limits) {}

    // Decodes from the front of `input`: stops after one piece of data, at the end, or on an
    // error. Call again with the rest of the input.
    ChunkedStep step(std::span<const std::uint8_t> input);
    bool done() const noexcept { return state_ == State::done; }
    ChunkedError error() const noexcept { return error_; }
    void reset();

  private:
    enum class State : std::uint8_t { size_line, data, data_cr, data_lf, trailer, done, failed };
    ChunkedStep fail(ChunkedStep s, ChunkedError e);
    bool parse_size_line();

    ChunkedLimits limits_;
    State state_ = State::size_line;
    ChunkedError error_ = ChunkedError::none;
    std::string line_;
    std::uint64_t remaining_ = 0;
    std::size_t trailer_bytes_ = 0;
};

}  // namespace pylon::net
