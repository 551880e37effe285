#include "proto/reject.hpp"

#include <cstddef>

namespace pylon::proto {
namespace {

struct Names {
    std::string_view name;
    std::string_view text;
};

// Indexed by the enum value; the order must follow reject.hpp.
constexpr Names k_names[] = {
    {"none", "accepted"},
    {"too_large", "too large"},
    {"json_syntax", "not valid JSON"},
    {"json_depth", "JSON nested too deeply"},
    {"bad_number", "a number malformed or beyond 64 bits"},
    {"wrong_type", "wrong type"},
    {"missing_field", "missing field"},
    {"duplicate_field", "duplicate field"},
    {"unknown_field", "unknown field"},
    {"invalid_utf8", "invalid UTF-8"},
    {"string_too_long", "string too long"},
    {"bad_hex", "bad hex"},
    {"bad_kind", "bad kind"},
    {"bad_created_at", "bad created_at"},
    {"too_many_tags", "too many tags"},
    {"empty_tag", "empty tag"},
    {"too_many_tag_elements", "too many tag elements"},
    {"tag_value_too_long", "tag value too long"},
    {"content_too_long", "content too long"},
    {"event_too_large", "event too large"},
    {"bad_event_id", "bad event id"},
    {"bad_pubkey", "bad pubkey"},
    {"bad_signature", "bad signature"},
    {"not_array", "message is not an array"},
    {"unknown_message", "unknown message type"},
    {"bad_arity", "wrong number of message elements"},
    {"bad_subid", "bad subscription id"},
    {"too_many_filters", "too many filters"},
    {"too_many_values", "too many filter values"},
    {"bad_filter_value", "bad filter value"},
    {"wrong_kind", "wrong kind"},
    {"bad_input", "bad i tag"},
    {"bad_input_type", "unknown input type"},
    {"bad_param", "bad param"},
    {"bad_amount", "bad amount"},
    {"bad_status", "bad status"},
    {"bad_tag", "bad tag"},
    {"too_many_inputs", "too many job tags"},
    {"not_encrypted", "not encrypted"},
    {"bad_base64", "invalid base64"},
    {"bad_payload_length", "invalid payload length"},
    {"unknown_version", "unknown encryption version"},
    {"bad_mac", "invalid MAC"},
    {"bad_padding", "invalid padding"},
    {"bad_key", "bad key"},
    {"bad_bech32", "invalid bech32"},
    {"bad_checksum", "bad bech32 checksum"},
    {"wrong_prefix", "wrong bech32 prefix"},
    {"bad_tlv", "bad TLV"},
};

constexpr size_t k_count = sizeof k_names / sizeof k_names[0];
static_assert(k_count == static_cast<size_t>(Reject::bad_tlv) + 1,
              "k_names must list every Reject value");

}  // namespace

std::string_view reject_text(Reject reason) noexcept {
    auto i = static_cast<size_t>(reason);
    return i < k_count ? k_names[i].text : "unknown rejection";
}

std::string_view reject_name(Reject reason) noexcept {
    auto i = static_cast<size_t>(reason);
    return i < k_count ? k_names[i].name : "unknown";
}

}  // namespace pylon::proto
