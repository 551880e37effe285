#include "engine/rate_limiter.hpp"

#include <algorithm>
#include <cstring>

#include "reactor/assert.hpp"

namespace pylon::engine {

RateLimiter::RateLimiter(RateLimit per_key, RateLimit global, std::size_t keys_max)
    : per_key_(per_key), global_(global), keys_max_(keys_max) {
    PYLON_ASSERT(keys_max_ > 0);
    global_bucket_.tokens = global_.burst;
    global_bucket_.updated_ms = INT64_MIN;
}

std::size_t RateLimiter::KeyHash::operator()(const Key& k) const noexcept {
    std::uint64_t h = 0;
    std::memcpy(&h, k.data(), sizeof h);  // keys are hashes or public keys: already uniform
    return static_cast<std::size_t>(h);
}

void RateLimiter::reconfigure(RateLimit per_key, RateLimit global) {
    per_key_ = per_key;
    global_ = global;
}

void RateLimiter::refill(Bucket& b, const RateLimit& limit, std::int64_t now_ms) {
    if (b.updated_ms == INT64_MIN) {
        b.tokens = limit.burst;
    } else if (now_ms > b.updated_ms) {
        double add = static_cast<double>(now_ms - b.updated_ms) * limit.per_second / 1000.0;
        b.tokens = std::min(limit.burst, b.tokens + add);
    }
    b.updated_ms = now_ms;
}

RateLimiter::Entry& RateLimiter::entry_for(const Key& key, std::int64_t now_ms) {
    auto it = map_.find(key);
    if (it != map_.end()) {
        lru_.splice(lru_.begin(), lru_, it->second.lru);
        return it->second;
    }
    if (map_.size() >= keys_max_) {
        map_.erase(lru_.back());
        lru_.pop_back();
    }
    lru_.push_front(key);
    Entry e;
    e.bucket.tokens = per_key_.burst;
    e.bucket.updated_ms = now_ms;
    e.lru = lru_.begin();
    return map_.emplace(key, e).first->second;
}

RateLimiter::Verdict RateLimiter::admit_key(const Key& key, std::int64_t now_ms) {
    if (per_key_.per_second <= 0) {
        return Verdict::admit;
    }
    Bucket& b = entry_for(key, now_ms).bucket;
    refill(b, per_key_, now_ms);
    if (b.tokens < 1.0) {
        return Verdict::key_limited;
    }
    b.tokens -= 1.0;
    return Verdict::admit;
}

RateLimiter::Verdict RateLimiter::admit_global(std::int64_t now_ms) {
    if (global_.per_second <= 0) {
        return Verdict::admit;
    }
    refill(global_bucket_, global_, now_ms);
    if (global_bucket_.tokens < 1.0) {
        return Verdict::global_limited;
    }
    global_bucket_.tokens -= 1.0;
    return Verdict::admit;
}

RateLimiter::Verdict RateLimiter::admit(const Key& key, std::int64_t now_ms) {
    bool key_on = per_key_.per_second > 0;
    bool global_on = global_.per_second > 0;
    Bucket* kb = nullptr;
    if (key_on) {
        kb = &entry_for(key, now_ms).bucket;
        refill(*kb, per_key_, now_ms);
        if (kb->tokens < 1.0) {
            return Verdict::key_limited;
        }
    }
    if (global_on) {
        refill(global_bucket_, global_, now_ms);
        if (global_bucket_.tokens < 1.0) {
            return Verdict::global_limited;
        }
        global_bucket_.tokens -= 1.0;
    }
    if (kb != nullptr) {
        kb->tokens -= 1.0;
    }
    return Verdict::admit;
}

}  // namespace pylon::engine
