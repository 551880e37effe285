// Nip44: NIP-44 version 2 payload encryption (encrypted DVM job params, NWC). Conversation key =
// HKDF-Extract(salt "nip44-v2", unhashed ECDH x); per-message keys = HKDF-Expand(conversation key,
// nonce, 76); ChaCha20 (RFC 8439, counter 0; OpenSSL EVP_chacha20 with IV = 00000000 || nonce12)
// over the padded plaintext; HMAC-SHA256 over nonce || ciphertext, compared in constant time
// before anything is decrypted; payload = base64(0x02 || nonce || ciphertext || mac). Plaintexts
// are 1..65535 bytes (the pre-2026 bound every implementation accepts; the extended-length
// amendment is not followed). Decryption of hostile payloads is bounded (132..87472 base64
// characters, 99..65603 bytes) and answers with a Reject. Pure functions: any thread. Key buffers
// are wiped when done.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "proto/keys.hpp"
#include "proto/random_source.hpp"
#include "proto/reject.hpp"
#include "proto/secret.hpp"

namespace pylon::proto {

inline constexpr size_t nip44_plaintext_bytes_max = 65535;
inline constexpr size_t nip44_payload_chars_min = 132;
inline constexpr size_t nip44_payload_chars_max = 87472;

using Nip44ConversationKey = SecretBytes<32>;

struct Nip44MessageKeys {
    SecretBytes<32> chacha_key;
    std::array<uint8_t, 12> chacha_nonce{};
    SecretBytes<32> hmac_key;
};

// Reject::bad_key if peer is not an x coordinate on the curve.
Reject nip44_conversation_key(const SecretKey& ours, const PublicKey& peer,
                              Nip44ConversationKey& out);
void nip44_message_keys(const Nip44ConversationKey& key, std::span<const uint8_t, 32> nonce,
                        Nip44MessageKeys& out);

// calc_padded_len: the padded plaintext size (without the 2-byte length prefix).
size_t nip44_padded_bytes(size_t plaintext_bytes) noexcept;
// The base64 payload length for a plaintext of that size.
size_t nip44_payload_chars(size_t plaintext_bytes) noexcept;

// Appends the payload to out. Reject::bad_payload_length for an empty or > 65535-byte plaintext.
Reject nip44_encrypt(const Nip44ConversationKey& key, std::string_view plaintext,
                     std::span<const uint8_t, 32> nonce, std::string& out);
Reject nip44_encrypt(const Nip44ConversationKey& key, std::string_view plaintext,
                     RandomSource& random, std::string& out);

// Replaces plaintext with the decrypted bytes.
Reject nip44_decrypt(const Nip44ConversationKey& key, std::string_view payload,
                     std::string& plaintext);

}  // namespace pylon::proto
