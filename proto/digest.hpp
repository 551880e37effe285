// Digest: the hash functions proto/ needs: SHA-256 (event ids, BIP-39 checksums), HMAC-SHA256
// (NIP-44 MAC), HMAC-SHA512 (BIP-32), HKDF-SHA256 extract/expand (NIP-44 keys), HASH160 (BIP-32
// fingerprints) and PBKDF2-HMAC-SHA512 (BIP-39 seeds). The hashes are OpenSSL's low-level
// functions (no EVP: its provider machinery costs ~2 MB of RSS, see digest.cpp); HMAC, HKDF and
// PBKDF2 are built on them. Pure functions: any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace pylon::proto {

using Sha256 = std::array<uint8_t, 32>;

Sha256 sha256(std::span<const uint8_t> data) noexcept;
Sha256 sha256(std::string_view data) noexcept;

void hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> data,
                 std::span<uint8_t, 32> out) noexcept;
void hmac_sha512(std::span<const uint8_t> key, std::span<const uint8_t> data,
                 std::span<uint8_t, 64> out) noexcept;

// HKDF-Extract(salt, ikm) with SHA-256 (the HMAC key is the salt).
void hkdf_sha256_extract(std::span<const uint8_t> salt, std::span<const uint8_t> ikm,
                         std::span<uint8_t, 32> prk) noexcept;
// HKDF-Expand(prk, info, out.size()) with SHA-256; out.size() <= 255 * 32.
void hkdf_sha256_expand(std::span<const uint8_t> prk, std::span<const uint8_t> info,
                        std::span<uint8_t> out) noexcept;

// RIPEMD160(SHA256(data)).
std::array<uint8_t, 20> hash160(std::span<const uint8_t> data) noexcept;

// PBKDF2-HMAC-SHA512.
void pbkdf2_sha512(std::string_view password, std::span<const uint8_t> salt, uint32_t rounds,
                   std::span<uint8_t> out) noexcept;

// Constant-time equality of two equal-length byte ranges.
[[nodiscard]] bool equal_constant_time(std::span<const uint8_t> a,
                                       std::span<const uint8_t> b) noexcept;

}  // namespace pylon::proto
