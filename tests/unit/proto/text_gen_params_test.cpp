// TextGenParams: the dvm_flow request's params, both spellings of top_k/top_p, stop sequences
// over repeated params, unknown params ignored, and malformed or out-of-range values refused
// naming the key.
#include "proto/text_gen_params.hpp"

#include <gtest/gtest.h>

#include "tests/support/proto_print.hpp"
#include "tests/unit/proto/nip90_fixture.hpp"

namespace pylon::proto {
namespace {

JobRequest with_params(std::initializer_list<std::initializer_list<std::string_view>> params) {
    Event e;
    e.set_kind(5050);
    for (auto p : params) {
        e.add_tag(p);
    }
    JobRequest req;
    EXPECT_EQ(req.read(e), Reject::none);
    return req;
}

TEST(TextGenParams, DvmFlowRequest) {
    testing::Nip90Vectors v;
    JobRequest req;
    ASSERT_EQ(req.read(v.flow.at("job_request_5050")), Reject::none);
    TextGenParams p;
    ASSERT_EQ(p.read(req), Reject::none);
    EXPECT_EQ(p.model, "llama3");
    EXPECT_EQ(p.max_tokens, 64u);
    EXPECT_FALSE(p.temperature.has_value());
}

TEST(TextGenParams, AllKeysAndSpellings) {
    TextGenParams p;
    ASSERT_EQ(p.read(with_params({{"param", "temperature", "0.7"},
                                  {"param", "top-p", "0.9"},
                                  {"param", "top-k", "40"},
                                  {"param", "seed", "12345678901"},
                                  {"param", "frequency_penalty", "-0.5"},
                                  {"param", "stop", "###", "\n\n"},
                                  {"param", "stop", "END"},
                                  {"param", "max-tokens", "128"},
                                  {"param", "my_custom_thing", "whatever"}})),
              Reject::none);
    EXPECT_DOUBLE_EQ(*p.temperature, 0.7);
    EXPECT_DOUBLE_EQ(*p.top_p, 0.9);
    EXPECT_EQ(p.top_k, 40u);
    EXPECT_EQ(p.seed, 12345678901u);
    EXPECT_DOUBLE_EQ(*p.frequency_penalty, -0.5);
    EXPECT_EQ(p.stop, (std::vector<std::string>{"###", "\n\n", "END"}));
    EXPECT_EQ(p.max_tokens, 128u);
    EXPECT_EQ(p.bad_key(), "");
    ASSERT_EQ(p.read(with_params({{"param", "top_p", "1"}, {"param", "top_k", "0"}})),
              Reject::none);
    EXPECT_DOUBLE_EQ(*p.top_p, 1.0);
    EXPECT_EQ(p.top_k, 0u);
}

TEST(TextGenParamsHostile, RefusedNamingTheKey) {
    struct Case {
        std::string_view key;
        std::string_view value;
    };
    const Case cases[] = {
        {"max_tokens", "0"},     {"max_tokens", "-1"},
        {"max_tokens", "1e3"},   {"max_tokens", "99999999999"},
        {"max_tokens", " 5"},    {"temperature", "nan"},
        {"temperature", "inf"},  {"temperature", "2.5"},
        {"temperature", "-0.1"}, {"temperature", "0.7x"},
        {"top_p", "1.01"},       {"top-p", ""},
        {"top_k", "1001"},       {"top_k", "4.5"},
        {"seed", "-3"},          {"frequency_penalty", "3"},
        {"model", ""},           {"stop", ""},
    };
    for (const Case& c : cases) {
        TextGenParams p;
        EXPECT_EQ(p.read(with_params({{"param", c.key, c.value}})), Reject::bad_param)
            << c.key << "=" << c.value;
        EXPECT_EQ(p.bad_key(), c.key);
    }
    TextGenParams p;
    EXPECT_EQ(p.read(with_params({{"param", "top_k", "1"}, {"param", "top-k", "2"}})),
              Reject::bad_param);  // the same key twice, in two spellings
    EXPECT_EQ(p.read(with_params({{"param", "model", std::string(300, 'm')}})), Reject::bad_param);
    EXPECT_EQ(p.read(with_params({{"param", "stop", std::string(65, 's')}})), Reject::bad_param);
    TextGenBounds bounds;
    bounds.stop_sequences_max = 2;
    EXPECT_EQ(p.read(with_params({{"param", "stop", "a", "b", "c"}}), bounds), Reject::bad_param);
}

}  // namespace
}  // namespace pylon::proto
