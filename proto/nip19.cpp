#include "proto/nip19.hpp"

#include <cstring>

#include "proto/bech32.hpp"
#include "proto/utf8.hpp"
#include "reactor/assert.hpp"

namespace pylon::proto {
namespace {

constexpr uint8_t k_tlv_special = 0;
constexpr uint8_t k_tlv_relay = 1;
constexpr uint8_t k_tlv_author = 2;
constexpr uint8_t k_tlv_kind = 3;
constexpr size_t k_tlv_value_bytes_max = 255;

void tlv_append(std::vector<uint8_t>& out, uint8_t type, std::span<const uint8_t> value) {
    PYLON_ASSERT(value.size() <= k_tlv_value_bytes_max);
    out.push_back(type);
    out.push_back(static_cast<uint8_t>(value.size()));
    out.insert(out.end(), value.begin(), value.end());
}

void tlv_append_relays(std::vector<uint8_t>& out, std::span<const std::string> relays) {
    for (const std::string& r : relays) {
        std::string_view v(r.data(), std::min(r.size(), k_tlv_value_bytes_max));
        tlv_append(out, k_tlv_relay,
                   std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
    }
}

Reject decode_tlv(std::span<const uint8_t> data, Nip19& out) {
    bool have_special = false;
    size_t i = 0;
    while (i < data.size()) {
        if (data.size() - i < 2) {
            return Reject::bad_tlv;
        }
        uint8_t type = data[i];
        size_t len = data[i + 1];
        i += 2;
        if (data.size() - i < len) {
            return Reject::bad_tlv;
        }
        std::span<const uint8_t> value = data.subspan(i, len);
        i += len;
        std::string_view text(reinterpret_cast<const char*>(value.data()), value.size());
        if (type == k_tlv_special && !have_special) {
            if (out.kind == Nip19Kind::naddr) {
                if (!utf8_valid(text)) {
                    return Reject::bad_tlv;
                }
                out.identifier.assign(text);
            } else {
                if (len != 32) {
                    return Reject::bad_tlv;
                }
                std::memcpy(out.bytes.data(), value.data(), 32);
            }
            have_special = true;
        } else if (type == k_tlv_relay) {
            if (!utf8_valid(text)) {
                return Reject::bad_tlv;
            }
            out.relays.emplace_back(text);
        } else if (type == k_tlv_author) {
            if (len != 32) {
                return Reject::bad_tlv;
            }
            out.author = PublicKey(std::span<const uint8_t, 32>(value.data(), 32));
        } else if (type == k_tlv_kind) {
            if (len != 4) {
                return Reject::bad_tlv;
            }
            out.event_kind = (uint32_t{value[0]} << 24) | (uint32_t{value[1]} << 16) |
                             (uint32_t{value[2]} << 8) | value[3];
        }
        // Unknown types are ignored, as NIP-19 asks.
    }
    if (!have_special) {
        return Reject::bad_tlv;
    }
    if (out.kind == Nip19Kind::naddr && (!out.author || !out.event_kind)) {
        return Reject::bad_tlv;
    }
    return Reject::none;
}

bool kind_from_hrp(std::string_view hrp, Nip19Kind& kind) {
    struct Entry {
        std::string_view hrp;
        Nip19Kind kind;
    };
    constexpr Entry table[] = {{"npub", Nip19Kind::npub},     {"nsec", Nip19Kind::nsec},
                               {"note", Nip19Kind::note},     {"nprofile", Nip19Kind::nprofile},
                               {"nevent", Nip19Kind::nevent}, {"naddr", Nip19Kind::naddr}};
    for (const Entry& e : table) {
        if (e.hrp == hrp) {
            kind = e.kind;
            return true;
        }
    }
    return false;
}

}  // namespace

Reject nip19_decode(std::string_view text, Nip19& out, const Limits& limits) {
    std::string hrp;
    std::vector<uint8_t> data;
    Reject r = bech32_decode(text, limits.bech32_chars_max, hrp, data);
    if (r != Reject::none) {
        return r;
    }
    out = Nip19{};
    if (!kind_from_hrp(hrp, out.kind)) {
        return Reject::wrong_prefix;
    }
    if (out.kind == Nip19Kind::npub || out.kind == Nip19Kind::nsec || out.kind == Nip19Kind::note) {
        if (data.size() != 32) {
            wipe_bytes(data.data(), data.size());
            return Reject::bad_bech32;
        }
        std::memcpy(out.bytes.data(), data.data(), 32);
        wipe_bytes(data.data(), data.size());
        return Reject::none;
    }
    return decode_tlv(data, out);
}

std::string npub_encode(const PublicKey& key) {
    return bech32_encode("npub", key.bytes());
}

std::string nsec_encode(const SecretKey& key) {
    return bech32_encode("nsec", key.bytes());
}

std::string note_encode(const EventId& id) {
    return bech32_encode("note", id);
}

std::string nprofile_encode(const PublicKey& key, std::span<const std::string> relays) {
    std::vector<uint8_t> data;
    tlv_append(data, k_tlv_special, key.bytes());
    tlv_append_relays(data, relays);
    return bech32_encode("nprofile", data);
}

std::string nevent_encode(const EventId& id, std::span<const std::string> relays,
                          const std::optional<PublicKey>& author,
                          std::optional<uint32_t> event_kind) {
    std::vector<uint8_t> data;
    tlv_append(data, k_tlv_special, id);
    tlv_append_relays(data, relays);
    if (author) {
        tlv_append(data, k_tlv_author, author->bytes());
    }
    if (event_kind) {
        uint32_t k = *event_kind;
        uint8_t be[4] = {static_cast<uint8_t>(k >> 24), static_cast<uint8_t>(k >> 16),
                         static_cast<uint8_t>(k >> 8), static_cast<uint8_t>(k)};
        tlv_append(data, k_tlv_kind, be);
    }
    return bech32_encode("nevent", data);
}

Reject parse_pubkey_text(std::string_view text, PublicKey& out) {
    PublicKey key;
    if (text.size() == 64) {
        if (!key.set_hex(text)) {
            return Reject::bad_hex;
        }
    } else {
        Nip19 decoded;
        Reject r = nip19_decode(text, decoded);
        if (r != Reject::none) {
            return r;
        }
        if (decoded.kind != Nip19Kind::npub) {
            return Reject::wrong_prefix;
        }
        key = PublicKey(decoded.bytes.span());
    }
    // 64 zeros or 64 f's are hex but no one's key: nothing signed by them can ever verify.
    if (!key.on_curve()) {
        return Reject::bad_pubkey;
    }
    out = key;
    return Reject::none;
}

Result<SecretKey> parse_secret_text(std::string_view text) {
    if (text.size() == 64) {
        return SecretKey::from_hex(text);
    }
    Nip19 decoded;
    Reject r = nip19_decode(text, decoded);
    if (r != Reject::none) {
        return Error(Errc::invalid_input,
                     std::string("secret key: ") + std::string(reject_text(r)));
    }
    if (decoded.kind != Nip19Kind::nsec) {
        return Error(Errc::invalid_input, "secret key: not an nsec");
    }
    return SecretKey::from_bytes(decoded.bytes.span());
}

}  // namespace pylon::proto
