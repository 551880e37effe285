#include "proto/bech32.hpp"

#include <array>

#include "reactor/assert.hpp"

namespace pylon::proto {
namespace {

constexpr char k_charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
constexpr size_t k_checksum_chars = 6;

constexpr std::array<int8_t, 128> make_rev() {
    std::array<int8_t, 128> t{};
    for (auto& v : t) {
        v = -1;
    }
    for (size_t i = 0; i < 32; ++i) {
        t[static_cast<size_t>(k_charset[i])] = static_cast<int8_t>(i);
        char upper = k_charset[i];
        if (upper >= 'a' && upper <= 'z') {
            t[static_cast<size_t>(upper - 'a' + 'A')] = static_cast<int8_t>(i);
        }
    }
    return t;
}
constexpr std::array<int8_t, 128> k_rev = make_rev();

uint32_t polymod_step(uint32_t chk, uint8_t value) {
    constexpr uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
    uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ value;
    for (int i = 0; i < 5; ++i) {
        if (((top >> i) & 1) != 0) {
            chk ^= gen[i];
        }
    }
    return chk;
}

uint32_t polymod_hrp(std::string_view hrp) {
    uint32_t chk = 1;
    for (char c : hrp) {
        chk = polymod_step(chk, static_cast<uint8_t>(static_cast<uint8_t>(c) >> 5));
    }
    chk = polymod_step(chk, 0);
    for (char c : hrp) {
        chk = polymod_step(chk, static_cast<uint8_t>(static_cast<uint8_t>(c) & 31));
    }
    return chk;
}

char lower_ascii(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

std::string bech32_encode(std::string_view hrp, std::span<const uint8_t> bytes) {
    std::vector<uint8_t> groups;
    groups.reserve(bytes.size() * 8 / 5 + 1);
    uint32_t acc = 0;
    int bits = 0;
    for (uint8_t b : bytes) {
        acc = (acc << 8) | b;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            groups.push_back(static_cast<uint8_t>((acc >> bits) & 31));
        }
    }
    if (bits > 0) {
        groups.push_back(static_cast<uint8_t>((acc << (5 - bits)) & 31));
    }
    uint32_t chk = polymod_hrp(hrp);
    for (uint8_t g : groups) {
        chk = polymod_step(chk, g);
    }
    for (size_t i = 0; i < k_checksum_chars; ++i) {
        chk = polymod_step(chk, 0);
    }
    chk ^= 1;
    std::string out(hrp);
    out.push_back('1');
    for (uint8_t g : groups) {
        out.push_back(k_charset[g]);
    }
    for (size_t i = 0; i < k_checksum_chars; ++i) {
        out.push_back(k_charset[(chk >> (5 * (5 - i))) & 31]);
    }
    return out;
}

Reject bech32_decode(std::string_view text, size_t chars_max, std::string& hrp,
                     std::vector<uint8_t>& bytes) {
    if (text.size() > chars_max) {
        return Reject::too_large;
    }
    bool has_lower = false;
    bool has_upper = false;
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (u < 33 || u > 126) {
            return Reject::bad_bech32;
        }
        has_lower |= (c >= 'a' && c <= 'z');
        has_upper |= (c >= 'A' && c <= 'Z');
    }
    size_t sep = text.rfind('1');
    if (has_lower && has_upper) {
        return Reject::bad_bech32;
    }
    if (sep == std::string_view::npos || sep == 0 || text.size() - sep - 1 < k_checksum_chars) {
        return Reject::bad_bech32;
    }
    hrp.clear();
    for (char c : text.substr(0, sep)) {
        hrp.push_back(lower_ascii(c));
    }
    uint32_t chk = polymod_hrp(hrp);
    std::string_view data = text.substr(sep + 1);
    bytes.clear();
    uint32_t acc = 0;
    int bits = 0;
    size_t payload_groups = data.size() - k_checksum_chars;
    for (size_t i = 0; i < data.size(); ++i) {
        auto u = static_cast<unsigned char>(data[i]);
        int8_t v = k_rev[u & 0x7f];
        if (v < 0) {
            return Reject::bad_bech32;
        }
        chk = polymod_step(chk, static_cast<uint8_t>(v));
        if (i < payload_groups) {
            acc = ((acc << 5) | static_cast<uint32_t>(v)) & 0xfff;
            bits += 5;
            if (bits >= 8) {
                bits -= 8;
                bytes.push_back(static_cast<uint8_t>((acc >> bits) & 0xff));
            }
        }
    }
    if (chk != 1) {
        return Reject::bad_checksum;
    }
    // Leftover bits must be fewer than 5 and zero.
    if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0) {
        return Reject::bad_bech32;
    }
    return Reject::none;
}

}  // namespace pylon::proto
