// Base58Check: Bitcoin's base58 with a 4-byte double-SHA256 checksum, used here only for BIP-32
// extended keys (xprv/xpub) so the BIP-32 and NIP-06 vectors can be checked end to end. Input is
// bounded (base58_chars_max). Pure functions: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pylon::proto {

inline constexpr size_t base58_chars_max = 128;

std::string base58check_encode(std::span<const uint8_t> payload);

// False on a bad character, an over-long input or a checksum mismatch.
[[nodiscard]] bool base58check_decode(std::string_view text, std::vector<uint8_t>& payload);

}  // namespace pylon::proto
