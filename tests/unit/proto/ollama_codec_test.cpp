#include "proto/ollama_codec.hpp"

#include <gtest/gtest.h>

#include <string>

namespace pylon::proto {
namespace {

TEST(OllamaCodec, WritesAGenerateBodyWithMappedOptions) {
    GenerationParams p;
    p.model = "llama3.2";
    p.prompt = "Say \"hi\"\n";
    p.max_tokens = 3;
    p.temperature = 0.5;
    p.top_k = 40;
    p.seed = 7;
    p.stop = {"\n\n"};
    std::string body;
    OllamaCodec::write_request(p, false, body);
    EXPECT_EQ(
        body,
        R"({"model":"llama3.2","prompt":"Say \"hi\"\n","stream":true,"options":{"num_predict":3,)"
        R"("temperature":0.5,"top_k":40,"seed":7,"stop":["\n\n"]}})");
    std::string chat;
    OllamaCodec::write_request(p, true, chat);
    EXPECT_NE(chat.find(R"("messages":[{"role":"user","content":"Say \"hi\"\n"}])"),
              std::string::npos);
}

// The streaming exchange of the reference (§8), line by line.
TEST(OllamaCodec, DecodesAGenerateStream) {
    OllamaCodec c;
    StreamEvent ev;
    std::string text;
    const char* lines[] = {
        R"({"model":"llama3.2","created_at":"2026-08-01T10:00:00.100000001Z","response":"Hi","done":false})",
        R"({"model":"llama3.2","created_at":"2026-08-01T10:00:00.120000001Z","response":" there","done":false})",
        R"({"model":"llama3.2","created_at":"2026-08-01T10:00:00.140000001Z","response":"!","done":false})",
    };
    for (const char* l : lines) {
        ASSERT_EQ(c.decode_line(l, ev), Reject::none);
        ASSERT_EQ(ev.kind, StreamEvent::Kind::token);
        text += ev.text;
    }
    EXPECT_EQ(text, "Hi there!");
    ASSERT_EQ(
        c.decode_line(R"({"model":"llama3.2","created_at":"x","response":"","done":true,)"
                      R"("done_reason":"length","context":[1,2,3],"total_duration":150000000,)"
                      R"("prompt_eval_count":9,"eval_count":3,"eval_duration":60000000})",
                      ev),
        Reject::none);
    EXPECT_EQ(ev.kind, StreamEvent::Kind::done);
    EXPECT_EQ(ev.finish, FinishReason::length);
    EXPECT_TRUE(ev.has_usage);
    EXPECT_EQ(ev.prompt_tokens, 9u);
    EXPECT_EQ(ev.completion_tokens, 3u);
}

TEST(OllamaCodec, DecodesChatLinesAndStopReason) {
    OllamaCodec c;
    StreamEvent ev;
    ASSERT_EQ(
        c.decode_line(R"({"model":"m","message":{"role":"assistant","content":"Hi"},"done":false})",
                      ev),
        Reject::none);
    EXPECT_EQ(ev.kind, StreamEvent::Kind::token);
    EXPECT_EQ(ev.text, "Hi");
    ASSERT_EQ(
        c.decode_line(
            R"({"model":"m","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"})",
            ev),
        Reject::none);
    EXPECT_EQ(ev.kind, StreamEvent::Kind::done);
    EXPECT_EQ(ev.finish, FinishReason::stop);
    EXPECT_FALSE(ev.has_usage);  // stats omitted when zero
}

TEST(OllamaCodec, AnErrorLineMidStreamIsAnErrorEvent) {
    OllamaCodec c;
    StreamEvent ev;
    ASSERT_EQ(c.decode_line(R"({"error":"an error was encountered while running the model"})", ev),
              Reject::none);
    EXPECT_EQ(ev.kind, StreamEvent::Kind::error);
    EXPECT_EQ(ev.error_text, "an error was encountered while running the model");
}

TEST(OllamaCodec, RefusesHostileLines) {
    OllamaCodec c;
    StreamEvent ev;
    EXPECT_NE(c.decode_line("{not json", ev), Reject::none);
    EXPECT_NE(c.decode_line(R"(["array"])", ev), Reject::none);
    EXPECT_NE(c.decode_line(R"({"response":5,"done":false})", ev), Reject::none);
    EXPECT_NE(c.decode_line(R"({"response":"x","done":"yes"})", ev), Reject::none);
    EXPECT_NE(c.decode_line("{\"response\":\"\xff\",\"done\":false}", ev), Reject::none);
    EXPECT_EQ(c.decode_line("\r", ev), Reject::none);
    EXPECT_EQ(ev.kind, StreamEvent::Kind::skip);
    // A number beyond 64 bits is named as such, not "not valid JSON" (it is JSON).
    EXPECT_EQ(c.decode_line(R"({"response":"","done":true,"eval_count":18446744073709551616})", ev),
              Reject::bad_number);
}

TEST(OllamaCodec, ParsesTagsPsVersionAndErrors) {
    OllamaCodec c;
    std::vector<ModelInfo> models;
    ASSERT_EQ(
        c.parse_models(R"({"models":[{"name":"llama3.2:latest","model":"llama3.2:latest",)"
                       R"("size":2019393189,"digest":"a80c"},{"name":"qwen2.5:7b","size":1}]})",
                       false, models),
        Reject::none);
    ASSERT_EQ(models.size(), 2u);
    EXPECT_EQ(models[0].name, "llama3.2:latest");
    EXPECT_EQ(models[0].size_bytes, 2019393189u);
    EXPECT_FALSE(models[0].loaded);
    ASSERT_EQ(
        c.parse_models(R"({"models":[{"name":"llama3.2:latest","size_vram":5}]})", true, models),
        Reject::none);
    EXPECT_TRUE(models[0].loaded);
    EXPECT_NE(c.parse_models(R"({"nope":[]})", false, models), Reject::none);
    // An entry with no usable name is skipped (the node routes a job by its model's name; an
    // empty one once reached an assertion): `model` stands in for an empty `name`.
    ASSERT_EQ(c.parse_models(R"({"models":[{"name":""},{"name":"","model":"m:7b"},)"
                             R"({"model":""},{"name":"a:latest"}]})",
                             false, models),
              Reject::none);
    ASSERT_EQ(models.size(), 2u);
    EXPECT_EQ(models[0].name, "m:7b");
    EXPECT_EQ(models[1].name, "a:latest");
    std::string v;
    ASSERT_EQ(c.parse_version(R"({"version":"0.9.1"})", v), Reject::none);
    EXPECT_EQ(v, "0.9.1");
    EXPECT_EQ(c.error_text(R"({"error":"model 'x' not found"})"), "model 'x' not found");
    EXPECT_EQ(c.error_text("404 page not found"), "");
}

TEST(ModelName, UntaggedNameMeansLatest) {
    EXPECT_TRUE(model_name_matches("llama3.2", "llama3.2:latest"));
    EXPECT_TRUE(model_name_matches("llama3.2:latest", "llama3.2"));
    EXPECT_TRUE(model_name_matches("qwen2.5:7b", "qwen2.5:7b"));
    EXPECT_FALSE(model_name_matches("qwen2.5", "qwen2.5:7b"));
    EXPECT_FALSE(model_name_matches("llama3", "llama3.2:latest"));
    EXPECT_FALSE(model_name_matches("", "x"));
}

}  // namespace
}  // namespace pylon::proto
