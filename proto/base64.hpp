// Base64: standard-alphabet base64 with '=' padding (RFC 4648 §4), as NIP-44 and NIP-04 payloads
// use it. Decoding is strict: length a multiple of 4, padding only at the end, no whitespace, no
// other alphabet, and the unused bits of the last symbol must be zero (so one byte string has one
// encoding). Pure functions: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pylon::proto {

// The encoded length of bytes bytes (with padding).
constexpr size_t base64_encoded_bytes(size_t bytes) noexcept {
    return (bytes + 2) / 3 * 4;
}

void base64_append(std::string& out, std::span<const uint8_t> bytes);

// Replaces out with the decoded bytes; false if text is not strict base64.
[[nodiscard]] bool base64_decode(std::string_view text, std::vector<uint8_t>& out);

}  // namespace pylon::proto
