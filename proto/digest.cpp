#include "proto/digest.hpp"

#include <memory>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include "reactor/assert.hpp"

namespace pylon::proto {
namespace {

EVP_KDF* hkdf_kdf() noexcept {
    // Fetched once; OpenSSL documents fetched algorithms as shareable between threads.
    static EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
    PYLON_ASSERT_MSG(kdf != nullptr, "OpenSSL has no HKDF");
    return kdf;
}

void hkdf_run(int mode, std::span<const uint8_t> key, std::span<const uint8_t> salt,
              std::span<const uint8_t> info, std::span<uint8_t> out) noexcept {
    EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(hkdf_kdf());
    PYLON_ASSERT(ctx != nullptr);
    char digest[] = "SHA256";
    OSSL_PARAM params[6];
    size_t n = 0;
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
    params[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    // OSSL_PARAM takes non-const pointers but only reads these buffers.
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                    const_cast<uint8_t*>(key.data()), key.size());
    if (!salt.empty()) {
        params[n++] = OSSL_PARAM_construct_octet_string(
            OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt.data()), salt.size());
    }
    if (!info.empty()) {
        params[n++] = OSSL_PARAM_construct_octet_string(
            OSSL_KDF_PARAM_INFO, const_cast<uint8_t*>(info.data()), info.size());
    }
    params[n] = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(ctx, out.data(), out.size(), params);
    EVP_KDF_CTX_free(ctx);
    PYLON_ASSERT_MSG(ok == 1, "HKDF failed");
}

}  // namespace

Sha256 sha256(std::span<const uint8_t> data) noexcept {
    // OpenSSL 3's SHA256() and EVP_sha256() look the algorithm up on every call; the event id is
    // on the hot path, so the fetched algorithm is kept per process and a context per thread.
    static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    PYLON_ASSERT_MSG(md != nullptr, "OpenSSL has no SHA256");
    thread_local std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(),
                                                                        EVP_MD_CTX_free);
    PYLON_ASSERT(ctx != nullptr);
    Sha256 out;
    unsigned int len = 0;
    int ok = EVP_DigestInit_ex2(ctx.get(), md, nullptr);
    ok &= EVP_DigestUpdate(ctx.get(), data.data(), data.size());
    ok &= EVP_DigestFinal_ex(ctx.get(), out.data(), &len);
    PYLON_ASSERT(ok == 1 && len == out.size());
    return out;
}

Sha256 sha256(std::string_view data) noexcept {
    return sha256(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

void hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> data,
                 std::span<uint8_t, 32> out) noexcept {
    unsigned int len = 0;
    auto* r = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(),
                   out.data(), &len);
    PYLON_ASSERT(r != nullptr && len == 32);
}

void hmac_sha512(std::span<const uint8_t> key, std::span<const uint8_t> data,
                 std::span<uint8_t, 64> out) noexcept {
    unsigned int len = 0;
    auto* r = HMAC(EVP_sha512(), key.data(), static_cast<int>(key.size()), data.data(), data.size(),
                   out.data(), &len);
    PYLON_ASSERT(r != nullptr && len == 64);
}

void hkdf_sha256_extract(std::span<const uint8_t> salt, std::span<const uint8_t> ikm,
                         std::span<uint8_t, 32> prk) noexcept {
    hkdf_run(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, ikm, salt, {}, prk);
}

void hkdf_sha256_expand(std::span<const uint8_t> prk, std::span<const uint8_t> info,
                        std::span<uint8_t> out) noexcept {
    PYLON_ASSERT(out.size() <= 255 * 32);
    hkdf_run(EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, {}, info, out);
}

std::array<uint8_t, 20> hash160(std::span<const uint8_t> data) noexcept {
    Sha256 first = sha256(data);
    std::array<uint8_t, 20> out{};
    unsigned int len = 0;
    int ok = EVP_Digest(first.data(), first.size(), out.data(), &len, EVP_ripemd160(), nullptr);
    PYLON_ASSERT_MSG(ok == 1 && len == 20, "RIPEMD-160 unavailable");
    return out;
}

void pbkdf2_sha512(std::string_view password, std::span<const uint8_t> salt, uint32_t rounds,
                   std::span<uint8_t> out) noexcept {
    int ok = PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                               static_cast<int>(salt.size()), static_cast<int>(rounds),
                               EVP_sha512(), static_cast<int>(out.size()), out.data());
    PYLON_ASSERT(ok == 1);
}

bool equal_constant_time(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace pylon::proto
