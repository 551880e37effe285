// Filter: one NIP-01 subscription filter ({"ids","authors","kinds","#x","since","until",
// "limit"}), its JSON form both ways and a matcher. Lists match if any element matches; all
// present conditions must hold; an empty list matches nothing (as nostr-tools and strfry do).
// ids, authors, #e and #p values must be exact 64-character lowercase hex (prefix matching was
// dropped from NIP-01); since and until are inclusive. Reading is bounded by Limits
// (filter_values_max per list, filter_tag_fields_max #x fields, filter_tag_value_bytes_max per
// value) and refuses unknown fields (a relay that ignored one, such as NIP-50 "search", would
// widen the subscription). A Filter is a plain value: copy it, move it, any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <simdjson.h>

#include "proto/event.hpp"
#include "proto/json_writer.hpp"
#include "proto/keys.hpp"
#include "proto/limits.hpp"
#include "proto/reject.hpp"

namespace pylon::proto {

struct TagCondition {
    char letter = 0;  // a-z or A-Z
    std::vector<std::string> values;
    friend bool operator==(const TagCondition&, const TagCondition&) = default;
};

struct Filter {
    std::optional<std::vector<EventId>> ids;
    std::optional<std::vector<PublicKey>> authors;
    std::optional<std::vector<uint32_t>> kinds;
    std::vector<TagCondition> tags;  // one entry per #x field, in input order
    std::optional<int64_t> since;
    std::optional<int64_t> until;
    std::optional<uint64_t> limit;

    [[nodiscard]] bool matches(const Event& event) const noexcept;

    // The values of #letter, if the filter has that condition.
    const TagCondition* tag_condition(char letter) const noexcept;
    // Adds a value to #letter (creating the condition).
    void add_tag_value(char letter, std::string value);

    void write_json(JsonWriter& writer) const;
    std::string to_json() const;
    Reject read_element(simdjson::dom::element element, const Limits& limits);

    friend bool operator==(const Filter&, const Filter&) = default;
};

// True if any filter matches (filters in one REQ are ORed).
[[nodiscard]] bool any_filter_matches(const std::vector<Filter>& filters,
                                      const Event& event) noexcept;

}  // namespace pylon::proto
