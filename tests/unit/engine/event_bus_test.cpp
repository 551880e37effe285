#include "engine/event_bus.hpp"

#include <gtest/gtest.h>

#include "reactor/ops.hpp"
#include "reactor/shard_set.hpp"
#include "tests/unit/reactor/run_on_shards.hpp"

namespace pylon::engine {
namespace {

using reactor::Shard;
using reactor::Task;

TEST(EventBus, EventsFromEveryShardReachShardZeroSubscribers) {
    StatusBoard board;
    EventBus bus(EventBusOptions{2}, &board);
    auto external = bus.subscribe_external(100);
    EventSubscriber sub(100);
    std::vector<std::string> lines;
    reactor::testing::run_on_shards(2, [&](Shard& shard) -> Task<void> {
        if (shard.id() == 0) {
            return
                [](EventBus* b, EventSubscriber* s, std::vector<std::string>* out) -> Task<void> {
                    b->subscribe(s);
                    while (out->size() < 4) {
                        co_await s->ready().wait();
                        s->ready().reset();
                        EventSubscriber::Line line;
                        while (s->pop(line)) {
                            out->push_back(*line);
                        }
                    }
                    b->unsubscribe(s);
                }(&bus, &sub, &lines);
        }
        return [](EventBus* b) -> Task<void> {
            co_await reactor::sleep_ms(10);
            b->emit(proto::DomainEvent::job_received("job_a", 5050, "ff"));
            b->emit(proto::DomainEvent::job_completed("job_a", 1500, 12));
            b->emit(proto::DomainEvent::job_completed("job_b", std::nullopt, 3));
            b->emit(proto::DomainEvent::relay_connected("wss://r"));
            EXPECT_EQ(b->emitted(1), 4u);
        }(&bus);
    });
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[0].rfind("{\"JobReceived\":{\"job_id\":\"job_a\"", 0), 0u) << lines[0];
    EXPECT_EQ(lines[0].back(), '\n');
    EXPECT_EQ(bus.dropped_total(), 0u);
    // The board counted the completions exactly, on the emitting shard.
    EXPECT_EQ(board.jobs_completed(), 2u);
    EXPECT_EQ(board.earnings_msats(), 1500u);
    proto::DomainEvent ev;
    int external_count = 0;
    while (external->next(ev, 0)) {
        external_count++;
    }
    EXPECT_EQ(external_count, 4);
}

TEST(EventBus, AFullSubscriberOverflowsAndAFullExternalQueueCounts) {
    StatusBoard board;
    EventBus bus(EventBusOptions{1}, &board);
    auto external = bus.subscribe_external(3);
    EventSubscriber sub(5);
    reactor::testing::run_on_shard([&]() -> Task<void> {
        return [](EventBus* b, EventSubscriber* s) -> Task<void> {
            b->subscribe(s);
            for (int i = 0; i < 10; i++) {
                b->emit(proto::DomainEvent::job_progress("job", 0.1));
            }
            b->unsubscribe(s);
            co_return;
        }(&bus, &sub);
    });
    EXPECT_TRUE(sub.overflowed());
    EXPECT_EQ(sub.queued(), 5u);
    EXPECT_EQ(sub.dropped(), 5u);
    EXPECT_EQ(external->dropped(), 7u);
    // Health's events_dropped: each subscriber's and subscription's missed events count.
    EXPECT_EQ(bus.dropped_total(), 5u + 7u);
    EXPECT_EQ(bus.dropped(0), 0u);  // the mailbox lost nothing
    proto::DomainEvent ev;
    EXPECT_TRUE(external->next(ev, 0));
    external->close();
    EXPECT_TRUE(external->closed());
}

TEST(EventBus, FullMailboxDropsAndCountsOnTheEmittingShard) {
    StatusBoard board;
    EventBus bus(EventBusOptions{2}, &board);
    reactor::ShardSetOptions options;
    options.mailbox_capacity = 16;
    std::atomic<bool> done{false};
    reactor::testing::run_on_shards(
        2,
        [&](Shard& shard) -> Task<void> {
            if (shard.id() == 0) {
                // Busy (not draining its mailbox) while shard 1 emits.
                return [](std::atomic<bool>* d) -> Task<void> {
                    while (!d->load()) {
                        co_await reactor::sleep_ms(1);
                    }
                }(&done);
            }
            return [](EventBus* b, std::atomic<bool>* d) -> Task<void> {
                for (int i = 0; i < 5000; i++) {
                    b->emit(proto::DomainEvent::job_progress("job", 0.5));
                }
                EXPECT_EQ(b->emitted(1), 5000u);
                EXPECT_GT(b->dropped(1), 0u);
                d->store(true);
                co_return;
            }(&bus, &done);
        },
        options);
    EXPECT_GT(bus.dropped_total(), 0u);
    EXPECT_EQ(bus.delivered() + bus.dropped_total(), 5000u);
}

}  // namespace
}  // namespace pylon::engine
