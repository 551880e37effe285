// Limits: every bound the proto/ parsers enforce on hostile input, in one place, each named with
// its unit. The defaults follow strfry's relay defaults (see ../shared/reference/nostr-protocol.md
// §7) so that what we accept and what we emit survives a default strfry relay. A Limits value is
// plain data: copy it freely, read it from any thread. Parsers take it by const reference and never
// store it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pylon::proto {

struct Limits {
    // Transport: one JSON message as received (strfry maxWebsocketPayloadSize).
    size_t message_bytes_max = 131072;
    // Nesting of JSON arrays/objects in a message (an EVENT message needs 4 levels).
    size_t json_depth_max = 16;

    // Events (strfry defaults).
    size_t event_bytes_max = 65536;  // normalised event JSON (maxEventSize)
    size_t tags_max = 2000;          // tags per event (maxNumTags)
    size_t tag_elements_max = 256;   // strings in one tag
    size_t single_letter_tag_value_bytes_max =
        1024;                              // element 1 of a one-letter tag (maxTagValSize)
    size_t tag_element_bytes_max = 65536;  // any tag string
    size_t content_bytes_max = 65536;      // event content

    // Relay messages.
    size_t subid_chars_max = 64;           // subscription / COUNT query id, in code points
    size_t message_text_bytes_max = 4096;  // OK/CLOSED/NOTICE text and AUTH challenge
    size_t filters_per_req_max = 16;       // filters in one REQ or COUNT
    size_t filter_values_max = 1024;       // values in one filter field (ids, authors, kinds, #x)
    size_t filter_tag_fields_max = 16;     // distinct #x fields in one filter
    size_t filter_tag_value_bytes_max = 1024;  // one #x value

    // NIP-90 job requests.
    size_t job_inputs_max = 16;                   // `i` tags
    size_t job_params_max = 64;                   // `param` tags
    size_t job_relays_max = 16;                   // urls in the `relays` tag
    size_t job_providers_max = 16;                // `p` tags
    size_t encrypted_payload_bytes_max = 131072;  // encrypted content of a request

    // NIP-19: bech32 strings, including TLV forms.
    size_t bech32_chars_max = 5000;
};

}  // namespace pylon::proto
