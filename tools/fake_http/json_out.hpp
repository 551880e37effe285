// JsonOut: a tiny append-only JSON writer for the fake backends' responses (they write JSON by
// hand so the byte layout follows the real servers' field order). It inserts commas, escapes
// strings like encoding/json and nlohmann do for control characters, and asserts that objects,
// arrays and keys are balanced. Value type; one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pylon::fake {

// `s` as a JSON string literal with quotes: ", \ and control characters escaped (\b \f \n \r \t,
// others as \u00XX); everything else (UTF-8 included) verbatim.
std::string json_quote(std::string_view s);

// A UTC time as RFC 3339 with nanoseconds, like Go's time.RFC3339Nano without trimming:
// "2026-08-01T10:00:00.100000001Z".
std::string rfc3339_utc(std::chrono::system_clock::time_point t);

class JsonOut {
  public:
    JsonOut& begin_object();
    JsonOut& end_object();
    JsonOut& begin_array();
    JsonOut& end_array();
    JsonOut& key(std::string_view name);
    JsonOut& str(std::string_view value);
    JsonOut& num(std::int64_t value);
    JsonOut& num_fixed(double value, int decimals);  // e.g. 12.345 with decimals = 3
    JsonOut& boolean(bool value);
    JsonOut& null();
    JsonOut& raw(std::string_view json);  // an already-encoded value

    // Shorthands for `key(name).<value>`.
    JsonOut& field(std::string_view name, std::string_view value) { return key(name).str(value); }
    JsonOut& field(std::string_view name, const char* value) { return key(name).str(value); }
    JsonOut& field(std::string_view name, std::int64_t value) { return key(name).num(value); }
    JsonOut& field(std::string_view name, int value) { return key(name).num(value); }
    JsonOut& field_bool(std::string_view name, bool value) { return key(name).boolean(value); }

    // The document; asserts that every container was closed.
    const std::string& text() const;

  private:
    void before_value();

    std::string out_;
    std::vector<bool> has_items_;  // one entry per open container
    bool after_key_ = false;
};

}  // namespace pylon::fake
