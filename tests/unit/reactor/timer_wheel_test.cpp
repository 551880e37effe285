#include "reactor/timer_wheel.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <vector>

#include "reactor/rng.hpp"

namespace pylon::reactor {
namespace {

struct Probe {
    TimerNode node{&Probe::fire, this};
    std::vector<std::pair<int, std::int64_t>>* log = nullptr;
    int id = 0;
    std::int64_t* now = nullptr;
    static void fire(TimerNode* n) {
        auto* p = static_cast<Probe*>(n->context);
        p->log->push_back({p->id, *p->now});
    }
};

TEST(TimerWheel, FiresInDeadlineOrderAndReportsExactNextDeadline) {
    std::int64_t now = 1000;
    TimerWheel wheel(now);
    std::vector<std::pair<int, std::int64_t>> log;
    Probe a, b, c;
    for (auto [p, id] : {std::pair{&a, 1}, {&b, 2}, {&c, 3}}) {
        p->log = &log;
        p->id = id;
        p->now = &now;
    }
    wheel.arm(&a.node, 1000 + 70'000);  // a high level
    wheel.arm(&b.node, 1000 + 5);
    wheel.arm(&c.node, 1000 + 300);
    EXPECT_EQ(wheel.size(), 3u);
    EXPECT_EQ(wheel.next_deadline_ms(), 1005);
    now = 1004;
    EXPECT_EQ(wheel.advance(now), 0u);
    now = 1005;
    EXPECT_EQ(wheel.advance(now), 1u);
    EXPECT_EQ(wheel.next_deadline_ms(), 1300);
    now = 1299;
    EXPECT_EQ(wheel.advance(now), 0u);
    EXPECT_EQ(wheel.next_deadline_ms(), 1300);
    now = 1300;
    EXPECT_EQ(wheel.advance(now), 1u);
    EXPECT_EQ(wheel.next_deadline_ms(), 71'000);
    now = 70'999;
    EXPECT_EQ(wheel.advance(now), 0u);
    EXPECT_EQ(wheel.next_deadline_ms(), 71'000);
    now = 71'000;
    EXPECT_EQ(wheel.advance(now), 1u);
    ASSERT_EQ(log.size(), 3u);
    EXPECT_EQ(log[0], (std::pair<int, std::int64_t>{2, 1005}));
    EXPECT_EQ(log[1], (std::pair<int, std::int64_t>{3, 1300}));
    EXPECT_EQ(log[2], (std::pair<int, std::int64_t>{1, 71'000}));
    EXPECT_EQ(wheel.next_deadline_ms(), TimerWheel::never);
}

TEST(TimerWheel, CancelRemovesAndPastDeadlineFiresAtNextAdvance) {
    std::int64_t now = 0;
    TimerWheel wheel(now);
    std::vector<std::pair<int, std::int64_t>> log;
    Probe a, b;
    a.log = b.log = &log;
    a.now = b.now = &now;
    a.id = 1;
    b.id = 2;
    wheel.arm(&a.node, 50);
    wheel.arm(&b.node, 60);
    wheel.cancel(&a.node);
    EXPECT_FALSE(a.node.armed());
    EXPECT_EQ(wheel.next_deadline_ms(), 60);
    wheel.arm(&a.node, -5);  // in the past
    EXPECT_EQ(wheel.next_deadline_ms(), 0);
    EXPECT_EQ(wheel.advance(0), 1u);
    EXPECT_EQ(wheel.advance(100), 1u);
    ASSERT_EQ(log.size(), 2u);
    EXPECT_EQ(log[0].first, 1);
    EXPECT_EQ(log[1].first, 2);
}

// A callback cancelling another timer due in the same slot must not corrupt the wheel.
struct Canceller {
    TimerNode node{&Canceller::fire, this};
    TimerWheel* wheel = nullptr;
    TimerNode* victim = nullptr;
    int fired = 0;
    static void fire(TimerNode* n) {
        auto* c = static_cast<Canceller*>(n->context);
        c->fired++;
        if (c->victim != nullptr) {
            c->wheel->cancel(c->victim);
        }
    }
};

TEST(TimerWheel, CallbackMayCancelASiblingDueTogether) {
    TimerWheel wheel(0);
    Canceller x, y;
    x.wheel = y.wheel = &wheel;
    x.victim = &y.node;
    y.victim = &x.node;
    wheel.arm(&x.node, 10);
    wheel.arm(&y.node, 10);
    EXPECT_EQ(wheel.advance(10), 1u);
    EXPECT_EQ(x.fired + y.fired, 1);
    EXPECT_EQ(wheel.size(), 0u);
}

// Randomised against a reference model: every timer fires exactly once, at the first advance
// at or after its deadline, and next_deadline_ms() always equals the model's minimum.
TEST(TimerWheel, MatchesReferenceModelUnderRandomLoad) {
    Rng rng(0xC0FFEE);
    std::int64_t now = 123;
    TimerWheel wheel(now);
    constexpr int n = 2000;
    std::vector<std::unique_ptr<Probe>> probes;
    std::vector<std::pair<int, std::int64_t>> log;
    std::map<int, std::int64_t> model;  // id -> deadline
    for (int i = 0; i < n; i++) {
        auto p = std::make_unique<Probe>();
        p->id = i;
        p->log = &log;
        p->now = &now;
        probes.push_back(std::move(p));
    }
    for (int step = 0; step < 20'000; step++) {
        int id = static_cast<int>(rng.below(n));
        Probe& p = *probes[static_cast<std::size_t>(id)];
        std::uint64_t action = rng.below(10);
        if (action < 5) {
            std::int64_t horizon = std::int64_t{1} << rng.below(28);
            std::int64_t d =
                now + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(horizon)));
            wheel.arm(&p.node, d);
            model[id] = d;
        } else if (action < 7) {
            wheel.cancel(&p.node);
            model.erase(id);
        } else {
            std::int64_t expected = TimerWheel::never;
            for (auto& [k, d] : model) {
                expected = std::min(expected, std::max(d, now));
            }
            ASSERT_EQ(wheel.next_deadline_ms(), expected) << "step " << step;
            now += static_cast<std::int64_t>(rng.below(1u << rng.below(20)));
            log.clear();
            wheel.advance(now);
            for (auto& [fid, t] : log) {
                auto it = model.find(fid);
                ASSERT_NE(it, model.end()) << "fired a timer that is not armed";
                ASSERT_LE(it->second, now);
                model.erase(it);
            }
            for (auto& [k, d] : model) {
                ASSERT_GT(d, now) << "timer " << k << " due but not fired";
            }
        }
        ASSERT_EQ(wheel.size(), model.size());
    }
    for (auto& p : probes) {
        wheel.cancel(&p->node);
    }
}

}  // namespace
}  // namespace pylon::reactor
