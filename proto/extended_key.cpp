#include "proto/extended_key.hpp"

#include <charconv>
#include <cstring>
#include <vector>

#include <secp256k1.h>

#include "proto/base58.hpp"
#include "proto/digest.hpp"
#include "proto/secp.hpp"
#include "reactor/assert.hpp"

namespace pylon::proto {
namespace {

constexpr uint32_t k_version_xprv = 0x0488ADE4;
constexpr uint32_t k_version_xpub = 0x0488B21E;
constexpr size_t k_serialized_bytes = 78;
constexpr std::string_view k_master_hmac_key = "Bitcoin seed";

uint32_t read_be32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

void write_be32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

Error invalid(std::string context) {
    return Error(Errc::invalid_input, std::move(context));
}

// Parses one path component ("44'", "0", "1237h") into an index.
bool parse_component(std::string_view text, uint32_t& index) {
    bool hard = !text.empty() && (text.back() == '\'' || text.back() == 'h' || text.back() == 'H');
    if (hard) {
        text.remove_suffix(1);
    }
    uint32_t value = 0;
    auto res = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || res.ec != std::errc() || res.ptr != text.data() + text.size() ||
        value >= ExtendedKey::hardened) {
        return false;
    }
    index = hard ? value | ExtendedKey::hardened : value;
    return true;
}

}  // namespace

Result<ExtendedKey> ExtendedKey::from_seed(std::span<const uint8_t> seed) {
    if (seed.size() < 16 || seed.size() > 64) {
        return invalid("BIP-32 seed must be 16 to 64 bytes");
    }
    SecretBytes<64> i;
    hmac_sha512(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(k_master_hmac_key.data()),
                                         k_master_hmac_key.size()),
                seed, i.span());
    if (secp256k1_ec_seckey_verify(secp_context(), i.data()) != 1) {
        return invalid("BIP-32 master key out of range");
    }
    ExtendedKey key;
    std::memcpy(key.secret_.data(), i.data(), 32);
    std::memcpy(key.chain_code_.data(), i.data() + 32, 32);
    return key;
}

Result<ExtendedKey> ExtendedKey::derive_child(uint32_t index) const {
    if (depth_ == 255) {
        return invalid("BIP-32 depth limit reached");
    }
    SecretBytes<37> data;
    if (index >= hardened) {
        data[0] = 0;
        std::memcpy(data.data() + 1, secret_.data(), 32);
    } else {
        auto pub = public_key_compressed();
        std::memcpy(data.data(), pub.data(), 33);
    }
    write_be32(data.data() + 33, index);
    SecretBytes<64> i;
    hmac_sha512(chain_code_.span(), data.span(), i.span());
    ExtendedKey child;
    std::memcpy(child.secret_.data(), secret_.data(), 32);
    // tweak_add fails if IL >= n or the result is zero: this index is invalid.
    if (secp256k1_ec_seckey_tweak_add(secp_context(), child.secret_.data(), i.data()) != 1) {
        return invalid("BIP-32 child index " + std::to_string(index) + " is invalid");
    }
    std::memcpy(child.chain_code_.data(), i.data() + 32, 32);
    child.depth_ = static_cast<uint8_t>(depth_ + 1);
    child.parent_fingerprint_ = fingerprint();
    child.child_number_ = index;
    return child;
}

Result<ExtendedKey> ExtendedKey::derive_path(std::string_view path) const {
    if (path == "m" || path.starts_with("m/")) {
        if (depth_ != 0) {
            return invalid("an absolute BIP-32 path needs the master key");
        }
        if (path == "m/") {
            return invalid("BIP-32 path ends with '/'");
        }
        path.remove_prefix(path.size() == 1 ? 1 : 2);
    }
    ExtendedKey key = *this;
    size_t components = 0;
    while (!path.empty()) {
        size_t slash = path.find('/');
        std::string_view part = path.substr(0, slash);
        bool trailing = slash != std::string_view::npos && slash + 1 == path.size();
        path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
        uint32_t index = 0;
        if (trailing || !parse_component(part, index) || ++components > path_depth_max) {
            return invalid("bad BIP-32 path component \"" + std::string(part) + "\"");
        }
        auto child = key.derive_child(index);
        if (!child.ok()) {
            return std::move(child).error();
        }
        key = std::move(child).value();
    }
    return key;
}

std::array<uint8_t, 33> ExtendedKey::public_key_compressed() const {
    secp256k1_pubkey pub;
    int ok = secp256k1_ec_pubkey_create(secp_context(), &pub, secret_.data());
    PYLON_ASSERT(ok == 1);
    std::array<uint8_t, 33> out{};
    size_t len = out.size();
    ok = secp256k1_ec_pubkey_serialize(secp_context(), out.data(), &len, &pub,
                                       SECP256K1_EC_COMPRESSED);
    PYLON_ASSERT(ok == 1 && len == 33);
    return out;
}

uint32_t ExtendedKey::fingerprint() const {
    auto pub = public_key_compressed();
    auto h = hash160(pub);
    return read_be32(h.data());
}

Result<SecretKey> ExtendedKey::secret_key() const {
    return SecretKey::from_bytes(secret_.span());
}

std::string ExtendedKey::to_xprv() const {
    SecretBytes<k_serialized_bytes> data;
    write_be32(data.data(), k_version_xprv);
    data[4] = depth_;
    write_be32(data.data() + 5, parent_fingerprint_);
    write_be32(data.data() + 9, child_number_);
    std::memcpy(data.data() + 13, chain_code_.data(), 32);
    data[45] = 0;
    std::memcpy(data.data() + 46, secret_.data(), 32);
    return base58check_encode(data.span());
}

std::string ExtendedKey::to_xpub() const {
    std::array<uint8_t, k_serialized_bytes> data{};
    write_be32(data.data(), k_version_xpub);
    data[4] = depth_;
    write_be32(data.data() + 5, parent_fingerprint_);
    write_be32(data.data() + 9, child_number_);
    std::memcpy(data.data() + 13, chain_code_.data(), 32);
    auto pub = public_key_compressed();
    std::memcpy(data.data() + 45, pub.data(), 33);
    return base58check_encode(data);
}

Status check_extended_key_text(std::string_view text) {
    std::vector<uint8_t> data;
    if (!base58check_decode(text, data)) {
        return invalid("extended key: bad base58 or checksum");
    }
    Status result;
    if (data.size() != k_serialized_bytes) {
        result = invalid("extended key: wrong length");
    } else {
        uint32_t version = read_be32(data.data());
        uint8_t depth = data[4];
        const uint8_t* key = data.data() + 45;
        if (version != k_version_xprv && version != k_version_xpub) {
            result = invalid("extended key: unknown version");
        } else if (depth == 0 && read_be32(data.data() + 5) != 0) {
            result = invalid("extended key: zero depth with a parent fingerprint");
        } else if (depth == 0 && read_be32(data.data() + 9) != 0) {
            result = invalid("extended key: zero depth with a child index");
        } else if (version == k_version_xprv) {
            if (key[0] != 0) {
                result = invalid("extended key: private version with a public key");
            } else if (secp256k1_ec_seckey_verify(secp_context(), key + 1) != 1) {
                result = invalid("extended key: private key not in 1..n-1");
            }
        } else {
            secp256k1_pubkey pub;
            if (key[0] != 2 && key[0] != 3) {
                result = invalid("extended key: public version without a compressed public key");
            } else if (secp256k1_ec_pubkey_parse(secp_context(), &pub, key, 33) != 1) {
                result = invalid("extended key: public key not on the curve");
            }
        }
    }
    wipe_bytes(data.data(), data.size());
    return result;
}

Result<ExtendedKey> ExtendedKey::from_xprv(std::string_view text) {
    Status valid = check_extended_key_text(text);
    if (!valid.ok()) {
        return valid.error();
    }
    std::vector<uint8_t> data;
    bool ok = base58check_decode(text, data);
    PYLON_ASSERT(ok && data.size() == k_serialized_bytes);
    if (read_be32(data.data()) != k_version_xprv) {
        return invalid("extended key: not an xprv");
    }
    ExtendedKey key;
    key.depth_ = data[4];
    key.parent_fingerprint_ = read_be32(data.data() + 5);
    key.child_number_ = read_be32(data.data() + 9);
    std::memcpy(key.chain_code_.data(), data.data() + 13, 32);
    std::memcpy(key.secret_.data(), data.data() + 46, 32);
    wipe_bytes(data.data(), data.size());
    return key;
}

}  // namespace pylon::proto
