#include "proto/ollama_codec.hpp"

#include "proto/json_writer.hpp"

namespace pylon::proto {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

constexpr std::size_t text_bytes_max = 1 << 20;

void write_options(JsonWriter& w, const GenerationParams& p) {
    w.key("options");
    w.begin_object();
    if (p.max_tokens) {
        w.field_int("num_predict", *p.max_tokens);
    }
    if (p.temperature) {
        w.key("temperature");
        w.number(*p.temperature);
    }
    if (p.top_p) {
        w.key("top_p");
        w.number(*p.top_p);
    }
    if (p.top_k) {
        w.field_int("top_k", *p.top_k);
    }
    if (p.seed) {
        w.field_int("seed", *p.seed);
    }
    if (p.frequency_penalty) {
        w.key("frequency_penalty");
        w.number(*p.frequency_penalty);
    }
    if (!p.stop.empty()) {
        w.key("stop");
        w.begin_array();
        for (const auto& s : p.stop) {
            w.string(s);
        }
        w.end_array();
    }
    w.end_object();
}

// Reads an optional unsigned count; absent or malformed counts read as 0.
std::uint32_t count_field(object obj, std::string_view name) {
    element e;
    if (obj[name].get(e) != simdjson::SUCCESS) {
        return 0;
    }
    std::uint64_t v = 0;
    if (json_uint(e, UINT32_MAX, v) != Reject::none) {
        return 0;
    }
    return static_cast<std::uint32_t>(v);
}

}  // namespace

void OllamaCodec::write_request(const GenerationParams& params, bool chat, std::string& out) {
    JsonWriter w(out);
    w.begin_object();
    w.field("model", params.model);
    if (chat) {
        w.key("messages");
        w.begin_array();
        w.begin_object();
        w.field("role", "user");
        w.field("content", params.prompt);
        w.end_object();
        w.end_array();
    } else {
        w.field("prompt", params.prompt);
    }
    w.key("stream");
    w.boolean(true);
    write_options(w, params);
    w.end_object();
}

Reject OllamaCodec::decode_line(std::string_view line, StreamEvent& out) {
    out = StreamEvent{};
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
        line.remove_suffix(1);
    }
    if (line.empty()) {
        return Reject::none;  // blank line: skip
    }
    element root;
    if (Reject r = reader_.parse(line, root); r != Reject::none) {
        return r;
    }
    object obj;
    if (Reject r = json_object(root, obj); r != Reject::none) {
        return r;
    }
    element e;
    // Every line is checked for `error` before `done` (an error mid-stream keeps status 200).
    if (obj["error"].get(e) == simdjson::SUCCESS) {
        std::string_view text;
        if (json_string(e, text_bytes_max, text) != Reject::none) {
            text = "backend error";
        }
        out.kind = StreamEvent::Kind::error;
        out.error_text = text;
        return Reject::none;
    }
    std::string_view piece;
    if (obj["response"].get(e) == simdjson::SUCCESS) {
        if (Reject r = json_string(e, text_bytes_max, piece); r != Reject::none) {
            return r;
        }
    } else if (obj["message"].get(e) == simdjson::SUCCESS) {
        element content;
        if (e["content"].get(content) == simdjson::SUCCESS) {
            if (Reject r = json_string(content, text_bytes_max, piece); r != Reject::none) {
                return r;
            }
        }
    }
    bool done = false;
    if (obj["done"].get(e) == simdjson::SUCCESS) {
        if (e.get_bool().get(done) != simdjson::SUCCESS) {
            return Reject::wrong_type;
        }
    }
    out.text = piece;
    if (!done) {
        out.kind = StreamEvent::Kind::token;
        return Reject::none;
    }
    out.kind = StreamEvent::Kind::done;
    out.last = true;
    std::string_view reason;
    if (obj["done_reason"].get(e) == simdjson::SUCCESS) {
        (void)json_string(e, 64, reason);
    }
    out.finish = reason == "length" ? FinishReason::length : FinishReason::stop;
    out.prompt_tokens = count_field(obj, "prompt_eval_count");
    out.completion_tokens = count_field(obj, "eval_count");
    out.has_usage = out.completion_tokens > 0 || out.prompt_tokens > 0;
    return Reject::none;
}

Reject OllamaCodec::parse_models(std::string_view body, bool loaded, std::vector<ModelInfo>& out) {
    out.clear();
    element root;
    if (Reject r = reader_.parse(body, root); r != Reject::none) {
        return r;
    }
    element models;
    if (root["models"].get(models) != simdjson::SUCCESS) {
        return Reject::missing_field;
    }
    simdjson::dom::array arr;
    if (Reject r = json_array(models, arr); r != Reject::none) {
        return r;
    }
    for (element m : arr) {
        element e;
        std::string_view name;
        if (m["name"].get(e) != simdjson::SUCCESS || json_string(e, 1024, name) != Reject::none ||
            name.empty()) {
            if (m["model"].get(e) != simdjson::SUCCESS ||
                json_string(e, 1024, name) != Reject::none || name.empty()) {
                continue;  // tolerate entries we cannot read, or with no usable name
            }
        }
        ModelInfo info;
        info.name = std::string(name);
        info.loaded = loaded;
        std::uint64_t size = 0;
        if (m["size"].get(e) == simdjson::SUCCESS &&
            json_uint(e, UINT64_MAX, size) == Reject::none) {
            info.size_bytes = size;
        }
        out.push_back(std::move(info));
        if (out.size() >= 4096) {
            break;
        }
    }
    return Reject::none;
}

Reject OllamaCodec::parse_version(std::string_view body, std::string& out) {
    element root;
    if (Reject r = reader_.parse(body, root); r != Reject::none) {
        return r;
    }
    element e;
    std::string_view v;
    if (root["version"].get(e) != simdjson::SUCCESS) {
        return Reject::missing_field;
    }
    if (Reject r = json_string(e, 256, v); r != Reject::none) {
        return r;
    }
    out = std::string(v);
    return Reject::none;
}

std::string OllamaCodec::error_text(std::string_view body) {
    element root;
    if (reader_.parse(body, root) != Reject::none) {
        return {};
    }
    element e;
    std::string_view text;
    if (root["error"].get(e) != simdjson::SUCCESS || json_string(e, 4096, text) != Reject::none) {
        return {};
    }
    return std::string(text);
}

}  // namespace pylon::proto
