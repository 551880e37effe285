// ProviderHub: how the provider's services find each other. The provider is four services
// (engine/provider_services.hpp): the BackendRegistry on shard 0, and on every shard a RelayPool
// (the relay links this shard owns), a JobRunner (the jobs this shard owns) and an Intake (the
// checks in front of them). Each registers itself in its shard's ShardParts when it starts and
// clears it when it stops; code on shard S reaches shard T's parts only by a message run on T
// (a null part means "not running there": the message is dropped and counted by its sender's
// logic). The hub also holds what they share read-only: the node's key, the owner functions
// (a job lives on hash(request id) % N, a relay link on hash(url) % N, a customer's rate bucket
// on hash(pubkey) % N), the DNS resolver thread
// and the TLS context for wss:// relays (made on first use).
//
// Made once per Runtime (by provider_services()) and captured by the service factories, so it
// outlives the shards. parts(s) is touched only by shard s; the rest is immutable after
// construction, or thread-safe (Resolver, the TLS context behind its mutex, the atomic counts).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/publish_pressure.hpp"
#include "net/resolver.hpp"
#include "proto/keys.hpp"
#include "reactor/shard.hpp"

namespace pylon::net {
class TlsContext;
}

namespace pylon::engine {

class BackendRegistry;
class Intake;
class JobRunner;
class RelayPool;

struct ShardParts {
    BackendRegistry* registry = nullptr;  // shard 0 only
    RelayPool* pool = nullptr;
    JobRunner* runner = nullptr;
    Intake* intake = nullptr;
};

class ProviderHub {
  public:
    // `tls`: a context made before the shards started (a configured relay is wss://), or null to
    // make one on the first call of tls().
    ProviderHub(unsigned shard_count, proto::Keypair keys, std::shared_ptr<net::TlsContext> tls);
    ProviderHub(const ProviderHub&) = delete;
    ProviderHub& operator=(const ProviderHub&) = delete;
    ~ProviderHub();

    unsigned shard_count() const noexcept { return shard_count_; }
    ShardParts& parts(unsigned shard) noexcept;
    ShardParts& here() noexcept { return parts(reactor::Shard::current().id()); }

    const proto::Keypair& keys() const noexcept { return keys_; }
    const proto::PublicKey& pubkey() const noexcept { return keys_.public_key(); }
    const std::string& pubkey_hex() const noexcept { return pubkey_hex_; }

    // The shard that owns a job (by its request id) and a relay link (by its URL).
    unsigned job_owner(const std::array<std::uint8_t, 32>& request_id) const noexcept;
    unsigned relay_owner(std::string_view url) const noexcept;
    // The shard that holds a customer's rate bucket (node-wide per-pubkey limit), by pubkey.
    unsigned customer_owner(const std::array<std::uint8_t, 32>& pubkey) const noexcept;

    net::Resolver& resolver() noexcept { return resolver_; }
    // For wss:// relays: the context given at construction, else made by the first call (a
    // customer's wss:// relay), so a node without wss:// relays never starts OpenSSL's TLS
    // machinery (config, providers, CA store: ~2.5 MB of its RSS). Loading the CA store takes
    // ~0.1-0.2 s, once, on the calling shard. Null when it could not be made (logged; those
    // links then fail to connect, saying why). Any shard.
    std::shared_ptr<net::TlsContext> tls();
    // Makes a context on the system CA store; null (logged) if that fails. Any thread.
    static std::shared_ptr<net::TlsContext> make_tls();

    // Intake instances report that they are open; true for the call that completes the set
    // (then every shard may subscribe). Any shard.
    bool note_intake_open() noexcept;
    bool intake_open_everywhere() const noexcept;
    // Relay links of configured relays that are connected and whose publish queue is busy
    // (PublishQueue::busy); while any is, intake is paused (PublishPressure). Any shard.
    PublishPressure::Change note_publish_pressure(bool on) noexcept {
        return publish_pressure_.note(on);
    }
    bool publish_pressure() const noexcept { return publish_pressure_.paused(); }
    // True for the first intake that stops (it closes every subscription).
    bool note_intake_closing() noexcept { return !intake_closing_.exchange(true); }

  private:
    unsigned shard_count_;
    proto::Keypair keys_;
    std::string pubkey_hex_;
    std::vector<ShardParts> parts_;
    net::Resolver resolver_;
    std::mutex tls_mutex_;
    bool tls_tried_ = false;                // guarded by tls_mutex_
    std::shared_ptr<net::TlsContext> tls_;  // guarded by tls_mutex_
    std::atomic<unsigned> intakes_open_{0};
    std::atomic<bool> intake_closing_{false};
    PublishPressure publish_pressure_;
};

}  // namespace pylon::engine
