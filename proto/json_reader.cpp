#include "proto/json_reader.hpp"

#include <algorithm>

#include "proto/utf8.hpp"
#include "reactor/assert.hpp"

namespace pylon::proto {
namespace {

constexpr size_t k_initial_capacity_bytes = 4096;
// simdjson never allocates less than this, so the parser's own ceiling must allow it even when
// our bound is smaller (the bound itself is enforced before parsing).
constexpr size_t k_simdjson_min_capacity_bytes = simdjson::dom::MINIMAL_DOCUMENT_CAPACITY;

size_t parser_capacity(size_t bytes) {
    return std::max(bytes, k_simdjson_min_capacity_bytes);
}

Reject from_simdjson(simdjson::error_code err) noexcept {
    switch (err) {
        case simdjson::SUCCESS:
            return Reject::none;
        case simdjson::CAPACITY:
            return Reject::too_large;
        case simdjson::DEPTH_ERROR:
            return Reject::json_depth;
        case simdjson::UTF8_ERROR:
            return Reject::invalid_utf8;
        case simdjson::INCORRECT_TYPE:
            return Reject::wrong_type;
        case simdjson::NUMBER_ERROR:
        case simdjson::NUMBER_OUT_OF_RANGE:
            return Reject::bad_number;
        default:
            return Reject::json_syntax;
    }
}

}  // namespace

PaddedJson::PaddedJson(const char* data, size_t size, size_t capacity) noexcept
    : data_(data), size_(size) {
    PYLON_ASSERT_MSG(capacity >= size && capacity - size >= json_padding_bytes,
                     "PaddedJson: buffer lacks simdjson padding");
}

PaddedJson PaddedJson::of(const std::string& text) noexcept {
    return PaddedJson(text.data(), text.size(), text.capacity());
}

void json_reserve_padding(std::string& text) {
    text.reserve(text.size() + json_padding_bytes);
}

JsonReader::JsonReader(const Limits& limits) noexcept
    : limits_(limits), parser_(parser_capacity(limits.message_bytes_max)) {}

Reject JsonReader::parse(PaddedJson json, simdjson::dom::element& root) noexcept {
    return parse_bytes(json.text().data(), json.text().size(), root);
}

Reject JsonReader::parse(std::string_view text, simdjson::dom::element& root) noexcept {
    if (text.size() > limits_.message_bytes_max) {
        return Reject::too_large;
    }
    if (copy_.capacity() > json_kept_capacity_bytes && text.size() <= json_kept_capacity_bytes) {
        std::string().swap(copy_);  // a large text's copy is not kept for the small ones
    }
    copy_.assign(text);  // may allocate the first time; keeps capacity afterwards
    json_reserve_padding(copy_);
    return parse_bytes(copy_.data(), copy_.size(), root);
}

Reject JsonReader::parse_bytes(const char* data, size_t size,
                               simdjson::dom::element& root) noexcept {
    if (size > limits_.message_bytes_max) {
        return Reject::too_large;
    }
    if (grown_ && size <= json_kept_capacity_bytes) {
        // The buffers a large document grew (its tape, its strings: ~10 bytes per input byte of
        // address space, its strings' pages touched) are handed back for the small ones.
        parser_ = simdjson::dom::parser(parser_capacity(limits_.message_bytes_max));
        allocated_ = false;
        grown_ = false;
        if (data != copy_.data() && copy_.capacity() > json_kept_capacity_bytes) {
            std::string().swap(copy_);
        }
    }
    if (!allocated_) {
        size_t initial =
            parser_capacity(std::min(k_initial_capacity_bytes, limits_.message_bytes_max));
        // simdjson counts the document root as one level of its max_depth.
        if (parser_.allocate(initial, limits_.json_depth_max + 1) != simdjson::SUCCESS) {
            return Reject::too_large;
        }
        allocated_ = true;
    }
    auto err = parser_.parse(data, size, false).get(root);
    grown_ = grown_ || size > json_kept_capacity_bytes;
    return from_simdjson(err);
}

Reject json_string(simdjson::dom::element e, size_t bytes_max, std::string_view& out) noexcept {
    std::string_view s;
    if (e.get_string().get(s) != simdjson::SUCCESS) {
        return Reject::wrong_type;
    }
    if (s.size() > bytes_max) {
        return Reject::string_too_long;
    }
    // Stage 1 validated the raw input; this also catches what \u escapes produced.
    if (!utf8_valid(s)) {
        return Reject::invalid_utf8;
    }
    out = s;
    return Reject::none;
}

Reject json_uint(simdjson::dom::element e, uint64_t value_max, uint64_t& out) noexcept {
    if (!e.is_int64() && !e.is_uint64()) {
        return Reject::wrong_type;
    }
    uint64_t v = 0;
    if (e.get_uint64().get(v) != simdjson::SUCCESS || v > value_max) {
        return Reject::wrong_type;
    }
    out = v;
    return Reject::none;
}

Reject json_array(simdjson::dom::element e, simdjson::dom::array& out) noexcept {
    return e.get_array().get(out) == simdjson::SUCCESS ? Reject::none : Reject::wrong_type;
}

Reject json_object(simdjson::dom::element e, simdjson::dom::object& out) noexcept {
    return e.get_object().get(out) == simdjson::SUCCESS ? Reject::none : Reject::wrong_type;
}

size_t json_collect(simdjson::dom::array array, std::span<simdjson::dom::element> out) noexcept {
    size_t n = 0;
    for (simdjson::dom::element e : array) {
        if (n == out.size()) {
            return n + 1;
        }
        out[n++] = e;
    }
    return n;
}

}  // namespace pylon::proto
