// LlamacppFake: the request handler of fake_llamacpp, a protocol-faithful stand-in for
// llama.cpp's llama-server (../shared/reference/backends-and-supervision.md §9 and §10):
// /health (503 {"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}
// for --load-ms, like every other endpoint, then {"status":"ok"}), /v1/models, /props, /slots
// (?fail_on_no_slot=1), /metrics (only with --metrics, else 501), POST /completion (SSE
// `data: {...}` events, final stop:true with stop_type eos|limit and timings, no [DONE]),
// /v1/chat/completions and /v1/completions (OpenAI chunks, final finish_reason, then
// `data: [DONE]`), OpenAI-style error envelopes, 401 with --api-key, SSE comment pings, slots
// (N generate, the rest wait in FIFO order: never rejected), and the supervisor's failure modes
// (exit with a code or SIGSEGV after K requests, /health that never answers). Test-only:
// GET /_fake/stats. Called concurrently from the server's connection threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "tools/fake_http/fake_config.hpp"
#include "tools/fake_http/fake_stats.hpp"
#include "tools/fake_http/generation_job.hpp"
#include "tools/fake_http/http_server.hpp"
#include "tools/fake_http/json_out.hpp"
#include "tools/fake_http/slot_pool.hpp"

namespace pylon::fake {

struct LlamacppConfig {
    FakeConfig common;                     // common.models[0] is the model id (-m path or --alias)
    std::string model_path;                // /props model_path; default "/models/<id>.gguf"
    int ctx_size = 4096;                   // total context; each slot reports ctx_size / slots
    int load_ms = 0;                       // "Loading model" 503s for this long after start
    std::int64_t exit_after_requests = 0;  // 0 = never; else exit(exit_code) after the K-th
    int exit_code = 1;
    std::int64_t crash_after_requests = 0;  // 0 = never; else SIGSEGV on the K-th request
    bool hang_health = false;               // /health reads the request, never answers
    std::string api_key;                    // non-empty: Authorization: Bearer <key> required
    int sse_ping_ms = 0;                    // 0 = off; else ": ping" while a stream is silent
    bool metrics = false;                   // serve /metrics (else 501)
};

// Which generation endpoint a request came in on.
enum class LlamaRoute : std::uint8_t { completion, chat, oai_completion };

// The fields of a generation request that the fake acts on.
struct LlamaGenerate {
    LlamaRoute route = LlamaRoute::completion;
    std::string model;   // as sent (OpenAI routes), else the model id
    std::string prompt;  // the prompt, or every message's content joined
    bool stream = false;
    std::int64_t limit = -1;  // n_predict / max_tokens; negative = none
};

// Parses a request body; on failure *error is the message for a 400 invalid_request_error.
bool parse_llama_generate(const std::string& body, LlamaRoute route, LlamaGenerate* out,
                          std::string* error);

class LlamacppFake {
  public:
    explicit LlamacppFake(LlamacppConfig cfg);

    void handle(const Request& req, Connection& conn);

  private:
    void dispatch(const Request& req, Connection& conn);
    void generate(const Request& req, Connection& conn, LlamaRoute route);
    void run_job(Connection& conn, const LlamaGenerate& g);
    void end_job(Connection& conn, const LlamaGenerate& g, std::int64_t task, GenerationJob& job,
                 JobEnd end, const std::string& text, bool limit_hit);
    std::string role_event(const LlamaGenerate& g, std::int64_t task) const;
    bool write_event(Connection& conn, GenerationJob& job, const std::string& json);
    std::string partial_event(const LlamaGenerate& g, std::int64_t task, int slot, int k,
                              const std::string& piece, int prompt_n);
    std::string final_json(const LlamaGenerate& g, std::int64_t task, const GenerationJob& job,
                           const std::string& text, bool limit_hit, bool streamed);
    void write_oai_head(JsonOut& j, const LlamaGenerate& g, std::int64_t task, bool streamed) const;
    void finish_metrics(const GenerationJob& job, int prompt_n);
    void send_error(Connection& conn, int status, std::string_view type, std::string_view message);
    bool loading() const;
    std::string props_json();
    std::string slots_json(bool* none_idle);
    std::string models_json();
    std::string metrics_text();

    LlamacppConfig cfg_;
    FakeStats stats_;
    SlotPool slots_;
    GenerationJob::Clock::time_point started_at_;
    bool loaded_early_ = false;  // POST /_fake/loaded
    std::atomic<std::int64_t> next_task_{1};

    std::mutex mutex_;                      // guards what follows
    std::vector<std::int64_t> slot_tasks_;  // task id per busy slot, -1 when idle
    std::int64_t prompt_tokens_total_ = 0;
    double prompt_seconds_total_ = 0;
    std::int64_t tokens_predicted_total_ = 0;
    double tokens_predicted_seconds_total_ = 0;
};

}  // namespace pylon::fake
