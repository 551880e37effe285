// ClientMessage: the NIP-01 messages a client sends to a relay, both ways: parsed (what a relay
// simulator or test relay reads) and written (what our relay links send). EVENT and AUTH carry a
// full Event, REQ and COUNT a subscription id and 1..Limits::filters_per_req_max filters, CLOSE a
// subscription id (non-empty, at most Limits::subid_chars_max code points). A ClientMessage can be
// reused across parses (its Event keeps its capacity). The write_* functions append one complete
// message to a caller-owned string. Not thread-safe; values.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/event.hpp"
#include "proto/filter.hpp"
#include "proto/json_reader.hpp"
#include "proto/reject.hpp"

namespace pylon::proto {

// Elements looked at in one client message: type, subid and up to 64 filters (Limits bounds it
// further with filters_per_req_max).
inline constexpr size_t client_message_elements_max = 66;

enum class ClientMessageType : uint8_t { event, req, close, auth, count };

std::string_view client_message_name(ClientMessageType type) noexcept;  // "EVENT", "REQ", ...

struct ClientMessage {
    ClientMessageType type = ClientMessageType::event;
    std::string subid;            // REQ, CLOSE, COUNT
    Event event;                  // EVENT, AUTH
    std::vector<Filter> filters;  // REQ, COUNT

    Reject read_json(JsonReader& reader, PaddedJson text);
    Reject read_json(JsonReader& reader, std::string_view text);
    // source_bytes: the size of the message text (see Event::read_element).
    Reject read_element(simdjson::dom::element root, const Limits& limits,
                        size_t source_bytes = SIZE_MAX);
};

void write_client_event(std::string& out, const Event& event);  // ["EVENT",{...}]
// The same, its tags and content copied from canonical, the event's serialize_canonical()
// output (what signing it left in the scratch: see Event::canonical_parts).
void write_client_event(std::string& out, const Event& event, std::string_view canonical);
void write_client_req(std::string& out, std::string_view subid, std::span<const Filter> filters);
void write_client_close(std::string& out, std::string_view subid);
void write_client_auth(std::string& out, const Event& auth_event);  // ["AUTH",{kind 22242}]
void write_client_count(std::string& out, std::string_view subid, std::span<const Filter> filters);

// Shared by both directions: a subscription id string within bounds.
Reject read_subid(simdjson::dom::element value, const Limits& limits, std::string& out);

}  // namespace pylon::proto
