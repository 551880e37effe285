#include "tools/fake_http/json_out.hpp"

#include <cstdio>
#include <ctime>

#include "tools/fake_http/fake_assert.hpp"

namespace pylon::fake {

std::string json_quote(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out.push_back('"');
    for (char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
                    out += buf;
                } else {
                    out.push_back(c);
                }
        }
    }
    out.push_back('"');
    return out;
}

std::string rfc3339_utc(std::chrono::system_clock::time_point t) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[64];
    std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%09lldZ", static_cast<long long>(ns % 1'000'000'000));
    return buf;
}

void JsonOut::before_value() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (!has_items_.empty()) {
        if (has_items_.back()) {
            out_.push_back(',');
        }
        has_items_.back() = true;
    } else {
        FAKE_ASSERT(out_.empty());  // one top-level value only
    }
}

JsonOut& JsonOut::begin_object() {
    before_value();
    out_.push_back('{');
    has_items_.push_back(false);
    return *this;
}

JsonOut& JsonOut::end_object() {
    FAKE_ASSERT(!has_items_.empty() && !after_key_);
    has_items_.pop_back();
    out_.push_back('}');
    return *this;
}

JsonOut& JsonOut::begin_array() {
    before_value();
    out_.push_back('[');
    has_items_.push_back(false);
    return *this;
}

JsonOut& JsonOut::end_array() {
    FAKE_ASSERT(!has_items_.empty() && !after_key_);
    has_items_.pop_back();
    out_.push_back(']');
    return *this;
}

JsonOut& JsonOut::key(std::string_view name) {
    FAKE_ASSERT(!has_items_.empty() && !after_key_);
    before_value();
    out_ += json_quote(name);
    out_.push_back(':');
    after_key_ = true;
    return *this;
}

JsonOut& JsonOut::str(std::string_view value) {
    before_value();
    out_ += json_quote(value);
    return *this;
}

JsonOut& JsonOut::num(std::int64_t value) {
    before_value();
    out_ += std::to_string(value);
    return *this;
}

JsonOut& JsonOut::num_fixed(double value, int decimals) {
    FAKE_ASSERT(decimals >= 0 && decimals <= 9);
    before_value();
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
    out_ += buf;
    return *this;
}

JsonOut& JsonOut::boolean(bool value) {
    before_value();
    out_ += value ? "true" : "false";
    return *this;
}

JsonOut& JsonOut::null() {
    before_value();
    out_ += "null";
    return *this;
}

JsonOut& JsonOut::raw(std::string_view json) {
    FAKE_ASSERT(!json.empty());
    before_value();
    out_ += json;
    return *this;
}

const std::string& JsonOut::text() const {
    FAKE_ASSERT(has_items_.empty() && !after_key_);
    return out_;
}

}  // namespace pylon::fake
