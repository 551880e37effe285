#include "net/utf8.hpp"

#include <cstring>

namespace pylon::net {

bool Utf8Validator::feed(std::span<const std::uint8_t> bytes) noexcept {
    if (failed_) {
        return false;
    }
    std::size_t i = 0;
    const std::size_t n = bytes.size();
    while (i < n) {
        if (need_ == 0) {
            // Fast path: skip 8 ASCII bytes at a time.
            while (i + 8 <= n) {
                std::uint64_t word;
                std::memcpy(&word, bytes.data() + i, 8);
                if ((word & 0x8080808080808080ull) != 0) {
                    break;
                }
                i += 8;
            }
            if (i == n) {
                break;
            }
            std::uint8_t b = bytes[i++];
            if (b < 0x80) {
                continue;
            }
            lower_ = 0x80;
            upper_ = 0xBF;
            if (b >= 0xC2 && b <= 0xDF) {
                need_ = 1;
            } else if (b >= 0xE0 && b <= 0xEF) {
                need_ = 2;
                lower_ = b == 0xE0 ? 0xA0 : 0x80;  // no overlongs
                upper_ = b == 0xED ? 0x9F : 0xBF;  // no surrogates
            } else if (b >= 0xF0 && b <= 0xF4) {
                need_ = 3;
                lower_ = b == 0xF0 ? 0x90 : 0x80;  // no overlongs
                upper_ = b == 0xF4 ? 0x8F : 0xBF;  // nothing above U+10FFFF
            } else {
                failed_ = true;
                return false;
            }
            continue;
        }
        std::uint8_t b = bytes[i++];
        if (b < lower_ || b > upper_) {
            failed_ = true;
            return false;
        }
        lower_ = 0x80;
        upper_ = 0xBF;
        need_--;
    }
    return true;
}

bool is_valid_utf8(std::string_view text) noexcept {
    Utf8Validator v;
    return v.feed(text) && v.complete();
}

}  // namespace pylon::net
