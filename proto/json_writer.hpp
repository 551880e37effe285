// JsonWriter: appends compact JSON (no whitespace) to a caller-owned std::string, with the exact
// string escapes of NIP-01: \n \" \\ \r \t \b \f in short form, every other C0 control character
// as lowercase \u00XX, and everything else (including '/', U+007F and all non-ASCII) verbatim.
// The same rules serve the canonical event serialisation (the id preimage) and every message we
// send, so what we hash is what we write. Commas are placed automatically; nesting is bounded by
// json_writer_depth_max (a bug beyond it, asserted). One writer per string; not thread-safe; the
// string must outlive the writer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pylon::proto {

inline constexpr size_t json_writer_depth_max = 32;

class JsonWriter {
  public:
    explicit JsonWriter(std::string& out) noexcept : out_(out) {}

    void begin_array();
    void end_array();
    void begin_object();
    void end_object();
    void key(std::string_view name);  // inside an object, before each value

    void string(std::string_view text);
    void int64(int64_t value);
    void uint64(uint64_t value);
    void number(double value);  // shortest round-trip form; asserts it is finite
    void boolean(bool value);
    void null();
    void raw(std::string_view json);  // a complete, already valid JSON value
    // Places a value (comma, key check) and returns the string to append exactly one complete
    // JSON value to (lets a type serialise itself without a temporary).
    std::string& begin_raw();

    // Convenience for objects: key then value.
    void field(std::string_view name, std::string_view text) {
        key(name);
        string(text);
    }
    void field_int(std::string_view name, int64_t value) {
        key(name);
        int64(value);
    }

    size_t depth() const noexcept { return depth_; }
    std::string& out() noexcept { return out_; }

  private:
    void before_value();

    std::string& out_;
    size_t depth_ = 0;
    bool after_key_ = false;
    bool has_items_[json_writer_depth_max] = {};
    bool is_object_[json_writer_depth_max] = {};
};

// Appends text as a quoted JSON string with the NIP-01 escapes.
void json_append_string(std::string& out, std::string_view text);

// The number of bytes json_append_string would append (quotes included).
size_t json_string_bytes(std::string_view text) noexcept;

// The longest prefix of text (valid UTF-8; cut only at code point boundaries) whose quoted,
// escaped JSON form takes at most json_bytes_max bytes; 0 if not even "" fits.
size_t json_string_prefix_bytes(std::string_view text, size_t json_bytes_max) noexcept;

// The number of decimal digits (and sign) of value.
size_t json_int_bytes(int64_t value) noexcept;

}  // namespace pylon::proto
