#include "proto/digest.hpp"

// OpenSSL 3 marks the low-level digest API (SHA256_Init, SHA512_Init, RIPEMD160_Init) deprecated
// in favour of EVP, but EVP goes through the provider machinery: the first EVP_MD fetch loads
// the configuration, activates the default provider and registers every algorithm, which alone
// faults ~2 MB of libcrypto into the node's RSS (bench/README.md, "Idle RSS"). The low-level
// functions run the same block code (SHA-NI/AVX2 assembly) without a lookup. HMAC, HKDF and
// PBKDF2 are built on them here (RFC 2104, RFC 5869, RFC 8018); the unit test checks each
// against OpenSSL's EVP implementation.
#define OPENSSL_SUPPRESS_DEPRECATED

#include <openssl/crypto.h>
#include <openssl/ripemd.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>

#include "reactor/assert.hpp"

namespace pylon::proto {
namespace {

struct Sha256Hash {
    using Context = SHA256_CTX;
    static constexpr size_t block_bytes = SHA256_CBLOCK;
    static constexpr size_t digest_bytes = SHA256_DIGEST_LENGTH;
    static void init(Context* c) noexcept { SHA256_Init(c); }
    static void update(Context* c, const void* data, size_t size) noexcept {
        SHA256_Update(c, data, size);
    }
    static void final(Context* c, uint8_t* out) noexcept { SHA256_Final(out, c); }
};

struct Sha512Hash {
    using Context = SHA512_CTX;
    static constexpr size_t block_bytes = SHA512_CBLOCK;
    static constexpr size_t digest_bytes = SHA512_DIGEST_LENGTH;
    static void init(Context* c) noexcept { SHA512_Init(c); }
    static void update(Context* c, const void* data, size_t size) noexcept {
        SHA512_Update(c, data, size);
    }
    static void final(Context* c, uint8_t* out) noexcept { SHA512_Final(out, c); }
};

// HMAC (RFC 2104) over one of the hashes above. The keyed inner and outer states are kept, so a
// copy of a fresh Hmac restarts the MAC under the same key without rehashing the pads (PBKDF2).
// Wipes its key-derived state when destroyed.
template <class H>
class Hmac {
  public:
    explicit Hmac(std::span<const uint8_t> key) noexcept {
        uint8_t block[H::block_bytes] = {};
        if (key.size() > H::block_bytes) {
            typename H::Context c;
            H::init(&c);
            H::update(&c, key.data(), key.size());
            H::final(&c, block);
            OPENSSL_cleanse(&c, sizeof c);
        } else if (!key.empty()) {
            std::memcpy(block, key.data(), key.size());
        }
        uint8_t pad[H::block_bytes];
        for (size_t i = 0; i < H::block_bytes; i++) {
            pad[i] = static_cast<uint8_t>(block[i] ^ 0x36);
        }
        H::init(&inner_);
        H::update(&inner_, pad, sizeof pad);
        for (size_t i = 0; i < H::block_bytes; i++) {
            pad[i] = static_cast<uint8_t>(block[i] ^ 0x5c);
        }
        H::init(&outer_);
        H::update(&outer_, pad, sizeof pad);
        OPENSSL_cleanse(block, sizeof block);
        OPENSSL_cleanse(pad, sizeof pad);
    }
    Hmac(const Hmac&) noexcept = default;
    Hmac& operator=(const Hmac&) = delete;
    ~Hmac() {
        OPENSSL_cleanse(&inner_, sizeof inner_);
        OPENSSL_cleanse(&outer_, sizeof outer_);
    }

    void update(std::span<const uint8_t> data) noexcept {
        H::update(&inner_, data.data(), data.size());
    }
    // Ends this MAC; the object is spent afterwards.
    void finish(std::span<uint8_t, H::digest_bytes> out) noexcept {
        uint8_t inner_digest[H::digest_bytes];
        H::final(&inner_, inner_digest);
        H::update(&outer_, inner_digest, sizeof inner_digest);
        H::final(&outer_, out.data());
        OPENSSL_cleanse(inner_digest, sizeof inner_digest);
    }

  private:
    typename H::Context inner_;
    typename H::Context outer_;
};

}  // namespace

Sha256 sha256(std::span<const uint8_t> data) noexcept {
    SHA256_CTX c;
    SHA256_Init(&c);
    SHA256_Update(&c, data.data(), data.size());
    Sha256 out;
    SHA256_Final(out.data(), &c);
    return out;
}

Sha256 sha256(std::string_view data) noexcept {
    return sha256(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

void hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> data,
                 std::span<uint8_t, 32> out) noexcept {
    Hmac<Sha256Hash> mac(key);
    mac.update(data);
    mac.finish(out);
}

void hmac_sha512(std::span<const uint8_t> key, std::span<const uint8_t> data,
                 std::span<uint8_t, 64> out) noexcept {
    Hmac<Sha512Hash> mac(key);
    mac.update(data);
    mac.finish(out);
}

void hkdf_sha256_extract(std::span<const uint8_t> salt, std::span<const uint8_t> ikm,
                         std::span<uint8_t, 32> prk) noexcept {
    // An absent salt is HashLen zero bytes, which HMAC's zero padding of the key already gives.
    hmac_sha256(salt, ikm, prk);
}

void hkdf_sha256_expand(std::span<const uint8_t> prk, std::span<const uint8_t> info,
                        std::span<uint8_t> out) noexcept {
    PYLON_ASSERT(out.size() <= 255 * 32);
    const Hmac<Sha256Hash> keyed(prk);
    std::array<uint8_t, 32> t{};
    size_t done = 0;
    for (uint8_t counter = 1; done < out.size(); counter++) {
        Hmac<Sha256Hash> mac(keyed);
        if (counter > 1) {
            mac.update(t);
        }
        mac.update(info);
        mac.update(std::span<const uint8_t>(&counter, 1));
        mac.finish(t);
        size_t n = std::min(t.size(), out.size() - done);
        std::memcpy(out.data() + done, t.data(), n);
        done += n;
    }
    OPENSSL_cleanse(t.data(), t.size());
}

std::array<uint8_t, 20> hash160(std::span<const uint8_t> data) noexcept {
    Sha256 first = sha256(data);
    RIPEMD160_CTX c;
    RIPEMD160_Init(&c);
    RIPEMD160_Update(&c, first.data(), first.size());
    std::array<uint8_t, 20> out{};
    RIPEMD160_Final(out.data(), &c);
    return out;
}

void pbkdf2_sha512(std::string_view password, std::span<const uint8_t> salt, uint32_t rounds,
                   std::span<uint8_t> out) noexcept {
    PYLON_ASSERT(rounds >= 1);
    const Hmac<Sha512Hash> keyed(std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(password.data()), password.size()));
    std::array<uint8_t, 64> u{};
    std::array<uint8_t, 64> t{};
    size_t done = 0;
    for (uint32_t block = 1; done < out.size(); block++) {
        const uint8_t index[4] = {static_cast<uint8_t>(block >> 24),
                                  static_cast<uint8_t>(block >> 16),
                                  static_cast<uint8_t>(block >> 8), static_cast<uint8_t>(block)};
        Hmac<Sha512Hash> first(keyed);
        first.update(salt);
        first.update(index);
        first.finish(u);
        t = u;
        for (uint32_t r = 1; r < rounds; r++) {
            Hmac<Sha512Hash> next(keyed);
            next.update(u);
            next.finish(u);
            for (size_t i = 0; i < t.size(); i++) {
                t[i] = static_cast<uint8_t>(t[i] ^ u[i]);
            }
        }
        size_t n = std::min(t.size(), out.size() - done);
        std::memcpy(out.data() + done, t.data(), n);
        done += n;
    }
    OPENSSL_cleanse(u.data(), u.size());
    OPENSSL_cleanse(t.data(), t.size());
}

bool equal_constant_time(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace pylon::proto
