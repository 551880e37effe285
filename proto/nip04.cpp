#include "proto/nip04.hpp"

#include <array>
#include <vector>

#include <openssl/evp.h>

#include "proto/base64.hpp"
#include "reactor/assert.hpp"

namespace pylon::proto {
namespace {

constexpr std::string_view k_iv_marker = "?iv=";
constexpr size_t k_block_bytes = 16;

}  // namespace

Reject nip04_shared_key(const SecretKey& ours, const PublicKey& peer, Nip04Key& out) {
    return ecdh_shared_x(ours, peer, out) ? Reject::none : Reject::bad_key;
}

size_t nip04_payload_chars(size_t plaintext_bytes) noexcept {
    size_t cipher = (plaintext_bytes / k_block_bytes + 1) * k_block_bytes;
    return base64_encoded_bytes(cipher) + k_iv_marker.size() + base64_encoded_bytes(k_block_bytes);
}

void nip04_encrypt(const Nip04Key& key, std::string_view plaintext, std::span<const uint8_t, 16> iv,
                   std::string& out) {
    std::vector<uint8_t> cipher(plaintext.size() + k_block_bytes);
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    PYLON_ASSERT(ctx != nullptr);
    int len1 = 0;
    int len2 = 0;
    int ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), nullptr, key.data(), iv.data());
    ok &= EVP_EncryptUpdate(ctx, cipher.data(), &len1,
                            reinterpret_cast<const uint8_t*>(plaintext.data()),
                            static_cast<int>(plaintext.size()));
    ok &= EVP_EncryptFinal_ex(ctx, cipher.data() + len1, &len2);
    EVP_CIPHER_CTX_free(ctx);
    PYLON_ASSERT_MSG(ok == 1, "AES-256-CBC encryption failed");
    cipher.resize(static_cast<size_t>(len1 + len2));
    base64_append(out, cipher);
    out.append(k_iv_marker);
    base64_append(out, iv);
}

void nip04_encrypt(const Nip04Key& key, std::string_view plaintext, RandomSource& random,
                   std::string& out) {
    std::array<uint8_t, 16> iv{};
    random.fill(iv);
    nip04_encrypt(key, plaintext, iv, out);
}

Reject nip04_decrypt(const Nip04Key& key, std::string_view payload, std::string& plaintext,
                     size_t payload_chars_max) {
    plaintext.clear();
    if (payload.size() > payload_chars_max) {
        return Reject::bad_payload_length;
    }
    size_t marker = payload.find(k_iv_marker);
    if (marker == std::string_view::npos) {
        return Reject::bad_payload_length;
    }
    std::vector<uint8_t> cipher;
    std::vector<uint8_t> iv;
    if (!base64_decode(payload.substr(0, marker), cipher) ||
        !base64_decode(payload.substr(marker + k_iv_marker.size()), iv)) {
        return Reject::bad_base64;
    }
    if (iv.size() != k_block_bytes || cipher.empty() || cipher.size() % k_block_bytes != 0) {
        return Reject::bad_payload_length;
    }
    std::vector<uint8_t> plain(cipher.size() + k_block_bytes);
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    PYLON_ASSERT(ctx != nullptr);
    int len1 = 0;
    int len2 = 0;
    int ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), nullptr, key.data(), iv.data());
    PYLON_ASSERT(ok == 1);
    ok =
        EVP_DecryptUpdate(ctx, plain.data(), &len1, cipher.data(), static_cast<int>(cipher.size()));
    PYLON_ASSERT(ok == 1);
    ok = EVP_DecryptFinal_ex(ctx, plain.data() + len1, &len2);  // 0 on bad PKCS#7 padding
    EVP_CIPHER_CTX_free(ctx);
    Reject r = Reject::none;
    if (ok != 1) {
        r = Reject::bad_padding;
    } else {
        plaintext.assign(reinterpret_cast<const char*>(plain.data()),
                         static_cast<size_t>(len1 + len2));
    }
    wipe_bytes(plain.data(), plain.size());
    return r;
}

}  // namespace pylon::proto
