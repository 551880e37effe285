#include "proto/llamacpp_codec.hpp"

#include "proto/json_writer.hpp"

namespace pylon::proto {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

constexpr std::size_t text_bytes_max = 1 << 20;

template <typename Parent>  // element or object
std::uint32_t count_field(Parent parent, std::string_view name) {
    element e;
    std::uint64_t v = 0;
    if (parent[name].get(e) != simdjson::SUCCESS || json_uint(e, UINT32_MAX, v) != Reject::none) {
        return 0;
    }
    return static_cast<std::uint32_t>(v);
}

void write_sampling(JsonWriter& w, const GenerationParams& p) {
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
}

// {"error":{"message":...}} or {"error":"..."}: the message, or false if not an error.
bool read_error(object obj, std::string_view& text) {
    element e;
    if (obj["error"].get(e) != simdjson::SUCCESS) {
        return false;
    }
    element msg;
    if (e.is_object() && e["message"].get(msg) == simdjson::SUCCESS &&
        json_string(msg, 4096, text) == Reject::none) {
        return true;
    }
    if (json_string(e, 4096, text) != Reject::none) {
        text = "backend error";
    }
    return true;
}

}  // namespace

void LlamaCppCodec::write_request(const GenerationParams& params, Route route, std::string& out) {
    JsonWriter w(out);
    w.begin_object();
    if (route == Route::completion) {
        w.field("prompt", params.prompt);
        w.field_int("n_predict",
                    params.max_tokens ? static_cast<std::int64_t>(*params.max_tokens) : -1);
        w.key("cache_prompt");
        w.boolean(true);
    } else {
        if (!params.model.empty()) {
            w.field("model", params.model);
        }
        w.key("messages");
        w.begin_array();
        w.begin_object();
        w.field("role", "user");
        w.field("content", params.prompt);
        w.end_object();
        w.end_array();
        if (params.max_tokens) {
            w.field_int("max_tokens", *params.max_tokens);
        }
    }
    w.key("stream");
    w.boolean(true);
    write_sampling(w, params);
    w.end_object();
}

Reject LlamaCppCodec::decode_event(Route route, std::string_view data, StreamEvent& out) {
    out = StreamEvent{};
    if (data == "[DONE]") {
        out.kind = StreamEvent::Kind::done;
        out.finish = FinishReason::stop;
        out.last = true;
        return Reject::none;
    }
    element root;
    if (Reject r = reader_.parse(data, root); r != Reject::none) {
        return r;
    }
    object obj;
    if (Reject r = json_object(root, obj); r != Reject::none) {
        return r;
    }
    std::string_view err;
    if (read_error(obj, err)) {
        out.kind = StreamEvent::Kind::error;
        out.error_text = err;
        return Reject::none;
    }
    return route == Route::completion ? decode_completion(obj, out) : decode_chat(obj, out);
}

Reject LlamaCppCodec::decode_completion(object obj, StreamEvent& out) {
    element e;
    std::string_view piece;
    if (obj["content"].get(e) == simdjson::SUCCESS) {
        if (Reject r = json_string(e, text_bytes_max, piece); r != Reject::none) {
            return r;
        }
    }
    bool stop = false;
    if (obj["stop"].get(e) == simdjson::SUCCESS && e.get_bool().get(stop) != simdjson::SUCCESS) {
        return Reject::wrong_type;
    }
    out.kind = StreamEvent::Kind::token;
    out.text = piece;
    if (!stop) {
        return Reject::none;
    }
    // The last event may carry content as well: a token that ends the stream.
    out.last = true;
    std::string_view stop_type;
    if (obj["stop_type"].get(e) == simdjson::SUCCESS) {
        (void)json_string(e, 64, stop_type);
    }
    out.finish = stop_type == "limit" ? FinishReason::length : FinishReason::stop;
    out.completion_tokens = count_field(obj, "tokens_predicted");
    out.prompt_tokens = count_field(obj, "tokens_evaluated");
    out.has_usage = true;
    if (piece.empty()) {
        out.kind = StreamEvent::Kind::done;
    }
    return Reject::none;
}

Reject LlamaCppCodec::decode_chat(object obj, StreamEvent& out) {
    element e;
    if (obj["usage"].get(e) == simdjson::SUCCESS && e.is_object()) {
        out.prompt_tokens = count_field(e, "prompt_tokens");
        out.completion_tokens = count_field(e, "completion_tokens");
        out.has_usage = true;
    }
    out.kind = StreamEvent::Kind::skip;
    element choices;
    if (obj["choices"].get(choices) != simdjson::SUCCESS) {
        return Reject::none;  // e.g. a usage-only chunk
    }
    array arr;
    if (Reject r = json_array(choices, arr); r != Reject::none) {
        return r;
    }
    for (element choice : arr) {  // the first choice only
        element delta;
        if (choice["delta"].get(delta) == simdjson::SUCCESS && delta.is_object()) {
            element content;
            if (delta["content"].get(content) == simdjson::SUCCESS && !content.is_null()) {
                std::string_view piece;
                if (Reject r = json_string(content, text_bytes_max, piece); r != Reject::none) {
                    return r;
                }
                out.kind = StreamEvent::Kind::token;
                out.text = piece;
            }
        }
        element fr;
        std::string_view reason;
        if (choice["finish_reason"].get(fr) == simdjson::SUCCESS && !fr.is_null() &&
            json_string(fr, 64, reason) == Reject::none && !reason.empty()) {
            out.finish = reason == "length" ? FinishReason::length : FinishReason::stop;
        }
        break;
    }
    return Reject::none;
}

Reject LlamaCppCodec::parse_props(std::string_view body, LlamaProps& out) {
    out = LlamaProps{};
    element root;
    if (Reject r = reader_.parse(body, root); r != Reject::none) {
        return r;
    }
    if (!root.is_object()) {
        return Reject::wrong_type;
    }
    out.total_slots = count_field(root, "total_slots");
    element e;
    std::string_view path;
    if (root["model_path"].get(e) == simdjson::SUCCESS &&
        json_string(e, 4096, path) == Reject::none) {
        out.model_path = std::string(path);
    }
    element settings;
    if (root["default_generation_settings"].get(settings) == simdjson::SUCCESS) {
        out.n_ctx = count_field(settings, "n_ctx");
    }
    return out.total_slots > 0 ? Reject::none : Reject::missing_field;
}

Reject LlamaCppCodec::parse_models(std::string_view body, std::vector<ModelInfo>& out) {
    out.clear();
    element root;
    if (Reject r = reader_.parse(body, root); r != Reject::none) {
        return r;
    }
    element list = root;
    if (root.is_object() && root["data"].get(list) != simdjson::SUCCESS) {
        return Reject::missing_field;
    }
    array arr;
    if (Reject r = json_array(list, arr); r != Reject::none) {
        return r;
    }
    for (element m : arr) {
        element e;
        std::string_view id;
        if (m["id"].get(e) != simdjson::SUCCESS || json_string(e, 4096, id) != Reject::none ||
            id.empty()) {
            continue;  // unreadable, or no name a request could use (the node routes by name)
        }
        ModelInfo info;
        info.name = std::string(id);
        info.loaded = true;
        out.push_back(std::move(info));
        if (out.size() >= 4096) {
            break;
        }
    }
    return Reject::none;
}

std::string LlamaCppCodec::error_text(std::string_view body) {
    element root;
    object obj;
    if (reader_.parse(body, root) != Reject::none || json_object(root, obj) != Reject::none) {
        return {};
    }
    std::string_view text;
    return read_error(obj, text) ? std::string(text) : std::string();
}

}  // namespace pylon::proto
