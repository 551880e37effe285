#include "engine/publish_queue.hpp"

#include <algorithm>
#include <cstring>

#include "reactor/assert.hpp"

namespace pylon::engine {

PublishQueueLimits PublishQueueLimits::from(std::size_t events_max) {
    PYLON_ASSERT(events_max >= 4);
    PublishQueueLimits l;
    l.events_max = events_max;
    l.progress_max = events_max / 4;
    l.high_water = events_max / 2;
    l.low_water = events_max * 3 / 8;
    return l;
}

std::size_t PublishQueue::IdHash::operator()(const proto::EventId& id) const noexcept {
    std::uint64_t h = 0;
    std::memcpy(&h, id.data(), sizeof h);  // SHA-256 outputs: uniform
    return static_cast<std::size_t>(h);
}

PublishQueue::iterator PublishQueue::append(PublicationRef pub) {
    bool progress = is_progress(*pub);
    list_.push_back(Entry{std::move(pub)});
    auto it = std::prev(list_.end());
    by_id_.emplace(it->pub->id, it);
    if (progress) {
        progress_by_job_[it->pub->job] = it;
    } else {
        kept_++;
    }
    update_busy();
    return it;
}

void PublishQueue::erase(iterator it) {
    const Publication& pub = *it->pub;
    by_id_.erase(pub.id);
    if (is_progress(pub)) {
        auto p = progress_by_job_.find(pub.job);
        if (p != progress_by_job_.end() && p->second == it) {
            progress_by_job_.erase(p);
        }
    } else {
        PYLON_ASSERT(kept_ > 0);
        kept_--;
    }
    list_.erase(it);
    update_busy();
}

PublishQueue::iterator PublishQueue::find(const proto::EventId& id) {
    auto f = by_id_.find(id);
    return f == by_id_.end() ? list_.end() : f->second;
}

PublishQueue::iterator PublishQueue::unsent_progress_of(const proto::EventId& job) {
    auto p = progress_by_job_.find(job);
    if (p == progress_by_job_.end() || p->second->in_flight || p->second->sends > 0) {
        return list_.end();
    }
    return p->second;
}

PublishQueue::iterator PublishQueue::oldest_unsent_progress() {
    return std::find_if(list_.begin(), list_.end(), [](const Entry& e) {
        return is_progress(*e.pub) && !e.in_flight && e.sends == 0;
    });
}

void PublishQueue::update_busy() noexcept {
    if (!busy_ && kept_ >= limits_.high_water) {
        busy_ = true;
    } else if (busy_ && kept_ < limits_.low_water) {
        busy_ = false;
    }
}

PublishQueue::Pushed PublishQueue::push(PublicationRef pub) {
    Pushed out;
    if (by_id_.count(pub->id) != 0) {
        out.admit = Admit::duplicate;
        return out;
    }
    switch (pub->cls) {
        case PublishClass::progress: {
            iterator same = unsent_progress_of(pub->job);
            if (same != list_.end()) {
                out.admit = Admit::replaced;
                out.dropped = std::move(same->pub);
                by_id_.erase(out.dropped->id);
                same->pub = std::move(pub);
                by_id_.emplace(same->pub->id, same);
                return out;
            }
            if (progress() >= limits_.progress_max || size() >= limits_.events_max) {
                out.admit = Admit::refused_full;
                return out;
            }
            append(std::move(pub));
            return out;
        }
        case PublishClass::courtesy:
            if (busy_ || size() >= limits_.events_max) {
                out.admit = busy_ ? Admit::refused_busy : Admit::refused_full;
                return out;
            }
            append(std::move(pub));
            return out;
        case PublishClass::terminal:
            break;
    }
    iterator stale = unsent_progress_of(pub->job);
    if (stale == list_.end() && size() >= limits_.events_max) {
        stale = oldest_unsent_progress();
        out.admit = stale == list_.end() ? Admit::over_bound : Admit::evicted;
    }
    if (stale != list_.end()) {
        out.dropped = stale->pub;
        erase(stale);
    }
    append(std::move(pub));
    return out;
}

}  // namespace pylon::engine
