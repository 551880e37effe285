#include "tools/fake_llamacpp/llamacpp_fake.hpp"

#include <simdjson.h>

#include <algorithm>
#include <chrono>

#include "tools/fake_http/fake_assert.hpp"
#include "tools/fake_http/fake_runner.hpp"
#include "tools/fake_http/json_out.hpp"

namespace pylon::fake {
namespace {

constexpr std::string_view json_type = "application/json; charset=utf-8";
constexpr std::string_view sse_type = "text/event-stream";
constexpr std::string_view build_info = "b6000-fake0000";
constexpr std::int64_t token_id_base = 1000;  // fake token ids: base + (k mod word count)

const Headers server_headers = {{"Server", "llama.cpp"}};

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string error_envelope(int status, std::string_view type, std::string_view message) {
    JsonOut j;
    j.begin_object()
        .key("error")
        .begin_object()
        .field("code", status)
        .field("message", message)
        .field("type", type)
        .end_object()
        .end_object();
    return j.text();
}

void write_timings(JsonOut& j, int prompt_n, double prompt_ms, int predicted_n,
                   double predicted_ms) {
    double p_ms = std::max(prompt_ms, 0.001);
    double g_ms = std::max(predicted_ms, 0.001);
    j.key("timings")
        .begin_object()
        .field("cache_n", 0)
        .field("prompt_n", prompt_n)
        .key("prompt_ms")
        .num_fixed(p_ms, 3)
        .key("prompt_per_token_ms")
        .num_fixed(p_ms / std::max(prompt_n, 1), 3)
        .key("prompt_per_second")
        .num_fixed(prompt_n * 1000.0 / p_ms, 3)
        .field("predicted_n", predicted_n)
        .key("predicted_ms")
        .num_fixed(g_ms, 3)
        .key("predicted_per_token_ms")
        .num_fixed(g_ms / std::max(predicted_n, 1), 3)
        .key("predicted_per_second")
        .num_fixed(predicted_n * 1000.0 / g_ms, 3)
        .end_object();
}

void write_usage(JsonOut& j, int prompt_n, int completion_n) {
    j.key("usage")
        .begin_object()
        .field("completion_tokens", completion_n)
        .field("prompt_tokens", prompt_n)
        .field("total_tokens", prompt_n + completion_n)
        .end_object();
}

bool read_limit(simdjson::dom::element doc, std::initializer_list<const char*> keys,
                std::int64_t* out) {
    for (const char* key : keys) {
        double v = 0;
        if (doc[key].get_double().get(v) == simdjson::SUCCESS) {
            *out = static_cast<std::int64_t>(v);
            return true;
        }
    }
    return false;
}

}  // namespace

bool parse_llama_generate(const std::string& body, LlamaRoute route, LlamaGenerate* out,
                          std::string* error) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(body);
    simdjson::dom::element doc;
    if (parser.parse(padded).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
        *error = "Invalid JSON in request body";
        return false;
    }
    out->route = route;
    bool b = false;
    if (doc["stream"].get_bool().get(b) == simdjson::SUCCESS) {
        out->stream = b;
    }
    std::string_view sv;
    if (doc["model"].get_string().get(sv) == simdjson::SUCCESS) {
        out->model = std::string(sv);
    }
    if (route == LlamaRoute::completion) {
        read_limit(doc, {"n_predict"}, &out->limit);
    } else {
        read_limit(doc, {"max_tokens", "max_completion_tokens", "n_predict"}, &out->limit);
    }
    if (route == LlamaRoute::chat) {
        simdjson::dom::array messages;
        if (doc["messages"].get_array().get(messages) != simdjson::SUCCESS) {
            *error = "'messages' is required";
            return false;
        }
        for (simdjson::dom::element m : messages) {
            if (m["content"].get_string().get(sv) == simdjson::SUCCESS) {
                out->prompt.append(sv).append(" ");
            }
        }
        return true;
    }
    simdjson::dom::element prompt;
    if (doc["prompt"].get(prompt) != simdjson::SUCCESS) {
        *error = "\"prompt\" must be provided";
        return false;
    }
    if (prompt.get_string().get(sv) == simdjson::SUCCESS) {
        out->prompt = std::string(sv);
    } else if (simdjson::dom::array parts; prompt.get_array().get(parts) == simdjson::SUCCESS) {
        for (simdjson::dom::element part : parts) {
            std::string_view text;
            if (part.get_string().get(text) != simdjson::SUCCESS) {
                text = "t";  // a token id counts as one word
            }
            out->prompt.append(text).append(" ");
        }
    }
    return true;
}

LlamacppFake::LlamacppFake(LlamacppConfig cfg)
    : cfg_(std::move(cfg)),
      slots_(cfg_.common.slots),
      started_at_(GenerationJob::Clock::now()),
      slot_tasks_(static_cast<std::size_t>(cfg_.common.slots), -1) {
    FAKE_ASSERT(!cfg_.common.models.empty());
    if (cfg_.model_path.empty()) {
        cfg_.model_path = "/models/" + cfg_.common.models[0] + ".gguf";
    }
}

bool LlamacppFake::loading() const {
    return !loaded_early_ &&
           GenerationJob::Clock::now() < started_at_ + std::chrono::milliseconds(cfg_.load_ms);
}

void LlamacppFake::send_error(Connection& conn, int status, std::string_view type,
                              std::string_view message) {
    conn.send_full(status, json_type, error_envelope(status, type, message), server_headers);
}

void LlamacppFake::handle(const Request& req, Connection& conn) {
    if (req.path == "/_fake/stats" && req.method == "GET") {
        conn.send_full(200, json_type, stats_.to_json());
        return;
    }
    if (req.path == "/_fake/loaded" && req.method == "POST") {
        loaded_early_ = true;  // a test ends the load when it is ready for it, not by the clock
        conn.send_full(200, json_type, "{}");
        return;
    }
    std::int64_t n = stats_.count_request();
    if (cfg_.crash_after_requests > 0 && n >= cfg_.crash_after_requests) {
        crash_now();
    }
    dispatch(req, conn);
    if (cfg_.exit_after_requests > 0 && n >= cfg_.exit_after_requests) {
        conn.close_after_response();
        request_exit(cfg_.exit_code);
    }
}

void LlamacppFake::dispatch(const Request& req, Connection& conn) {
    bool health = req.path == "/health" || req.path == "/v1/health";
    if (health && cfg_.hang_health) {
        conn.hang();
        conn.close_after_response();
        return;
    }
    if (loading()) {
        send_error(conn, 503, "unavailable_error", "Loading model");
        return;
    }
    if (!health && !cfg_.api_key.empty() &&
        req.header("authorization") != "Bearer " + cfg_.api_key) {
        send_error(conn, 401, "authentication_error", "Invalid API Key");
        return;
    }
    bool get = req.method == "GET";
    bool post = req.method == "POST";
    const std::string& p = req.path;
    if (get && health) {
        conn.send_full(200, json_type, R"({"status":"ok"})", server_headers);
    } else if (get && (p == "/v1/models" || p == "/models")) {
        conn.send_full(200, json_type, models_json(), server_headers);
    } else if (get && p == "/props") {
        conn.send_full(200, json_type, props_json(), server_headers);
    } else if (get && p == "/slots") {
        bool none_idle = false;
        std::string body = slots_json(&none_idle);
        if (none_idle && req.query_param("fail_on_no_slot").value_or("0") != "0") {
            send_error(conn, 503, "unavailable_error", "no slot available");
        } else {
            conn.send_full(200, json_type, body, server_headers);
        }
    } else if (get && p == "/metrics") {
        if (!cfg_.metrics) {
            send_error(conn, 501, "not_supported_error",
                       "This server does not support metrics endpoint.");
        } else {
            conn.send_full(200, "text/plain; version=0.0.4", metrics_text(), server_headers);
        }
    } else if (post && (p == "/completion" || p == "/completions")) {
        generate(req, conn, LlamaRoute::completion);
    } else if (post && (p == "/v1/chat/completions" || p == "/chat/completions")) {
        generate(req, conn, LlamaRoute::chat);
    } else if (post && p == "/v1/completions") {
        generate(req, conn, LlamaRoute::oai_completion);
    } else {
        // cpp-httplib answers a wrong method like an unknown path.
        send_error(conn, 404, "not_found_error", "File Not Found");
    }
}

std::string LlamacppFake::models_json() {
    const std::string& id = cfg_.common.models[0];
    JsonOut j;
    j.begin_object().field("object", "list").key("data").begin_array();
    j.begin_object()
        .field("id", id)
        .field("object", "model")
        .field("created", unix_now())
        .field("owned_by", "llamacpp")
        .key("meta")
        .begin_object()
        .field("vocab_type", 2)
        .field("n_vocab", 128256)
        .field("n_ctx_train", 131072)
        .field("n_embd", 3072)
        .field("n_params", std::int64_t{3212749824})
        .field("size", std::int64_t{1918959616})
        .end_object()
        .end_object();
    j.end_array().end_object();
    return j.text();
}

std::string LlamacppFake::props_json() {
    JsonOut j;
    j.begin_object()
        .key("default_generation_settings")
        .begin_object()
        .field("id", 0)
        .field("id_task", -1)
        .field("n_ctx", cfg_.ctx_size / cfg_.common.slots)
        .field_bool("speculative", false)
        .field_bool("is_processing", false)
        .key("params")
        .begin_object()
        .field("n_predict", -1)
        .key("temperature")
        .num_fixed(0.8, 1)
        .end_object()
        .end_object()
        .field("total_slots", cfg_.common.slots)
        .field("model_path", cfg_.model_path)
        .field("chat_template", "{{ messages }}")
        .key("modalities")
        .begin_object()
        .field_bool("vision", false)
        .field_bool("audio", false)
        .end_object()
        .field("build_info", build_info)
        .field_bool("is_sleeping", false)
        .end_object();
    return j.text();
}

std::string LlamacppFake::slots_json(bool* none_idle) {
    std::vector<std::int64_t> tasks;
    {
        std::lock_guard lock(mutex_);
        tasks = slot_tasks_;
    }
    *none_idle = std::all_of(tasks.begin(), tasks.end(), [](std::int64_t t) { return t >= 0; });
    JsonOut j;
    j.begin_array();
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        bool busy = tasks[i] >= 0;
        j.begin_object()
            .field("id", static_cast<std::int64_t>(i))
            .field("id_task", tasks[i])
            .field("n_ctx", cfg_.ctx_size / cfg_.common.slots)
            .field_bool("speculative", false)
            .field_bool("is_processing", busy)
            .key("params")
            .begin_object()
            .field("n_predict", -1)
            .end_object()
            .key("next_token")
            .begin_object()
            .field_bool("has_next_token", busy)
            .field_bool("has_new_line", false)
            .field("n_remain", -1)
            .field("n_decoded", 0)
            .end_object()
            .end_object();
    }
    j.end_array();
    return j.text();
}

std::string LlamacppFake::metrics_text() {
    struct Metric {
        const char* name;
        const char* type;
        const char* help;
        double value;
    };
    std::vector<bool> busy = slots_.busy();
    double processing = static_cast<double>(std::count(busy.begin(), busy.end(), true));
    std::lock_guard lock(mutex_);
    const Metric metrics[] = {
        {"prompt_tokens_total", "counter", "Number of prompt tokens processed.",
         static_cast<double>(prompt_tokens_total_)},
        {"prompt_seconds_total", "counter", "Prompt process time", prompt_seconds_total_},
        {"tokens_predicted_total", "counter", "Number of generation tokens processed.",
         static_cast<double>(tokens_predicted_total_)},
        {"tokens_predicted_seconds_total", "counter", "Predict process time",
         tokens_predicted_seconds_total_},
        {"n_decode_total", "counter", "Total number of llama_decode() calls",
         static_cast<double>(tokens_predicted_total_)},
        {"requests_processing", "gauge", "Number of requests processing.", processing},
        {"requests_deferred", "gauge", "Number of requests deferred.",
         static_cast<double>(slots_.waiting())},
    };
    std::string out;
    char value[64];
    for (const auto& m : metrics) {
        std::snprintf(value, sizeof value, "%.6g", m.value);
        out += std::string("# HELP llamacpp:") + m.name + " " + m.help + "\n";
        out += std::string("# TYPE llamacpp:") + m.name + " " + m.type + "\n";
        out += std::string("llamacpp:") + m.name + " " + value + "\n";
    }
    return out;
}

void LlamacppFake::generate(const Request& req, Connection& conn, LlamaRoute route) {
    if (cfg_.common.fault == Fault::hang) {
        conn.hang();
        conn.close_after_response();
        return;
    }
    LlamaGenerate g;
    std::string error;
    if (!parse_llama_generate(req.body, route, &g, &error)) {
        stats_.rejected();
        send_error(conn, 400, "invalid_request_error", error);
        return;
    }
    if (g.model.empty()) {
        g.model = cfg_.common.models[0];
    }
    if (cfg_.common.fault == Fault::model_404) {
        stats_.rejected();
        send_error(conn, 404, "not_found_error", "model '" + g.model + "' not found");
        return;
    }
    if (cfg_.common.fault == Fault::busy_503) {
        stats_.rejected();
        send_error(conn, 503, "unavailable_error", "Loading model");
        return;
    }
    run_job(conn, g);
}

bool LlamacppFake::write_event(Connection& conn, GenerationJob& job, const std::string& json) {
    bool ok = conn.write_chunk("data: " + json + "\n\n");
    job.note_write();
    return ok;
}

void LlamacppFake::write_oai_head(JsonOut& j, const LlamaGenerate& g, std::int64_t task,
                                  bool streamed) const {
    bool chat = g.route == LlamaRoute::chat;
    const char* object =
        !chat ? "text_completion" : (streamed ? "chat.completion.chunk" : "chat.completion");
    j.field("created", unix_now())
        .field("id", std::string(chat ? "chatcmpl-fake" : "cmpl-fake") + std::to_string(task))
        .field("model", g.model)
        .field("system_fingerprint", build_info)
        .field("object", object);
}

std::string LlamacppFake::partial_event(const LlamaGenerate& g, std::int64_t task, int slot, int k,
                                        const std::string& piece, int prompt_n) {
    if (g.route == LlamaRoute::completion) {
        JsonOut j;
        j.begin_object()
            .field("index", 0)
            .field("content", piece)
            .key("tokens")
            .begin_array()
            .num(token_id_base +
                 static_cast<std::int64_t>(static_cast<std::size_t>(k) % cfg_.common.words.size()))
            .end_array()
            .field_bool("stop", false)
            .field("id_slot", slot)
            .field("tokens_predicted", k + 1)
            .field("tokens_evaluated", prompt_n)
            .end_object();
        return j.text();
    }
    JsonOut j;
    j.begin_object().key("choices").begin_array().begin_object();
    if (g.route == LlamaRoute::chat) {
        j.key("finish_reason").null().field("index", 0);
        j.key("delta").begin_object().field("content", piece).end_object();
    } else {
        j.field("text", piece).field("index", 0).key("logprobs").null();
        j.key("finish_reason").null();
    }
    j.end_object().end_array();
    write_oai_head(j, g, task, true);
    j.end_object();
    return j.text();
}

std::string LlamacppFake::final_json(const LlamaGenerate& g, std::int64_t task,
                                     const GenerationJob& job, const std::string& text,
                                     bool limit_hit, bool streamed) {
    int prompt_n = count_words(g.prompt);
    int produced = job.produced();
    JsonOut j;
    if (g.route == LlamaRoute::completion) {
        j.begin_object()
            .field("index", 0)
            .field("content", text)
            .key("tokens")
            .begin_array()
            .end_array()
            .field("id_slot", job.slot())
            .field_bool("stop", true)
            .field("model", g.model)
            .field("tokens_predicted", produced)
            .field("tokens_evaluated", prompt_n)
            .key("generation_settings")
            .begin_object()
            .field("n_predict", g.limit)
            .key("temperature")
            .num_fixed(0.8, 1)
            .field_bool("stream", g.stream)
            .end_object()
            .field("prompt", g.prompt)
            .field_bool("has_new_line", false)
            .field_bool("truncated", false)
            .field("stop_type", limit_hit ? "limit" : "eos")
            .field("stopping_word", "")
            .field("tokens_cached", prompt_n + produced);
        write_timings(j, prompt_n, job.prompt_ms(), produced, job.predicted_ms());
        j.end_object();
        return j.text();
    }
    const char* finish = limit_hit ? "length" : "stop";
    bool chat = g.route == LlamaRoute::chat;
    j.begin_object().key("choices").begin_array().begin_object();
    j.field("finish_reason", finish).field("index", 0);
    if (chat && streamed) {
        j.key("delta").begin_object().end_object();
    } else if (chat) {
        j.key("message").begin_object().field("role", "assistant").field("content", text);
        j.end_object();
    } else {
        j.field("text", text).key("logprobs").null();
    }
    j.end_object().end_array();
    write_oai_head(j, g, task, streamed);
    write_usage(j, prompt_n, produced);
    write_timings(j, prompt_n, job.prompt_ms(), produced, job.predicted_ms());
    j.end_object();
    return j.text();
}

void LlamacppFake::finish_metrics(const GenerationJob& job, int prompt_n) {
    std::lock_guard lock(mutex_);
    prompt_tokens_total_ += prompt_n;
    prompt_seconds_total_ += job.prompt_ms() / 1000.0;
    tokens_predicted_total_ += job.produced();
    tokens_predicted_seconds_total_ += job.predicted_ms() / 1000.0;
}

std::string LlamacppFake::role_event(const LlamaGenerate& g, std::int64_t task) const {
    JsonOut j;
    j.begin_object().key("choices").begin_array().begin_object();
    j.key("finish_reason").null().field("index", 0);
    j.key("delta").begin_object().field("role", "assistant").key("content").null();
    j.end_object().end_object().end_array();
    write_oai_head(j, g, task, true);
    j.end_object();
    return j.text();
}

void LlamacppFake::run_job(Connection& conn, const LlamaGenerate& g) {
    GenerationJob job(cfg_.common, stats_, slots_, conn);
    FAKE_ASSERT(job.admit(-1));  // llama-server defers, it never rejects for load
    std::int64_t task = next_task_++;
    // Streams start at once (llama-server sends the headers before the task has a slot).
    if (g.stream && !conn.begin_chunked(200, sse_type, server_headers)) {
        return;
    }
    if (g.stream && cfg_.sse_ping_ms > 0) {
        job.set_ping([&conn] { return conn.write_chunk(": ping\n\n"); }, cfg_.sse_ping_ms);
    }
    if (!job.acquire_slot()) {
        conn.close_after_response();
        return;
    }
    {
        std::lock_guard lock(mutex_);
        slot_tasks_[static_cast<std::size_t>(job.slot())] = task;
    }
    struct SlotTaskReset {
        LlamacppFake* self;
        int slot;
        ~SlotTaskReset() {
            std::lock_guard lock(self->mutex_);
            self->slot_tasks_[static_cast<std::size_t>(slot)] = -1;
        }
    } reset_task{this, job.slot()};
    int prompt_n = count_words(g.prompt);
    JobPlan plan = plan_job(cfg_.common, g.limit);
    std::string text;
    // OpenAI chat streams open with a role chunk, sent together with the first token.
    bool role_pending = g.stream && g.route == LlamaRoute::chat;
    JobEnd end = job.run(plan.tokens, [&](int k, const std::string& piece) {
        text += piece;
        if (!g.stream) {
            return !conn.client_gone();
        }
        if (role_pending && !write_event(conn, job, role_event(g, task))) {
            return false;
        }
        role_pending = false;
        return write_event(conn, job, partial_event(g, task, job.slot(), k, piece, prompt_n));
    });
    finish_metrics(job, prompt_n);
    if (end == JobEnd::completed && role_pending) {
        role_pending = !write_event(conn, job, role_event(g, task));  // a job of zero tokens
    }
    end_job(conn, g, task, job, end, text, plan.limit_hit);
}

void LlamacppFake::end_job(Connection& conn, const LlamaGenerate& g, std::int64_t task,
                           GenerationJob& job, JobEnd end, const std::string& text,
                           bool limit_hit) {
    std::string injected =
        "fake_llamacpp: injected error after " + std::to_string(job.produced()) + " tokens";
    if (end == JobEnd::completed) {
        bool ok;
        if (!g.stream) {
            ok = conn.send_full(200, json_type, final_json(g, task, job, text, limit_hit, false),
                                server_headers);
        } else {
            ok = write_event(conn, job, final_json(g, task, job, "", limit_hit, true)) &&
                 (g.route == LlamaRoute::completion || conn.write_chunk("data: [DONE]\n\n")) &&
                 conn.end_chunked();
        }
        if (ok) {
            job.completed();
        }
    } else if (end == JobEnd::fault_error) {
        if (g.stream) {
            // One more SSE event carries the error; no [DONE]; then the connection closes.
            (void)(write_event(conn, job, error_envelope(500, "server_error", injected)) &&
                   conn.end_chunked());
        } else {
            send_error(conn, 500, "server_error", injected);
        }
    }
    if (end != JobEnd::completed || conn.streaming()) {
        conn.close_after_response();  // faults, cancels, and streams left open
    }
}

}  // namespace pylon::fake
