#include "proto/payload_cipher.hpp"

#include "proto/nip04.hpp"
#include "proto/nip44.hpp"
#include "reactor/assert.hpp"

namespace pylon::proto {

std::string_view cipher_name(Cipher cipher) noexcept {
    switch (cipher) {
        case Cipher::none:
            return "none";
        case Cipher::nip04:
            return "nip04";
        case Cipher::nip44:
            return "nip44";
    }
    return "unknown";
}

Cipher detect_cipher(std::string_view payload) noexcept {
    return payload.find("?iv=") != std::string_view::npos ? Cipher::nip04 : Cipher::nip44;
}

Reject decrypt_payload(const SecretKey& ours, const PublicKey& peer, std::string_view payload,
                       std::string& plaintext, Cipher& used, const Limits& limits) {
    used = detect_cipher(payload);
    if (payload.size() > limits.encrypted_payload_bytes_max) {
        return Reject::too_large;
    }
    if (used == Cipher::nip04) {
        Nip04Key key;
        Reject r = nip04_shared_key(ours, peer, key);
        if (r != Reject::none) {
            return r;
        }
        return nip04_decrypt(key, payload, plaintext, limits.encrypted_payload_bytes_max);
    }
    // Cheap shape checks before the ECDH (nip44_decrypt repeats them).
    if (!payload.empty() && payload[0] == '#') {
        return Reject::unknown_version;
    }
    if (payload.size() < nip44_payload_chars_min || payload.size() > nip44_payload_chars_max) {
        return Reject::bad_payload_length;
    }
    Nip44ConversationKey key;
    Reject r = nip44_conversation_key(ours, peer, key);
    if (r != Reject::none) {
        return r;
    }
    return nip44_decrypt(key, payload, plaintext);
}

Reject encrypt_payload(Cipher cipher, const SecretKey& ours, const PublicKey& peer,
                       std::string_view plaintext, RandomSource& random, std::string& out) {
    PYLON_ASSERT(cipher != Cipher::none);
    if (cipher == Cipher::nip04) {
        Nip04Key key;
        Reject r = nip04_shared_key(ours, peer, key);
        if (r == Reject::none) {
            nip04_encrypt(key, plaintext, random, out);
        }
        return r;
    }
    Nip44ConversationKey key;
    Reject r = nip44_conversation_key(ours, peer, key);
    if (r != Reject::none) {
        return r;
    }
    return nip44_encrypt(key, plaintext, random, out);
}

size_t cipher_payload_chars(Cipher cipher, size_t plaintext_bytes) noexcept {
    switch (cipher) {
        case Cipher::none:
            return plaintext_bytes;
        case Cipher::nip04:
            return nip04_payload_chars(plaintext_bytes);
        case Cipher::nip44:
            return nip44_payload_chars(plaintext_bytes);
    }
    return plaintext_bytes;
}

}  // namespace pylon::proto
