// RelayMessage: the NIP-01 messages a relay sends to a client, both ways: parsed (what our relay
// links read: EVENT, OK, EOSE, CLOSED, NOTICE, AUTH challenge, COUNT) and written (what a relay
// simulator sends). OK and CLOSED texts carry a machine-readable prefix ("duplicate:",
// "auth-required:", ...) that is parsed into MachinePrefix; "duplicate:" arrives with true and
// counts as delivered. Old relays omit the OK/CLOSED text: accepted as "". A RelayMessage can be
// reused across parses: its Event and strings keep their capacity, so the hot path
// (["EVENT",sub,{...}] from a relay) allocates nothing once warm. write_* functions append one
// complete message to a caller-owned string. Not thread-safe; values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/event.hpp"
#include "proto/json_reader.hpp"
#include "proto/reject.hpp"

namespace pylon::proto {

enum class RelayMessageType : uint8_t { event, ok, eose, closed, notice, auth, count };

std::string_view relay_message_name(RelayMessageType type) noexcept;  // "EVENT", "OK", ...

// NIP-01 machine-readable prefixes of OK and CLOSED messages (plus NIP-42's auth-required and
// the unsupported: seen in CLOSED). none: empty text or no "word:" prefix; other: an unknown one.
enum class MachinePrefix : uint8_t {
    none,
    duplicate,
    pow,
    blocked,
    rate_limited,
    invalid,
    restricted,
    mute,
    error,
    auth_required,
    unsupported,
    other,
};

MachinePrefix parse_machine_prefix(std::string_view message) noexcept;
std::string_view machine_prefix_text(MachinePrefix prefix) noexcept;  // "rate-limited", ...

struct RelayMessage {
    RelayMessageType type = RelayMessageType::event;
    std::string subid;  // EVENT, EOSE, CLOSED, COUNT
    Event event;        // EVENT
    EventId ok_id{};    // OK
    bool ok_accepted = false;
    std::string text;                            // OK, CLOSED, NOTICE message; AUTH challenge
    MachinePrefix prefix = MachinePrefix::none;  // OK, CLOSED
    uint64_t count = 0;                          // COUNT
    bool approximate = false;

    // The human part of text after "prefix: " (all of text when there is no prefix).
    std::string_view reason() const noexcept;

    Reject read_json(JsonReader& reader, PaddedJson text);
    Reject read_json(JsonReader& reader, std::string_view text);
    // source_bytes: the size of the message text (see Event::read_element).
    Reject read_element(simdjson::dom::element root, const Limits& limits,
                        size_t source_bytes = SIZE_MAX);
};

void write_relay_event(std::string& out, std::string_view subid, const Event& event);
void write_relay_ok(std::string& out, const EventId& id, bool accepted, std::string_view message);
void write_relay_eose(std::string& out, std::string_view subid);
void write_relay_closed(std::string& out, std::string_view subid, std::string_view message);
void write_relay_notice(std::string& out, std::string_view message);
void write_relay_auth(std::string& out, std::string_view challenge);
void write_relay_count(std::string& out, std::string_view subid, uint64_t count, bool approximate);

}  // namespace pylon::proto
