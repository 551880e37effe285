#include "proto/job_request.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "proto/hex.hpp"
#include "proto/secret.hpp"
#include "proto/utf8.hpp"

namespace pylon::proto {
namespace {

constexpr size_t k_tag_view_elements_max = 16;  // elements of one tag we look at

using Elements = std::span<const std::string_view>;

bool input_type_from(std::string_view name, InputType& type) {
    if (name == "text" || name == "prompt") {
        type = InputType::text;
    } else if (name == "url") {
        type = InputType::url;
    } else if (name == "event") {
        type = InputType::event;
    } else if (name == "job") {
        type = InputType::job;
    } else {
        return false;
    }
    return true;
}

Reject apply_input(Elements t, JobRequest& req, const Limits& limits) {
    if (t.size() < 3) {
        return Reject::bad_input;
    }
    if (req.inputs.size() >= limits.job_inputs_max) {
        return Reject::too_many_inputs;
    }
    JobInput in;
    if (!input_type_from(t[2], in.type)) {
        return Reject::bad_input_type;
    }
    std::array<uint8_t, 32> id{};
    if ((in.type == InputType::event || in.type == InputType::job) && !hex_decode(t[1], id)) {
        return Reject::bad_input;
    }
    in.data.assign(t[1]);
    in.type_name.assign(t[2]);
    in.relay.assign(t.size() > 3 ? t[3] : "");
    in.marker.assign(t.size() > 4 ? t[4] : "");
    req.inputs.push_back(std::move(in));
    return Reject::none;
}

Reject apply_param(Elements t, JobRequest& req, const Limits& limits) {
    if (t.size() < 3 || t[1].empty()) {
        return Reject::bad_param;
    }
    if (req.params.size() >= limits.job_params_max) {
        return Reject::too_many_inputs;
    }
    JobParam p;
    p.key.assign(t[1]);
    for (size_t i = 2; i < t.size(); ++i) {
        p.values.emplace_back(t[i]);
    }
    req.params.push_back(std::move(p));
    return Reject::none;
}

Reject apply_relays(Elements t, JobRequest& req, const Limits& limits) {
    for (size_t i = 1; i < t.size(); ++i) {
        std::string_view url = t[i];
        bool websocket = url.starts_with("wss://") || url.starts_with("ws://");
        if (!websocket || url.size() > job_relay_url_bytes_max) {
            continue;  // not a relay we could use; ignore it
        }
        if (req.relays.size() >= limits.job_relays_max) {
            return Reject::too_many_inputs;
        }
        req.relays.emplace_back(url);
    }
    return Reject::none;
}

Reject apply_tag(Elements t, JobRequest& req, const Limits& limits) {
    std::string_view name = t[0];
    if (name == "i") {
        return apply_input(t, req, limits);
    }
    if (name == "param") {
        return apply_param(t, req, limits);
    }
    if (name == "output") {
        if (t.size() >= 2 && req.output.empty()) {
            req.output.assign(t[1]);
        }
        return Reject::none;
    }
    if (name == "bid") {
        uint64_t v = 0;
        if (t.size() >= 2 && parse_msats(t[1], v)) {
            req.bid_msats = v;
        } else if (!req.bad_bid) {
            std::string_view text = t.size() >= 2 ? t[1] : std::string_view{};
            req.bad_bid = std::make_unique<std::string>(
                text.substr(0, utf8_prefix_bytes(text, job_bad_bid_bytes_max)));
        }
        return Reject::none;  // a bad bid is the provider's to answer (JobRequest::bad_bid)
    }
    if (name == "relays") {
        return apply_relays(t, req, limits);
    }
    if (name == "p") {
        PublicKey pk;
        if (t.size() < 2 || !pk.set_hex(t[1])) {
            return Reject::bad_tag;
        }
        if (req.providers.size() >= limits.job_providers_max) {
            return Reject::too_many_inputs;
        }
        req.providers.push_back(pk);
        return Reject::none;
    }
    if (name == "encrypted") {
        req.encrypted = true;
    }
    return Reject::none;  // other tags (t, alt, client, expiration, ...) are not ours to judge
}

Reject apply_event_tags(const Event& event, JobRequest& req, const Limits& limits) {
    std::array<std::string_view, k_tag_view_elements_max> buf;
    for (size_t i = 0; i < event.tag_count(); ++i) {
        TagView t = event.tag(i);
        size_t n = std::min(t.size(), buf.size());
        for (size_t j = 0; j < n; ++j) {
            buf[j] = t[j];
        }
        Reject r = apply_tag(Elements(buf.data(), n), req, limits);
        if (r != Reject::none) {
            return r;
        }
    }
    return Reject::none;
}

// The decrypted content: a JSON array of tags (arrays of strings).
Reject apply_json_tags(simdjson::dom::element root, JobRequest& req, const Limits& limits) {
    simdjson::dom::array tags;
    if (json_array(root, tags) != Reject::none) {
        return Reject::wrong_type;
    }
    size_t count = 0;
    std::array<std::string_view, k_tag_view_elements_max> buf;
    for (simdjson::dom::element tag : tags) {
        if (++count > limits.tags_max) {
            return Reject::too_many_tags;
        }
        simdjson::dom::array items;
        if (json_array(tag, items) != Reject::none) {
            return Reject::wrong_type;
        }
        size_t n = 0;
        for (simdjson::dom::element item : items) {
            if (n == buf.size()) {
                break;
            }
            Reject r = json_string(item, limits.tag_element_bytes_max, buf[n++]);
            if (r != Reject::none) {
                return r;
            }
        }
        if (n == 0) {
            return Reject::empty_tag;
        }
        Reject r = apply_tag(Elements(buf.data(), n), req, limits);
        if (r != Reject::none) {
            return r;
        }
    }
    return Reject::none;
}

}  // namespace

std::string_view input_type_name(InputType type) noexcept {
    switch (type) {
        case InputType::text:
            return "text";
        case InputType::url:
            return "url";
        case InputType::event:
            return "event";
        case InputType::job:
            return "job";
    }
    return "text";
}

bool parse_msats(std::string_view text, uint64_t& out) noexcept {
    if (text.empty() || text.size() > 20 || text.find_first_not_of("0123456789") != text.npos) {
        return false;
    }
    auto res = std::from_chars(text.data(), text.data() + text.size(), out);
    return res.ec == std::errc() && res.ptr == text.data() + text.size();
}

Reject JobRequest::read(const Event& event, const Limits& limits, std::string_view canonical) {
    *this = JobRequest{};
    if (event.kind() < job_request_kind_min || event.kind() > job_request_kind_max) {
        return Reject::wrong_kind;
    }
    id = event.id();
    customer = event.pubkey();
    kind = event.kind();
    created_at = event.created_at();
    if (canonical.empty()) {
        request_json = event.to_json();
    } else {
        event.append_json(request_json, canonical);
    }
    return apply_event_tags(event, *this, limits);
}

Reject JobRequest::read_encrypted(const Event& event, const SecretKey& ours, JsonReader& reader) {
    Reject r = read(event, reader.limits());
    if (r != Reject::none) {
        return r;
    }
    if (!encrypted) {
        return Reject::not_encrypted;
    }
    std::string plaintext;
    r = decrypt_payload(ours, event.pubkey(), event.content(), plaintext, cipher, reader.limits());
    if (r == Reject::none) {
        simdjson::dom::element root;
        r = reader.parse(plaintext, root);
        if (r == Reject::none) {
            r = apply_json_tags(root, *this, reader.limits());
        }
    }
    wipe_bytes(plaintext.data(), plaintext.size());
    return r;
}

const JobParam* JobRequest::param(std::string_view key) const noexcept {
    for (const JobParam& p : params) {
        if (p.key == key) {
            return &p;
        }
    }
    return nullptr;
}

bool JobRequest::addressed_to(const PublicKey& provider) const noexcept {
    if (providers.empty()) {
        return true;
    }
    return std::find(providers.begin(), providers.end(), provider) != providers.end();
}

std::string_view JobRequest::first_text_input() const noexcept {
    for (const JobInput& in : inputs) {
        if (in.type == InputType::text) {
            return in.data;
        }
    }
    return {};
}

}  // namespace pylon::proto
