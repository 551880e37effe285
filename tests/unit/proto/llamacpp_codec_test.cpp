#include "proto/llamacpp_codec.hpp"

#include <gtest/gtest.h>

#include <string>

namespace pylon::proto {
namespace {

using Route = LlamaCppCodec::Route;

TEST(LlamaCppCodec, WritesCompletionAndChatBodies) {
    GenerationParams p;
    p.model = "m";
    p.prompt = "Say hi";
    p.max_tokens = 2;
    p.top_p = 0.9;
    std::string completion;
    LlamaCppCodec::write_request(p, Route::completion, completion);
    EXPECT_EQ(completion,
              R"({"prompt":"Say hi","n_predict":2,"cache_prompt":true,"stream":true,"top_p":0.9})");
    std::string chat;
    LlamaCppCodec::write_request(p, Route::chat, chat);
    EXPECT_EQ(chat, R"({"model":"m","messages":[{"role":"user","content":"Say hi"}],)"
                    R"("max_tokens":2,"stream":true,"top_p":0.9})");
    GenerationParams unlimited;
    unlimited.prompt = "x";
    std::string body;
    LlamaCppCodec::write_request(unlimited, Route::completion, body);
    EXPECT_NE(body.find(R"("n_predict":-1)"), std::string::npos);
}

// The /completion exchange of the reference (§9): partials, then stop:true, no [DONE].
TEST(LlamaCppCodec, DecodesACompletionStream) {
    LlamaCppCodec c;
    StreamEvent ev;
    ASSERT_EQ(
        c.decode_event(Route::completion,
                       R"({"index":0,"content":"Hi","tokens":[13347],"stop":false,"id_slot":0,)"
                       R"("tokens_predicted":1,"tokens_evaluated":3})",
                       ev),
        Reject::none);
    EXPECT_EQ(ev.kind, StreamEvent::Kind::token);
    EXPECT_EQ(ev.text, "Hi");
    EXPECT_FALSE(ev.last);
    ASSERT_EQ(
        c.decode_event(Route::completion,
                       R"({"index":0,"content":"","tokens":[],"id_slot":0,"stop":true,"model":"m",)"
                       R"("tokens_predicted":2,"tokens_evaluated":3,"stop_type":"limit",)"
                       R"("timings":{"predicted_n":2}})",
                       ev),
        Reject::none);
    EXPECT_EQ(ev.kind, StreamEvent::Kind::done);
    EXPECT_TRUE(ev.last);
    EXPECT_EQ(ev.finish, FinishReason::length);
    EXPECT_EQ(ev.completion_tokens, 2u);
    EXPECT_EQ(ev.prompt_tokens, 3u);
    // A last event that still carries content is a token that ends the stream.
    ASSERT_EQ(
        c.decode_event(Route::completion, R"({"content":"!","stop":true,"stop_type":"eos"})", ev),
        Reject::none);
    EXPECT_EQ(ev.kind, StreamEvent::Kind::token);
    EXPECT_TRUE(ev.last);
    EXPECT_EQ(ev.finish, FinishReason::stop);
}

// The /v1/chat/completions exchange: role chunk, content, finish chunk with usage, [DONE].
TEST(LlamaCppCodec, DecodesAChatStreamReadingChoices) {
    LlamaCppCodec c;
    StreamEvent ev;
    ASSERT_EQ(
        c.decode_event(Route::chat,
                       R"({"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant",)"
                       R"("content":null}}],"created":1,"id":"chatcmpl-abc","model":"m",)"
                       R"("object":"chat.completion.chunk"})",
                       ev),
        Reject::none);
    EXPECT_EQ(ev.kind, StreamEvent::Kind::skip);
    ASSERT_EQ(
        c.decode_event(Route::chat,
                       R"({"choices":[{"finish_reason":null,"index":0,"delta":{"content":"Hi"}}],)"
                       R"("object":"chat.completion.chunk"})",
                       ev),
        Reject::none);
    EXPECT_EQ(ev.kind, StreamEvent::Kind::token);
    EXPECT_EQ(ev.text, "Hi");
    ASSERT_EQ(
        c.decode_event(Route::chat,
                       R"({"choices":[{"finish_reason":"stop","index":0,"delta":{}}],)"
                       R"("usage":{"completion_tokens":1,"prompt_tokens":9,"total_tokens":10}})",
                       ev),
        Reject::none);
    EXPECT_EQ(ev.kind, StreamEvent::Kind::skip);
    EXPECT_EQ(ev.finish, FinishReason::stop);
    EXPECT_TRUE(ev.has_usage);
    EXPECT_EQ(ev.completion_tokens, 1u);
    // A final chunk with empty choices (usage only) is tolerated.
    ASSERT_EQ(c.decode_event(Route::chat, R"({"choices":[],"usage":{"completion_tokens":4}})", ev),
              Reject::none);
    EXPECT_EQ(ev.kind, StreamEvent::Kind::skip);
    ASSERT_EQ(c.decode_event(Route::chat, "[DONE]", ev), Reject::none);
    EXPECT_EQ(ev.kind, StreamEvent::Kind::done);
}

TEST(LlamaCppCodec, AnErrorEventMidStreamIsAnError) {
    LlamaCppCodec c;
    StreamEvent ev;
    ASSERT_EQ(c.decode_event(
                  Route::completion,
                  R"({"error":{"code":500,"message":"slot crashed","type":"server_error"}})", ev),
              Reject::none);
    EXPECT_EQ(ev.kind, StreamEvent::Kind::error);
    EXPECT_EQ(ev.error_text, "slot crashed");
    EXPECT_EQ(c.error_text(
                  R"({"error":{"code":503,"message":"Loading model","type":"unavailable_error"}})"),
              "Loading model");
}

TEST(LlamaCppCodec, ParsesPropsAndModels) {
    LlamaCppCodec c;
    LlamaProps props;
    ASSERT_EQ(c.parse_props(R"({"default_generation_settings":{"n_ctx":4096},"total_slots":4,)"
                            R"("model_path":"/m/x.gguf","build_info":"b1-abc"})",
                            props),
              Reject::none);
    EXPECT_EQ(props.total_slots, 4u);
    EXPECT_EQ(props.model_path, "/m/x.gguf");
    EXPECT_EQ(props.n_ctx, 4096u);
    EXPECT_NE(c.parse_props(R"({"model_path":"x"})", props), Reject::none);
    std::vector<ModelInfo> models;
    ASSERT_EQ(c.parse_models(R"({"object":"list","data":[{"id":"fake-model","object":"model",)"
                             R"("owned_by":"llamacpp","meta":null}]})",
                             models),
              Reject::none);
    ASSERT_EQ(models.size(), 1u);
    EXPECT_EQ(models[0].name, "fake-model");
    ASSERT_EQ(c.parse_models(R"([{"id":"a"},{"id":"b"}])", models), Reject::none);
    EXPECT_EQ(models.size(), 2u);
    // An id a request could not name is skipped (an empty one once reached an assertion).
    ASSERT_EQ(c.parse_models(R"({"data":[{"id":""},{"id":"b"}]})", models), Reject::none);
    ASSERT_EQ(models.size(), 1u);
    EXPECT_EQ(models[0].name, "b");
    ASSERT_EQ(c.parse_models(R"({"data":[{"id":""}]})", models), Reject::none);
    EXPECT_TRUE(models.empty());
}

TEST(LlamaCppCodec, RefusesHostilePayloads) {
    LlamaCppCodec c;
    StreamEvent ev;
    EXPECT_NE(c.decode_event(Route::completion, "{", ev), Reject::none);
    EXPECT_NE(c.decode_event(Route::completion, R"({"content":1,"stop":false})", ev), Reject::none);
    EXPECT_NE(c.decode_event(Route::completion, R"({"content":"a","stop":1})", ev), Reject::none);
    EXPECT_NE(c.decode_event(Route::chat, R"({"choices":{}})", ev), Reject::none);
    std::string deep(200, '[');
    EXPECT_NE(c.decode_event(Route::chat, deep, ev), Reject::none);
}

}  // namespace
}  // namespace pylon::proto
