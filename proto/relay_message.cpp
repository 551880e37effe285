#include "proto/relay_message.hpp"

#include <array>

#include "proto/client_message.hpp"
#include "proto/hex.hpp"

namespace pylon::proto {
namespace {

constexpr size_t k_elements_max = 4;

struct Name {
    std::string_view text;
    RelayMessageType type;
};
constexpr Name k_names[] = {
    {"EVENT", RelayMessageType::event},   {"OK", RelayMessageType::ok},
    {"EOSE", RelayMessageType::eose},     {"CLOSED", RelayMessageType::closed},
    {"NOTICE", RelayMessageType::notice}, {"AUTH", RelayMessageType::auth},
    {"COUNT", RelayMessageType::count}};

struct PrefixName {
    std::string_view text;
    MachinePrefix prefix;
};
constexpr PrefixName k_prefixes[] = {{"duplicate", MachinePrefix::duplicate},
                                     {"pow", MachinePrefix::pow},
                                     {"blocked", MachinePrefix::blocked},
                                     {"rate-limited", MachinePrefix::rate_limited},
                                     {"invalid", MachinePrefix::invalid},
                                     {"restricted", MachinePrefix::restricted},
                                     {"mute", MachinePrefix::mute},
                                     {"error", MachinePrefix::error},
                                     {"auth-required", MachinePrefix::auth_required},
                                     {"unsupported", MachinePrefix::unsupported}};

// The "word" before ':' if text starts with one ([a-z-]+ followed by ':'), else "".
std::string_view prefix_word(std::string_view text) {
    size_t i = 0;
    while (i < text.size() && ((text[i] >= 'a' && text[i] <= 'z') || text[i] == '-')) {
        ++i;
    }
    return (i > 0 && i < text.size() && text[i] == ':') ? text.substr(0, i) : std::string_view();
}

Reject read_text(simdjson::dom::element value, const Limits& limits, std::string& out) {
    std::string_view text;
    Reject r = json_string(value, limits.message_text_bytes_max, text);
    if (r == Reject::none) {
        out.assign(text);
    }
    return r;
}

Reject read_count(simdjson::dom::element value, RelayMessage& m) {
    simdjson::dom::object object;
    if (json_object(value, object) != Reject::none) {
        return Reject::wrong_type;
    }
    bool have_count = false;
    for (simdjson::dom::key_value_pair field : object) {
        if (field.key == "count") {
            if (have_count || json_uint(field.value, UINT64_MAX, m.count) != Reject::none) {
                return have_count ? Reject::duplicate_field : Reject::wrong_type;
            }
            have_count = true;
        } else if (field.key == "approximate") {
            if (field.value.get_bool().get(m.approximate) != simdjson::SUCCESS) {
                return Reject::wrong_type;
            }
        }
    }
    return have_count ? Reject::none : Reject::missing_field;
}

Reject read_ok(std::span<const simdjson::dom::element> items, const Limits& limits,
               RelayMessage& m) {
    if (items.size() != 3 && items.size() != 4) {
        return Reject::bad_arity;
    }
    std::string_view id;
    if (json_string(items[1], 64, id) != Reject::none || !hex_decode(id, m.ok_id)) {
        return Reject::bad_hex;
    }
    if (items[2].get_bool().get(m.ok_accepted) != simdjson::SUCCESS) {
        return Reject::wrong_type;
    }
    return items.size() == 4 ? read_text(items[3], limits, m.text) : Reject::none;
}

}  // namespace

std::string_view relay_message_name(RelayMessageType type) noexcept {
    for (const Name& n : k_names) {
        if (n.type == type) {
            return n.text;
        }
    }
    return "?";
}

MachinePrefix parse_machine_prefix(std::string_view message) noexcept {
    std::string_view word = prefix_word(message);
    if (word.empty()) {
        return MachinePrefix::none;
    }
    for (const PrefixName& p : k_prefixes) {
        if (p.text == word) {
            return p.prefix;
        }
    }
    return MachinePrefix::other;
}

std::string_view machine_prefix_text(MachinePrefix prefix) noexcept {
    for (const PrefixName& p : k_prefixes) {
        if (p.prefix == prefix) {
            return p.text;
        }
    }
    return prefix == MachinePrefix::none ? "" : "other";
}

std::string_view RelayMessage::reason() const noexcept {
    std::string_view t = text;
    std::string_view word = prefix_word(t);
    if (word.empty()) {
        return t;
    }
    t.remove_prefix(word.size() + 1);
    while (!t.empty() && t.front() == ' ') {
        t.remove_prefix(1);
    }
    return t;
}

Reject RelayMessage::read_json(JsonReader& reader, PaddedJson json) {
    simdjson::dom::element root;
    Reject r = reader.parse(json, root);
    return r != Reject::none ? r : read_element(root, reader.limits(), json.text().size());
}

Reject RelayMessage::read_json(JsonReader& reader, std::string_view json) {
    simdjson::dom::element root;
    Reject r = reader.parse(json, root);
    return r != Reject::none ? r : read_element(root, reader.limits(), json.size());
}

Reject RelayMessage::read_element(simdjson::dom::element root, const Limits& limits,
                                  size_t source_bytes) {
    simdjson::dom::array array;
    if (json_array(root, array) != Reject::none) {
        return Reject::not_array;
    }
    std::array<simdjson::dom::element, k_elements_max> buf;
    size_t size = json_collect(array, buf);
    std::string_view name;
    if (size == 0 || json_string(buf[0], 8, name) != Reject::none) {
        return Reject::unknown_message;
    }
    const Name* found = nullptr;
    for (const Name& n : k_names) {
        found = n.text == name ? &n : found;
    }
    if (found == nullptr) {
        return Reject::unknown_message;
    }
    if (size > k_elements_max) {
        return Reject::bad_arity;
    }
    type = found->type;
    subid.clear();  // every field a type does not carry is reset (the Event is left as is)
    ok_id.fill(0);
    ok_accepted = false;
    text.clear();
    prefix = MachinePrefix::none;
    count = 0;
    approximate = false;
    std::span<const simdjson::dom::element> items(buf.data(), size);
    Reject r = Reject::bad_arity;
    switch (type) {
        case RelayMessageType::event:
            if (size == 3 && (r = read_subid(items[1], limits, subid)) == Reject::none) {
                r = event.read_element(items[2], limits, source_bytes);
            }
            return r;
        case RelayMessageType::ok:
            r = read_ok(items, limits, *this);
            prefix = parse_machine_prefix(text);
            return r;
        case RelayMessageType::eose:
            return size == 2 ? read_subid(items[1], limits, subid) : r;
        case RelayMessageType::closed:
            if ((size == 2 || size == 3) &&
                (r = read_subid(items[1], limits, subid)) == Reject::none && size == 3) {
                r = read_text(items[2], limits, text);
            }
            prefix = parse_machine_prefix(text);
            return r;
        case RelayMessageType::notice:
        case RelayMessageType::auth:
            return size == 2 ? read_text(items[1], limits, text) : r;
        case RelayMessageType::count:
            if (size == 3 && (r = read_subid(items[1], limits, subid)) == Reject::none) {
                r = read_count(items[2], *this);
            }
            return r;
    }
    return Reject::unknown_message;
}

void write_relay_event(std::string& out, std::string_view subid, const Event& event) {
    JsonWriter w(out);
    w.begin_array();
    w.string("EVENT");
    w.string(subid);
    event.write_json(w);
    w.end_array();
}

void write_relay_ok(std::string& out, const EventId& id, bool accepted, std::string_view message) {
    JsonWriter w(out);
    w.begin_array();
    w.string("OK");
    w.string(hex_encode(id));
    w.boolean(accepted);
    w.string(message);
    w.end_array();
}

void write_relay_eose(std::string& out, std::string_view subid) {
    JsonWriter w(out);
    w.begin_array();
    w.string("EOSE");
    w.string(subid);
    w.end_array();
}

void write_relay_closed(std::string& out, std::string_view subid, std::string_view message) {
    JsonWriter w(out);
    w.begin_array();
    w.string("CLOSED");
    w.string(subid);
    w.string(message);
    w.end_array();
}

void write_relay_notice(std::string& out, std::string_view message) {
    JsonWriter w(out);
    w.begin_array();
    w.string("NOTICE");
    w.string(message);
    w.end_array();
}

void write_relay_auth(std::string& out, std::string_view challenge) {
    JsonWriter w(out);
    w.begin_array();
    w.string("AUTH");
    w.string(challenge);
    w.end_array();
}

void write_relay_count(std::string& out, std::string_view subid, uint64_t count, bool approximate) {
    JsonWriter w(out);
    w.begin_array();
    w.string("COUNT");
    w.string(subid);
    w.begin_object();
    w.key("count");
    w.uint64(count);
    if (approximate) {
        w.key("approximate");
        w.boolean(true);
    }
    w.end_object();
    w.end_array();
}

}  // namespace pylon::proto
