// JobResult: the NIP-90 job result (kind = request kind + 1000), built and read. Tags, in this
// order: ["request", <the request event as JSON>], ["e", <request id>, <relay hint>], the
// request's `i` tags echoed (so clients can look results up with #i; never for an encrypted
// request), ["p", <customer>], optional ["amount", <msats>, <bolt11>], optional ["alt", text],
// and ["encrypted"] for an encrypted request, whose content is then encrypted under the cipher
// the request used. The content (LLM output) is sanitised (no U+007F, no invalid UTF-8) and the
// event is kept within Limits::event_bytes_max: first the echoed `i` tags are dropped, then the
// `request` tag (NDK then finds the request through the first `e`), and only then is the
// content cut. ResultReport says what was cut. Echoed `i`
// values above the single-letter tag bound are never echoed. Values; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proto/event.hpp"
#include "proto/job_request.hpp"
#include "proto/json_reader.hpp"
#include "proto/keys.hpp"
#include "proto/limits.hpp"
#include "proto/random_source.hpp"
#include "proto/reject.hpp"

namespace pylon::proto {

struct ResultSpec {
    std::string_view content;             // the payload; sanitised and capped
    size_t content_bytes_max = SIZE_MAX;  // an extra operator cap on the payload
    std::optional<uint64_t> amount_msats;
    std::string_view bolt11;  // "" = none
    std::string_view alt;     // NIP-31 alt text, "" = none
    // When set, receives the signed event's serialize_canonical() output, from which
    // write_client_event can copy the tags and content (Event::canonical_parts).
    std::string* canonical = nullptr;
};

struct ResultReport {
    bool inputs_dropped = false;   // echoed `i` tags left out for size
    bool request_dropped = false;  // the `request` tag left out for size
    bool content_truncated = false;
};

// Builds and signs the result for request into out.
Reject build_result(const JobRequest& request, std::string_view relay_hint, const ResultSpec& spec,
                    int64_t created_at, const Keypair& keys, RandomSource& random, Event& out,
                    ResultReport* report = nullptr, const Limits& limits = Limits{});

struct JobResult {
    uint32_t kind = 0;
    EventId request_id{};
    std::string relay_hint;
    std::string request_json;  // "" if the tag is absent
    PublicKey customer;
    std::optional<uint64_t> amount_msats;
    std::string bolt11;
    bool encrypted = false;
    std::string content;  // decrypted by read_encrypted

    // Reject::wrong_kind outside 6000..6999, bad_tag without a valid request id (from `e` or
    // the `request` tag).
    Reject read(const Event& event);
    Reject read_encrypted(const Event& event, const SecretKey& ours, const Limits& limits);
};

}  // namespace pylon::proto
