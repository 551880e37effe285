// Event: one Nostr event (NIP-01), built for reuse on the hot path. All tag strings live in one
// byte arena with an offset table, the content in its own string, and id/pubkey/sig stay decoded
// (32/32/64 raw bytes), so parsing into an existing Event reuses its capacity and allocates
// nothing once warm. Accessors return std::string_view / TagView into the Event: they are valid
// until the Event is next modified. Parsing (read_json / read_element) enforces Limits and
// rejects malformed input with a Reject; it does not verify: call verify() (id, then BIP-340
// signature), cheapest checks first as the reference recommends. Building: clear(), set_kind(),
// set_created_at(), set_content(), add_tag({...}), then sign(); strings given to the builder are
// sanitised (invalid UTF-8 -> U+FFFD, U+007F dropped) so nothing we sign can be refused for its
// escaping. The canonical serialisation (the id preimage) is always rebuilt from the parsed values
// with the NIP-01 escapes (see json_writer.hpp), never hashed from received bytes. Not
// thread-safe; an Event is a value owned by its holder (copyable, movable).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "proto/json_reader.hpp"
#include "proto/json_writer.hpp"
#include "proto/keys.hpp"
#include "proto/limits.hpp"
#include "proto/random_source.hpp"
#include "proto/reject.hpp"

namespace pylon::proto {

using EventId = std::array<uint8_t, 32>;

inline constexpr uint32_t event_kind_max = 65535;

class Event;

// A read-only view of one tag: its elements are string_views into the owning Event.
class TagView {
  public:
    size_t size() const noexcept { return count_; }
    std::string_view operator[](size_t i) const noexcept;
    // Element i, or "" when the tag is shorter (tolerant parsing of optional elements).
    std::string_view get(size_t i) const noexcept { return i < count_ ? (*this)[i] : ""; }
    std::string_view name() const noexcept { return (*this)[0]; }
    std::string_view value() const noexcept { return get(1); }

  private:
    friend class Event;
    TagView(const Event* event, uint32_t first, uint32_t count) noexcept
        : event_(event), first_(first), count_(count) {}
    const Event* event_;
    uint32_t first_;
    uint32_t count_;
};

class Event {
  public:
    // --- reading ---------------------------------------------------------------------------
    const EventId& id() const noexcept { return id_; }
    const PublicKey& pubkey() const noexcept { return pubkey_; }
    const SignatureBytes& sig() const noexcept { return sig_; }
    int64_t created_at() const noexcept { return created_at_; }
    uint32_t kind() const noexcept { return kind_; }
    std::string_view content() const noexcept { return content_; }

    size_t tag_count() const noexcept { return tag_ends_.size(); }
    TagView tag(size_t i) const noexcept;
    // The first tag named name, if any.
    std::optional<TagView> find_tag(std::string_view name) const noexcept;
    // Element 1 of the first tag named name, or "".
    std::string_view tag_value(std::string_view name) const noexcept;

    // --- building ---------------------------------------------------------------------------
    void clear() noexcept;  // empties everything, keeps capacity
    void set_kind(uint32_t kind) noexcept;
    void set_created_at(int64_t created_at) noexcept;
    void set_content(std::string_view content);                      // sanitised
    void add_tag(std::initializer_list<std::string_view> elements);  // sanitised, >= 1 element
    void add_tag(std::span<const std::string_view> elements);
    void add_tag(std::span<const std::string> elements);
    // As add_tag, with trailing empty elements left out (optional relay hints, bolt11, markers):
    // {"e", id, ""} becomes ["e", id]; an empty element before a non-empty one is kept.
    void add_tag_trimmed(std::initializer_list<std::string_view> elements);
    // Removes the tags at and after index first (used to trim what a builder appended).
    void truncate_tags(size_t first) noexcept;
    // Raw setters for parsed or test data (no signing involved).
    void set_id(const EventId& id) noexcept { id_ = id; }
    void set_pubkey(const PublicKey& pubkey) noexcept { pubkey_ = pubkey; }
    void set_sig(const SignatureBytes& sig) noexcept { sig_ = sig; }

    // --- hashing, signing, verifying ---------------------------------------------------------
    // [0,"<pubkey>",<created_at>,<kind>,<tags>,"<content>"] into out (replaced).
    void serialize_canonical(std::string& out) const;
    EventId compute_id(std::string& scratch) const;
    // Sets pubkey from the keypair, then id, then a BIP-340 signature with fresh aux bytes.
    void sign(const Keypair& keys, RandomSource& aux, std::string& scratch);
    void sign(const Keypair& keys, RandomSource& aux = csprng());
    // Reject::none if the id matches the serialisation and the signature verifies.
    Reject verify(std::string& scratch) const;
    Reject verify() const;  // uses a thread-local scratch buffer

    // --- JSON -------------------------------------------------------------------------------
    // {"id","pubkey","created_at","kind","tags","content","sig"} in that order (what
    // JSON.stringify of a nostr-tools event gives; used for the NIP-90 `request` tag).
    void write_json(JsonWriter& writer) const;
    void append_json(std::string& out) const;
    std::string to_json() const;
    // Exactly append_json's output size (no allocation).
    size_t json_bytes() const noexcept;
    // An upper bound of json_bytes() that does not walk the strings (every byte of the tags and
    // the content counted as a six-byte escape): a size check that passes on it needs no more.
    size_t json_bytes_bound() const noexcept;

    // The tags array and the content string, as JSON, inside `canonical`, which must be this
    // event's serialize_canonical() output (compute_id, sign and verify leave it in their
    // scratch): the event's other serialisations copy them from there instead of escaping the
    // strings again (a result's `request` tag is a whole event, ~1 KB of escapes).
    struct CanonicalParts {
        std::string_view tags;
        std::string_view content;
    };
    CanonicalParts canonical_parts(std::string_view canonical) const noexcept;
    // append_json's output, its tags and content copied from canonical (see canonical_parts).
    void append_json(std::string& out, std::string_view canonical) const;

    Reject read_json(JsonReader& reader, std::string_view text);
    Reject read_json(JsonReader& reader, PaddedJson text);
    // Reads an unsigned event template ({"kind", "content", "tags", "created_at"}, as
    // `pylon event sign` takes on stdin): kind is required, content defaults to "", tags to [],
    // created_at to default_created_at; id, pubkey and sig are ignored (signing sets them).
    // Strings go through the builder, so they are sanitised for signing.
    Reject read_template(JsonReader& reader, std::string_view text, int64_t default_created_at);

    // Reads an already parsed element (an event inside a relay message). source_bytes is the
    // size of the JSON text the element came from: when it is within Limits::event_bytes_max the
    // normalised size check is skipped (re-serialising never grows an event: our escapes are the
    // shortest JSON allows and whitespace and unknown fields are dropped).
    Reject read_element(simdjson::dom::element element, const Limits& limits,
                        size_t source_bytes = SIZE_MAX);

  private:
    friend class TagView;
    struct Slice {
        uint32_t offset;
        uint32_t bytes;
    };

    std::string_view element(uint32_t index) const noexcept {
        const Slice& s = elements_[index];
        return {arena_.data() + s.offset, s.bytes};
    }
    void begin_tag();
    void push_element_raw(std::string_view text);        // already validated
    void push_element_sanitized(std::string_view text);  // from a builder
    size_t tags_json_bytes() const noexcept;
    void append_tags_json(std::string& out) const;
    // append_json's output up to "tags": and from ,"sig": on.
    void append_json_head(std::string& out) const;
    void append_json_tail(std::string& out) const;
    Reject read_tags(simdjson::dom::element value, const Limits& limits);
    Reject read_field(std::string_view key, simdjson::dom::element value, const Limits& limits,
                      uint32_t& seen);
    Reject read_template_tags(simdjson::dom::element value, const Limits& limits);

    EventId id_{};
    PublicKey pubkey_;
    SignatureBytes sig_{};
    int64_t created_at_ = 0;
    uint32_t kind_ = 0;
    std::string content_;
    std::string arena_;               // all tag element bytes
    std::vector<Slice> elements_;     // every tag element, in order
    std::vector<uint32_t> tag_ends_;  // tag i = elements_[tag_ends_[i-1] .. tag_ends_[i])
};

}  // namespace pylon::proto
