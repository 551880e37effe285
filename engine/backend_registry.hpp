// BackendRegistry: the provider's view of its inference servers, a service on shard 0
// (service_order::backends). It registers the backends the config enables, in Pylon's
// backend_preference order (backend_directory.hpp), probes each one at start and then again
// every probe_interval_ms (sooner while it is down: 1 s doubling up to the interval, and at once
// when a job saw it fail or the supervisor reports the spawned llama-server healthy or not), and
// after every change builds a BackendDirectory that it sends to every shard's JobRunner. A
// backend that comes up later is used from its first good probe; one that dies stops receiving
// jobs. Changes are logged, published as events (BackendsRegistered, BackendAvailable,
// BackendUnavailable, ModelsRefreshed) and shown in `status` / `Backends` (models, slots, slots
// in use and jobs queued, gathered from the shards every status_refresh_ms). While no backend
// answers, a line every minute says what the node is waiting for.
//
// A llama-server the supervisor spawns is followed through its phase (watch_llamacpp): while it
// is loading (starting, stopping, restarting, or healthy but not probed yet) its BackendView is
// `loading` with the model it will serve (llamacpp_model_id), so intake accepts jobs for it and
// they wait; once it is down (failed, stopped) the view says so and the runners fail its waiting
// jobs at once.
//
// Slots: each backend's SlotLender lives here; the shards' BackendSlots send their lease
// requests and give-backs as messages (lend_request / lend_give_back) and receive grants and
// recalls the same way. A backend's capacity is [backends.*] slots when set, else what the
// server reports (llama-server /props, the spawned server's --parallel; Ollama: 1), and 0
// while it is unavailable.
//
// Shard 0 only; the hub's parts(0).registry points here while the service runs.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend.hpp"
#include "engine/backend_directory.hpp"
#include "engine/provider_hub.hpp"
#include "engine/service.hpp"
#include "engine/slot_lender.hpp"
#include "engine/supervised_children.hpp"
#include "reactor/cancel.hpp"
#include "reactor/gate.hpp"
#include "reactor/sync.hpp"

namespace pylon::engine {

inline constexpr std::int64_t status_refresh_ms = 2000;
inline constexpr std::int64_t waiting_log_interval_ms = 60000;
inline constexpr std::int64_t probe_retry_initial_ms = 1000;
// The most slots a backend's own report may give it (the `slots` key's bound).
inline constexpr std::uint32_t probed_slots_max = 1024;

class BackendRegistry final : public Service {
  public:
    BackendRegistry(ServiceContext& context, std::shared_ptr<ProviderHub> hub);
    ~BackendRegistry() override;

    reactor::Task<Status> start() override;
    reactor::Task<void> stop() override;

    // The current snapshot (never null once started).
    std::shared_ptr<const BackendDirectory> directory() const noexcept { return directory_; }

    // From the shards' BackendSlots (run on shard 0 by a message).
    void lend_request(BackendKind kind, unsigned shard);
    void lend_withdraw(BackendKind kind, unsigned shard);
    void lend_give_back(BackendKind kind, unsigned shard, std::uint32_t n);
    // A job saw `kind` fail to connect or answer: probe it now.
    void suspect(BackendKind kind);
    // The supervisor's hook for a spawned llama-server: its phase (supervised_children.hpp).
    void on_health(const BackendHealth& health);

  private:
    struct Entry;

    static reactor::Task<void> probe_loop(BackendRegistry* self, Entry* entry);
    static reactor::Task<void> status_loop(BackendRegistry* self);
    reactor::Task<void> probe_once(Entry* entry);
    void apply_probe(Entry* entry, const BackendProbe& probe);
    void set_unavailable(Entry* entry, std::string reason);
    void publish();
    void publish_board(const std::vector<std::array<std::uint32_t, 2>>& figures);
    void log_waiting();
    Entry* entry(BackendKind kind) noexcept;

    ServiceContext& context_;
    std::shared_ptr<ProviderHub> hub_;
    std::vector<std::unique_ptr<Entry>> entries_;  // preference order
    std::shared_ptr<const BackendDirectory> directory_;
    std::vector<std::array<std::uint32_t, 2>> figures_;  // per entry: busy, queued
    std::int64_t last_waiting_log_ms_ = 0;
    std::uint64_t supervisor_listener_ = 0;  // watch_llamacpp's id; 0 = not watching
    reactor::CancelSource stop_;
    reactor::Gate gate_;
};

}  // namespace pylon::engine
