#include "proto/json_writer.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

#include "reactor/assert.hpp"

namespace pylon::proto {
namespace {

// For each byte: 0 = verbatim, 1 = short escape (in k_short), 2 = \u00XX.
constexpr std::array<uint8_t, 256> make_class() {
    std::array<uint8_t, 256> t{};
    for (size_t c = 0; c < 0x20; ++c) {
        t[c] = 2;
    }
    for (char c : {'\n', '"', '\\', '\r', '\t', '\b', '\f'}) {
        t[static_cast<unsigned char>(c)] = 1;
    }
    return t;
}
constexpr std::array<uint8_t, 256> k_class = make_class();

char short_escape(char c) noexcept {
    switch (c) {
        case '\n':
            return 'n';
        case '"':
            return '"';
        case '\\':
            return '\\';
        case '\r':
            return 'r';
        case '\t':
            return 't';
        case '\b':
            return 'b';
        case '\f':
            return 'f';
        default:
            break;
    }
    PYLON_UNREACHABLE();
}

// True if any of the 8 bytes in word is < 0x20, '"' or '\\' (SWAR: a zero byte in x ^ pattern,
// or a byte below 0x20, sets the high bit of that byte lane).
inline bool word_needs_escape(uint64_t word) noexcept {
    constexpr uint64_t ones = 0x0101010101010101ull;
    constexpr uint64_t highs = 0x8080808080808080ull;
    auto has_zero = [](uint64_t x) { return (x - ones) & ~x & highs; };
    uint64_t below_space = (word - ones * 0x20) & ~word & highs;
    return (below_space | has_zero(word ^ (ones * '"')) | has_zero(word ^ (ones * '\\'))) != 0;
}

// The index of the first byte at or after from that needs escaping, or text.size().
inline size_t next_escape(std::string_view text, size_t from) noexcept {
    size_t i = from;
    while (i + 8 <= text.size()) {
        uint64_t word;
        std::memcpy(&word, text.data() + i, 8);
        if (word_needs_escape(word)) {
            break;
        }
        i += 8;
    }
    while (i < text.size() && k_class[static_cast<unsigned char>(text[i])] == 0) {
        ++i;
    }
    return i;
}

}  // namespace

void json_append_string(std::string& out, std::string_view text) {
    constexpr char digits[] = "0123456789abcdef";
    out.push_back('"');
    size_t run = 0;
    for (size_t i = next_escape(text, 0); i < text.size(); i = next_escape(text, i + 1)) {
        uint8_t cls = k_class[static_cast<unsigned char>(text[i])];
        out.append(text.data() + run, i - run);
        run = i + 1;
        if (cls == 1) {
            char esc[2] = {'\\', short_escape(text[i])};
            out.append(esc, 2);
        } else {
            auto c = static_cast<unsigned char>(text[i]);
            char esc[6] = {'\\', 'u', '0', '0', digits[c >> 4], digits[c & 0x0f]};
            out.append(esc, 6);
        }
    }
    out.append(text.data() + run, text.size() - run);
    out.push_back('"');
}

size_t json_string_bytes(std::string_view text) noexcept {
    size_t n = 2 + text.size();
    for (size_t i = next_escape(text, 0); i < text.size(); i = next_escape(text, i + 1)) {
        n += k_class[static_cast<unsigned char>(text[i])] == 1 ? 1u : 5u;
    }
    return n;
}

size_t json_string_prefix_bytes(std::string_view text, size_t json_bytes_max) noexcept {
    if (json_bytes_max < 2) {
        return 0;
    }
    size_t used = 2;
    size_t boundary = 0;  // end of the last complete code point that fits
    for (size_t i = 0; i < text.size(); ++i) {
        uint8_t cls = k_class[static_cast<unsigned char>(text[i])];
        used += cls == 0 ? 1 : (cls == 1 ? 2 : 6);
        if (used > json_bytes_max) {
            return boundary;
        }
        bool next_starts =
            i + 1 == text.size() || (static_cast<unsigned char>(text[i + 1]) & 0xc0) != 0x80;
        if (next_starts) {
            boundary = i + 1;
        }
    }
    return text.size();
}

size_t json_int_bytes(int64_t value) noexcept {
    char buf[24];
    auto res = std::to_chars(buf, buf + sizeof buf, value);
    return static_cast<size_t>(res.ptr - buf);
}

void JsonWriter::before_value() {
    if (depth_ == 0) {
        return;
    }
    size_t top = depth_ - 1;
    if (is_object_[top]) {
        PYLON_ASSERT_MSG(after_key_, "JsonWriter: object value without a key");
        after_key_ = false;
        return;
    }
    if (has_items_[top]) {
        out_.push_back(',');
    }
    has_items_[top] = true;
}

void JsonWriter::begin_array() {
    before_value();
    PYLON_ASSERT(depth_ < json_writer_depth_max);
    has_items_[depth_] = false;
    is_object_[depth_] = false;
    ++depth_;
    out_.push_back('[');
}

void JsonWriter::end_array() {
    PYLON_ASSERT(depth_ > 0 && !is_object_[depth_ - 1]);
    --depth_;
    out_.push_back(']');
}

void JsonWriter::begin_object() {
    before_value();
    PYLON_ASSERT(depth_ < json_writer_depth_max);
    has_items_[depth_] = false;
    is_object_[depth_] = true;
    ++depth_;
    out_.push_back('{');
}

void JsonWriter::end_object() {
    PYLON_ASSERT(depth_ > 0 && is_object_[depth_ - 1] && !after_key_);
    --depth_;
    out_.push_back('}');
}

void JsonWriter::key(std::string_view name) {
    PYLON_ASSERT(depth_ > 0 && is_object_[depth_ - 1] && !after_key_);
    if (has_items_[depth_ - 1]) {
        out_.push_back(',');
    }
    has_items_[depth_ - 1] = true;
    json_append_string(out_, name);
    out_.push_back(':');
    after_key_ = true;
}

void JsonWriter::string(std::string_view text) {
    before_value();
    json_append_string(out_, text);
}

void JsonWriter::int64(int64_t value) {
    before_value();
    char buf[24];
    auto res = std::to_chars(buf, buf + sizeof buf, value);
    out_.append(buf, static_cast<size_t>(res.ptr - buf));
}

void JsonWriter::uint64(uint64_t value) {
    before_value();
    char buf[24];
    auto res = std::to_chars(buf, buf + sizeof buf, value);
    out_.append(buf, static_cast<size_t>(res.ptr - buf));
}

void JsonWriter::number(double value) {
    PYLON_ASSERT(std::isfinite(value));
    before_value();
    char buf[32];
    auto res = std::to_chars(buf, buf + sizeof buf, value);
    out_.append(buf, static_cast<size_t>(res.ptr - buf));
}

void JsonWriter::boolean(bool value) {
    before_value();
    out_.append(value ? "true" : "false");
}

void JsonWriter::null() {
    before_value();
    out_.append("null");
}

std::string& JsonWriter::begin_raw() {
    before_value();
    return out_;
}

void JsonWriter::raw(std::string_view json) {
    before_value();
    out_.append(json);
}

}  // namespace pylon::proto
