// Keys: secp256k1 key types for Nostr. PublicKey is the 32-byte x-only (BIP-340) key as raw bytes;
// SecretKey is a 32-byte scalar in 1..n-1, wiped on destruction; Keypair is a SecretKey with its
// libsecp256k1 keypair and public key precomputed, ready to sign (BIP-340 Schnorr,
// secp256k1_schnorrsig_sign32 with 32 bytes of aux randomness) and to do ECDH (NIP-44/NIP-04
// shared x coordinate). Values: a Keypair may be shared read-only between threads (signing only
// reads it and the process-wide context, see secp.hpp).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <secp256k1_extrakeys.h>

#include "proto/random_source.hpp"
#include "proto/secret.hpp"
#include "reactor/result.hpp"

namespace pylon::proto {

using SignatureBytes = std::array<uint8_t, 64>;

class PublicKey {
  public:
    PublicKey() noexcept { bytes_.fill(0); }
    explicit PublicKey(std::span<const uint8_t, 32> bytes) noexcept;

    // Strict 64-char lowercase hex; false (and *this unchanged) otherwise. Does not check the
    // curve.
    [[nodiscard]] bool set_hex(std::string_view hex) noexcept;
    // True if the bytes are the x coordinate of a curve point (secp256k1_xonly_pubkey_parse).
    [[nodiscard]] bool on_curve() const noexcept;

    std::string hex() const;
    const std::array<uint8_t, 32>& bytes() const noexcept { return bytes_; }
    std::array<uint8_t, 32>& bytes() noexcept { return bytes_; }

    friend bool operator==(const PublicKey&, const PublicKey&) = default;

  private:
    std::array<uint8_t, 32> bytes_;
};

class SecretKey {
  public:
    // Rejects 0 and values >= n.
    static Result<SecretKey> from_bytes(std::span<const uint8_t, 32> bytes);
    static Result<SecretKey> from_hex(std::string_view hex);
    // A fresh key from the random source (retries the ~2^-128 invalid cases).
    static SecretKey generate(RandomSource& random);

    std::span<const uint8_t, 32> bytes() const noexcept { return bytes_.span(); }
    std::string hex() const;  // the secret in hex: for tests and explicit export only

  private:
    SecretKey() = default;
    SecretBytes<32> bytes_;
};

class Keypair {
  public:
    static Result<Keypair> from_secret(const SecretKey& secret);
    Keypair(const Keypair& other) noexcept;
    Keypair& operator=(const Keypair& other) noexcept;
    ~Keypair();

    const PublicKey& public_key() const noexcept { return public_; }
    const SecretKey& secret() const noexcept { return secret_; }

    // BIP-340 signature of a 32-byte message with fresh aux randomness from random.
    SignatureBytes sign32(std::span<const uint8_t, 32> message,
                          RandomSource& random) const noexcept;
    // With explicit aux bytes (vectors).
    SignatureBytes sign32_aux(std::span<const uint8_t, 32> message,
                              std::span<const uint8_t, 32> aux) const noexcept;
    // Variable-length message (BIP-340 vectors 15-18; Nostr only signs 32-byte ids).
    SignatureBytes sign_custom(std::span<const uint8_t> message,
                               std::span<const uint8_t, 32> aux) const noexcept;

  private:
    Keypair(const SecretKey& secret) : secret_(secret) {}

    SecretKey secret_;
    secp256k1_keypair keypair_{};
    PublicKey public_;
};

// BIP-340 verification; false also when the public key is not on the curve.
[[nodiscard]] bool schnorr_verify(const PublicKey& key, std::span<const uint8_t> message,
                                  std::span<const uint8_t, 64> signature) noexcept;

// The unhashed 32-byte x coordinate of secret * lift_x(public) (even y), as NIP-44 and NIP-04
// use it. False if the public key is not on the curve.
[[nodiscard]] bool ecdh_shared_x(const SecretKey& secret, const PublicKey& peer,
                                 SecretBytes<32>& shared_x) noexcept;

}  // namespace pylon::proto
