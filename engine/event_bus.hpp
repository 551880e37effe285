// EventBus: domain events (proto/domain_event.hpp) from any shard to their consumers on shard 0:
// the control socket's Subscribe connections (EventSubscriber, NDJSON lines) and an embedding
// host's subscription (EventSubscription, read from any thread).
//
// emit() never blocks and never grows memory: on shard 0 the event is delivered at once; from
// another shard it travels as one cross-shard message to shard 0, and when that mailbox is full
// the event is dropped and counted on the emitting shard. Each subscriber has its own bounded
// queue; a subscriber that falls behind loses events (counted) instead of stalling anyone: an
// EventSubscriber is then marked overflowed (the control server drops the connection with a final
// error line), an EventSubscription counts what it missed and keeps going. Events are never the
// way a fact reaches the database: the store is written directly by whoever knows the fact, so
// nothing persisted depends on an event being delivered. emit() also keeps the StatusBoard's
// counters (JobCompleted adds a completed job and its amount) exact, on the emitting shard.
//
// Threads: emit() on any shard of the set (from any other thread the event is only counted as
// dropped); subscribe()/unsubscribe() and EventSubscriber on shard 0; subscribe_external() and
// EventSubscription from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/status_board.hpp"
#include "proto/domain_event.hpp"
#include "reactor/ring_queue.hpp"
#include "reactor/sync.hpp"

namespace pylon::engine {

class EventBus;

// A shard-0 consumer of encoded events ("{...}\n" lines shared between subscribers).
class EventSubscriber {
  public:
    using Line = std::shared_ptr<const std::string>;
    explicit EventSubscriber(std::size_t events_max);

    // Set while events are queued, after an overflow, or once closed; reset it after draining.
    reactor::AsyncEvent& ready() noexcept { return ready_; }
    bool pop(Line& out);
    bool overflowed() const noexcept { return overflowed_; }
    std::uint64_t dropped() const noexcept { return dropped_; }
    std::size_t queued() const noexcept { return lines_.size(); }

  private:
    friend class EventBus;
    bool offer(const Line& line);  // false: dropped

    std::size_t events_max_;
    reactor::RingQueue<Line> lines_{16};
    reactor::AsyncEvent ready_;
    bool overflowed_ = false;
    std::uint64_t dropped_ = 0;
};

// A host-side consumer of events, usable from any thread.
class EventSubscription {
  public:
    explicit EventSubscription(std::size_t events_max) : events_max_(events_max) {}

    // Waits up to timeout_ms (0: do not wait) for the next event; false if none (or closed).
    bool next(proto::DomainEvent& out, int timeout_ms);
    // Events this subscription missed because its queue was full.
    std::uint64_t dropped() const;
    // Ends the subscription (wakes a waiting next()); the bus forgets it.
    void close();
    bool closed() const;

  private:
    friend class EventBus;
    bool offer(const proto::DomainEvent& event);  // false: dropped

    std::size_t events_max_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<proto::DomainEvent> events_;
    std::uint64_t dropped_ = 0;
    bool closed_ = false;
};

struct EventBusOptions {
    unsigned shard_count = 1;
};

class EventBus {
  public:
    EventBus(EventBusOptions options, StatusBoard* board);
    EventBus(const EventBus&) = delete;
    EventBus& operator=(const EventBus&) = delete;

    // Publishes `event` (at_ms is set to now when 0). Never blocks.
    void emit(proto::DomainEvent event);

    void subscribe(EventSubscriber* subscriber);    // shard 0
    void unsubscribe(EventSubscriber* subscriber);  // shard 0
    std::shared_ptr<EventSubscription> subscribe_external(std::size_t events_max);

    // Counters of one shard (read them on that shard) and process-wide totals. dropped(shard):
    // events of that shard that found shard 0's mailbox full; dropped_total(): those, events
    // emitted off the shards, and each subscriber's (and subscription's) missed events.
    std::uint64_t emitted(unsigned shard) const noexcept;
    std::uint64_t dropped(unsigned shard) const noexcept;
    std::uint64_t dropped_total() const noexcept { return dropped_total_.load(); }
    std::uint64_t delivered() const noexcept { return delivered_.load(); }

  private:
    struct alignas(64) ShardCounters {
        std::uint64_t emitted = 0;
        std::uint64_t dropped = 0;
    };
    void deliver(const proto::DomainEvent& event);  // shard 0
    void note_dropped(unsigned shard);

    EventBusOptions options_;
    StatusBoard* board_;
    std::vector<ShardCounters> counters_;
    std::vector<EventSubscriber*> subscribers_;  // shard 0
    std::mutex external_mutex_;
    std::vector<std::shared_ptr<EventSubscription>> external_;
    std::atomic<std::uint64_t> dropped_total_{0};
    std::atomic<std::uint64_t> delivered_{0};
};

}  // namespace pylon::engine
