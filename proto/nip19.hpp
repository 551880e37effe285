// Nip19: NIP-19 bech32 entities, the display and input forms of keys and ids (never valid inside
// events or filters). Encodes npub, nsec, note, nprofile and nevent; decodes those and naddr,
// reading the TLV forms tolerantly (unknown TLV types are skipped, relay strings kept) but
// refusing truncated records or a missing required one. Input is bounded by
// Limits::bech32_chars_max (5000). Config files may give keys as hex or bech32: parse_pubkey_text
// and parse_secret_text accept both. Values: any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/event.hpp"
#include "proto/keys.hpp"
#include "proto/limits.hpp"
#include "proto/reject.hpp"
#include "reactor/result.hpp"

namespace pylon::proto {

enum class Nip19Kind : uint8_t { npub, nsec, note, nprofile, nevent, naddr };

struct Nip19 {
    Nip19Kind kind = Nip19Kind::npub;
    // npub/nprofile: the pubkey; nsec: the secret (wiped on destruction); note/nevent: the id.
    // Unused for naddr.
    SecretBytes<32> bytes;
    std::vector<std::string> relays;     // TLV type 1
    std::optional<PublicKey> author;     // nevent/naddr TLV type 2
    std::optional<uint32_t> event_kind;  // nevent/naddr TLV type 3
    std::string identifier;              // naddr TLV type 0 (the d tag)
};

Reject nip19_decode(std::string_view text, Nip19& out, const Limits& limits = Limits{});

std::string npub_encode(const PublicKey& key);
std::string nsec_encode(const SecretKey& key);
std::string note_encode(const EventId& id);
std::string nprofile_encode(const PublicKey& key, std::span<const std::string> relays);
std::string nevent_encode(const EventId& id, std::span<const std::string> relays,
                          const std::optional<PublicKey>& author,
                          std::optional<uint32_t> event_kind);

// A public key given as 64 lowercase hex characters or as an npub; it must be a point's x
// (Reject::bad_pubkey otherwise).
Reject parse_pubkey_text(std::string_view text, PublicKey& out);
// A secret key given as 64 hex characters or as an nsec.
Result<SecretKey> parse_secret_text(std::string_view text);

}  // namespace pylon::proto
