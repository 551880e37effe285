#include "proto/utf8.hpp"

#include <cstdint>

#include <simdjson.h>

namespace pylon::proto {
namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 if it is invalid.
size_t sequence_bytes(std::string_view text, size_t i) noexcept {
    auto at = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
    uint8_t b0 = at(i);
    if (b0 < 0x80) {
        return 1;
    }
    size_t n = 0;
    uint8_t lo = 0x80;
    uint8_t hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
        n = 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
        n = 3;
        if (b0 == 0xe0) {
            lo = 0xa0;  // no overlongs
        } else if (b0 == 0xed) {
            hi = 0x9f;  // no surrogates
        }
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
        n = 4;
        if (b0 == 0xf0) {
            lo = 0x90;
        } else if (b0 == 0xf4) {
            hi = 0x8f;  // nothing above U+10FFFF
        }
    } else {
        return 0;
    }
    if (i + n > text.size()) {
        return 0;
    }
    if (at(i + 1) < lo || at(i + 1) > hi) {
        return 0;
    }
    for (size_t k = 2; k < n; ++k) {
        if (at(i + k) < 0x80 || at(i + k) > 0xbf) {
            return 0;
        }
    }
    return n;
}

}  // namespace

bool utf8_valid(std::string_view text) noexcept {
    return simdjson::validate_utf8(text.data(), text.size());
}

bool utf8_signable(std::string_view text) noexcept {
    return text.find('\x7f') == std::string_view::npos && utf8_valid(text);
}

void utf8_sanitize_append(std::string& out, std::string_view text) {
    if (utf8_signable(text)) {
        out.append(text);
        return;
    }
    out.reserve(out.size() + text.size());
    size_t i = 0;
    while (i < text.size()) {
        size_t n = sequence_bytes(text, i);
        if (n == 0) {
            out.append("\xef\xbf\xbd");  // U+FFFD, then skip continuation bytes of this sequence
            ++i;
            while (i < text.size() && (static_cast<uint8_t>(text[i]) & 0xc0) == 0x80) {
                ++i;
            }
            continue;
        }
        if (!(n == 1 && text[i] == '\x7f')) {
            out.append(text.substr(i, n));
        }
        i += n;
    }
}

size_t utf8_prefix_bytes(std::string_view text, size_t bytes_max) noexcept {
    if (text.size() <= bytes_max) {
        return text.size();
    }
    size_t n = bytes_max;
    while (n > 0 && (static_cast<uint8_t>(text[n]) & 0xc0) == 0x80) {
        --n;
    }
    return n;
}

size_t utf8_code_points(std::string_view text) noexcept {
    size_t count = 0;
    for (char c : text) {
        if ((static_cast<uint8_t>(c) & 0xc0) != 0x80) {
            ++count;
        }
    }
    return count;
}

}  // namespace pylon::proto
