// Filter: JSON read/write round trips, matching semantics (AND across fields, OR within lists,
// empty lists match nothing, inclusive since/until, #x on the first value only) against the
// dvm_flow events, and hostile filters refused with reasons.
#include "proto/filter.hpp"

#include <gtest/gtest.h>

#include "proto/hex.hpp"
#include "tests/support/proto_print.hpp"
#include "tests/support/vectors.hpp"

namespace pylon::proto {
namespace {

constexpr std::string_view k_request_id =
    "6acd67e8ac236aa9e8552e3a3e9df816c447dac3047d98f4d83a8a97bd33603d";
constexpr std::string_view k_customer =
    "d41b22899549e1f3d335a31002cfd382174006e166d3e658e3a5eecdb6463573";
constexpr std::string_view k_provider =
    "17162c921dc4d2518f9a101db33695df1afb56ab82f5ff3e5da6eec3ca5cd917";

Reject parse(std::string_view json, Filter& f, const Limits& limits = Limits{}) {
    JsonReader reader(limits);
    simdjson::dom::element root;
    Reject r = reader.parse(json, root);
    return r != Reject::none ? r : f.read_element(root, limits);
}

std::vector<Event> flow_events() {
    test::VectorFile file("nostr-events.json");
    JsonReader reader;
    std::vector<Event> out;
    for (simdjson::dom::element c : test::arr(file.root(), "dvm_flow")) {
        Event& e = out.emplace_back();
        EXPECT_EQ(e.read_json(reader, test::json_text(test::at(c, "event"))), Reject::none);
    }
    return out;
}

size_t count_matches(std::string_view filter_json, const std::vector<Event>& events) {
    Filter f;
    EXPECT_EQ(parse(filter_json, f), Reject::none) << filter_json;
    size_t n = 0;
    for (const Event& e : events) {
        n += f.matches(e) ? 1u : 0u;
    }
    return n;
}

TEST(Filter, MatchesTheDvmFlow) {
    auto events = flow_events();
    ASSERT_EQ(events.size(), 8u);
    EXPECT_EQ(count_matches("{}", events), 8u);
    EXPECT_EQ(count_matches(R"({"kinds":[5050]})", events), 1u);
    EXPECT_EQ(count_matches(R"({"kinds":[6050,7000]})", events), 6u);
    // What an NDK client subscribes to for a job's responses.
    EXPECT_EQ(count_matches(std::string(R"({"kinds":[6050,7000],"#e":[")") +
                                std::string(k_request_id) + R"("]})",
                            events),
              6u);
    EXPECT_EQ(
        count_matches(std::string(R"({"authors":[")") + std::string(k_customer) + R"("]})", events),
        2u);
    EXPECT_EQ(
        count_matches(std::string(R"({"#p":[")") + std::string(k_provider) + R"("]})", events), 1u);
    EXPECT_EQ(count_matches(R"({"since":1700000002,"until":1700000004})", events), 3u);
    EXPECT_EQ(count_matches(R"({"since":1700000002,"until":1700000001})", events), 0u);
    EXPECT_EQ(count_matches(R"({"kinds":[]})", events), 0u);
    EXPECT_EQ(count_matches(R"({"ids":[]})", events), 0u);
    EXPECT_EQ(
        count_matches(std::string(R"({"ids":[")") + std::string(k_request_id) + R"("]})", events),
        1u);
    EXPECT_EQ(count_matches(R"({"#k":["5050"]})", events), 1u);
    EXPECT_EQ(count_matches(R"({"#K":["5050"]})", events), 0u);  // tag letters are case-sensitive
    // Only element 1 of a tag is indexed: the input type in element 2 never matches.
    EXPECT_EQ(count_matches(R"({"#i":["What is the capital of France?"]})", events), 2u);
    EXPECT_EQ(count_matches(R"({"#i":["text"]})", events), 0u);
    EXPECT_EQ(count_matches(R"({"#t":["x"],"kinds":[5050]})", events), 0u);
}

TEST(Filter, JsonRoundTrip) {
    Filter f;
    f.kinds = std::vector<uint32_t>{5050, 5, 7000};
    f.since = 1700000000;
    f.until = 1800000000;
    f.limit = 500;
    PublicKey pk;
    ASSERT_TRUE(pk.set_hex(k_customer));
    f.authors = std::vector<PublicKey>{pk};
    f.add_tag_value('p', std::string(k_provider));
    f.add_tag_value('t', "a \"quoted\" topic");
    std::string json = f.to_json();
    EXPECT_EQ(json, std::string(R"({"authors":[")") + std::string(k_customer) +
                        R"("],"kinds":[5050,5,7000],"#p":[")" + std::string(k_provider) +
                        R"("],"#t":["a \"quoted\" topic"],"since":1700000000,)"
                        R"("until":1800000000,"limit":500})");
    Filter back;
    ASSERT_EQ(parse(json, back), Reject::none);
    EXPECT_EQ(back, f);
    EXPECT_EQ(back.to_json(), json);
    EXPECT_EQ(Filter{}.to_json(), "{}");
}

TEST(FilterHostile, RefusedWithReasons) {
    Filter f;
    EXPECT_EQ(parse("[]", f), Reject::wrong_type);
    EXPECT_EQ(parse(R"({"search":"x"})", f), Reject::unknown_field);
    EXPECT_EQ(parse(R"({"#ab":["x"]})", f), Reject::unknown_field);
    EXPECT_EQ(parse(R"({"#1":["x"]})", f), Reject::unknown_field);
    EXPECT_EQ(parse(R"({"kinds":[1],"kinds":[2]})", f), Reject::duplicate_field);
    EXPECT_EQ(parse(R"({"#t":["a"],"#t":["b"]})", f), Reject::duplicate_field);
    EXPECT_EQ(parse(R"({"kinds":1})", f), Reject::wrong_type);
    EXPECT_EQ(parse(R"({"kinds":[65536]})", f), Reject::bad_filter_value);
    EXPECT_EQ(parse(R"({"kinds":["1"]})", f), Reject::bad_filter_value);
    EXPECT_EQ(parse(R"({"ids":["abcd"]})", f), Reject::bad_filter_value);  // no prefixes
    EXPECT_EQ(parse(R"({"authors":[5]})", f), Reject::wrong_type);
    EXPECT_EQ(parse(std::string(R"({"ids":[")") + std::string(64, 'A') + R"("]})", f),
              Reject::bad_filter_value);
    EXPECT_EQ(parse(R"({"#e":["not-hex"]})", f), Reject::bad_filter_value);
    EXPECT_EQ(parse(R"({"#t":[1]})", f), Reject::wrong_type);
    EXPECT_EQ(parse(R"({"since":-1})", f), Reject::bad_filter_value);
    EXPECT_EQ(parse(R"({"until":1.5})", f), Reject::bad_filter_value);
    EXPECT_EQ(parse(R"({"limit":"10"})", f), Reject::bad_filter_value);
    EXPECT_EQ(parse("{\"#t\":[\"\xc3\x28\"]}", f), Reject::invalid_utf8);
    Limits small;
    small.filter_values_max = 2;
    small.filter_tag_fields_max = 2;
    small.filter_tag_value_bytes_max = 3;
    EXPECT_EQ(parse(R"({"kinds":[1,2,3]})", f, small), Reject::too_many_values);
    EXPECT_EQ(parse(R"({"#a":["1"],"#b":["1"],"#c":["1"]})", f, small), Reject::too_many_values);
    EXPECT_EQ(parse(R"({"#t":["long"]})", f, small), Reject::bad_filter_value);
    EXPECT_EQ(parse(R"({"kinds":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]})", f),
              Reject::json_depth);
}

}  // namespace
}  // namespace pylon::proto
