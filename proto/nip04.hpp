// Nip04: legacy NIP-04 encryption, still needed because customers (Amethyst, the NIP-90 text)
// send encrypted job params with it: AES-256-CBC with PKCS#7 padding, key = the unhashed ECDH x
// coordinate, payload = base64(ciphertext) "?iv=" base64(iv16). Unauthenticated and malleable:
// use it only to answer a peer that used it. Decryption is bounded and answers hostile payloads
// with a Reject. Pure functions: any thread; keys are wiped when done.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "proto/keys.hpp"
#include "proto/random_source.hpp"
#include "proto/reject.hpp"
#include "proto/secret.hpp"

namespace pylon::proto {

using Nip04Key = SecretBytes<32>;

// Reject::bad_key if peer is not an x coordinate on the curve.
Reject nip04_shared_key(const SecretKey& ours, const PublicKey& peer, Nip04Key& out);

// The payload length for a plaintext of that size.
size_t nip04_payload_chars(size_t plaintext_bytes) noexcept;

// Appends the payload to out.
void nip04_encrypt(const Nip04Key& key, std::string_view plaintext, std::span<const uint8_t, 16> iv,
                   std::string& out);
void nip04_encrypt(const Nip04Key& key, std::string_view plaintext, RandomSource& random,
                   std::string& out);

// Replaces plaintext with the decrypted bytes. payload_chars_max bounds the input.
Reject nip04_decrypt(const Nip04Key& key, std::string_view payload, std::string& plaintext,
                     size_t payload_chars_max);

}  // namespace pylon::proto
