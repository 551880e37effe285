// JobRequest: a NIP-90 job request (kinds 5000-5999) read into a typed value: inputs (`i` with
// types text, prompt (an alias of text, used by the 5050 example), url, event and job, with relay
// hint and marker), params (`param` key + values), `output`, `bid` (millisats), `relays`, the
// providers named by `p`, and the `encrypted` flag (a `bid` that is not an amount is kept as
// bad_bid, not rejected: the request stays answerable). read() takes the clear tags only (enough to
// decide targeting: an encrypted request not p-tagged to us cannot be decrypted and is ignored);
// read_encrypted() also decrypts the content (NIP-44 v2 or NIP-04, detected by shape) into the
// JSON tag list the customer moved there, and records which cipher was used so the result and
// feedback can answer with the same one. Bounded by Limits (job_inputs_max, job_params_max,
// job_relays_max, job_providers_max, encrypted_payload_bytes_max). The request is self-contained
// (strings owned, request_json kept for the result's `request` tag) so it can outlive its Event.
// Values; any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/event.hpp"
#include "proto/json_reader.hpp"
#include "proto/keys.hpp"
#include "proto/limits.hpp"
#include "proto/payload_cipher.hpp"
#include "proto/reject.hpp"

namespace pylon::proto {

inline constexpr uint32_t job_request_kind_min = 5000;
inline constexpr uint32_t job_request_kind_max = 5999;
inline constexpr uint32_t job_result_kind_offset = 1000;
inline constexpr uint32_t job_feedback_kind = 7000;
inline constexpr size_t job_relay_url_bytes_max = 512;
inline constexpr size_t job_bad_bid_bytes_max = 64;  // of a bad bid's text kept to quote it

enum class InputType : uint8_t { text, url, event, job };

struct JobInput {
    std::string data;
    InputType type = InputType::text;
    std::string type_name;  // as written: "text", "prompt", "url", "event", "job"
    std::string relay;      // element 3, may be ""
    std::string marker;     // element 4, may be ""
};

struct JobParam {
    std::string key;
    std::vector<std::string> values;  // at least one
};

struct JobRequest {
    EventId id{};
    PublicKey customer;
    uint32_t kind = 0;
    int64_t created_at = 0;
    std::vector<JobInput> inputs;
    std::vector<JobParam> params;
    std::string output;                 // desired MIME type, "" if none
    std::optional<uint64_t> bid_msats;  // the customer's ceiling
    // A `bid` tag that is not a millisat amount ("lots", "-5", "1e3", above 2^64), as written
    // (at most job_bad_bid_bytes_max bytes): the request is still read, so the provider can
    // answer "bad bid" instead of dropping it. The first such tag; bid_msats ignores it. Behind
    // a pointer: a queued Job holds its JobRequest, and 8 bytes keep the Job in mimalloc's
    // 640-byte class (job_test), where an optional<string> (40) did not.
    std::unique_ptr<std::string> bad_bid;
    std::vector<std::string> relays;   // where to publish responses (ws:// and wss:// only)
    std::vector<PublicKey> providers;  // `p` tags
    bool encrypted = false;            // `encrypted` tag present
    Cipher cipher = Cipher::none;      // how the content was encrypted (after read_encrypted)
    std::string request_json;          // the request event as JSON (for the result)

    // Clear tags only. Reject::wrong_kind outside 5000..5999. canonical: the event's
    // serialize_canonical() output when the caller has it (verify() leaves it in its scratch),
    // so request_json copies its escaped tags and content instead of escaping them again.
    Reject read(const Event& event, const Limits& limits = Limits{},
                std::string_view canonical = {});
    // Clear tags, then decrypt the content with our secret and the customer's pubkey and read
    // the tags inside. Reject::not_encrypted without an `encrypted` tag.
    Reject read_encrypted(const Event& event, const SecretKey& ours, JsonReader& reader);

    // The first param with that key, or nullptr.
    const JobParam* param(std::string_view key) const noexcept;
    // True when no provider is named or provider is among them.
    bool addressed_to(const PublicKey& provider) const noexcept;
    // The data of the first text (or prompt) input, or "".
    std::string_view first_text_input() const noexcept;
    uint32_t result_kind() const noexcept { return kind + job_result_kind_offset; }
};

std::string_view input_type_name(InputType type) noexcept;

// Reads a decimal millisat amount ("10000"): digits only, no sign, fits in 64 bits.
[[nodiscard]] bool parse_msats(std::string_view text, uint64_t& out) noexcept;

}  // namespace pylon::proto
