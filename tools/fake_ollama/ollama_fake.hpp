// OllamaFake: the request handler of fake_ollama, a protocol-faithful stand-in for Ollama's
// HTTP API as documented in ../shared/reference/backends-and-supervision.md §8 and §10:
// GET/HEAD /, /api/version, /api/tags, /api/ps, POST /api/generate and /api/chat streamed as
// NDJSON (one line per chunk; stats only on the final line; done_reason "length" when
// options.num_predict ends the job, "stop" otherwise, "load"/"unload" for an empty prompt),
// 404 {"error":"model 'x' not found"}, 503 when more than slots + max_queue requests are in
// flight, a mid-stream {"error":...} line with status 200, resets, hangs, and the test-only
// GET /_fake/stats. Models are "loaded" (listed by /api/ps) from their first request until a
// request with keep_alive 0. Called concurrently from the server's connection threads.
#pragma once

#include <cstdint>
#include <mutex>
#include <set>
#include <string>

#include "tools/fake_http/fake_config.hpp"
#include "tools/fake_http/fake_stats.hpp"
#include "tools/fake_http/http_server.hpp"
#include "tools/fake_http/slot_pool.hpp"

namespace pylon::fake {

struct OllamaConfig {
    FakeConfig common;
    std::int64_t max_queue = 512;  // OLLAMA_MAX_QUEUE: waiting requests beyond the slots
};

// "name" -> "name:latest"; "name:tag" unchanged.
std::string ollama_normalize(std::string_view model);

// The fields of a /api/generate or /api/chat request that the fake acts on.
struct OllamaGenerate {
    std::string model;        // as sent (echoed in responses)
    std::string normalized;   // name:tag
    std::string prompt_text;  // the prompt, or every message's content
    bool empty_prompt = false;
    bool stream = true;
    std::int64_t num_predict = -1;  // options.num_predict; negative = no limit
    bool keep_alive_zero = false;
};

// Parses a request body; on failure *error is the Ollama-style message for a 400.
bool parse_ollama_generate(const std::string& body, bool chat, OllamaGenerate* out,
                           std::string* error);

class GenerationJob;

class OllamaFake {
  public:
    explicit OllamaFake(OllamaConfig cfg);

    void handle(const Request& req, Connection& conn);

  private:
    void handle_generate(const Request& req, Connection& conn, bool chat);
    void reply_load(Connection& conn, const OllamaGenerate& g, bool chat);
    void stream_job(Connection& conn, const OllamaGenerate& g, bool chat);
    std::string final_line(const OllamaGenerate& g, bool chat, const std::string& text,
                           bool limit_hit, int produced, const GenerationJob& job,
                           bool newly_loaded);
    std::string tags_json();
    std::string ps_json();
    bool known_model(const std::string& normalized) const;
    bool mark_loaded(const std::string& normalized);  // true when it was not loaded
    void unload(const std::string& normalized);

    OllamaConfig cfg_;
    FakeStats stats_;
    SlotPool slots_;
    std::mutex mutex_;
    std::set<std::string> loaded_;  // normalized names; guarded by mutex_
};

}  // namespace pylon::fake
