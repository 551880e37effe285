#include "proto/nip44.hpp"

#include <cstring>
#include <vector>

#include <openssl/evp.h>

#include "proto/base64.hpp"
#include "proto/digest.hpp"
#include "reactor/assert.hpp"

namespace pylon::proto {
namespace {

constexpr uint8_t k_version = 2;
constexpr size_t k_nonce_bytes = 32;
constexpr size_t k_mac_bytes = 32;
constexpr size_t k_decoded_bytes_min = 99;
constexpr size_t k_decoded_bytes_max = 65603;
constexpr std::string_view k_salt = "nip44-v2";

// ChaCha20 with a zero block counter; encryption and decryption are the same operation.
void chacha20(const Nip44MessageKeys& keys, const uint8_t* in, size_t size, uint8_t* out) {
    uint8_t iv[16] = {0, 0, 0, 0};
    std::memcpy(iv + 4, keys.chacha_nonce.data(), 12);
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    PYLON_ASSERT(ctx != nullptr);
    int ok = EVP_EncryptInit_ex(ctx, EVP_chacha20(), nullptr, keys.chacha_key.data(), iv);
    int out_len = 0;
    ok &= EVP_EncryptUpdate(ctx, out, &out_len, in, static_cast<int>(size));
    EVP_CIPHER_CTX_free(ctx);
    PYLON_ASSERT_MSG(ok == 1 && static_cast<size_t>(out_len) == size, "ChaCha20 failed");
}

}  // namespace

Reject nip44_conversation_key(const SecretKey& ours, const PublicKey& peer,
                              Nip44ConversationKey& out) {
    SecretBytes<32> shared;
    if (!ecdh_shared_x(ours, peer, shared)) {
        return Reject::bad_key;
    }
    auto salt =
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(k_salt.data()), k_salt.size());
    hkdf_sha256_extract(salt, shared.span(), out.span());
    return Reject::none;
}

void nip44_message_keys(const Nip44ConversationKey& key, std::span<const uint8_t, 32> nonce,
                        Nip44MessageKeys& out) {
    SecretBytes<76> okm;
    hkdf_sha256_expand(key.span(), nonce, std::span<uint8_t>(okm.data(), okm.size()));
    std::memcpy(out.chacha_key.data(), okm.data(), 32);
    std::memcpy(out.chacha_nonce.data(), okm.data() + 32, 12);
    std::memcpy(out.hmac_key.data(), okm.data() + 44, 32);
}

size_t nip44_padded_bytes(size_t plaintext_bytes) noexcept {
    if (plaintext_bytes <= 32) {
        return 32;
    }
    size_t next_power = 1;
    while (next_power < plaintext_bytes) {
        next_power <<= 1;
    }
    size_t chunk = next_power <= 256 ? 32 : next_power / 8;
    return chunk * ((plaintext_bytes - 1) / chunk + 1);
}

size_t nip44_payload_chars(size_t plaintext_bytes) noexcept {
    return base64_encoded_bytes(1 + k_nonce_bytes + 2 + nip44_padded_bytes(plaintext_bytes) +
                                k_mac_bytes);
}

Reject nip44_encrypt(const Nip44ConversationKey& key, std::string_view plaintext,
                     std::span<const uint8_t, 32> nonce, std::string& out) {
    if (plaintext.empty() || plaintext.size() > nip44_plaintext_bytes_max) {
        return Reject::bad_payload_length;
    }
    Nip44MessageKeys keys;
    nip44_message_keys(key, nonce, keys);
    size_t padded = 2 + nip44_padded_bytes(plaintext.size());
    // version || nonce || ciphertext || mac, built in one buffer.
    std::vector<uint8_t> buf(1 + k_nonce_bytes + padded + k_mac_bytes, 0);
    buf[0] = k_version;
    std::memcpy(buf.data() + 1, nonce.data(), k_nonce_bytes);
    uint8_t* body = buf.data() + 1 + k_nonce_bytes;
    body[0] = static_cast<uint8_t>(plaintext.size() >> 8);
    body[1] = static_cast<uint8_t>(plaintext.size() & 0xff);
    std::memcpy(body + 2, plaintext.data(), plaintext.size());
    chacha20(keys, body, padded, body);
    hmac_sha256(keys.hmac_key.span(),
                std::span<const uint8_t>(buf.data() + 1, k_nonce_bytes + padded),
                std::span<uint8_t, 32>(body + padded, k_mac_bytes));
    base64_append(out, buf);
    return Reject::none;
}

Reject nip44_encrypt(const Nip44ConversationKey& key, std::string_view plaintext,
                     RandomSource& random, std::string& out) {
    std::array<uint8_t, 32> nonce{};
    random.fill(nonce);
    return nip44_encrypt(key, plaintext, nonce, out);
}

Reject nip44_decrypt(const Nip44ConversationKey& key, std::string_view payload,
                     std::string& plaintext) {
    plaintext.clear();
    if (!payload.empty() && payload[0] == '#') {
        return Reject::unknown_version;
    }
    if (payload.size() < nip44_payload_chars_min || payload.size() > nip44_payload_chars_max) {
        return Reject::bad_payload_length;
    }
    std::vector<uint8_t> data;
    if (!base64_decode(payload, data)) {
        return Reject::bad_base64;
    }
    if (data.size() < k_decoded_bytes_min || data.size() > k_decoded_bytes_max) {
        return Reject::bad_payload_length;
    }
    if (data[0] != k_version) {
        return Reject::unknown_version;
    }
    auto nonce = std::span<const uint8_t, 32>(data.data() + 1, k_nonce_bytes);
    size_t cipher_bytes = data.size() - 1 - k_nonce_bytes - k_mac_bytes;
    Nip44MessageKeys keys;
    nip44_message_keys(key, nonce, keys);
    std::array<uint8_t, 32> mac{};
    hmac_sha256(keys.hmac_key.span(),
                std::span<const uint8_t>(data.data() + 1, k_nonce_bytes + cipher_bytes), mac);
    if (!equal_constant_time(
            mac, std::span<const uint8_t>(data.data() + data.size() - k_mac_bytes, k_mac_bytes))) {
        return Reject::bad_mac;
    }
    uint8_t* body = data.data() + 1 + k_nonce_bytes;
    chacha20(keys, body, cipher_bytes, body);
    size_t length = (size_t{body[0]} << 8) | body[1];
    Reject r = Reject::none;
    if (length == 0 || cipher_bytes != 2 + nip44_padded_bytes(length)) {
        r = Reject::bad_padding;
    } else {
        plaintext.assign(reinterpret_cast<const char*>(body + 2), length);
    }
    wipe_bytes(data.data(), data.size());
    return r;
}

}  // namespace pylon::proto
