#include "proto/client_message.hpp"

#include <array>

#include "proto/utf8.hpp"

namespace pylon::proto {
namespace {

struct Name {
    std::string_view text;
    ClientMessageType type;
};
constexpr Name k_names[] = {{"EVENT", ClientMessageType::event},
                            {"REQ", ClientMessageType::req},
                            {"CLOSE", ClientMessageType::close},
                            {"AUTH", ClientMessageType::auth},
                            {"COUNT", ClientMessageType::count}};

void write_with_filters(std::string& out, std::string_view name, std::string_view subid,
                        std::span<const Filter> filters) {
    JsonWriter w(out);
    w.begin_array();
    w.string(name);
    w.string(subid);
    for (const Filter& f : filters) {
        f.write_json(w);
    }
    w.end_array();
}

}  // namespace

std::string_view client_message_name(ClientMessageType type) noexcept {
    for (const Name& n : k_names) {
        if (n.type == type) {
            return n.text;
        }
    }
    return "?";
}

Reject read_subid(simdjson::dom::element value, const Limits& limits, std::string& out) {
    std::string_view text;
    // A code point is at most 4 bytes: bound the bytes first, then count code points.
    if (json_string(value, 4 * limits.subid_chars_max, text) != Reject::none || text.empty() ||
        utf8_code_points(text) > limits.subid_chars_max) {
        return Reject::bad_subid;
    }
    out.assign(text);
    return Reject::none;
}

Reject ClientMessage::read_json(JsonReader& reader, PaddedJson text) {
    simdjson::dom::element root;
    Reject r = reader.parse(text, root);
    return r != Reject::none ? r : read_element(root, reader.limits(), text.text().size());
}

Reject ClientMessage::read_json(JsonReader& reader, std::string_view text) {
    simdjson::dom::element root;
    Reject r = reader.parse(text, root);
    return r != Reject::none ? r : read_element(root, reader.limits(), text.size());
}

Reject ClientMessage::read_element(simdjson::dom::element root, const Limits& limits,
                                   size_t source_bytes) {
    simdjson::dom::array array;
    if (json_array(root, array) != Reject::none) {
        return Reject::not_array;
    }
    std::array<simdjson::dom::element, client_message_elements_max> items;
    size_t size = json_collect(array, items);
    std::string_view name;
    if (size == 0 || json_string(items[0], 8, name) != Reject::none) {
        return Reject::unknown_message;
    }
    bool known = false;
    for (const Name& n : k_names) {
        if (n.text == name) {
            type = n.type;
            known = true;
        }
    }
    if (!known) {
        return Reject::unknown_message;
    }
    subid.clear();
    filters.clear();
    switch (type) {
        case ClientMessageType::event:
        case ClientMessageType::auth:
            return size != 2 ? Reject::bad_arity
                             : event.read_element(items[1], limits, source_bytes);
        case ClientMessageType::close:
            return size != 2 ? Reject::bad_arity : read_subid(items[1], limits, subid);
        case ClientMessageType::req:
        case ClientMessageType::count:
            break;
    }
    if (size < 3) {
        return Reject::bad_arity;
    }
    if (size > items.size() || size - 2 > limits.filters_per_req_max) {
        return Reject::too_many_filters;
    }
    Reject r = read_subid(items[1], limits, subid);
    for (size_t i = 2; i < size && r == Reject::none; ++i) {
        r = filters.emplace_back().read_element(items[i], limits);
    }
    return r;
}

void write_client_event(std::string& out, const Event& event) {
    JsonWriter w(out);
    w.begin_array();
    w.string("EVENT");
    event.write_json(w);
    w.end_array();
}

void write_client_event(std::string& out, const Event& event, std::string_view canonical) {
    out.append("[\"EVENT\",");
    event.append_json(out, canonical);
    out.push_back(']');
}

void write_client_req(std::string& out, std::string_view subid, std::span<const Filter> filters) {
    write_with_filters(out, "REQ", subid, filters);
}

void write_client_close(std::string& out, std::string_view subid) {
    JsonWriter w(out);
    w.begin_array();
    w.string("CLOSE");
    w.string(subid);
    w.end_array();
}

void write_client_auth(std::string& out, const Event& auth_event) {
    JsonWriter w(out);
    w.begin_array();
    w.string("AUTH");
    auth_event.write_json(w);
    w.end_array();
}

void write_client_count(std::string& out, std::string_view subid, std::span<const Filter> filters) {
    write_with_filters(out, "COUNT", subid, filters);
}

}  // namespace pylon::proto
