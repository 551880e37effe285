// HandlerAnnouncement: the NIP-89 handler information event (kind 31990, addressable) that tells
// clients which NIP-90 job kinds this node serves: a stable `d` tag (so re-announcing replaces
// the old event), one `k` tag per supported request kind, and kind-0-style metadata JSON as
// content (name, about, picture, lud16, the DVM extensions encryptionSupported and nip90Params).
// Built and read; values; any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/event.hpp"
#include "proto/json_reader.hpp"
#include "proto/keys.hpp"
#include "proto/random_source.hpp"
#include "proto/reject.hpp"

namespace pylon::proto {

inline constexpr uint32_t handler_announcement_kind = 31990;

struct HandlerMetadata {
    std::string name;
    std::string about;
    std::string picture;
    std::string lud16;
    bool encryption_supported = false;
    std::string nip90_params_json;  // a JSON object describing accepted params, "" = none
};

struct HandlerAnnouncement {
    std::string d;                // stable identifier
    std::vector<uint32_t> kinds;  // request kinds served (one `k` tag each)
    HandlerMetadata metadata;

    // A stable d value: the first 16 hex characters of sha256(name || pubkey hex), as nostrdvm
    // derives it, so the same node and name always replace their previous announcement.
    static std::string stable_d(std::string_view name, const PublicKey& pubkey);

    // Builds and signs the kind-31990 event. nip90_params_json must be a JSON object (asserted
    // by the caller's config validation; it is embedded as is).
    void build(int64_t created_at, const Keypair& keys, RandomSource& random, Event& out) const;
    // Reads d, k and the metadata fields we know; unknown content fields are ignored.
    Reject read(const Event& event, JsonReader& reader);
};

}  // namespace pylon::proto
