#include "proto/job_feedback.hpp"

#include <array>

#include "proto/content_fit.hpp"
#include "proto/hex.hpp"
#include "proto/json_writer.hpp"
#include "proto/secret.hpp"
#include "reactor/assert.hpp"

namespace pylon::proto {
namespace {

struct StatusName {
    std::string_view text;
    FeedbackStatus status;
};
constexpr StatusName k_statuses[] = {{"payment-required", FeedbackStatus::payment_required},
                                     {"processing", FeedbackStatus::processing},
                                     {"partial", FeedbackStatus::partial},
                                     {"error", FeedbackStatus::error},
                                     {"success", FeedbackStatus::success}};

std::string msats_text(uint64_t msats) {
    return std::to_string(msats);
}

// The tags that carry the feedback's meaning (status, amount), as JSON arrays for encryption.
void write_inner_tags(JsonWriter& w, const FeedbackSpec& spec, std::string_view content) {
    w.begin_array();
    w.begin_array();
    w.string("status");
    w.string(feedback_status_text(spec.status));
    if (!spec.extra_info.empty()) {
        w.string(spec.extra_info);
    }
    w.end_array();
    if (spec.amount_msats) {
        w.begin_array();
        w.string("amount");
        w.string(msats_text(*spec.amount_msats));
        if (!spec.bolt11.empty()) {
            w.string(spec.bolt11);
        }
        w.end_array();
    }
    if (!content.empty()) {
        w.begin_array();
        w.string("content");
        w.string(content);
        w.end_array();
    }
    w.end_array();
}

void add_clear_meaning_tags(Event& out, const FeedbackSpec& spec) {
    out.add_tag_trimmed({"status", feedback_status_text(spec.status), spec.extra_info});
    if (spec.amount_msats) {
        out.add_tag_trimmed({"amount", msats_text(*spec.amount_msats), spec.bolt11});
    }
}

void add_reference_tags(Event& out, const JobRef& job) {
    out.add_tag_trimmed({"e", hex_of(job.request_id).view(), job.relay_hint});
    out.add_tag({"p", hex_of(job.customer.bytes()).view()});
}

// Reads one feedback tag (status, amount, e, p, content) into f; e_seen tracks the first e tag.
void apply_feedback_tag(std::span<const std::string_view> t, JobFeedback& f, bool& e_seen) {
    std::string_view name = t[0];
    auto at = [&](size_t i) { return i < t.size() ? t[i] : std::string_view(); };
    if (name == "status" && f.status_text.empty() && t.size() >= 2) {
        f.status_text.assign(t[1]);
        f.status = parse_feedback_status(t[1]);
        f.extra_info.assign(at(2));
    } else if (name == "amount" && !f.amount_msats) {
        uint64_t v = 0;
        if (parse_msats(at(1), v)) {
            f.amount_msats = v;
            f.bolt11.assign(at(2));
        }
    } else if (name == "e" && !e_seen && hex_decode(at(1), f.request_id)) {
        f.relay_hint.assign(at(2));
        e_seen = true;
    } else if (name == "p") {
        (void)f.customer.set_hex(at(1));
    } else if (name == "content") {
        f.content.assign(at(1));
    } else if (name == "encrypted") {
        f.encrypted = true;
    }
}

// Applies the decrypted JSON tag list; malformed entries are skipped.
Reject apply_json_tags(std::string_view plaintext, JsonReader& reader, JobFeedback& f,
                       bool& e_seen) {
    simdjson::dom::element root;
    Reject r = reader.parse(plaintext, root);
    simdjson::dom::array tags;
    if (r != Reject::none || (r = json_array(root, tags)) != Reject::none) {
        return r;
    }
    std::array<std::string_view, 4> buf;
    size_t bytes_max = reader.limits().tag_element_bytes_max;
    for (simdjson::dom::element tag : tags) {
        simdjson::dom::array items;
        if (json_array(tag, items) != Reject::none) {
            continue;
        }
        size_t n = 0;
        for (simdjson::dom::element item : items) {
            if (n < buf.size() && json_string(item, bytes_max, buf[n]) == Reject::none) {
                ++n;
            }
        }
        if (n > 0) {
            apply_feedback_tag(std::span<const std::string_view>(buf.data(), n), f, e_seen);
        }
    }
    return Reject::none;
}

Reject read_clear_tags(const Event& event, JobFeedback& f, bool& e_seen) {
    f = JobFeedback{};
    e_seen = false;
    if (event.kind() != job_feedback_kind) {
        return Reject::wrong_kind;
    }
    std::array<std::string_view, 4> buf;
    for (size_t i = 0; i < event.tag_count(); ++i) {
        TagView t = event.tag(i);
        size_t n = std::min(t.size(), buf.size());
        for (size_t j = 0; j < n; ++j) {
            buf[j] = t[j];
        }
        apply_feedback_tag(std::span<const std::string_view>(buf.data(), n), f, e_seen);
    }
    return Reject::none;
}

Reject finish(const JobFeedback& f, bool e_seen) {
    if (!e_seen) {
        return Reject::bad_tag;
    }
    return f.status_text.empty() ? Reject::bad_status : Reject::none;
}

}  // namespace

std::string_view feedback_status_text(FeedbackStatus status) noexcept {
    for (const StatusName& s : k_statuses) {
        if (s.status == status) {
            return s.text;
        }
    }
    return "other";
}

FeedbackStatus parse_feedback_status(std::string_view text) noexcept {
    if (text == "payment_required") {
        return FeedbackStatus::payment_required;  // NDK's spelling
    }
    for (const StatusName& s : k_statuses) {
        if (s.text == text) {
            return s.status;
        }
    }
    return FeedbackStatus::other;
}

JobRef JobRef::of(const JobRequest& request, std::string_view relay_hint) {
    JobRef ref;
    ref.request_id = request.id;
    ref.customer = request.customer;
    ref.request_kind = request.kind;
    ref.relay_hint = relay_hint;
    ref.cipher = request.encrypted ? request.cipher : Cipher::none;
    return ref;
}

Reject build_feedback(const JobRef& job, const FeedbackSpec& spec, int64_t created_at,
                      const Keypair& keys, RandomSource& random, Event& out, const Limits& limits) {
    PYLON_ASSERT(spec.status != FeedbackStatus::other);
    out.clear();
    out.set_kind(job_feedback_kind);
    out.set_created_at(created_at);
    ContentFit fit;
    fit.event_bytes_max = limits.event_bytes_max;
    if (job.cipher == Cipher::none) {
        add_clear_meaning_tags(out, spec);
        add_reference_tags(out, job);
    } else {
        add_reference_tags(out, job);
        out.add_tag({"encrypted"});
        fit.cipher = job.cipher;
        fit.keys = &keys;
        fit.peer = &job.customer;
        fit.random = &random;
        fit.make_plaintext = [&spec](std::string_view content) {
            std::string json;
            JsonWriter w(json);
            write_inner_tags(w, spec, content);
            return json;
        };
    }
    bool truncated = false;
    Reject r = fit_content(out, spec.content, fit, truncated);
    if (r == Reject::none && spec.canonical != nullptr) {
        out.sign(keys, random, *spec.canonical);
    } else if (r == Reject::none) {
        out.sign(keys, random);
    }
    return r;
}

Reject JobFeedback::read(const Event& event) {
    bool e_seen = false;
    Reject r = read_clear_tags(event, *this, e_seen);
    if (r != Reject::none) {
        return r;
    }
    if (encrypted) {
        return e_seen ? Reject::none : Reject::bad_tag;  // status and amount are encrypted
    }
    content.assign(event.content());
    return finish(*this, e_seen);
}

Reject JobFeedback::read_encrypted(const Event& event, const SecretKey& ours, JsonReader& reader) {
    bool e_seen = false;
    Reject r = read_clear_tags(event, *this, e_seen);
    if (r != Reject::none) {
        return r;
    }
    if (!encrypted) {
        return Reject::not_encrypted;
    }
    std::string plaintext;
    Cipher used = Cipher::none;
    r = decrypt_payload(ours, event.pubkey(), event.content(), plaintext, used, reader.limits());
    if (r == Reject::none) {
        r = apply_json_tags(plaintext, reader, *this, e_seen);
    }
    wipe_bytes(plaintext.data(), plaintext.size());
    return r != Reject::none ? r : finish(*this, e_seen);
}

}  // namespace pylon::proto
