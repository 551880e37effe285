// JsonReader: in-place parsing with padding, the copy path, bounds on size and depth, typed
// readers, and reuse of one reader across documents.
#include "proto/json_reader.hpp"

#include <gtest/gtest.h>

#include "tests/support/proto_print.hpp"

namespace pylon::proto {
namespace {

TEST(JsonReader, PaddedAndCopiedInput) {
    JsonReader reader;
    std::string text = R"({"a":[1,"x"]})";
    json_reserve_padding(text);
    simdjson::dom::element root;
    ASSERT_EQ(reader.parse(PaddedJson::of(text), root), Reject::none);
    simdjson::dom::object obj;
    ASSERT_EQ(json_object(root, obj), Reject::none);
    ASSERT_EQ(reader.parse(std::string_view(R"(["y"])"), root), Reject::none);
    simdjson::dom::array arr;
    ASSERT_EQ(json_array(root, arr), Reject::none);
    std::string_view s;
    ASSERT_EQ(json_string(arr.at(0).value(), 10, s), Reject::none);
    EXPECT_EQ(s, "y");
    char buffer[8 + json_padding_bytes] = "[true]";
    ASSERT_EQ(reader.parse(PaddedJson(buffer, 6, sizeof buffer), root), Reject::none);
    EXPECT_TRUE(root.is_array());
}

// A large document grows the reader; the next small one hands that back (one 1 MiB request must
// not leave every relay link holding a 1 MiB parser), and parsing still works on both sides.
TEST(JsonReader, ALargeDocumentsBuffersAreNotKeptForTheSmallOnes) {
    Limits limits;
    limits.message_bytes_max = 1024 * 1024;
    JsonReader reader(limits);
    simdjson::dom::element root;
    std::string big = "[\"" + std::string(500'000, 'x') + "\"]";
    for (int round = 0; round < 2; round++) {
        ASSERT_EQ(reader.parse(std::string_view(big), root), Reject::none);
        EXPECT_GE(reader.capacity_bytes(), 2 * big.size());  // the parser and the copy
        std::string_view s;
        ASSERT_EQ(json_string(root.at(0).value(), big.size(), s), Reject::none);
        EXPECT_EQ(s.size(), 500'000u);
        std::string small = R"(["small"])";
        json_reserve_padding(small);
        ASSERT_EQ(reader.parse(PaddedJson::of(small), root), Reject::none);
        EXPECT_LE(reader.capacity_bytes(), 2 * json_kept_capacity_bytes);
        ASSERT_EQ(reader.parse(std::string_view(R"(["again"])"), root), Reject::none);
        ASSERT_EQ(json_string(root.at(0).value(), 10, s), Reject::none);
        EXPECT_EQ(s, "again");
        EXPECT_LE(reader.capacity_bytes(), 2 * json_kept_capacity_bytes);
    }
    // Up to the kept size, the parser's buffers stay (no allocation per message once warm).
    std::string mid = "[\"" + std::string(40'000, 'y') + "\"]";
    json_reserve_padding(mid);
    ASSERT_EQ(reader.parse(PaddedJson::of(mid), root), Reject::none);
    size_t warm = reader.capacity_bytes();
    EXPECT_GE(warm, mid.size());
    std::string one = "[1]";
    json_reserve_padding(one);
    ASSERT_EQ(reader.parse(PaddedJson::of(one), root), Reject::none);
    EXPECT_EQ(reader.capacity_bytes(), warm);
}

TEST(JsonReader, Bounds) {
    Limits limits;
    limits.message_bytes_max = 16;
    limits.json_depth_max = 3;
    JsonReader reader(limits);
    simdjson::dom::element root;
    EXPECT_EQ(reader.parse(std::string_view("[[[1]]]"), root), Reject::none);
    EXPECT_EQ(reader.parse(std::string_view("[[[[1]]]]"), root), Reject::json_depth);
    EXPECT_EQ(reader.parse(std::string_view("[\"0123456789abcdef\"]"), root), Reject::too_large);
    EXPECT_EQ(reader.parse(std::string_view("[1,]"), root), Reject::json_syntax);
    EXPECT_EQ(reader.parse(std::string_view("[\"\xff\"]"), root), Reject::invalid_utf8);
    EXPECT_EQ(reader.parse(std::string_view("[1] [2]"), root), Reject::json_syntax);
}

TEST(JsonReader, TypedReaders) {
    JsonReader reader;
    simdjson::dom::element root;
    ASSERT_EQ(
        reader.parse(std::string_view(R"([5,-1,1.0,"abc",18446744073709551615,[1,2,3]])"), root),
        Reject::none);
    simdjson::dom::array a;
    ASSERT_EQ(json_array(root, a), Reject::none);
    std::array<simdjson::dom::element, 6> items;
    ASSERT_EQ(json_collect(a, items), 6u);
    std::array<simdjson::dom::element, 2> few;
    EXPECT_EQ(json_collect(a, few), 3u);  // "more than fits"
    uint64_t u = 0;
    EXPECT_EQ(json_uint(items[0], 10, u), Reject::none);
    EXPECT_EQ(u, 5u);
    EXPECT_EQ(json_uint(items[0], 4, u), Reject::wrong_type);
    EXPECT_EQ(json_uint(items[1], 10, u), Reject::wrong_type);
    EXPECT_EQ(json_uint(items[2], 10, u), Reject::wrong_type);
    EXPECT_EQ(json_uint(items[4], UINT64_MAX, u), Reject::none);
    std::string_view s;
    EXPECT_EQ(json_string(items[3], 2, s), Reject::string_too_long);
    EXPECT_EQ(json_string(items[0], 2, s), Reject::wrong_type);
    simdjson::dom::object o;
    EXPECT_EQ(json_object(items[5], o), Reject::wrong_type);
}

}  // namespace
}  // namespace pylon::proto
