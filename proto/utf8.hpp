// Utf8: validation, sanitising and boundary-safe truncation of UTF-8 text. Incoming strings that
// are not valid UTF-8 are rejected (NIP-01: lone surrogates cannot occur in valid UTF-8); text we
// sign (LLM output above all) is sanitised instead: invalid sequences become U+FFFD and U+007F is
// removed, because relays disagree on how to escape DEL (strfry writes \u007f, NIP-01 says
// verbatim) and an event containing it may be refused with "bad event id". Pure functions: any
// thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pylon::proto {

// True if text is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
[[nodiscard]] bool utf8_valid(std::string_view text) noexcept;

// True if text is valid UTF-8 and contains no U+007F: safe to sign as is.
[[nodiscard]] bool utf8_signable(std::string_view text) noexcept;

// Appends text to out with each maximal invalid sequence replaced by U+FFFD and every U+007F
// dropped. The result is utf8_signable().
void utf8_sanitize_append(std::string& out, std::string_view text);

// The longest prefix length of text (valid UTF-8) that is at most bytes_max bytes and does not
// split a code point.
[[nodiscard]] size_t utf8_prefix_bytes(std::string_view text, size_t bytes_max) noexcept;

// Number of code points in valid UTF-8 text.
[[nodiscard]] size_t utf8_code_points(std::string_view text) noexcept;

}  // namespace pylon::proto
