// LoadGen: the pre-signed NIP-90 job requests (kind 5050, one `i` text tag, `output`
// text/plain, no `p` tag so any provider may serve them) that the relay simulator feeds to the
// node. Built once before the run (the signing is not timed): request k is signed by customer
// key k % customers, its event JSON kept ready to be framed, and its id indexed so a result's
// `e` tag finds it. Also crypto_cost(): the per-job libsecp256k1 floor (1 verify + 2 signs
// through proto, the node's own calls) measured on the calling thread. Owned by the bench's
// main thread, read-only once built (the simulator's shard reads it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "proto/event.hpp"
#include "reactor/result.hpp"

namespace pylon::bench {

inline constexpr std::size_t load_requests_max = 10'000'000;
inline constexpr unsigned load_customers_max = 1024;

struct LoadOptions {
    std::size_t requests = 1000;
    unsigned customers = 16;
    std::size_t prompt_bytes = 64;
    std::int64_t created_at = 0;  // unix seconds; 0 = now
};

struct EventIdHash {
    std::size_t operator()(const proto::EventId& id) const noexcept;
};

class LoadGen {
  public:
    static Result<LoadGen> build(const LoadOptions& options);

    std::size_t size() const noexcept { return json_.size(); }
    const std::string& event_json(std::size_t k) const { return json_[k]; }
    const proto::EventId& id(std::size_t k) const { return ids_[k]; }
    // The request index whose id is `id`, or -1.
    std::int64_t find(const proto::EventId& id) const noexcept;
    double sign_seconds() const noexcept { return sign_seconds_; }

  private:
    std::vector<std::string> json_;
    std::vector<proto::EventId> ids_;
    std::unordered_map<proto::EventId, std::size_t, EventIdHash> index_;
    double sign_seconds_ = 0;
};

// CPU microseconds (this thread) of one BIP-340 verify and two signs, the crypto floor of one
// job, averaged over `rounds` rounds (each: Keypair::sign32 with CSPRNG aux twice and
// schnorr_verify once, as the node signs its result and feedback and verifies the request).
struct CryptoCost {
    double sign_us = 0;
    double verify_us = 0;
    double job_us = 0;  // 2 * sign_us + verify_us
};
Result<CryptoCost> crypto_cost(unsigned rounds);

}  // namespace pylon::bench
