#include "proto/deletion.hpp"

#include <algorithm>
#include <charconv>

#include "proto/hex.hpp"

namespace pylon::proto {

Reject Deletion::read(const Event& event, const Limits& limits) {
    *this = Deletion{};
    if (event.kind() != deletion_kind) {
        return Reject::wrong_kind;
    }
    author = event.pubkey();
    reason.assign(event.content());
    for (size_t i = 0; i < event.tag_count(); ++i) {
        TagView t = event.tag(i);
        if (t.name() == "e") {
            EventId id{};
            if (!hex_decode(t.value(), id)) {
                return Reject::bad_tag;
            }
            if (event_ids.size() >= limits.tags_max) {
                return Reject::too_many_tags;
            }
            event_ids.push_back(id);
        } else if (t.name() == "a" && !t.value().empty()) {
            addresses.emplace_back(t.value());
        } else if (t.name() == "k") {
            uint32_t k = 0;
            std::string_view v = t.value();
            auto res = std::from_chars(v.data(), v.data() + v.size(), k);
            if (res.ec == std::errc() && res.ptr == v.data() + v.size() && k <= event_kind_max) {
                kinds.push_back(k);
            }
        }
    }
    return Reject::none;
}

bool Deletion::names(const EventId& id) const noexcept {
    return std::find(event_ids.begin(), event_ids.end(), id) != event_ids.end();
}

bool Deletion::cancels(const EventId& request_id, const PublicKey& request_author) const noexcept {
    return author == request_author && names(request_id);
}

}  // namespace pylon::proto
