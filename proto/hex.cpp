#include "proto/hex.hpp"

#include <array>

namespace pylon::proto {
namespace {

constexpr char k_digits[] = "0123456789abcdef";

// 0..15 for a hex digit, 0xff for anything else; uppercase digits map to 16+value so that a
// lowercase-only decode can reject them with one comparison.
constexpr std::array<uint8_t, 256> make_table() {
    std::array<uint8_t, 256> t{};
    for (auto& v : t) {
        v = 0xff;
    }
    for (int i = 0; i < 10; ++i) {
        t[static_cast<size_t>('0' + i)] = static_cast<uint8_t>(i);
    }
    for (int i = 0; i < 6; ++i) {
        t[static_cast<size_t>('a' + i)] = static_cast<uint8_t>(10 + i);
        t[static_cast<size_t>('A' + i)] = static_cast<uint8_t>(16 + 10 + i);
    }
    return t;
}
constexpr std::array<uint8_t, 256> k_table = make_table();

inline bool nibble(char c, HexCase accepted, uint8_t& out) noexcept {
    uint8_t v = k_table[static_cast<unsigned char>(c)];
    if (v == 0xff) {
        return false;
    }
    if (v >= 16) {
        if (accepted == HexCase::lower_only) {
            return false;
        }
        v = static_cast<uint8_t>(v - 16);
    }
    out = v;
    return true;
}

}  // namespace

void hex_write(char* out, std::span<const uint8_t> bytes) noexcept {
    for (size_t i = 0; i < bytes.size(); ++i) {
        out[2 * i] = k_digits[bytes[i] >> 4];
        out[2 * i + 1] = k_digits[bytes[i] & 0x0f];
    }
}

void hex_append(std::string& out, std::span<const uint8_t> bytes) {
    size_t at = out.size();
    out.resize(at + 2 * bytes.size());
    hex_write(out.data() + at, bytes);
}

std::string hex_encode(std::span<const uint8_t> bytes) {
    std::string out;
    hex_append(out, bytes);
    return out;
}

bool hex_decode(std::string_view text, std::span<uint8_t> out, HexCase accepted) noexcept {
    if (text.size() != 2 * out.size()) {
        return false;
    }
    for (size_t i = 0; i < out.size(); ++i) {
        uint8_t hi = 0;
        uint8_t lo = 0;
        if (!nibble(text[2 * i], accepted, hi) || !nibble(text[2 * i + 1], accepted, lo)) {
            return false;
        }
        out[i] = static_cast<uint8_t>((hi << 4) | lo);
    }
    return true;
}

bool hex_decode_vector(std::string_view text, std::vector<uint8_t>& out, HexCase accepted) {
    if (text.size() % 2 != 0) {
        return false;
    }
    out.resize(text.size() / 2);
    return hex_decode(text, out, accepted);
}

}  // namespace pylon::proto
