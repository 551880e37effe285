// PayloadCipher: the scheme-agnostic front of NIP-44 v2 and NIP-04 for encrypted DVM jobs. A
// payload containing "?iv=" is NIP-04; otherwise it must base64-decode to a NIP-44 v2 payload
// (byte 0 = 2). decrypt_payload reports which scheme the customer used so the reply (result and
// feedback) can use the same one; encrypt_payload encrypts with a chosen scheme. Pure functions:
// any thread. Shared keys are derived per call and wiped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proto/keys.hpp"
#include "proto/limits.hpp"
#include "proto/random_source.hpp"
#include "proto/reject.hpp"

namespace pylon::proto {

enum class Cipher : uint8_t { none, nip04, nip44 };

std::string_view cipher_name(Cipher cipher) noexcept;  // "none", "nip04", "nip44"

// The scheme a payload is written in (by its shape only; it may still fail to decrypt).
Cipher detect_cipher(std::string_view payload) noexcept;

// Decrypts a payload that peer encrypted to us. Sets used to the detected scheme.
Reject decrypt_payload(const SecretKey& ours, const PublicKey& peer, std::string_view payload,
                       std::string& plaintext, Cipher& used, const Limits& limits = Limits{});

// Appends the payload to out. cipher must be nip04 or nip44; Reject::bad_payload_length if the
// plaintext does not fit the scheme (NIP-44: 1..65535 bytes).
Reject encrypt_payload(Cipher cipher, const SecretKey& ours, const PublicKey& peer,
                       std::string_view plaintext, RandomSource& random, std::string& out);

// The payload length for a plaintext of that size under cipher (plaintext size for none).
size_t cipher_payload_chars(Cipher cipher, size_t plaintext_bytes) noexcept;

}  // namespace pylon::proto
