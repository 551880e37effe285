// RateLimiter: token buckets that bound how fast requests are admitted, one bucket per key (a
// customer's pubkey) plus one global bucket. A bucket holds up to `burst` tokens and refills at
// `per_second`; a request takes one. The key table is bounded (`keys_max`): when full, the least
// recently used key is forgotten (it starts again with a full bucket, which only ever errs on the
// side of admitting). Time comes from the caller (monotonic ms) so tests drive it directly.
// Owned by one shard. Intake uses the per-key buckets node-wide (each customer's bucket lives on
// the shard its pubkey hashes to, admit_key() there) and the global bucket as each shard's share
// (per_second / N, admit_global() or admit() on the request's shard).
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <unordered_map>

namespace pylon::engine {

struct RateLimit {
    double per_second = 1.0;  // refill rate; <= 0 disables the limit
    double burst = 5.0;       // bucket size
};

class RateLimiter {
  public:
    using Key = std::array<std::uint8_t, 32>;

    RateLimiter(RateLimit per_key, RateLimit global, std::size_t keys_max = 10'000);

    enum class Verdict : std::uint8_t { admit, key_limited, global_limited };
    // Takes a token from the key's bucket and the global one, or refuses without taking any.
    Verdict admit(const Key& key, std::int64_t now_ms);
    // The key's bucket alone, or the global one alone (a token taken when admitted).
    Verdict admit_key(const Key& key, std::int64_t now_ms);
    Verdict admit_global(std::int64_t now_ms);

    std::size_t keys() const noexcept { return map_.size(); }
    void reconfigure(RateLimit per_key, RateLimit global);

  private:
    struct Bucket {
        double tokens = 0;
        std::int64_t updated_ms = 0;
    };
    struct Entry {
        Bucket bucket;
        std::list<Key>::iterator lru;
    };
    struct KeyHash {
        std::size_t operator()(const Key& k) const noexcept;
    };

    static void refill(Bucket& b, const RateLimit& limit, std::int64_t now_ms);
    Entry& entry_for(const Key& key, std::int64_t now_ms);

    RateLimit per_key_;
    RateLimit global_;
    std::size_t keys_max_;
    Bucket global_bucket_;
    std::list<Key> lru_;  // front = most recent
    std::unordered_map<Key, Entry, KeyHash> map_;
};

}  // namespace pylon::engine
