// Base64: RFC 4648 test vectors both ways and strict rejection of non-canonical input.
#include "proto/base64.hpp"

#include <gtest/gtest.h>

namespace pylon::proto {
namespace {

std::string encode(std::string_view s) {
    std::string out;
    base64_append(out,
                  std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
    return out;
}

std::string decode(std::string_view s, bool& ok) {
    std::vector<uint8_t> out;
    ok = base64_decode(s, out);
    return std::string(out.begin(), out.end());
}

TEST(Base64, Rfc4648Vectors) {
    const std::pair<std::string_view, std::string_view> cases[] = {{"", ""},
                                                                   {"f", "Zg=="},
                                                                   {"fo", "Zm8="},
                                                                   {"foo", "Zm9v"},
                                                                   {"foob", "Zm9vYg=="},
                                                                   {"fooba", "Zm9vYmE="},
                                                                   {"foobar", "Zm9vYmFy"}};
    for (auto [plain, enc] : cases) {
        EXPECT_EQ(encode(plain), enc);
        bool ok = false;
        EXPECT_EQ(decode(enc, ok), plain);
        EXPECT_TRUE(ok) << enc;
        EXPECT_EQ(base64_encoded_bytes(plain.size()), enc.size());
    }
}

TEST(Base64, StrictDecoding) {
    bool ok = true;
    for (std::string_view bad : {"Zg=", "Zg", "Z===", "Zh==", "Zm9=", "Zm 9v", "Zm9v\n", "=Zm9",
                                 "Zg==Zg==", "Zm-_", "\xc3\xa9\xc3\xa9"}) {
        decode(bad, ok);
        EXPECT_FALSE(ok) << bad;
    }
}

}  // namespace
}  // namespace pylon::proto
