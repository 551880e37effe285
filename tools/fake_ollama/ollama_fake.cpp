#include "tools/fake_ollama/ollama_fake.hpp"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "tools/fake_http/fake_assert.hpp"
#include "tools/fake_http/generation_job.hpp"
#include "tools/fake_http/json_out.hpp"

namespace pylon::fake {
namespace {

constexpr std::string_view json_type = "application/json; charset=utf-8";
constexpr std::string_view text_type = "text/plain; charset=utf-8";
constexpr std::string_view ndjson_type = "application/x-ndjson";
constexpr std::string_view ollama_version = "0.12.6";
constexpr std::string_view busy_message =
    "server busy, please try again.  maximum pending requests exceeded";
constexpr std::size_t context_tokens_max = 256;  // length bound of the fake "context" array
constexpr std::int64_t keep_alive_default_s = 300;

std::string error_json(std::string_view message) {
    JsonOut j;
    j.begin_object().field("error", message).end_object();
    return j.text();
}

std::uint64_t fnv1a(std::string_view s) {
    std::uint64_t h = 1469598103934665603ull;
    for (char c : s) {
        h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
    return h;
}

// A stable fake sha256-looking digest and size for a model name.
std::string model_digest(std::string_view name) {
    std::string hex;
    std::uint64_t h = fnv1a(name);
    for (int i = 0; i < 4; ++i) {
        char buf[17];
        std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
        hex += buf;
        h = h * 6364136223846793005ull + 1442695040888963407ull;
    }
    return hex;
}

std::int64_t model_size(std::string_view name) {
    return 1'000'000'000 + static_cast<std::int64_t>(fnv1a(name) % 1'000'000'000ull);
}

void write_details(JsonOut& j) {
    j.key("details")
        .begin_object()
        .field("parent_model", "")
        .field("format", "gguf")
        .field("family", "llama")
        .key("families")
        .begin_array()
        .str("llama")
        .end_array()
        .field("parameter_size", "3.2B")
        .field("quantization_level", "Q4_K_M")
        .end_object();
}

std::int64_t ms_to_ns(double ms) {
    return std::max<std::int64_t>(1, static_cast<std::int64_t>(ms * 1e6));
}

// keep_alive: a number of seconds or a Go duration string; only "is it zero" matters here.
bool keep_alive_is_zero(simdjson::dom::element doc) {
    simdjson::dom::element ka;
    if (doc["keep_alive"].get(ka) != simdjson::SUCCESS) {
        return false;
    }
    double num = 0;
    if (ka.is_number() && ka.get_double().get(num) == simdjson::SUCCESS) {
        return num == 0;
    }
    std::string_view text;
    if (ka.get_string().get(text) != simdjson::SUCCESS || text.empty()) {
        return false;
    }
    std::string copy(text);
    char* end = nullptr;
    double v = std::strtod(copy.c_str(), &end);
    return end != copy.c_str() && v == 0;
}

}  // namespace

std::string ollama_normalize(std::string_view model) {
    std::size_t slash = model.rfind('/');
    std::size_t colon = model.rfind(':');
    if (colon == std::string_view::npos || (slash != std::string_view::npos && colon < slash)) {
        return std::string(model) + ":latest";
    }
    return std::string(model);
}

bool parse_ollama_generate(const std::string& body, bool chat, OllamaGenerate* out,
                           std::string* error) {
    if (body.empty()) {
        *error = "missing request body";
        return false;
    }
    simdjson::dom::parser parser;
    simdjson::padded_string padded(body);
    simdjson::dom::element doc;
    if (auto err = parser.parse(padded).get(doc); err != simdjson::SUCCESS || !doc.is_object()) {
        *error = std::string("invalid JSON request body: ") +
                 (err != simdjson::SUCCESS ? simdjson::error_message(err) : "not an object");
        return false;
    }
    std::string_view sv;
    if (doc["model"].get_string().get(sv) != simdjson::SUCCESS || sv.empty()) {
        *error = "model is required";
        return false;
    }
    out->model = std::string(sv);
    out->normalized = ollama_normalize(out->model);
    bool b = true;
    if (doc["stream"].get_bool().get(b) == simdjson::SUCCESS) {
        out->stream = b;
    }
    double np = -1;
    if (doc["options"]["num_predict"].get_double().get(np) == simdjson::SUCCESS) {
        out->num_predict = static_cast<std::int64_t>(np);
    }
    out->keep_alive_zero = keep_alive_is_zero(doc);
    if (!chat) {
        if (doc["prompt"].get_string().get(sv) == simdjson::SUCCESS) {
            out->prompt_text = std::string(sv);
        }
        out->empty_prompt = out->prompt_text.empty();
        return true;
    }
    simdjson::dom::array messages;
    out->empty_prompt =
        doc["messages"].get_array().get(messages) != simdjson::SUCCESS || messages.size() == 0;
    if (!out->empty_prompt) {
        for (simdjson::dom::element m : messages) {
            if (m["content"].get_string().get(sv) == simdjson::SUCCESS) {
                out->prompt_text.append(sv).append(" ");
            }
        }
    }
    return true;
}

OllamaFake::OllamaFake(OllamaConfig cfg) : cfg_(std::move(cfg)), slots_(cfg_.common.slots) {
    FAKE_ASSERT(!cfg_.common.models.empty());
    FAKE_ASSERT(cfg_.max_queue >= 0);
}

bool OllamaFake::known_model(const std::string& normalized) const {
    if (cfg_.common.fault == Fault::model_404) {
        return false;
    }
    return std::any_of(cfg_.common.models.begin(), cfg_.common.models.end(),
                       [&](const std::string& m) { return ollama_normalize(m) == normalized; });
}

bool OllamaFake::mark_loaded(const std::string& normalized) {
    std::lock_guard lock(mutex_);
    return loaded_.insert(normalized).second;
}

void OllamaFake::unload(const std::string& normalized) {
    std::lock_guard lock(mutex_);
    loaded_.erase(normalized);
}

void OllamaFake::handle(const Request& req, Connection& conn) {
    bool get = req.method == "GET";
    bool head = req.method == "HEAD";
    if (req.path == "/_fake/stats" && get) {
        conn.send_full(200, json_type, stats_.to_json());
        return;
    }
    stats_.count_request();
    struct Route {
        std::string_view path;
        bool post;
    };
    static constexpr Route routes[] = {
        {"/", false},       {"/api/version", false}, {"/api/tags", false},
        {"/api/ps", false}, {"/api/generate", true}, {"/api/chat", true}};
    const Route* route = nullptr;
    for (const auto& r : routes) {
        if (req.path == r.path) {
            route = &r;
        }
    }
    if (route == nullptr) {
        conn.send_full(404, text_type, "404 page not found");
        return;
    }
    bool method_ok = route->post ? req.method == "POST" : (get || head);
    if (!method_ok) {
        conn.send_full(405, text_type, "405 method not allowed");
        return;
    }
    if (route->post) {
        handle_generate(req, conn, route->path == "/api/chat");
    } else if (route->path == "/") {
        conn.send_full(200, text_type, "Ollama is running", {}, head);
    } else if (route->path == "/api/version") {
        JsonOut j;
        j.begin_object().field("version", ollama_version).end_object();
        conn.send_full(200, json_type, j.text(), {}, head);
    } else if (route->path == "/api/tags") {
        conn.send_full(200, json_type, tags_json(), {}, head);
    } else {
        conn.send_full(200, json_type, ps_json(), {}, head);
    }
}

std::string OllamaFake::tags_json() {
    JsonOut j;
    j.begin_object().key("models").begin_array();
    for (const auto& m : cfg_.common.models) {
        std::string name = ollama_normalize(m);
        j.begin_object()
            .field("name", name)
            .field("model", name)
            .field("modified_at", "2026-01-01T00:00:00Z")
            .field("size", model_size(name))
            .field("digest", model_digest(name));
        write_details(j);
        j.end_object();
    }
    j.end_array().end_object();
    return j.text();
}

std::string OllamaFake::ps_json() {
    std::set<std::string> loaded;
    {
        std::lock_guard lock(mutex_);
        loaded = loaded_;
    }
    auto expires = std::chrono::system_clock::now() + std::chrono::seconds(keep_alive_default_s);
    JsonOut j;
    j.begin_object().key("models").begin_array();
    for (const auto& name : loaded) {
        j.begin_object()
            .field("name", name)
            .field("model", name)
            .field("size", model_size(name))
            .field("digest", model_digest(name));
        write_details(j);
        j.field("expires_at", rfc3339_utc(expires)).field("size_vram", model_size(name));
        j.end_object();
    }
    j.end_array().end_object();
    return j.text();
}

void OllamaFake::handle_generate(const Request& req, Connection& conn, bool chat) {
    if (cfg_.common.fault == Fault::hang) {
        conn.hang();
        conn.close_after_response();
        return;
    }
    OllamaGenerate g;
    std::string error;
    if (!parse_ollama_generate(req.body, chat, &g, &error)) {
        stats_.rejected();
        conn.send_full(400, json_type, error_json(error));
        return;
    }
    if (!known_model(g.normalized)) {
        stats_.rejected();
        conn.send_full(404, json_type, error_json("model '" + g.model + "' not found"));
        return;
    }
    if (cfg_.common.fault == Fault::busy_503) {
        stats_.rejected();
        conn.send_full(503, json_type, error_json(busy_message));
        return;
    }
    if (g.empty_prompt) {
        reply_load(conn, g, chat);
        return;
    }
    stream_job(conn, g, chat);
}

void OllamaFake::reply_load(Connection& conn, const OllamaGenerate& g, bool chat) {
    if (g.keep_alive_zero) {
        unload(g.normalized);
    } else {
        mark_loaded(g.normalized);
    }
    JsonOut j;
    j.begin_object()
        .field("model", g.model)
        .field("created_at", rfc3339_utc(std::chrono::system_clock::now()));
    if (chat) {
        j.key("message").begin_object().field("role", "assistant").field("content", "");
        j.end_object();
        j.field("done_reason", g.keep_alive_zero ? "unload" : "load").field_bool("done", true);
    } else {
        j.field("response", "").field_bool("done", true);
        j.field("done_reason", g.keep_alive_zero ? "unload" : "load");
    }
    j.end_object();
    conn.send_full(200, json_type, j.text());
}

std::string OllamaFake::final_line(const OllamaGenerate& g, bool chat, const std::string& text,
                                   bool limit_hit, int produced, const GenerationJob& job,
                                   bool newly_loaded) {
    const char* reason = limit_hit ? "length" : "stop";
    JsonOut j;
    j.begin_object()
        .field("model", g.model)
        .field("created_at", rfc3339_utc(std::chrono::system_clock::now()));
    if (chat) {
        j.key("message").begin_object().field("role", "assistant").field("content", text);
        j.end_object();
        j.field("done_reason", reason).field_bool("done", true);
    } else {
        j.field("response", text).field_bool("done", true).field("done_reason", reason);
        int prompt_n = count_words(g.prompt_text);
        std::size_t ctx_n = std::min<std::size_t>(context_tokens_max,
                                                  static_cast<std::size_t>(prompt_n + produced));
        j.key("context").begin_array();
        for (std::size_t i = 0; i < ctx_n; ++i) {
            j.num(static_cast<std::int64_t>(i + 1));
        }
        j.end_array();
    }
    j.field("total_duration", ms_to_ns(job.total_ms()))
        .field("load_duration", newly_loaded ? std::int64_t{2'000'000} : std::int64_t{100'000})
        .field("prompt_eval_count", count_words(g.prompt_text))
        .field("prompt_eval_duration", ms_to_ns(job.prompt_ms()));
    if (produced > 0) {  // Ollama omits zero-valued stats
        j.field("eval_count", produced).field("eval_duration", ms_to_ns(job.predicted_ms()));
    }
    j.end_object();
    return j.text();
}

void OllamaFake::stream_job(Connection& conn, const OllamaGenerate& g, bool chat) {
    GenerationJob job(cfg_.common, stats_, slots_, conn);
    if (!job.admit(cfg_.common.slots + cfg_.max_queue)) {
        stats_.rejected();
        conn.send_full(503, json_type, error_json(busy_message));
        return;
    }
    if (!job.acquire_slot()) {
        conn.close_after_response();
        return;
    }
    bool newly_loaded = mark_loaded(g.normalized);
    JobPlan plan = plan_job(cfg_.common, g.num_predict);
    std::string text;
    // Headers go out with the first line, as Ollama's handler writes them lazily.
    auto write_line = [&](const std::string& line) {
        if (!conn.streaming() && !conn.begin_chunked(200, ndjson_type)) {
            return false;
        }
        return conn.write_chunk(line + "\n");
    };
    JobEnd end = job.run(plan.tokens, [&](int, const std::string& piece) {
        text += piece;
        if (!g.stream) {
            return !conn.client_gone();
        }
        JsonOut j;
        j.begin_object()
            .field("model", g.model)
            .field("created_at", rfc3339_utc(std::chrono::system_clock::now()));
        if (chat) {
            j.key("message").begin_object().field("role", "assistant").field("content", piece);
            j.end_object();
        } else {
            j.field("response", piece);
        }
        j.field_bool("done", false).end_object();
        return write_line(j.text());
    });
    std::string injected =
        "fake_ollama: injected error after " + std::to_string(job.produced()) + " tokens";
    if (end == JobEnd::completed) {
        std::string last = final_line(g, chat, g.stream ? "" : text, plan.limit_hit, job.produced(),
                                      job, newly_loaded);
        bool ok = g.stream ? (write_line(last) && conn.end_chunked())
                           : conn.send_full(200, json_type, last);
        if (ok) {
            job.completed();
        }
        if (g.keep_alive_zero) {
            unload(g.normalized);
        }
    } else if (end == JobEnd::fault_error) {
        if (g.stream) {
            // Status 200 was (or is now) sent: the error travels as one more NDJSON line.
            (void)(write_line(error_json(injected)) && conn.end_chunked());
        } else {
            conn.send_full(500, json_type, error_json(injected));
        }
    }
    if (end != JobEnd::completed && end != JobEnd::fault_error) {
        conn.close_after_response();
    }
    if (conn.streaming()) {
        conn.close_after_response();  // a stream left open cannot carry another response
    }
}

}  // namespace pylon::fake
