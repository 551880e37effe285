// IntakeScreen: the decisions intake makes about one job request, in the order that costs least
// first, without I/O (the Intake service around it routes, writes the store and answers):
//
//   prescreen (on the relay link's shard, before routing): kind served -> created_at window
//     (request_age_max_s back, request_future_max_s ahead) -> `p` targeting (a request naming
//     only other providers is not ours; an encrypted one can only be ours if it names us)
//   screen (on the job's owner shard): dedup (a seen id is dropped before any hashing: the same
//     request from three relays is verified once) -> recomputed id -> signature -> remembered
//     as seen -> per-pubkey rate limit (dropped; node-wide: decided here only when this shard
//     owns the customer's bucket, else the verdict says pubkey_unchecked and Intake asks the
//     bucket's shard before acting on it) -> global rate limit (refused: overloaded) ->
//     decryption of an encrypted request -> the request's tags -> memory admission -> params
//     -> bid readable -> prompt -> max_tokens -> bid against the price -> backend and model (a
//     spawned llama-server still loading its model takes the job: it is accepted and waits)
//
// Every outcome is a verdict with its IntakeReason: drop (counted, never answered), refuse (an
// `error` feedback with `message` is due: the request was readable and the customer should
// know why), or accept (a Job ready for the runner). prepare() is the second half alone, for a
// request accepted before a restart. Time comes from the injected Clock. One shard.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backend_directory.hpp"
#include "engine/config.hpp"
#include "engine/dedup_cache.hpp"
#include "engine/intake_counters.hpp"
#include "engine/job.hpp"
#include "engine/rate_limiter.hpp"
#include "proto/event.hpp"
#include "proto/json_reader.hpp"
#include "proto/keys.hpp"
#include "reactor/clock.hpp"

namespace pylon::engine {

struct IntakePolicy {
    std::vector<std::uint32_t> kinds;
    std::int64_t age_max_s = 600;
    std::int64_t future_max_s = 120;
    std::size_t prompt_bytes_max = 65536;
    std::uint32_t max_tokens_default = 512;
    std::uint32_t max_tokens_max = 8192;
    std::uint64_t min_price_msats = 0;
    bool require_payment = false;
    std::string default_model;
    std::size_t reply_relays_max = 8;
    bool reply_relays_private = false;
    std::vector<std::string> own_relays;  // normalised
    RateLimit per_pubkey;                 // node-wide (one bucket per customer, on one shard)
    RateLimit global;                     // this shard's share

    // From the config, for one of `shard_count` shards.
    static IntakePolicy from(const Config& config, unsigned shard_count);
    bool serves(std::uint32_t kind) const noexcept;
};

struct Screened {
    enum class Verdict : std::uint8_t { drop, refuse, accept };
    Verdict verdict = Verdict::drop;
    IntakeReason reason = IntakeReason::malformed;
    std::string message;            // refuse: the reason in words for the customer
    std::unique_ptr<Job> job;       // accept; refuse when the request could be read (to answer it)
    bool pubkey_unchecked = false;  // refuse/accept: the customer's rate is decided elsewhere
};

class IntakeScreen {
  public:
    IntakeScreen(const proto::Keypair& keys, const reactor::Clock& clock, IntakePolicy policy,
                 std::size_t dedup_entries_max);

    // IntakeReason::received when the event may go on to its owner shard.
    IntakeReason prescreen(const proto::Event& event) const noexcept;
    // pubkey_here: this shard holds the customer's rate bucket (else pubkey_unchecked is set).
    Screened screen(const proto::Event& event, std::string_view relay_url,
                    const BackendDirectory* directory, bool memory_ok, bool pubkey_here = true);
    // The customer's node-wide rate bucket (on the shard that owns it): true when admitted.
    bool take_pubkey_token(const RateLimiter::Key& customer);
    // The checks after decryption, for `job` (request read; relay_url and reply relays set).
    Screened prepare(std::unique_ptr<Job> job, const BackendDirectory* directory, bool memory_ok);
    // A request accepted before a restart: read again (decrypted) and prepared; no dedup, id,
    // signature or rate checks (it passed them then).
    Screened restore(const proto::Event& event, std::string_view relay_url,
                     const BackendDirectory* directory);

    // The request's relays worth answering on (not ours, bounded, private ones only if allowed).
    std::vector<std::string> reply_relays(const proto::JobRequest& request) const;

    void set_policy(IntakePolicy policy);
    const IntakePolicy& policy() const noexcept { return policy_; }
    DedupCache& dedup() noexcept { return dedup_; }

  private:
    // canonical: the event's id preimage when verify() just left it in scratch_, else "".
    Screened read_request(const proto::Event& event, std::string_view relay_url,
                          std::string_view canonical);

    const proto::Keypair& keys_;
    const reactor::Clock& clock_;
    IntakePolicy policy_;
    DedupCache dedup_;
    RateLimiter limiter_;
    proto::JsonReader reader_;
    std::string scratch_;
};

}  // namespace pylon::engine
