// Reject: the closed list of reasons why proto/ refuses a piece of hostile or malformed input
// (an event, a relay message, a filter, a job request, an encrypted payload, a bech32 string).
// Every parser returns one; Reject::none means accepted. The engine counts them by value and
// answers with reject_text() (for example after an "invalid: " NIP-01 prefix). Plain values: any
// thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace pylon::proto {

enum class [[nodiscard]] Reject : uint8_t{
    none = 0,
    // JSON shape
    too_large,        // input above its byte bound
    json_syntax,      // not JSON
    json_depth,       // nested deeper than Limits::json_depth_max
    bad_number,       // a JSON number that is malformed or beyond 64 bits
    wrong_type,       // a field has the wrong JSON type
    missing_field,    // a required field is absent
    duplicate_field,  // a field appears twice
    unknown_field,    // a field we must understand is unknown (filters)
    invalid_utf8,     // a string is not valid UTF-8
    string_too_long,  // a string above its bound
    // events
    bad_hex,                // id/pubkey/sig not lowercase hex of the right length
    bad_kind,               // kind not an integer in 0..65535
    bad_created_at,         // created_at not a non-negative integer
    too_many_tags,          // more than Limits::tags_max
    empty_tag,              // a tag with no elements
    too_many_tag_elements,  // more than Limits::tag_elements_max
    tag_value_too_long,     // a tag string above its bound
    content_too_long,       // content above Limits::content_bytes_max
    event_too_large,        // normalised event above Limits::event_bytes_max
    bad_event_id,           // id differs from the hash of the serialisation
    bad_pubkey,             // pubkey is not a valid x-only point
    bad_signature,          // BIP-340 verification failed
    // relay messages and filters
    not_array,         // a message is not a JSON array
    unknown_message,   // first element is not a known message type
    bad_arity,         // wrong number of elements for the message type
    bad_subid,         // subscription id empty, too long or not a string
    too_many_filters,  // more than Limits::filters_per_req_max
    too_many_values,   // a filter list above Limits::filter_values_max
    bad_filter_value,  // a filter value of the wrong shape
    // NIP-90 and friends
    wrong_kind,       // the event kind does not fit the parser
    bad_input,        // malformed `i` tag
    bad_input_type,   // unknown `i` input type
    bad_param,        // malformed or out-of-range `param`
    bad_amount,       // malformed millisat amount or bid
    bad_status,       // missing or unknown feedback status
    bad_tag,          // another tag is malformed (e/p not 64 hex, ...)
    too_many_inputs,  // more i/param/relays/p tags than allowed
    not_encrypted,    // encryption expected but not marked
    // encrypted payloads (NIP-44, NIP-04)
    bad_base64,          // payload is not strict base64
    bad_payload_length,  // payload length outside the scheme's bounds
    unknown_version,     // NIP-44 version byte is not 2 (or a '#' payload)
    bad_mac,             // NIP-44 MAC mismatch
    bad_padding,         // padding or length prefix wrong after decryption
    bad_key,             // secret or public key unusable for ECDH
    // NIP-19 bech32
    bad_bech32,    // not bech32 (charset, case, separator, length)
    bad_checksum,  // bech32 checksum mismatch
    wrong_prefix,  // human-readable part is not the one expected
    bad_tlv,       // a TLV record is truncated or a required one is missing
};

// A short human text for a rejection ("bad event id", "tag value too long").
std::string_view reject_text(Reject reason) noexcept;

// A stable snake_case name, for metrics ("bad_event_id").
std::string_view reject_name(Reject reason) noexcept;

}  // namespace pylon::proto
