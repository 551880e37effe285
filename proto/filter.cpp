#include "proto/filter.hpp"

#include <algorithm>
#include <limits>

#include "proto/hex.hpp"
#include "proto/json_reader.hpp"
#include "reactor/assert.hpp"

namespace pylon::proto {
namespace {

bool is_letter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool tag_needs_hex(char letter) {
    return letter == 'e' || letter == 'p';
}

bool is_lower_hex64(std::string_view s) {
    std::array<uint8_t, 32> tmp{};
    return hex_decode(s, tmp);
}

// Reads a JSON array, calling each(element) for every item; bounds the count.
template <typename Each>
Reject read_list(simdjson::dom::element value, const Limits& limits, Each&& each) {
    simdjson::dom::array items;
    if (json_array(value, items) != Reject::none) {
        return Reject::wrong_type;
    }
    size_t n = 0;
    for (simdjson::dom::element item : items) {
        if (++n > limits.filter_values_max) {
            return Reject::too_many_values;
        }
        Reject r = each(item);
        if (r != Reject::none) {
            return r;
        }
    }
    return Reject::none;
}

Reject read_hex32(simdjson::dom::element item, std::array<uint8_t, 32>& out) {
    std::string_view text;
    if (json_string(item, 64, text) != Reject::none) {
        return item.is_string() ? Reject::bad_filter_value : Reject::wrong_type;
    }
    return hex_decode(text, out) ? Reject::none : Reject::bad_filter_value;
}

Reject read_timestamp(simdjson::dom::element value, std::optional<int64_t>& out) {
    uint64_t v = 0;
    if (json_uint(value, std::numeric_limits<int64_t>::max(), v) != Reject::none) {
        return Reject::bad_filter_value;
    }
    out = static_cast<int64_t>(v);
    return Reject::none;
}

Reject read_tag_values(simdjson::dom::element value, char letter, const Limits& limits,
                       TagCondition& cond) {
    cond.letter = letter;
    return read_list(value, limits, [&](simdjson::dom::element item) {
        std::string_view text;
        Reject r = json_string(item, limits.filter_tag_value_bytes_max, text);
        if (r != Reject::none) {
            return r == Reject::string_too_long ? Reject::bad_filter_value : r;
        }
        if (tag_needs_hex(letter) && !is_lower_hex64(text)) {
            return Reject::bad_filter_value;
        }
        cond.values.emplace_back(text);
        return Reject::none;
    });
}

}  // namespace

bool Filter::matches(const Event& event) const noexcept {
    if (ids && std::find(ids->begin(), ids->end(), event.id()) == ids->end()) {
        return false;
    }
    if (authors && std::find(authors->begin(), authors->end(), event.pubkey()) == authors->end()) {
        return false;
    }
    if (kinds && std::find(kinds->begin(), kinds->end(), event.kind()) == kinds->end()) {
        return false;
    }
    if ((since && event.created_at() < *since) || (until && event.created_at() > *until)) {
        return false;
    }
    for (const TagCondition& cond : tags) {
        bool found = false;
        for (size_t i = 0; i < event.tag_count() && !found; ++i) {
            TagView t = event.tag(i);
            if (t.size() >= 2 && t.name().size() == 1 && t.name()[0] == cond.letter) {
                found =
                    std::find(cond.values.begin(), cond.values.end(), t[1]) != cond.values.end();
            }
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

const TagCondition* Filter::tag_condition(char letter) const noexcept {
    for (const TagCondition& c : tags) {
        if (c.letter == letter) {
            return &c;
        }
    }
    return nullptr;
}

void Filter::add_tag_value(char letter, std::string value) {
    PYLON_ASSERT(is_letter(letter));
    for (TagCondition& c : tags) {
        if (c.letter == letter) {
            c.values.push_back(std::move(value));
            return;
        }
    }
    tags.push_back(TagCondition{letter, {std::move(value)}});
}

void Filter::write_json(JsonWriter& w) const {
    w.begin_object();
    if (ids) {
        w.key("ids");
        w.begin_array();
        for (const EventId& id : *ids) {
            w.string(hex_encode(id));
        }
        w.end_array();
    }
    if (authors) {
        w.key("authors");
        w.begin_array();
        for (const PublicKey& pk : *authors) {
            w.string(pk.hex());
        }
        w.end_array();
    }
    if (kinds) {
        w.key("kinds");
        w.begin_array();
        for (uint32_t k : *kinds) {
            w.uint64(k);
        }
        w.end_array();
    }
    for (const TagCondition& c : tags) {
        char name[2] = {'#', c.letter};
        w.key(std::string_view(name, 2));
        w.begin_array();
        for (const std::string& v : c.values) {
            w.string(v);
        }
        w.end_array();
    }
    if (since) {
        w.field_int("since", *since);
    }
    if (until) {
        w.field_int("until", *until);
    }
    if (limit) {
        w.key("limit");
        w.uint64(*limit);
    }
    w.end_object();
}

std::string Filter::to_json() const {
    std::string out;
    JsonWriter w(out);
    write_json(w);
    return out;
}

Reject Filter::read_element(simdjson::dom::element element, const Limits& limits) {
    *this = Filter{};
    simdjson::dom::object object;
    if (json_object(element, object) != Reject::none) {
        return Reject::wrong_type;
    }
    for (simdjson::dom::key_value_pair field : object) {
        std::string_view key = field.key;
        Reject r = Reject::none;
        if (key == "ids") {
            if (ids) {
                return Reject::duplicate_field;
            }
            ids.emplace();
            r = read_list(field.value, limits, [&](simdjson::dom::element item) {
                return read_hex32(item, ids->emplace_back());
            });
        } else if (key == "authors") {
            if (authors) {
                return Reject::duplicate_field;
            }
            authors.emplace();
            r = read_list(field.value, limits, [&](simdjson::dom::element item) {
                return read_hex32(item, authors->emplace_back().bytes());
            });
        } else if (key == "kinds") {
            if (kinds) {
                return Reject::duplicate_field;
            }
            kinds.emplace();
            r = read_list(field.value, limits, [&](simdjson::dom::element item) {
                uint64_t k = 0;
                if (json_uint(item, event_kind_max, k) != Reject::none) {
                    return Reject::bad_filter_value;
                }
                kinds->push_back(static_cast<uint32_t>(k));
                return Reject::none;
            });
        } else if (key.size() == 2 && key[0] == '#' && is_letter(key[1])) {
            if (tag_condition(key[1]) != nullptr) {
                return Reject::duplicate_field;
            }
            if (tags.size() >= limits.filter_tag_fields_max) {
                return Reject::too_many_values;
            }
            r = read_tag_values(field.value, key[1], limits, tags.emplace_back());
        } else if (key == "since" || key == "until") {
            std::optional<int64_t>& slot = key == "since" ? since : until;
            if (slot) {
                return Reject::duplicate_field;
            }
            r = read_timestamp(field.value, slot);
        } else if (key == "limit") {
            if (limit) {
                return Reject::duplicate_field;
            }
            uint64_t v = 0;
            r = json_uint(field.value, std::numeric_limits<uint64_t>::max(), v) == Reject::none
                    ? Reject::none
                    : Reject::bad_filter_value;
            limit = v;
        } else {
            return Reject::unknown_field;
        }
        if (r != Reject::none) {
            return r;
        }
    }
    return Reject::none;
}

bool any_filter_matches(const std::vector<Filter>& filters, const Event& event) noexcept {
    return std::any_of(filters.begin(), filters.end(),
                       [&](const Filter& f) { return f.matches(event); });
}

}  // namespace pylon::proto
