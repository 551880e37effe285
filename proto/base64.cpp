#include "proto/base64.hpp"

#include <array>

namespace pylon::proto {
namespace {

constexpr char k_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<uint8_t, 256> make_table() {
    std::array<uint8_t, 256> t{};
    for (auto& v : t) {
        v = 0xff;
    }
    for (size_t i = 0; i < 64; ++i) {
        t[static_cast<unsigned char>(k_alphabet[i])] = static_cast<uint8_t>(i);
    }
    return t;
}
constexpr std::array<uint8_t, 256> k_table = make_table();

}  // namespace

void base64_append(std::string& out, std::span<const uint8_t> bytes) {
    size_t at = out.size();
    out.resize(at + base64_encoded_bytes(bytes.size()));
    char* p = out.data() + at;
    size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
        *p++ = k_alphabet[(v >> 18) & 63];
        *p++ = k_alphabet[(v >> 12) & 63];
        *p++ = k_alphabet[(v >> 6) & 63];
        *p++ = k_alphabet[v & 63];
    }
    size_t rest = bytes.size() - i;
    if (rest > 0) {
        uint32_t v = uint32_t{bytes[i]} << 16;
        if (rest == 2) {
            v |= uint32_t{bytes[i + 1]} << 8;
        }
        *p++ = k_alphabet[(v >> 18) & 63];
        *p++ = k_alphabet[(v >> 12) & 63];
        *p++ = rest == 2 ? k_alphabet[(v >> 6) & 63] : '=';
        *p++ = '=';
    }
}

bool base64_decode(std::string_view text, std::vector<uint8_t>& out) {
    out.clear();
    if (text.size() % 4 != 0) {
        return false;
    }
    size_t pad = 0;
    if (!text.empty() && text.back() == '=') {
        pad = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
    }
    out.reserve(text.size() / 4 * 3);
    for (size_t i = 0; i < text.size(); i += 4) {
        bool last = i + 4 == text.size();
        size_t symbols = last ? 4 - pad : 4;
        uint32_t v = 0;
        for (size_t k = 0; k < 4; ++k) {
            uint8_t d = 0;
            if (k < symbols) {
                d = k_table[static_cast<unsigned char>(text[i + k])];
                if (d == 0xff) {
                    return false;
                }
            }
            v = (v << 6) | d;
        }
        out.push_back(static_cast<uint8_t>(v >> 16));
        if (symbols >= 3) {
            out.push_back(static_cast<uint8_t>(v >> 8));
        }
        if (symbols == 4) {
            out.push_back(static_cast<uint8_t>(v));
        }
        // Unused low bits of the last symbol must be zero.
        if ((symbols == 3 && (v & 0xff) != 0) || (symbols == 2 && (v & 0xffff) != 0)) {
            return false;
        }
    }
    return true;
}

}  // namespace pylon::proto
