#include "proto/base58.hpp"

#include <algorithm>
#include <array>

#include "proto/digest.hpp"

namespace pylon::proto {
namespace {

constexpr char k_alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

int digit(char c) {
    for (int i = 0; i < 58; ++i) {
        if (k_alphabet[i] == c) {
            return i;
        }
    }
    return -1;
}

Sha256 double_sha256(std::span<const uint8_t> data) {
    Sha256 first = sha256(data);
    return sha256(first);
}

}  // namespace

std::string base58check_encode(std::span<const uint8_t> payload) {
    std::vector<uint8_t> data(payload.begin(), payload.end());
    Sha256 check = double_sha256(payload);
    data.insert(data.end(), check.begin(), check.begin() + 4);
    size_t zeros = 0;
    while (zeros < data.size() && data[zeros] == 0) {
        ++zeros;
    }
    std::vector<uint8_t> digits;  // base58 digits, least significant first
    for (uint8_t byte : data) {
        unsigned carry = byte;
        for (uint8_t& d : digits) {
            carry += unsigned{d} << 8;
            d = static_cast<uint8_t>(carry % 58);
            carry /= 58;
        }
        while (carry > 0) {
            digits.push_back(static_cast<uint8_t>(carry % 58));
            carry /= 58;
        }
    }
    std::string out(zeros, '1');
    for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
        out.push_back(k_alphabet[*it]);
    }
    return out;
}

bool base58check_decode(std::string_view text, std::vector<uint8_t>& payload) {
    payload.clear();
    if (text.size() > base58_chars_max) {
        return false;
    }
    size_t zeros = 0;
    while (zeros < text.size() && text[zeros] == '1') {
        ++zeros;
    }
    std::vector<uint8_t> bytes;  // least significant first
    for (char c : text) {
        int d = digit(c);
        if (d < 0) {
            return false;
        }
        unsigned carry = static_cast<unsigned>(d);
        for (uint8_t& b : bytes) {
            carry += unsigned{b} * 58;
            b = static_cast<uint8_t>(carry & 0xff);
            carry >>= 8;
        }
        while (carry > 0) {
            bytes.push_back(static_cast<uint8_t>(carry & 0xff));
            carry >>= 8;
        }
    }
    std::vector<uint8_t> data(zeros, 0);
    data.insert(data.end(), bytes.rbegin(), bytes.rend());
    if (data.size() < 4) {
        return false;
    }
    auto body = std::span<const uint8_t>(data.data(), data.size() - 4);
    Sha256 check = double_sha256(body);
    if (!std::equal(check.begin(), check.begin() + 4, data.end() - 4)) {
        return false;
    }
    payload.assign(body.begin(), body.end());
    return true;
}

}  // namespace pylon::proto
