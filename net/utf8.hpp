// UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF) for WebSocket
// text frames and close reasons. Utf8Validator is incremental (a code point may straddle
// fragments); is_valid_utf8 checks a whole buffer, with an 8-bytes-at-a-time ASCII fast path.
// Pure, no thread affinity.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace pylon::net {

class Utf8Validator {
  public:
    // Feeds more bytes; false once the input so far cannot be valid UTF-8.
    bool feed(std::span<const std::uint8_t> bytes) noexcept;
    bool feed(std::string_view text) noexcept {
        return feed({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
    }
    // True when everything fed is valid and no code point is left incomplete.
    bool complete() const noexcept { return !failed_ && need_ == 0; }
    bool failed() const noexcept { return failed_; }
    void reset() noexcept { *this = Utf8Validator{}; }

  private:
    std::uint32_t need_ = 0;     // continuation bytes still expected
    std::uint8_t lower_ = 0x80;  // allowed range of the next continuation byte
    std::uint8_t upper_ = 0xBF;
    bool failed_ = false;
};

bool is_valid_utf8(std::string_view text) noexcept;

}  // namespace pylon::net
