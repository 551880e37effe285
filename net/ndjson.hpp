// NdjsonSplitter: splits a byte stream into newline-delimited records (Ollama's streaming
// format: one JSON object per "\n"). feed() some bytes, then call next() until it returns no
// record. A record that lies whole inside the fed bytes is returned as a view into them (no
// copy); only a record cut by a chunk boundary is assembled in an internal buffer bounded by
// line_bytes_max. A trailing "\r" is stripped; empty lines are skipped. A record longer than
// the bound is an error (Errc::too_large) and ends the splitter. Views stay valid until the next
// feed()/next()/finish(); fed bytes must stay valid until next() reports no record. Pure.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "reactor/result.hpp"

namespace pylon::net {

class NdjsonSplitter {
  public:
    explicit NdjsonSplitter(std::size_t line_bytes_max = 1024 * 1024)
        : line_bytes_max_(line_bytes_max) {}

    void feed(std::span<const std::uint8_t> bytes);
    // The next complete record, nullopt when more bytes are needed.
    Result<std::optional<std::string_view>> next();
    // At the end of the stream: the last record if it had no final "\n".
    Result<std::optional<std::string_view>> finish();
    std::size_t buffered_bytes() const noexcept { return partial_.size(); }

  private:
    std::size_t line_bytes_max_;
    std::string_view input_;
    std::string partial_;
    bool partial_handed_out_ = false;  // partial_ holds the record returned last time
    bool failed_ = false;
};

}  // namespace pylon::net
