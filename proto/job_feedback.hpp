// JobFeedback: NIP-90 job feedback (kind 7000), built and read. The builder emits the statuses
// payment-required, processing, partial, error and success (hyphen spelling, the spec's), with an
// optional extra-info element, an `amount` in millisats with an optional bolt11, `e` = the request
// id with a relay hint, `p` = the customer, and content (a partial sample or an error detail).
// For an encrypted request it follows the shape nostrdvm emits and NDK's dvmDecrypt expects:
// only `e`, `p` and `encrypted` stay in clear, and the content is the encrypted JSON list of the
// other tags (status, amount, ["content", text]) under the cipher the request used. Reading
// accepts NDK's underscore spelling payment_required and keeps unknown statuses (scheduled,
// payment-rejected, ...) as other with their text. Content that would push the event over
// Limits::event_bytes_max is cut at a code point boundary. Values; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proto/event.hpp"
#include "proto/job_request.hpp"
#include "proto/json_reader.hpp"
#include "proto/keys.hpp"
#include "proto/limits.hpp"
#include "proto/payload_cipher.hpp"
#include "proto/random_source.hpp"
#include "proto/reject.hpp"

namespace pylon::proto {

enum class FeedbackStatus : uint8_t {
    payment_required,
    processing,
    partial,
    error,
    success,
    other
};

std::string_view feedback_status_text(FeedbackStatus status) noexcept;  // "payment-required", ...
// Accepts both payment-required and payment_required; anything else unknown is other.
FeedbackStatus parse_feedback_status(std::string_view text) noexcept;

// What a response refers to: the request and how to reach and encrypt for its customer. Built
// for one build_feedback() call: relay_hint views the caller's string.
struct JobRef {
    EventId request_id{};
    PublicKey customer;
    uint32_t request_kind = 0;
    std::string_view relay_hint;  // "" = none
    Cipher cipher = Cipher::none;

    static JobRef of(const JobRequest& request, std::string_view relay_hint);
};

struct FeedbackSpec {
    FeedbackStatus status = FeedbackStatus::processing;  // never other
    std::string_view extra_info;                         // status element 2, "" = none
    std::optional<uint64_t> amount_msats;
    std::string_view bolt11;   // amount element 2, "" = none
    std::string_view content;  // sample or detail; sanitised
    // When set, receives the signed event's serialize_canonical() output, from which
    // write_client_event can copy the tags and content (Event::canonical_parts).
    std::string* canonical = nullptr;
};

// Builds and signs a feedback event into out.
Reject build_feedback(const JobRef& job, const FeedbackSpec& spec, int64_t created_at,
                      const Keypair& keys, RandomSource& random, Event& out,
                      const Limits& limits = Limits{});

struct JobFeedback {
    FeedbackStatus status = FeedbackStatus::other;
    std::string status_text;  // as written
    std::string extra_info;
    std::optional<uint64_t> amount_msats;
    std::string bolt11;
    EventId request_id{};
    std::string relay_hint;
    PublicKey customer;
    std::string content;
    bool encrypted = false;

    // Clear feedback. Reject::bad_status without a status tag, bad_tag without a valid e tag.
    Reject read(const Event& event);
    // Encrypted feedback read by the customer (ours = the customer's secret).
    Reject read_encrypted(const Event& event, const SecretKey& ours, JsonReader& reader);
};

}  // namespace pylon::proto
