#include "proto/keys.hpp"

#include <array>
#include <cstring>
#include <memory>
#include <new>

#include <openssl/crypto.h>
#include <secp256k1.h>
#include <secp256k1_ecdh.h>
#include <secp256k1_schnorrsig.h>

#include "proto/hex.hpp"
#include "proto/secp.hpp"
#include "reactor/assert.hpp"

namespace pylon::proto {
namespace {

// secp256k1_ecdh hash function that returns the x coordinate unhashed.
int copy_x(unsigned char* output, const unsigned char* x32, const unsigned char* /*y32*/,
           void* /*data*/) {
    std::memcpy(output, x32, 32);
    return 1;
}

// The x-only keys verify() parsed last on this thread. Parsing lifts x to a curve point (a field
// square root, ~6 us: 3 % of a shard's time per job in pylon-bench's profile), and a node sees
// the same customers again and again. Direct-mapped by the key's first two bytes; a key is
// compared whole, so a collision only costs a parse. Only keys on the curve are kept. Allocated
// on a thread's first verification (~26 KB: the shards and the CLI's verifying thread).
class ParsedKeyCache {
  public:
    static constexpr std::size_t slots = 256;

    bool parse(const PublicKey& key, secp256k1_xonly_pubkey& out) noexcept {
        const auto& bytes = key.bytes();
        Slot& s = slots_[(static_cast<std::size_t>(bytes[0]) ^
                          (static_cast<std::size_t>(bytes[1]) << 4)) %
                         slots];
        if (s.used && s.key == bytes) {
            out = s.parsed;
            return true;
        }
        if (secp256k1_xonly_pubkey_parse(secp_context(), &out, bytes.data()) != 1) {
            return false;
        }
        s.key = bytes;
        s.parsed = out;
        s.used = true;
        return true;
    }

  private:
    struct Slot {
        std::array<uint8_t, 32> key{};
        secp256k1_xonly_pubkey parsed{};
        bool used = false;
    };
    std::array<Slot, slots> slots_{};
};

bool parse_cached(const PublicKey& key, secp256k1_xonly_pubkey& out) noexcept {
    thread_local std::unique_ptr<ParsedKeyCache> cache;
    if (!cache) {
        cache.reset(new (std::nothrow) ParsedKeyCache());
        if (!cache) {
            return secp256k1_xonly_pubkey_parse(secp_context(), &out, key.bytes().data()) == 1;
        }
    }
    return cache->parse(key, out);
}

}  // namespace

PublicKey::PublicKey(std::span<const uint8_t, 32> bytes) noexcept {
    std::memcpy(bytes_.data(), bytes.data(), 32);
}

bool PublicKey::set_hex(std::string_view hex) noexcept {
    std::array<uint8_t, 32> tmp{};
    if (!hex_decode(hex, tmp)) {
        return false;
    }
    bytes_ = tmp;
    return true;
}

bool PublicKey::on_curve() const noexcept {
    secp256k1_xonly_pubkey parsed;
    return secp256k1_xonly_pubkey_parse(secp_context(), &parsed, bytes_.data()) == 1;
}

std::string PublicKey::hex() const {
    return hex_encode(bytes_);
}

Result<SecretKey> SecretKey::from_bytes(std::span<const uint8_t, 32> bytes) {
    if (secp256k1_ec_seckey_verify(secp_context(), bytes.data()) != 1) {
        return Error(Errc::invalid_input, "secret key is 0 or not below the curve order");
    }
    SecretKey key;
    std::memcpy(key.bytes_.data(), bytes.data(), 32);
    return key;
}

Result<SecretKey> SecretKey::from_hex(std::string_view hex) {
    SecretBytes<32> tmp;
    if (!hex_decode(hex, tmp.span(), HexCase::any)) {
        return Error(Errc::invalid_input, "secret key is not 64 hex characters");
    }
    return from_bytes(tmp.span());
}

SecretKey SecretKey::generate(RandomSource& random) {
    SecretBytes<32> tmp;
    for (int attempt = 0; attempt < 64; ++attempt) {
        random.fill(tmp.span());
        auto key = from_bytes(tmp.span());
        if (key.ok()) {
            return std::move(key).value();
        }
    }
    PYLON_ASSERT_MSG(false, "random source keeps producing invalid secret keys");
    PYLON_UNREACHABLE();
}

std::string SecretKey::hex() const {
    return hex_encode(bytes_.span());
}

Result<Keypair> Keypair::from_secret(const SecretKey& secret) {
    Keypair kp(secret);
    if (secp256k1_keypair_create(secp_context(), &kp.keypair_, secret.bytes().data()) != 1) {
        return Error(Errc::invalid_input, "secret key rejected by libsecp256k1");
    }
    secp256k1_xonly_pubkey xonly;
    int ok = secp256k1_keypair_xonly_pub(secp_context(), &xonly, nullptr, &kp.keypair_);
    PYLON_ASSERT(ok == 1);
    ok = secp256k1_xonly_pubkey_serialize(secp_context(), kp.public_.bytes().data(), &xonly);
    PYLON_ASSERT(ok == 1);
    return kp;
}

Keypair::Keypair(const Keypair& other) noexcept
    : secret_(other.secret_), keypair_(other.keypair_), public_(other.public_) {}

Keypair& Keypair::operator=(const Keypair& other) noexcept {
    secret_ = other.secret_;
    keypair_ = other.keypair_;
    public_ = other.public_;
    return *this;
}

Keypair::~Keypair() {
    OPENSSL_cleanse(&keypair_, sizeof keypair_);
}

SignatureBytes Keypair::sign32(std::span<const uint8_t, 32> message,
                               RandomSource& random) const noexcept {
    SecretBytes<32> aux;
    random.fill(aux.span());
    return sign32_aux(message, aux.span());
}

SignatureBytes Keypair::sign32_aux(std::span<const uint8_t, 32> message,
                                   std::span<const uint8_t, 32> aux) const noexcept {
    SignatureBytes sig{};
    int ok = secp256k1_schnorrsig_sign32(secp_context(), sig.data(), message.data(), &keypair_,
                                         aux.data());
    PYLON_ASSERT_MSG(ok == 1, "schnorrsig_sign32 failed");
    return sig;
}

SignatureBytes Keypair::sign_custom(std::span<const uint8_t> message,
                                    std::span<const uint8_t, 32> aux) const noexcept {
    SignatureBytes sig{};
    secp256k1_schnorrsig_extraparams params = SECP256K1_SCHNORRSIG_EXTRAPARAMS_INIT;
    // The API takes a non-const pointer for ndata but only reads it.
    params.ndata = const_cast<uint8_t*>(aux.data());
    int ok = secp256k1_schnorrsig_sign_custom(secp_context(), sig.data(), message.data(),
                                              message.size(), &keypair_, &params);
    PYLON_ASSERT_MSG(ok == 1, "schnorrsig_sign_custom failed");
    return sig;
}

bool schnorr_verify(const PublicKey& key, std::span<const uint8_t> message,
                    std::span<const uint8_t, 64> signature) noexcept {
    secp256k1_xonly_pubkey parsed;
    if (!parse_cached(key, parsed)) {
        return false;
    }
    return secp256k1_schnorrsig_verify(secp_context(), signature.data(), message.data(),
                                       message.size(), &parsed) == 1;
}

bool ecdh_shared_x(const SecretKey& secret, const PublicKey& peer,
                   SecretBytes<32>& shared_x) noexcept {
    unsigned char compressed[33];
    compressed[0] = 0x02;  // lift_x: the even-y point
    std::memcpy(compressed + 1, peer.bytes().data(), 32);
    secp256k1_pubkey point;
    if (secp256k1_ec_pubkey_parse(secp_context(), &point, compressed, sizeof compressed) != 1) {
        return false;
    }
    return secp256k1_ecdh(secp_context(), shared_x.data(), &point, secret.bytes().data(), copy_x,
                          nullptr) == 1;
}

}  // namespace pylon::proto
