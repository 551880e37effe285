#include "proto/job_result.hpp"

#include "proto/content_fit.hpp"
#include "proto/hex.hpp"
#include "proto/secret.hpp"
#include "proto/utf8.hpp"

namespace pylon::proto {
namespace {

struct Shape {
    bool with_request = true;
    bool with_inputs = true;
};

void add_tags(const JobRequest& req, std::string_view relay_hint, const ResultSpec& spec,
              const Limits& limits, Shape shape, Event& out) {
    out.truncate_tags(0);
    if (shape.with_request) {
        out.add_tag({"request", req.request_json});
    }
    out.add_tag_trimmed({"e", hex_of(req.id).view(), relay_hint});
    for (const JobInput& in : req.inputs) {
        if (!shape.with_inputs || req.encrypted ||
            in.data.size() > limits.single_letter_tag_value_bytes_max) {
            continue;
        }
        out.add_tag_trimmed({"i", in.data, in.type_name, in.relay, in.marker});
    }
    out.add_tag({"p", hex_of(req.customer.bytes()).view()});
    if (spec.amount_msats) {
        out.add_tag_trimmed({"amount", std::to_string(*spec.amount_msats), spec.bolt11});
    }
    if (!spec.alt.empty()) {
        out.add_tag({"alt", spec.alt});
    }
    if (req.encrypted) {
        out.add_tag({"encrypted"});
    }
}

}  // namespace

Reject build_result(const JobRequest& request, std::string_view relay_hint, const ResultSpec& spec,
                    int64_t created_at, const Keypair& keys, RandomSource& random, Event& out,
                    ResultReport* report, const Limits& limits) {
    ResultReport local;
    ResultReport& rep = report != nullptr ? *report : local;
    rep = ResultReport{};
    out.clear();
    out.set_kind(request.result_kind());
    out.set_created_at(created_at);
    std::string_view text = spec.content;
    text = text.substr(0, utf8_prefix_bytes(text, spec.content_bytes_max));

    ContentFit fit;
    fit.event_bytes_max = limits.event_bytes_max;
    if (request.encrypted) {
        fit.cipher = request.cipher == Cipher::none ? Cipher::nip44 : request.cipher;
        fit.keys = &keys;
        fit.peer = &request.customer;
        fit.random = &random;
    }
    // Cheapest cuts first: the echoed inputs, then the request echo; the content (what the
    // customer paid for) is cut only when even the bare result does not fit.
    const Shape shapes[] = {{true, true}, {true, false}, {false, false}};
    Reject r = Reject::event_too_large;
    for (const Shape& shape : shapes) {
        add_tags(request, relay_hint, spec, limits, shape, out);
        bool truncated = false;
        r = fit_content(out, text, fit, truncated);
        bool last = !shape.with_request;
        if (r == Reject::none && (!truncated || last)) {
            rep.inputs_dropped =
                !shape.with_inputs && !request.inputs.empty() && !request.encrypted;
            rep.request_dropped = !shape.with_request;
            rep.content_truncated = truncated || spec.content.size() > text.size();
            break;
        }
        if (r != Reject::none && r != Reject::event_too_large) {
            return r;
        }
    }
    if (r == Reject::none && spec.canonical != nullptr) {
        out.sign(keys, random, *spec.canonical);
    } else if (r == Reject::none) {
        out.sign(keys, random);
    }
    return r;
}

Reject JobResult::read(const Event& event) {
    *this = JobResult{};
    uint32_t lo = job_request_kind_min + job_result_kind_offset;
    uint32_t hi = job_request_kind_max + job_result_kind_offset;
    if (event.kind() < lo || event.kind() > hi) {
        return Reject::wrong_kind;
    }
    kind = event.kind();
    bool have_id = false;
    for (size_t i = 0; i < event.tag_count(); ++i) {
        TagView t = event.tag(i);
        if (t.name() == "e" && !have_id && hex_decode(t.value(), request_id)) {
            relay_hint.assign(t.get(2));
            have_id = true;
        } else if (t.name() == "request" && request_json.empty()) {
            request_json.assign(t.value());
        } else if (t.name() == "p") {
            (void)customer.set_hex(t.value());
        } else if (t.name() == "amount" && !amount_msats) {
            uint64_t v = 0;
            if (parse_msats(t.value(), v)) {
                amount_msats = v;
                bolt11.assign(t.get(2));
            }
        } else if (t.name() == "encrypted") {
            encrypted = true;
        }
    }
    content.assign(event.content());
    return have_id ? Reject::none : Reject::bad_tag;
}

Reject JobResult::read_encrypted(const Event& event, const SecretKey& ours, const Limits& limits) {
    Reject r = read(event);
    if (r != Reject::none) {
        return r;
    }
    if (!encrypted) {
        return Reject::not_encrypted;
    }
    std::string plaintext;
    Cipher used = Cipher::none;
    r = decrypt_payload(ours, event.pubkey(), event.content(), plaintext, used, limits);
    if (r == Reject::none) {
        content.swap(plaintext);
    }
    wipe_bytes(plaintext.data(), plaintext.size());
    return r;
}

}  // namespace pylon::proto
