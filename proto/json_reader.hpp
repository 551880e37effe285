// JsonReader: the bounded front door for JSON text. It wraps one simdjson DOM parser (error-code
// API only; no exceptions), refuses input above Limits::message_bytes_max or nested deeper than
// Limits::json_depth_max, and parses in place when the caller's buffer carries simdjson's padding
// (PaddedJson), else from an internal padded copy that keeps its capacity. The parsed document
// (every element and string_view obtained from it) lives until the next parse on the same reader.
// A reader keeps its buffers across parses (up to json_kept_capacity_bytes of input: a larger
// document's buffers are handed back at the next smaller one), so one per shard (or per thread)
// makes parsing allocation-free once warm. Not thread-safe. The json_* helpers read typed values
// out of elements and turn type, range, length and UTF-8 failures into Reject values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "proto/limits.hpp"
#include "proto/reject.hpp"

namespace pylon::proto {

// What a JsonReader keeps between parses: after a larger document, the next one of at most this
// size is parsed with fresh, small buffers (a 1 MiB request does not leave each relay link
// holding a 1 MiB parser).
inline constexpr size_t json_kept_capacity_bytes = 64 * 1024;

// Bytes that must be readable after the end of JSON text parsed in place.
inline constexpr size_t json_padding_bytes = simdjson::SIMDJSON_PADDING;

// JSON text whose buffer has at least json_padding_bytes readable bytes after its end.
class PaddedJson {
  public:
    // Asserts capacity >= size + json_padding_bytes.
    PaddedJson(const char* data, size_t size, size_t capacity) noexcept;
    // A std::string whose capacity covers the padding (see json_reserve_padding).
    static PaddedJson of(const std::string& text) noexcept;

    std::string_view text() const noexcept { return {data_, size_}; }

  private:
    const char* data_;
    size_t size_;
};

// Makes sure text.capacity() covers the padding so PaddedJson::of(text) is valid.
void json_reserve_padding(std::string& text);

class JsonReader {
  public:
    explicit JsonReader(const Limits& limits = Limits{}) noexcept;
    JsonReader(const JsonReader&) = delete;
    JsonReader& operator=(const JsonReader&) = delete;

    // Parses in place; root is valid until the next parse.
    Reject parse(PaddedJson json, simdjson::dom::element& root) noexcept;
    // Copies text into an internal padded buffer first.
    Reject parse(std::string_view text, simdjson::dom::element& root) noexcept;

    const Limits& limits() const noexcept { return limits_; }
    // Input bytes the reader's buffers are sized for now (its parser's capacity plus its copy's).
    size_t capacity_bytes() const noexcept {
        return (allocated_ ? parser_.capacity() : 0) + copy_.capacity();
    }

  private:
    Reject parse_bytes(const char* data, size_t size, simdjson::dom::element& root) noexcept;

    Limits limits_;
    simdjson::dom::parser parser_;
    bool allocated_ = false;
    bool grown_ = false;  // parsed a document above json_kept_capacity_bytes since allocated
    std::string copy_;    // padded copy for unpadded input; keeps its capacity
};

// Typed reads. Each returns Reject::none and sets out, or the reason.
Reject json_string(simdjson::dom::element e, size_t bytes_max, std::string_view& out) noexcept;
Reject json_uint(simdjson::dom::element e, uint64_t value_max, uint64_t& out) noexcept;
Reject json_array(simdjson::dom::element e, simdjson::dom::array& out) noexcept;
Reject json_object(simdjson::dom::element e, simdjson::dom::object& out) noexcept;

// Copies up to out.size() elements of an array into out; returns how many the array has, counted
// up to out.size() + 1 (so "more than fits" is visible without walking a huge array).
size_t json_collect(simdjson::dom::array array, std::span<simdjson::dom::element> out) noexcept;

}  // namespace pylon::proto
