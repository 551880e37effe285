#include "engine/event_bus.hpp"

#include <algorithm>
#include <chrono>

#include "reactor/clock.hpp"
#include "reactor/shard.hpp"
#include "reactor/shard_set.hpp"

namespace pylon::engine {

EventSubscriber::EventSubscriber(std::size_t events_max) : events_max_(events_max) {
    PYLON_ASSERT(events_max > 0);
}

bool EventSubscriber::offer(const Line& line) {
    if (overflowed_) {
        dropped_++;
        return false;
    }
    bool queued = lines_.size() < events_max_;
    if (queued) {
        lines_.push(line);
    } else {
        overflowed_ = true;
        dropped_++;
    }
    ready_.set();
    return queued;
}

bool EventSubscriber::pop(Line& out) {
    if (lines_.empty()) {
        return false;
    }
    out = lines_.pop();
    return true;
}

bool EventSubscription::next(proto::DomainEvent& out, int timeout_ms) {
    std::unique_lock lock(mutex_);
    if (events_.empty() && !closed_ && timeout_ms > 0) {
        cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                     [this] { return !events_.empty() || closed_; });
    }
    if (events_.empty()) {
        return false;
    }
    out = std::move(events_.front());
    events_.pop_front();
    return true;
}

std::uint64_t EventSubscription::dropped() const {
    std::lock_guard lock(mutex_);
    return dropped_;
}

void EventSubscription::close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    cv_.notify_all();
}

bool EventSubscription::closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
}

bool EventSubscription::offer(const proto::DomainEvent& event) {
    std::lock_guard lock(mutex_);
    if (events_.size() >= events_max_) {
        dropped_++;
        return false;
    }
    events_.push_back(event);
    cv_.notify_one();
    return true;
}

EventBus::EventBus(EventBusOptions options, StatusBoard* board)
    : options_(options), board_(board), counters_(options.shard_count) {
    PYLON_ASSERT(options_.shard_count > 0);
}

std::uint64_t EventBus::emitted(unsigned shard) const noexcept {
    return shard < counters_.size() ? counters_[shard].emitted : 0;
}

std::uint64_t EventBus::dropped(unsigned shard) const noexcept {
    return shard < counters_.size() ? counters_[shard].dropped : 0;
}

void EventBus::note_dropped(unsigned shard) {
    if (shard < counters_.size()) {
        counters_[shard].dropped++;
    }
    dropped_total_.fetch_add(1, std::memory_order_relaxed);
}

void EventBus::emit(proto::DomainEvent event) {
    if (event.at_ms == 0) {
        event.at_ms = reactor::unix_ms();
    }
    if (board_ != nullptr && event.kind == proto::EventKind::job_completed) {
        board_->add_job_completed(event.amount_msats.value_or(0));
    }
    reactor::Shard* shard = reactor::Shard::current_or_null();
    if (shard == nullptr) {
        dropped_total_.fetch_add(1, std::memory_order_relaxed);  // not on a shard: see header
        return;
    }
    unsigned id = shard->id();
    PYLON_ASSERT(id < counters_.size());
    counters_[id].emitted++;
    if (id == 0) {
        deliver(event);
        return;
    }
    auto* copy = new proto::DomainEvent(std::move(event));
    reactor::Message msg([bus = this, ev = std::unique_ptr<proto::DomainEvent>(copy)]() mutable {
        bus->deliver(*ev);
    });
    if (!reactor::try_post(0, msg)) {
        note_dropped(id);  // msg still owns the event and frees it
    }
}

void EventBus::deliver(const proto::DomainEvent& event) {
    delivered_.fetch_add(1, std::memory_order_relaxed);
    if (!subscribers_.empty()) {
        std::string text;
        text.reserve(256);
        proto::encode_domain_event(event, text);
        text += '\n';
        auto line = std::make_shared<const std::string>(std::move(text));
        for (EventSubscriber* s : subscribers_) {
            if (!s->offer(line)) {
                dropped_total_.fetch_add(1, std::memory_order_relaxed);
            }
        }
    }
    std::lock_guard lock(external_mutex_);
    for (std::size_t i = 0; i < external_.size();) {
        if (external_[i]->closed()) {
            external_[i] = external_.back();
            external_.pop_back();
            continue;
        }
        if (!external_[i]->offer(event)) {
            dropped_total_.fetch_add(1, std::memory_order_relaxed);
        }
        i++;
    }
}

void EventBus::subscribe(EventSubscriber* subscriber) {
    subscribers_.push_back(subscriber);
}

void EventBus::unsubscribe(EventSubscriber* subscriber) {
    auto it = std::find(subscribers_.begin(), subscribers_.end(), subscriber);
    if (it != subscribers_.end()) {
        subscribers_.erase(it);
    }
}

std::shared_ptr<EventSubscription> EventBus::subscribe_external(std::size_t events_max) {
    auto sub = std::make_shared<EventSubscription>(events_max);
    std::lock_guard lock(external_mutex_);
    external_.push_back(sub);
    return sub;
}

}  // namespace pylon::engine
