// SubscriptionCursor: how far one relay's job subscription has been read, for the `since` of the
// next REQ and for the cursor persisted across restarts (relay_cursors). It keeps three marks:
// the newest request created_at the relay delivered, the oldest request deferred while intake
// was paused (left unread: the next REQ must start no later than it), and the oldest request
// held while paused (read, waiting in memory for the resume: not yet recorded, so a restart must
// fetch it again). The persisted cursor never passes a deferred or held request, so a node
// stopped or killed while paused loses none of them. Owned by its RelayLink, on its shard.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

namespace pylon::engine {

class SubscriptionCursor {
  public:
    explicit SubscriptionCursor(std::int64_t newest) noexcept : newest_(newest) {}

    // A request delivered and read (created_at in seconds, already clamped to now).
    void advance(std::int64_t created_at) noexcept { newest_ = std::max(newest_, created_at); }
    // A request delivered while paused and left unread.
    void defer(std::int64_t created_at) noexcept { deferred_ = std::min(deferred_, created_at); }
    // A request delivered while paused and kept in memory for the resume.
    void hold(std::int64_t created_at) noexcept { held_ = std::min(held_, created_at); }

    // The newest request read.
    std::int64_t newest() const noexcept { return newest_; }
    // What may be persisted: no later than any request not yet read or recorded.
    std::int64_t durable() const noexcept { return std::min({newest_, deferred_, held_}); }
    // The next REQ starts here; it fetches again what was deferred, and the held requests are
    // admitted by the resume that sends it, so both marks are cleared.
    std::int64_t take_since_for_req() noexcept {
        std::int64_t since = std::min(newest_, deferred_);
        deferred_ = none;
        held_ = none;
        return since;
    }

  private:
    static constexpr std::int64_t none = std::numeric_limits<std::int64_t>::max();
    std::int64_t newest_;
    std::int64_t deferred_ = none;
    std::int64_t held_ = none;
};

}  // namespace pylon::engine
