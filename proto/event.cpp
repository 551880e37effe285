#include "proto/event.hpp"

#include <charconv>
#include <limits>

#include "proto/digest.hpp"
#include "proto/hex.hpp"
#include "proto/utf8.hpp"
#include "reactor/assert.hpp"

namespace pylon::proto {
namespace {

constexpr uint32_t k_field_id = 1u << 0;
constexpr uint32_t k_field_pubkey = 1u << 1;
constexpr uint32_t k_field_created_at = 1u << 2;
constexpr uint32_t k_field_kind = 1u << 3;
constexpr uint32_t k_field_tags = 1u << 4;
constexpr uint32_t k_field_content = 1u << 5;
constexpr uint32_t k_field_sig = 1u << 6;
constexpr uint32_t k_fields_all = (1u << 7) - 1;

void append_int(std::string& out, int64_t value) {
    char buf[24];
    auto res = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, static_cast<size_t>(res.ptr - buf));
}

void append_hex_string(std::string& out, std::span<const uint8_t> bytes) {
    out.push_back('"');
    hex_append(out, bytes);
    out.push_back('"');
}

Reject map_string_reject(Reject r, Reject too_long) {
    return r == Reject::string_too_long ? too_long : r;
}

}  // namespace

std::string_view TagView::operator[](size_t i) const noexcept {
    PYLON_ASSERT(i < count_);
    return event_->element(first_ + static_cast<uint32_t>(i));
}

TagView Event::tag(size_t i) const noexcept {
    PYLON_ASSERT(i < tag_ends_.size());
    uint32_t first = i == 0 ? 0 : tag_ends_[i - 1];
    return TagView(this, first, tag_ends_[i] - first);
}

std::optional<TagView> Event::find_tag(std::string_view name) const noexcept {
    for (size_t i = 0; i < tag_count(); ++i) {
        TagView t = tag(i);
        if (t.name() == name) {
            return t;
        }
    }
    return std::nullopt;
}

std::string_view Event::tag_value(std::string_view name) const noexcept {
    auto t = find_tag(name);
    return t ? t->value() : std::string_view();
}

void Event::clear() noexcept {
    id_.fill(0);
    pubkey_ = PublicKey();
    sig_.fill(0);
    created_at_ = 0;
    kind_ = 0;
    content_.clear();
    arena_.clear();
    elements_.clear();
    tag_ends_.clear();
}

void Event::set_kind(uint32_t kind) noexcept {
    PYLON_ASSERT(kind <= event_kind_max);
    kind_ = kind;
}

void Event::set_created_at(int64_t created_at) noexcept {
    PYLON_ASSERT(created_at >= 0);
    created_at_ = created_at;
}

void Event::set_content(std::string_view content) {
    content_.clear();
    utf8_sanitize_append(content_, content);
}

void Event::begin_tag() {
    tag_ends_.push_back(static_cast<uint32_t>(elements_.size()));
}

void Event::push_element_raw(std::string_view text) {
    PYLON_ASSERT(!tag_ends_.empty());
    PYLON_ASSERT(arena_.size() + text.size() < std::numeric_limits<uint32_t>::max());
    elements_.push_back(
        Slice{static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(text.size())});
    arena_.append(text);
    tag_ends_.back() = static_cast<uint32_t>(elements_.size());
}

void Event::push_element_sanitized(std::string_view text) {
    PYLON_ASSERT(!tag_ends_.empty());
    size_t offset = arena_.size();
    utf8_sanitize_append(arena_, text);
    PYLON_ASSERT(arena_.size() < std::numeric_limits<uint32_t>::max());
    elements_.push_back(
        Slice{static_cast<uint32_t>(offset), static_cast<uint32_t>(arena_.size() - offset)});
    tag_ends_.back() = static_cast<uint32_t>(elements_.size());
}

void Event::add_tag(std::initializer_list<std::string_view> elements) {
    add_tag(std::span<const std::string_view>(elements.begin(), elements.size()));
}

void Event::add_tag(std::span<const std::string_view> elements) {
    PYLON_ASSERT_MSG(!elements.empty(), "a tag needs at least its name");
    begin_tag();
    for (std::string_view e : elements) {
        push_element_sanitized(e);
    }
}

void Event::add_tag(std::span<const std::string> elements) {
    PYLON_ASSERT_MSG(!elements.empty(), "a tag needs at least its name");
    begin_tag();
    for (const std::string& e : elements) {
        push_element_sanitized(e);
    }
}

void Event::add_tag_trimmed(std::initializer_list<std::string_view> elements) {
    size_t n = elements.size();
    while (n > 1 && elements.begin()[n - 1].empty()) {
        --n;
    }
    add_tag(std::span<const std::string_view>(elements.begin(), n));
}

void Event::truncate_tags(size_t first) noexcept {
    if (first >= tag_ends_.size()) {
        return;
    }
    uint32_t first_element = first == 0 ? 0 : tag_ends_[first - 1];
    size_t arena_end =
        first_element < elements_.size() ? elements_[first_element].offset : arena_.size();
    tag_ends_.resize(first);
    elements_.resize(first_element);
    arena_.resize(arena_end);
}

void Event::append_tags_json(std::string& out) const {
    out.push_back('[');
    for (size_t i = 0; i < tag_ends_.size(); ++i) {
        if (i > 0) {
            out.push_back(',');
        }
        out.push_back('[');
        TagView t = tag(i);
        for (size_t j = 0; j < t.size(); ++j) {
            if (j > 0) {
                out.push_back(',');
            }
            json_append_string(out, t[j]);
        }
        out.push_back(']');
    }
    out.push_back(']');
}

size_t Event::tags_json_bytes() const noexcept {
    size_t n = 2 + (tag_ends_.empty() ? 0 : tag_ends_.size() - 1);  // [] and commas between tags
    for (size_t i = 0; i < tag_ends_.size(); ++i) {
        TagView t = tag(i);
        n += 2 + (t.size() - 1);
        for (size_t j = 0; j < t.size(); ++j) {
            n += json_string_bytes(t[j]);
        }
    }
    return n;
}

void Event::serialize_canonical(std::string& out) const {
    out.clear();
    out.reserve(160 + arena_.size() + content_.size() + 8 * elements_.size());
    out.append("[0,");
    append_hex_string(out, pubkey_.bytes());
    out.push_back(',');
    append_int(out, created_at_);
    out.push_back(',');
    append_int(out, kind_);
    out.push_back(',');
    append_tags_json(out);
    out.push_back(',');
    json_append_string(out, content_);
    out.push_back(']');
}

EventId Event::compute_id(std::string& scratch) const {
    serialize_canonical(scratch);
    return sha256(scratch);
}

void Event::sign(const Keypair& keys, RandomSource& aux, std::string& scratch) {
    pubkey_ = keys.public_key();
    id_ = compute_id(scratch);
    sig_ = keys.sign32(id_, aux);
}

void Event::sign(const Keypair& keys, RandomSource& aux) {
    thread_local std::string scratch;
    sign(keys, aux, scratch);
}

Reject Event::verify(std::string& scratch) const {
    if (compute_id(scratch) != id_) {
        return Reject::bad_event_id;
    }
    if (!schnorr_verify(pubkey_, id_, sig_)) {
        // schnorr_verify parses the key too: only a failure pays for telling the two apart.
        return pubkey_.on_curve() ? Reject::bad_signature : Reject::bad_pubkey;
    }
    return Reject::none;
}

Reject Event::verify() const {
    thread_local std::string scratch;
    return verify(scratch);
}

void Event::write_json(JsonWriter& writer) const {
    append_json(writer.begin_raw());
}

void Event::append_json_head(std::string& out) const {
    out.append("{\"id\":");
    append_hex_string(out, id_);
    out.append(",\"pubkey\":");
    append_hex_string(out, pubkey_.bytes());
    out.append(",\"created_at\":");
    append_int(out, created_at_);
    out.append(",\"kind\":");
    append_int(out, kind_);
    out.append(",\"tags\":");
}

void Event::append_json_tail(std::string& out) const {
    out.append(",\"sig\":");
    append_hex_string(out, sig_);
    out.push_back('}');
}

void Event::append_json(std::string& out) const {
    out.reserve(out.size() + json_bytes());
    append_json_head(out);
    append_tags_json(out);
    out.append(",\"content\":");
    json_append_string(out, content_);
    append_json_tail(out);
}

Event::CanonicalParts Event::canonical_parts(std::string_view canonical) const noexcept {
    // [0,"<pubkey>",<created_at>,<kind>,<tags>,"<content>"]
    size_t tags_begin = 3 + 66 + 1 + json_int_bytes(created_at_) + 1 + json_int_bytes(kind_) + 1;
    size_t content_bytes = json_string_bytes(content_);
    PYLON_ASSERT(canonical.size() >= tags_begin + 2 + 1 + content_bytes + 1);
    size_t content_begin = canonical.size() - 1 - content_bytes;
    CanonicalParts parts{canonical.substr(tags_begin, content_begin - 1 - tags_begin),
                         canonical.substr(content_begin, content_bytes)};
    PYLON_ASSERT_MSG(canonical.substr(0, 4) == "[0,\"" && parts.tags.front() == '[' &&
                         parts.tags.back() == ']' && canonical[content_begin - 1] == ',' &&
                         parts.content.front() == '"' && canonical.back() == ']',
                     "not this event's canonical serialisation");
    return parts;
}

void Event::append_json(std::string& out, std::string_view canonical) const {
    CanonicalParts parts = canonical_parts(canonical);
    constexpr std::string_view fixed =
        R"({"id":"","pubkey":"","created_at":,"kind":,"tags":,"content":,"sig":""})";
    out.reserve(out.size() + fixed.size() + 64 + 64 + 128 + json_int_bytes(created_at_) +
                json_int_bytes(kind_) + parts.tags.size() + parts.content.size());
    append_json_head(out);
    out.append(parts.tags);
    out.append(",\"content\":");
    out.append(parts.content);
    append_json_tail(out);
}

std::string Event::to_json() const {
    std::string out;
    append_json(out);
    return out;
}

size_t Event::json_bytes() const noexcept {
    constexpr std::string_view fixed =
        R"({"id":"","pubkey":"","created_at":,"kind":,"tags":,"content":,"sig":""})";
    return fixed.size() + 64 + 64 + 128 + json_int_bytes(created_at_) + json_int_bytes(kind_) +
           tags_json_bytes() + json_string_bytes(content_);
}

size_t Event::json_bytes_bound() const noexcept {
    constexpr std::string_view fixed =
        R"({"id":"","pubkey":"","created_at":,"kind":,"tags":,"content":,"sig":""})";
    // Tags: [] and a comma per tag, [] per tag, quotes and a comma per element.
    size_t tags = 2 + 3 * tag_ends_.size() + 3 * elements_.size() + 6 * arena_.size();
    return fixed.size() + 64 + 64 + 128 + json_int_bytes(created_at_) + json_int_bytes(kind_) +
           tags + 2 + 6 * content_.size();
}

Reject Event::read_json(JsonReader& reader, std::string_view text) {
    simdjson::dom::element root;
    Reject r = reader.parse(text, root);
    if (r != Reject::none) {
        return r;
    }
    return read_element(root, reader.limits(), text.size());
}

Reject Event::read_json(JsonReader& reader, PaddedJson text) {
    simdjson::dom::element root;
    Reject r = reader.parse(text, root);
    if (r != Reject::none) {
        return r;
    }
    return read_element(root, reader.limits(), text.text().size());
}

Reject Event::read_tags(simdjson::dom::element value, const Limits& limits) {
    simdjson::dom::array tags;
    if (json_array(value, tags) != Reject::none) {
        return Reject::wrong_type;
    }
    for (simdjson::dom::element tag_el : tags) {
        if (tag_ends_.size() >= limits.tags_max) {
            return Reject::too_many_tags;
        }
        simdjson::dom::array items;
        if (json_array(tag_el, items) != Reject::none) {
            return Reject::wrong_type;
        }
        begin_tag();
        size_t count = 0;
        for (simdjson::dom::element item : items) {
            if (++count > limits.tag_elements_max) {
                return Reject::too_many_tag_elements;
            }
            std::string_view text;
            Reject r = json_string(item, limits.tag_element_bytes_max, text);
            if (r != Reject::none) {
                return map_string_reject(r, Reject::tag_value_too_long);
            }
            push_element_raw(text);
        }
        if (count == 0) {
            return Reject::empty_tag;
        }
        TagView t = tag(tag_ends_.size() - 1);
        if (t.name().size() == 1 && t.size() >= 2) {
            // An `i` tag (a NIP-90 job input: a prompt) is data, not an index key: it is
            // bounded like any tag string.
            size_t value_max = t.name() == "i" ? limits.tag_element_bytes_max
                                               : limits.single_letter_tag_value_bytes_max;
            if (t[1].size() > value_max) {
                return Reject::tag_value_too_long;
            }
        }
    }
    return Reject::none;
}

Reject Event::read_field(std::string_view key, simdjson::dom::element value, const Limits& limits,
                         uint32_t& seen) {
    auto mark = [&seen](uint32_t bit) {
        bool dup = (seen & bit) != 0;
        seen |= bit;
        return dup;
    };
    std::string_view text;
    uint64_t number = 0;
    if (key == "id") {
        if (mark(k_field_id)) {
            return Reject::duplicate_field;
        }
        if (json_string(value, 64, text) != Reject::none) {
            return value.is_string() ? Reject::bad_hex : Reject::wrong_type;
        }
        return hex_decode(text, id_) ? Reject::none : Reject::bad_hex;
    }
    if (key == "pubkey") {
        if (mark(k_field_pubkey)) {
            return Reject::duplicate_field;
        }
        if (json_string(value, 64, text) != Reject::none) {
            return value.is_string() ? Reject::bad_hex : Reject::wrong_type;
        }
        return pubkey_.set_hex(text) ? Reject::none : Reject::bad_hex;
    }
    if (key == "sig") {
        if (mark(k_field_sig)) {
            return Reject::duplicate_field;
        }
        if (json_string(value, 128, text) != Reject::none) {
            return value.is_string() ? Reject::bad_hex : Reject::wrong_type;
        }
        return hex_decode(text, sig_) ? Reject::none : Reject::bad_hex;
    }
    if (key == "created_at") {
        if (mark(k_field_created_at)) {
            return Reject::duplicate_field;
        }
        if (json_uint(value, std::numeric_limits<int64_t>::max(), number) != Reject::none) {
            return Reject::bad_created_at;
        }
        created_at_ = static_cast<int64_t>(number);
        return Reject::none;
    }
    if (key == "kind") {
        if (mark(k_field_kind)) {
            return Reject::duplicate_field;
        }
        if (json_uint(value, event_kind_max, number) != Reject::none) {
            return Reject::bad_kind;
        }
        kind_ = static_cast<uint32_t>(number);
        return Reject::none;
    }
    if (key == "tags") {
        return mark(k_field_tags) ? Reject::duplicate_field : read_tags(value, limits);
    }
    if (key == "content") {
        if (mark(k_field_content)) {
            return Reject::duplicate_field;
        }
        Reject r = json_string(value, limits.content_bytes_max, text);
        if (r != Reject::none) {
            return map_string_reject(r, Reject::content_too_long);
        }
        content_.assign(text);
        return Reject::none;
    }
    return Reject::none;  // unknown top-level fields are ignored (strfry drops them)
}

Reject Event::read_element(simdjson::dom::element element, const Limits& limits,
                           size_t source_bytes) {
    clear();
    simdjson::dom::object object;
    if (json_object(element, object) != Reject::none) {
        return Reject::wrong_type;
    }
    uint32_t seen = 0;
    for (simdjson::dom::key_value_pair field : object) {
        Reject r = read_field(field.key, field.value, limits, seen);
        if (r != Reject::none) {
            return r;
        }
    }
    if (seen != k_fields_all) {
        return Reject::missing_field;
    }
    if (source_bytes > limits.event_bytes_max && json_bytes() > limits.event_bytes_max) {
        return Reject::event_too_large;
    }
    return Reject::none;
}

Reject Event::read_template_tags(simdjson::dom::element value, const Limits& limits) {
    simdjson::dom::array tags;
    if (json_array(value, tags) != Reject::none) {
        return Reject::wrong_type;
    }
    std::vector<std::string_view> elements;
    for (simdjson::dom::element tag_el : tags) {
        simdjson::dom::array items;
        if (tag_ends_.size() >= limits.tags_max) {
            return Reject::too_many_tags;
        }
        if (json_array(tag_el, items) != Reject::none) {
            return Reject::wrong_type;
        }
        elements.clear();
        for (simdjson::dom::element item : items) {
            std::string_view text;
            Reject r = json_string(item, limits.tag_element_bytes_max, text);
            if (r != Reject::none) {
                return map_string_reject(r, Reject::tag_value_too_long);
            }
            if (elements.size() >= limits.tag_elements_max) {
                return Reject::too_many_tag_elements;
            }
            elements.push_back(text);
        }
        if (elements.empty()) {
            return Reject::empty_tag;
        }
        add_tag(std::span<const std::string_view>(elements));
    }
    return Reject::none;
}

Reject Event::read_template(JsonReader& reader, std::string_view text, int64_t default_created_at) {
    clear();
    simdjson::dom::element root;
    Reject r = reader.parse(text, root);
    simdjson::dom::object object;
    if (r != Reject::none || (r = json_object(root, object)) != Reject::none) {
        return r;
    }
    const Limits& limits = reader.limits();
    bool have_kind = false;
    bool have_created_at = false;
    for (simdjson::dom::key_value_pair field : object) {
        uint64_t number = 0;
        std::string_view str;
        if (field.key == "kind") {
            if (json_uint(field.value, event_kind_max, number) != Reject::none) {
                return Reject::bad_kind;
            }
            kind_ = static_cast<uint32_t>(number);
            have_kind = true;
        } else if (field.key == "created_at") {
            if (json_uint(field.value, std::numeric_limits<int64_t>::max(), number) !=
                Reject::none) {
                return Reject::bad_created_at;
            }
            created_at_ = static_cast<int64_t>(number);
            have_created_at = true;
        } else if (field.key == "content") {
            if ((r = json_string(field.value, limits.content_bytes_max, str)) != Reject::none) {
                return map_string_reject(r, Reject::content_too_long);
            }
            set_content(str);
        } else if (field.key == "tags" &&
                   (r = read_template_tags(field.value, limits)) != Reject::none) {
            return r;
        }
    }
    if (!have_kind) {
        return Reject::missing_field;
    }
    if (!have_created_at) {
        created_at_ = default_created_at;
    }
    return Reject::none;
}

}  // namespace pylon::proto
