// Test support: loads the public test vectors from PYLON_VECTORS_DIR (../shared/vectors beside
// the checkout) at run time and reads them with simdjson's error-code API. Header-only; each test
// owns its VectorFile. A missing or unreadable file is a test failure, never a silent skip.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

namespace pylon::test {

inline std::string vectors_path(std::string_view name) {
    return std::string(PYLON_VECTORS_DIR) + "/" + std::string(name);
}

inline std::string read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// One parsed JSON vector file; elements are valid while it lives.
class VectorFile {
  public:
    explicit VectorFile(std::string_view name) {
        text_ = read_text_file(vectors_path(name));
        EXPECT_FALSE(text_.empty()) << "cannot read " << vectors_path(name);
        auto err = parser_.parse(text_).get(root_);
        EXPECT_EQ(err, simdjson::SUCCESS) << name << ": " << simdjson::error_message(err);
    }
    simdjson::dom::element root() const { return root_; }

  private:
    std::string text_;
    simdjson::dom::parser parser_;
    simdjson::dom::element root_;
};

inline std::string_view str(simdjson::dom::element e, std::string_view key) {
    std::string_view out;
    auto err = e[key].get_string().get(out);
    EXPECT_EQ(err, simdjson::SUCCESS) << "string field " << key;
    return out;
}

inline std::string_view str(simdjson::dom::element e) {
    std::string_view out;
    EXPECT_EQ(e.get_string().get(out), simdjson::SUCCESS);
    return out;
}

inline int64_t num(simdjson::dom::element e, std::string_view key) {
    int64_t out = 0;
    auto err = e[key].get_int64().get(out);
    EXPECT_EQ(err, simdjson::SUCCESS) << "integer field " << key;
    return out;
}

inline simdjson::dom::array arr(simdjson::dom::element e, std::string_view key) {
    simdjson::dom::array out;
    auto err = e[key].get_array().get(out);
    EXPECT_EQ(err, simdjson::SUCCESS) << "array field " << key;
    return out;
}

inline simdjson::dom::element at(simdjson::dom::element e, std::string_view key) {
    simdjson::dom::element out;
    auto err = e[key].get(out);
    EXPECT_EQ(err, simdjson::SUCCESS) << "field " << key;
    return out;
}

inline bool has(simdjson::dom::element e, std::string_view key) {
    simdjson::dom::element out;
    return e[key].get(out) == simdjson::SUCCESS;
}

// Minified JSON text of an element.
inline std::string json_text(simdjson::dom::element e) {
    return simdjson::minify(e);
}

inline std::vector<uint8_t> unhex(std::string_view hex) {
    std::vector<uint8_t> out(hex.size() / 2);
    auto nib = [](char c) -> int {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        ADD_FAILURE() << "bad hex char " << c;
        return 0;
    };
    for (size_t i = 0; i < out.size(); ++i) {
        out[i] = static_cast<uint8_t>(nib(hex[2 * i]) * 16 + nib(hex[2 * i + 1]));
    }
    return out;
}

template <size_t N>
inline std::array<uint8_t, N> unhex_array(std::string_view hex) {
    std::array<uint8_t, N> out{};
    auto v = unhex(hex);
    EXPECT_EQ(v.size(), N) << hex;
    std::copy_n(v.begin(), std::min(N, v.size()), out.begin());
    return out;
}

}  // namespace pylon::test
