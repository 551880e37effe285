// Bech32: the BIP-173 checksummed base32 format (bech32, not bech32m) that NIP-19 uses for npub,
// nsec, note and the TLV forms. Decoding is bounded (Limits::bech32_chars_max, 5000 for NIP-19
// instead of BIP-173's 90), refuses mixed case, unknown characters and bad checksums, and converts
// the 5-bit groups back to bytes refusing non-zero padding. Pure functions: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/reject.hpp"

namespace pylon::proto {

// Encodes bytes (converted to 5-bit groups) under the lowercase human-readable part hrp.
std::string bech32_encode(std::string_view hrp, std::span<const uint8_t> bytes);

// Decodes text into its lowercase hrp and the payload bytes.
Reject bech32_decode(std::string_view text, size_t chars_max, std::string& hrp,
                     std::vector<uint8_t>& bytes);

}  // namespace pylon::proto
