// ExtendedKey: a BIP-32 extended private key (secret key + chain code + position in the tree)
// and its private child derivation, hardened (index >= 2^31) and normal, as NIP-06 needs
// (m/44'/1237'/<account>'/0/0). Child keys use secp256k1_ec_seckey_tweak_add (mod-n add with the
// range checks); an index whose IL >= n or child key is 0 returns an error (probability below
// 2^-127; BIP-32 says to skip to the next index, which the caller may do). xprv/xpub
// serialisation (Base58Check) is provided for tests against the published vectors, and
// check_extended_key_text validates any serialised key by the rules of BIP-32 test vector 5.
// Secrets are wiped on destruction. Values; any thread.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "proto/keys.hpp"
#include "proto/secret.hpp"
#include "reactor/result.hpp"

namespace pylon::proto {

class ExtendedKey {
  public:
    static constexpr uint32_t hardened = 0x80000000u;
    static constexpr size_t path_depth_max = 32;

    // The master key: HMAC-SHA512("Bitcoin seed", seed); seed is 16..64 bytes.
    static Result<ExtendedKey> from_seed(std::span<const uint8_t> seed);
    // Parses an xprv (mainnet private version); for xpub text use check_extended_key_text.
    static Result<ExtendedKey> from_xprv(std::string_view text);

    Result<ExtendedKey> derive_child(uint32_t index) const;
    // "m/44'/1237'/0'/0/0" from the master, or a relative "0/0" from any key; ' or h marks
    // hardened indexes.
    Result<ExtendedKey> derive_path(std::string_view path) const;

    std::span<const uint8_t, 32> secret() const noexcept { return secret_.span(); }
    std::span<const uint8_t, 32> chain_code() const noexcept { return chain_code_.span(); }
    uint8_t depth() const noexcept { return depth_; }
    uint32_t parent_fingerprint() const noexcept { return parent_fingerprint_; }
    uint32_t child_number() const noexcept { return child_number_; }

    std::array<uint8_t, 33> public_key_compressed() const;
    uint32_t fingerprint() const;  // first 4 bytes of HASH160(compressed public key)
    Result<SecretKey> secret_key() const;

    std::string to_xprv() const;
    std::string to_xpub() const;

  private:
    ExtendedKey() = default;

    SecretBytes<32> secret_;
    SecretBytes<32> chain_code_;
    uint8_t depth_ = 0;
    uint32_t parent_fingerprint_ = 0;
    uint32_t child_number_ = 0;
};

// Ok if text is a well-formed mainnet xprv or xpub (checksum, version, depth/parent/index
// consistency, key prefix, private key in 1..n-1, public key on the curve); otherwise the reason.
Status check_extended_key_text(std::string_view text);

}  // namespace pylon::proto
