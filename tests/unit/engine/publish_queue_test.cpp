#include "engine/publish_queue.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace pylon::engine {
namespace {

using Admit = PublishQueue::Admit;

proto::EventId make_id(std::uint32_t n) {
    proto::EventId id{};
    for (std::size_t i = 0; i < 4; i++) {
        id[i] = static_cast<std::uint8_t>(n >> (8 * i));
    }
    id[31] = 0x5a;
    return id;
}

std::uint32_t next_event = 1;

PublicationRef pub(PublishClass cls, std::uint32_t job) {
    auto p = std::make_shared<Publication>();
    p->id = make_id(next_event++);
    p->cls = cls;
    p->job = make_id(0x10000000u + job);
    p->kind = cls == PublishClass::terminal ? 6050 : 7000;
    return p;
}

PublishQueue queue_of(std::size_t events_max) {
    return PublishQueue(PublishQueueLimits::from(events_max));
}

TEST(PublishQueueLimits, DerivedFromTheEventBound) {
    PublishQueueLimits l = PublishQueueLimits::from(1024);
    EXPECT_EQ(l.events_max, 1024u);
    EXPECT_EQ(l.progress_max, 256u);
    EXPECT_EQ(l.high_water, 512u);
    EXPECT_EQ(l.low_water, 384u);
}

TEST(PublishQueue, ANewerPartialReplacesTheJobsUnsentOne) {
    PublishQueue q = queue_of(16);
    PublicationRef first = pub(PublishClass::progress, 1);
    PublicationRef second = pub(PublishClass::progress, 1);
    EXPECT_EQ(q.push(first).admit, Admit::queued);
    PublishQueue::Pushed p = q.push(second);
    EXPECT_EQ(p.admit, Admit::replaced);
    EXPECT_EQ(p.dropped, first);
    EXPECT_EQ(q.size(), 1u);
    EXPECT_EQ(q.find(first->id), q.end());
    ASSERT_NE(q.find(second->id), q.end());
    // Once sent, it stays (the relay may have it): the next one queues behind it.
    q.find(second->id)->in_flight = true;
    q.find(second->id)->sends = 1;
    PublicationRef third = pub(PublishClass::progress, 1);
    EXPECT_EQ(q.push(third).admit, Admit::queued);
    EXPECT_EQ(q.size(), 2u);
    // Another job's partial is its own.
    EXPECT_EQ(q.push(pub(PublishClass::progress, 2)).admit, Admit::queued);
    EXPECT_EQ(q.size(), 3u);
}

TEST(PublishQueue, ProgressIsCappedAtAQuarter) {
    PublishQueue q = queue_of(16);
    for (std::uint32_t j = 0; j < 4; j++) {
        EXPECT_EQ(q.push(pub(PublishClass::progress, j)).admit, Admit::queued);
    }
    EXPECT_EQ(q.push(pub(PublishClass::progress, 99)).admit, Admit::refused_full);
    EXPECT_EQ(q.progress(), 4u);
    EXPECT_EQ(q.kept(), 0u);
}

TEST(PublishQueue, AResultDropsItsJobsUnsentPartial) {
    PublishQueue q = queue_of(16);
    PublicationRef partial = pub(PublishClass::progress, 7);
    q.push(partial);
    PublishQueue::Pushed p = q.push(pub(PublishClass::terminal, 7));
    EXPECT_EQ(p.admit, Admit::queued);
    EXPECT_EQ(p.dropped, partial);
    EXPECT_EQ(q.size(), 1u);
    EXPECT_EQ(q.kept(), 1u);
}

// The queue full of terminal events and unsent progress: a terminal event takes the oldest
// unsent progress event's place; with none left it is queued past the bound, never refused (an
// accepted job's customer must hear its end; the accepted jobs bound how many there can be).
TEST(PublishQueue, TerminalEventsEvictProgressAndAreNeverRefused) {
    PublishQueue q = queue_of(16);
    std::vector<PublicationRef> progress;
    for (std::uint32_t j = 0; j < 4; j++) {
        progress.push_back(pub(PublishClass::progress, 100 + j));
        q.push(progress.back());
    }
    q.begin()->in_flight = true;  // the oldest is on the wire: not evictable
    q.begin()->sends = 1;
    for (std::uint32_t j = 0; j < 12; j++) {
        EXPECT_EQ(q.push(pub(PublishClass::terminal, j)).admit, Admit::queued);
    }
    EXPECT_EQ(q.size(), 16u);
    for (std::uint32_t k = 1; k < 4; k++) {
        PublishQueue::Pushed p = q.push(pub(PublishClass::terminal, 200 + k));
        EXPECT_EQ(p.admit, Admit::evicted);
        EXPECT_EQ(p.dropped, progress[k]);  // oldest unsent first
        EXPECT_EQ(q.size(), 16u);
    }
    PublishQueue::Pushed over = q.push(pub(PublishClass::terminal, 300));
    EXPECT_EQ(over.admit, Admit::over_bound);
    EXPECT_EQ(over.dropped, nullptr);
    EXPECT_EQ(q.size(), 17u);
    EXPECT_EQ(q.kept(), 16u);
    // Progress and courtesy events still respect the bound.
    EXPECT_EQ(q.push(pub(PublishClass::progress, 400)).admit, Admit::refused_full);
    EXPECT_EQ(q.push(pub(PublishClass::courtesy, 401)).admit, Admit::refused_busy);
    EXPECT_EQ(q.size(), 17u);
}

TEST(PublishQueue, BusyFromHighWaterUntilBelowLowWater) {
    PublishQueue q = queue_of(16);  // high 8, low 6
    std::vector<PublicationRef> kept;
    for (std::uint32_t j = 0; j < 7; j++) {
        kept.push_back(pub(PublishClass::terminal, j));
        q.push(kept.back());
        EXPECT_FALSE(q.busy());
    }
    // Progress does not count toward busy.
    q.push(pub(PublishClass::progress, 50));
    EXPECT_FALSE(q.busy());
    kept.push_back(pub(PublishClass::terminal, 7));
    q.push(kept.back());
    EXPECT_TRUE(q.busy());
    // A courtesy answer is refused while busy; a terminal event is not.
    EXPECT_EQ(q.push(pub(PublishClass::courtesy, 60)).admit, Admit::refused_busy);
    EXPECT_EQ(q.push(pub(PublishClass::terminal, 61)).admit, Admit::queued);
    std::size_t k = 0;
    while (q.kept() > 6) {
        q.erase(q.find(kept[k++]->id));
        EXPECT_TRUE(q.busy()) << q.kept();
    }
    q.erase(q.find(kept[k++]->id));
    EXPECT_EQ(q.kept(), 5u);
    EXPECT_FALSE(q.busy());
    EXPECT_EQ(q.push(pub(PublishClass::courtesy, 62)).admit, Admit::queued);
}

TEST(PublishQueue, ADuplicateIdIsRefusedAndErasingKeepsCountsRight) {
    PublishQueue q = queue_of(16);
    PublicationRef r = pub(PublishClass::terminal, 1);
    PublicationRef p = pub(PublishClass::progress, 2);
    q.push(r);
    q.push(p);
    EXPECT_EQ(q.push(r).admit, Admit::duplicate);
    q.erase(q.find(p->id));
    EXPECT_EQ(q.progress(), 0u);
    // The job's progress entry is gone from the per-job index too: a new partial queues anew.
    EXPECT_EQ(q.push(pub(PublishClass::progress, 2)).admit, Admit::queued);
    q.erase(q.find(r->id));
    EXPECT_EQ(q.kept(), 0u);
    EXPECT_EQ(q.size(), 1u);
}

}  // namespace
}  // namespace pylon::engine
