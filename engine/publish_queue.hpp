// PublishQueue: the publications one relay link has to send or is waiting on an OK for, in
// sending order, with the admission policy that keeps it bounded without losing what a customer
// must hear (an accepted job always ends with a terminal event: its result and `success`, or its
// `error`). Bounds, from `publish_queue_max` (events_max):
//
//   - At most events_max progress and courtesy entries together with the terminal ones; only
//     terminal events may go past it (below).
//   - Progress feedback (processing/partial) takes at most progress_max = events_max / 4 of them.
//     A newer progress event of a job replaces the job's queued one that is not yet sent (the
//     customer only needs the newest text so far); a terminal event of a job drops the job's
//     unsent progress event (its result carries the whole text).
//   - A terminal event is always queued: when the queue is full it takes the place of the
//     oldest unsent progress event, and when there is none it is queued past events_max. Each
//     belongs to an accepted job (at most two per job: result and `success`, or `error`), and
//     the jobs accepted and not yet finished are bounded by [limits] job_queue_max and the
//     backend slots, so that overflow is bounded too; refusing it would break the promise that
//     an accepted job's customer hears its end (the pause below keeps it rare: new jobs stop
//     at high_water, and only jobs already running can add to it).
//   - A courtesy event (an `error` to a request that was not accepted) is queued only while the
//     queue is not busy: the customer is told on the node's other relays, or not at all.
//   - busy(): the terminal and courtesy events ("kept", they cannot be dropped for room) reached
//     high_water = events_max / 2; it clears when they fall below low_water = 3/8 events_max.
//     While any connected relay link is busy, intake refuses new jobs (the node is busy), so the
//     jobs already running have the upper half of the queue (plus the progress quarter they can
//     evict) for their last events.
//
// Entries also carry the link's send state (sends, in flight, retry time). One relay link, so
// one shard; owns its entries (they share the Publications).
#pragma once

#include <cstdint>
#include <list>
#include <unordered_map>

#include "engine/publication.hpp"

namespace pylon::engine {

struct PublishQueueLimits {
    std::size_t events_max = 1024;
    std::size_t progress_max = 256;
    std::size_t high_water = 512;
    std::size_t low_water = 384;

    static PublishQueueLimits from(std::size_t events_max);
};

class PublishQueue {
  public:
    struct Entry {
        PublicationRef pub;
        unsigned sends = 0;
        bool in_flight = false;
        bool wait_auth = false;
        std::int64_t next_send_ms = 0;
        std::int64_t ok_deadline_ms = 0;
    };
    using List = std::list<Entry>;
    using iterator = List::iterator;

    enum class Admit : std::uint8_t {
        queued,        // added at the end
        replaced,      // took the place of the job's unsent progress event (`dropped`)
        over_bound,    // a terminal event queued past events_max (nothing left to evict)
        evicted,       // queued after dropping the oldest unsent progress event (`dropped`)
        refused_full,  // no room for its class (progress, courtesy; never terminal)
        refused_busy,  // a courtesy event while busy()
        duplicate,     // the same event id is queued already
    };
    struct Pushed {
        Admit admit = Admit::queued;
        PublicationRef dropped;  // the event that gave way (replaced, evicted, or a terminal's
                                 // stale progress when queued), or null
    };

    explicit PublishQueue(PublishQueueLimits limits) : limits_(limits) {}

    Pushed push(PublicationRef pub);
    void erase(iterator it);
    iterator find(const proto::EventId& id);

    iterator begin() { return list_.begin(); }
    iterator end() { return list_.end(); }
    bool empty() const noexcept { return list_.empty(); }
    std::size_t size() const noexcept { return list_.size(); }
    std::size_t kept() const noexcept { return kept_; }
    std::size_t progress() const noexcept { return list_.size() - kept_; }
    bool busy() const noexcept { return busy_; }
    const PublishQueueLimits& limits() const noexcept { return limits_; }

  private:
    struct IdHash {
        std::size_t operator()(const proto::EventId& id) const noexcept;
    };
    static bool is_progress(const Publication& pub) noexcept {
        return pub.cls == PublishClass::progress;
    }
    iterator append(PublicationRef pub);
    iterator unsent_progress_of(const proto::EventId& job);
    iterator oldest_unsent_progress();
    void update_busy() noexcept;

    PublishQueueLimits limits_;
    List list_;
    std::unordered_map<proto::EventId, iterator, IdHash> by_id_;
    std::unordered_map<proto::EventId, iterator, IdHash> progress_by_job_;  // newest per job
    std::size_t kept_ = 0;
    bool busy_ = false;
};

}  // namespace pylon::engine
