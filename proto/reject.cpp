#include "proto/reject.hpp"

namespace pylon::proto {

std::string_view reject_text(Reject reason) noexcept {
    switch (reason) {
        case Reject::none:
            return "accepted";
        case Reject::too_large:
            return "too large";
        case Reject::json_syntax:
            return "not valid JSON";
        case Reject::json_depth:
            return "JSON nested too deeply";
        case Reject::wrong_type:
            return "wrong type";
        case Reject::missing_field:
            return "missing field";
        case Reject::duplicate_field:
            return "duplicate field";
        case Reject::unknown_field:
            return "unknown field";
        case Reject::invalid_utf8:
            return "invalid UTF-8";
        case Reject::string_too_long:
            return "string too long";
        case Reject::bad_hex:
            return "bad hex";
        case Reject::bad_kind:
            return "bad kind";
        case Reject::bad_created_at:
            return "bad created_at";
        case Reject::too_many_tags:
            return "too many tags";
        case Reject::empty_tag:
            return "empty tag";
        case Reject::too_many_tag_elements:
            return "too many tag elements";
        case Reject::tag_value_too_long:
            return "tag value too long";
        case Reject::content_too_long:
            return "content too long";
        case Reject::event_too_large:
            return "event too large";
        case Reject::bad_event_id:
            return "bad event id";
        case Reject::bad_pubkey:
            return "bad pubkey";
        case Reject::bad_signature:
            return "bad signature";
        case Reject::not_array:
            return "message is not an array";
        case Reject::unknown_message:
            return "unknown message type";
        case Reject::bad_arity:
            return "wrong number of message elements";
        case Reject::bad_subid:
            return "bad subscription id";
        case Reject::too_many_filters:
            return "too many filters";
        case Reject::too_many_values:
            return "too many filter values";
        case Reject::bad_filter_value:
            return "bad filter value";
        case Reject::wrong_kind:
            return "wrong kind";
        case Reject::bad_input:
            return "bad i tag";
        case Reject::bad_input_type:
            return "unknown input type";
        case Reject::bad_param:
            return "bad param";
        case Reject::bad_amount:
            return "bad amount";
        case Reject::bad_status:
            return "bad status";
        case Reject::bad_tag:
            return "bad tag";
        case Reject::too_many_inputs:
            return "too many job tags";
        case Reject::not_encrypted:
            return "not encrypted";
        case Reject::bad_base64:
            return "invalid base64";
        case Reject::bad_payload_length:
            return "invalid payload length";
        case Reject::unknown_version:
            return "unknown encryption version";
        case Reject::bad_mac:
            return "invalid MAC";
        case Reject::bad_padding:
            return "invalid padding";
        case Reject::bad_key:
            return "bad key";
        case Reject::bad_bech32:
            return "invalid bech32";
        case Reject::bad_checksum:
            return "bad bech32 checksum";
        case Reject::wrong_prefix:
            return "wrong bech32 prefix";
        case Reject::bad_tlv:
            return "bad TLV";
    }
    return "unknown rejection";
}

std::string_view reject_name(Reject reason) noexcept {
    switch (reason) {
        case Reject::none:
            return "none";
        case Reject::too_large:
            return "too_large";
        case Reject::json_syntax:
            return "json_syntax";
        case Reject::json_depth:
            return "json_depth";
        case Reject::wrong_type:
            return "wrong_type";
        case Reject::missing_field:
            return "missing_field";
        case Reject::duplicate_field:
            return "duplicate_field";
        case Reject::unknown_field:
            return "unknown_field";
        case Reject::invalid_utf8:
            return "invalid_utf8";
        case Reject::string_too_long:
            return "string_too_long";
        case Reject::bad_hex:
            return "bad_hex";
        case Reject::bad_kind:
            return "bad_kind";
        case Reject::bad_created_at:
            return "bad_created_at";
        case Reject::too_many_tags:
            return "too_many_tags";
        case Reject::empty_tag:
            return "empty_tag";
        case Reject::too_many_tag_elements:
            return "too_many_tag_elements";
        case Reject::tag_value_too_long:
            return "tag_value_too_long";
        case Reject::content_too_long:
            return "content_too_long";
        case Reject::event_too_large:
            return "event_too_large";
        case Reject::bad_event_id:
            return "bad_event_id";
        case Reject::bad_pubkey:
            return "bad_pubkey";
        case Reject::bad_signature:
            return "bad_signature";
        case Reject::not_array:
            return "not_array";
        case Reject::unknown_message:
            return "unknown_message";
        case Reject::bad_arity:
            return "bad_arity";
        case Reject::bad_subid:
            return "bad_subid";
        case Reject::too_many_filters:
            return "too_many_filters";
        case Reject::too_many_values:
            return "too_many_values";
        case Reject::bad_filter_value:
            return "bad_filter_value";
        case Reject::wrong_kind:
            return "wrong_kind";
        case Reject::bad_input:
            return "bad_input";
        case Reject::bad_input_type:
            return "bad_input_type";
        case Reject::bad_param:
            return "bad_param";
        case Reject::bad_amount:
            return "bad_amount";
        case Reject::bad_status:
            return "bad_status";
        case Reject::bad_tag:
            return "bad_tag";
        case Reject::too_many_inputs:
            return "too_many_inputs";
        case Reject::not_encrypted:
            return "not_encrypted";
        case Reject::bad_base64:
            return "bad_base64";
        case Reject::bad_payload_length:
            return "bad_payload_length";
        case Reject::unknown_version:
            return "unknown_version";
        case Reject::bad_mac:
            return "bad_mac";
        case Reject::bad_padding:
            return "bad_padding";
        case Reject::bad_key:
            return "bad_key";
        case Reject::bad_bech32:
            return "bad_bech32";
        case Reject::bad_checksum:
            return "bad_checksum";
        case Reject::wrong_prefix:
            return "wrong_prefix";
        case Reject::bad_tlv:
            return "bad_tlv";
    }
    return "unknown";
}

}  // namespace pylon::proto
