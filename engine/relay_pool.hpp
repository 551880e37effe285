// RelayPool: the relay links a shard owns, a service on every shard (service_order::relays,
// which starts before the job runner and stops after it, so jobs can still publish their last
// feedback while the node shuts down). Shard s owns the configured relays with
// hash(url) % N == s, connects them all at start in parallel, and subscribes them once every
// shard's Intake is open. A temporary link to a request's `relays` entry is made on demand by
// the shard that owns that URL (at most temp_relays_max at once per shard) and closed after
// temp_idle_ms with nothing to send.
//
// publish() runs on the shard that signed the event: it sends the shared Publication to every
// configured relay's owner shard and to each extra relay's owner shard, and returns how many
// links it went to; each link reports the outcome of a tracked publication to its owner.
//
// Backpressure: while intake is paused (a configured relay's publish queue is busy, see
// PublishPressure) every link CLOSEs its job subscription; a request that still arrives is routed
// on as usual (its owner's Intake holds it until resume) while its link routed fewer than
// [limits] held_requests_max / N during this pause; beyond that it is not read (no dedup entry,
// no cursor advance) but deferred on its link, and the REQ sent on resume starts no later than
// it. The owner's Intake may still find its held buffer full (requests routed just before the
// pause reach it after): it leaves those for the relay too and says so (mark_cursor), so their
// link defers them the same way. Relays keep kind 5xxx events, so nothing published meanwhile
// is lost.
//
// Routing (on_event, the link's shard): a deletion (kind 5) that may be ours goes to the shard
// its own id hashes to, which verifies and counts it once (a later copy, through the other
// subscription or another relay, is only checked against its id) and sends it to the owner shard
// of each request it names; job requests pass Intake's prescreen here, then go to their owner
// shard hash(id) % N: in place when that is this shard, else moved (the Event is
// swapped into a recycled box, so no copy and no allocation once warm) and returned for reuse
// after the owner's intake has read it. At most transfers_in_flight_max boxes travel at once;
// beyond that the reading link waits (backpressure toward the relay).
//
// Shard 0's pool also publishes the NIP-89 announcement (kind 31990) once intake is open and
// every announce_interval_s, and each pool persists its links' cursors (every
// cursor_persist_ms and at stop) and keeps `status`/`Relays` current (on state changes, and
// counters every status_refresh_ms). Its shard only.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/dedup_cache.hpp"
#include "engine/provider_hub.hpp"
#include "engine/publication.hpp"
#include "engine/relay_link.hpp"
#include "engine/response_builder.hpp"
#include "engine/service.hpp"
#include "proto/event.hpp"
#include "reactor/gate.hpp"
#include "reactor/sync.hpp"

namespace pylon::proto {
struct Deletion;
}  // namespace pylon::proto

namespace pylon::engine {

inline constexpr std::size_t transfers_in_flight_max = 1024;
inline constexpr std::size_t spare_events_max = 256;
// Deletions a shard remembers having verified (their ids hash to it): a copy is not verified again.
inline constexpr std::size_t deletions_seen_max = 4096;
inline constexpr std::int64_t cursor_persist_ms = 15000;
inline constexpr std::int64_t pool_status_refresh_ms = 1000;
inline constexpr std::int64_t stop_flush_ms_max = 2000;

class RelayPool final : public Service {
  public:
    RelayPool(ServiceContext& context, std::shared_ptr<ProviderHub> hub);
    ~RelayPool() override;

    reactor::Task<Status> start() override;
    reactor::Task<void> stop() override;

    // -- From the shard that signed `pub` --
    unsigned publish(PublicationRef pub);

    // -- On this shard (messages from other shards) --
    void deliver(std::size_t index, const PublicationRef& pub);
    void deliver_extra(std::size_t extra, const PublicationRef& pub);
    void set_subscribed(bool on);
    // Intake paused or resumed (ProviderHub::publish_pressure, read here, so messages that
    // cross end in the current state): links CLOSE their job subscription, or REQ again from
    // their cursor; this shard's Intake admits the requests it held.
    void apply_pause();
    // Runs apply_pause() on every shard. Any shard.
    static void broadcast_pause(ProviderHub* hub);
    // Intake paused: the owner shard's intake held a request from relay `url` (`held`) or left
    // it for the relay to send again; the cursor of that relay's link (on its shard, by message
    // unless that is this one) is held back to created_at. A hold that arrives after the resume
    // is dropped (the request is being admitted). Any shard.
    static void mark_cursor(ProviderHub* hub, const std::string& url, std::int64_t created_at,
                            bool held);
    bool paused() const noexcept { return paused_; }
    // Shard `from`'s jobs open for a while (JobRunner::sweep): the links ask their relays for
    // the deletions of every shard's, so a deletion without a `k` tag cancels too. On this
    // shard; JobRunner::share_watch sends it to every shard.
    void set_watched(unsigned from, std::shared_ptr<const std::vector<proto::EventId>> ids);

    // -- For this shard's links --
    const Config& config() const noexcept { return context_.config(); }
    ProviderHub& hub() noexcept { return *hub_; }
    reactor::Gate& gate() noexcept { return gate_; }
    bool subscribed() const noexcept { return subscribed_; }
    // An EVENT of the link's subscription; false when the link must co_await room() first.
    bool on_event(RelayLink* link, proto::Event& event);
    reactor::Task<void> room();
    // The outcome of a publication on one link (reported to its owner when tracked).
    void report(const PublicationRef& pub, bool delivered, std::string reason);
    // The REQ for a link's job subscription, starting after its cursor.
    std::string subscription_frame(std::string_view subid, std::int64_t cursor) const;
    // The REQ for a link's deletion watch: {"kinds":[5],"#e":[ids]}.
    static std::string watch_frame(std::string_view subid, const std::vector<proto::EventId>& ids);
    void link_changed(RelayLink* link, bool state_change);
    // A link came up or went down (events, logs).
    void link_connected(RelayLink* link, bool up, const std::string& reason);
    // Takes back an Event box another shard's intake has read.
    void recycle(std::unique_ptr<proto::Event> box);
    // The configured relay at `index` (the same list on every shard).
    const std::string& url_at(std::size_t index) const { return urls_[index]; }

  private:
    void mark_link(std::size_t index, std::int64_t created_at, bool held);
    static reactor::Task<void> upkeep_loop(RelayPool* self);
    static reactor::Task<void> announce_loop(RelayPool* self);
    reactor::Task<void> persist_cursors();
    void route_deletion(proto::Event& event);
    // On the shard the deletion's id hashes to: verify (once), count, tell the jobs' owners.
    void act_on_deletion(const proto::Event& event, const proto::Deletion& deletion);
    void reap_temporary();
    void fail_all(const PublicationRef& pub, unsigned count, const std::string& reason);

    ServiceContext& context_;
    std::shared_ptr<ProviderHub> hub_;
    std::vector<std::string> urls_;                  // configured, normalised
    std::vector<std::unique_ptr<RelayLink>> links_;  // by index; null when another shard owns it
    // A temporary link and the customer whose request opened it (one customer may hold a
    // quarter of temp_relays_max).
    struct TempLink {
        std::unique_ptr<RelayLink> link;
        std::array<std::uint8_t, 32> opener{};
    };
    std::unordered_map<std::string, TempLink> temp_;
    // set_watched(): each shard's list, their union now (sorted), and the union the links
    // were last given (a superset of the one now until ids are added or none is left).
    std::vector<std::shared_ptr<const std::vector<proto::EventId>>> watched_;
    std::shared_ptr<const std::vector<proto::EventId>> watch_union_;
    std::shared_ptr<const std::vector<proto::EventId>> watch_links_;
    std::vector<std::int64_t> persisted_;  // by index: cursor last written
    std::vector<std::unique_ptr<proto::Event>> spare_;
    std::unique_ptr<DedupCache> deletions_seen_;  // made at the first deletion verified
    std::size_t transfers_ = 0;
    reactor::AsyncEvent room_;
    bool subscribed_ = false;
    bool paused_ = false;  // intake paused (publish pressure): job subscriptions closed
    std::unique_ptr<ResponseBuilder> announcer_;  // shard 0
    reactor::AsyncEvent announce_now_;
    std::vector<std::uint64_t> board_revision_;  // by index: the info last put on the board
    reactor::CancelSource stop_;
    reactor::Gate gate_;    // links
    reactor::Gate upkeep_;  // loops
};

}  // namespace pylon::engine
