// Service: a piece of the node that the Runtime starts and stops on a shard: the control server,
// the signal watcher, and (issues 6 and 7) the relay pool, intake, job runner, backend registry,
// supervisor and memory monitor. A ServiceSpec says where it runs (shard 0 only, or one instance
// per shard), its `order`, and how to make it; the Runtime makes each instance on its shard,
// starts services in ascending order (all shards of one order before the next), and at shutdown
// stops them in descending order, so the order constants below give the shutdown sequence:
// intake stops first, then in-flight jobs finish or fail with feedback, then children stop, then
// the control server; the store is flushed last.
//
// ServiceContext is a service's view of the runtime on its shard: the shard's copy of the
// Config (replaced on reload, after which reload() is called), the Store, the EventBus, the
// StatusBoard, and (shard 0) the control commands. A service may keep the reference to its
// context; it lives as long as the runtime runs. Everything here runs on the service's shard.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config.hpp"
#include "engine/runtime_status.hpp"
#include "proto/domain_event.hpp"
#include "reactor/result.hpp"
#include "reactor/shard.hpp"
#include "reactor/task.hpp"

namespace pylon::engine {

class ControlCommands;
class EventBus;
class MemoryMonitor;
class Supervisor;
class RuntimeCore;
class StatusBoard;
class Store;

// Start order (ascending) and stop order (descending) of the services.
namespace service_order {
inline constexpr int control = 100;     // the control socket: up first, down last
inline constexpr int signals = 110;     // SIGINT/SIGTERM/SIGHUP, the managed-mode parent watch
inline constexpr int supervisor = 200;  // children (llama-server, worker, agents): issue 7
inline constexpr int memory = 250;      // memory monitor: issue 7
inline constexpr int backends = 300;    // backend registry and probes: issue 6
inline constexpr int relays = 350;      // relay links (per shard): issue 6; stop after jobs
inline constexpr int jobs = 400;        // job runner (per shard): issue 6
inline constexpr int intake = 500;      // relay pool + intake: issue 6; stops first
}  // namespace service_order

enum class ServicePlacement : std::uint8_t { shard0, every_shard };

class ServiceContext {
  public:
    ServiceContext(RuntimeCore* core, reactor::Shard* shard) : core_(core), shard_(shard) {}

    reactor::Shard& shard() const noexcept { return *shard_; }
    unsigned shard_count() const noexcept;
    const Config& config() const noexcept;
    Store& store() const noexcept;
    EventBus& events() const noexcept;
    StatusBoard& board() const noexcept;
    RunMode mode() const noexcept;
    const std::string& home_dir() const noexcept;
    // Publishes a domain event (never blocks).
    void emit(proto::DomainEvent event) const;
    // Asks the runtime to shut down (any shard; returns at once).
    void request_stop(std::string_view reason) const;
    // Control-socket commands of this runtime (shard 0 only).
    ControlCommands& control_commands() const noexcept;
    RuntimeStatus status() const;
    // Counters of every shard (shard 0; awaits each shard in turn).
    reactor::Task<std::vector<proto::ShardInfo>> shard_infos() const;
    // Re-reads the config file and applies its reloadable keys (shard 0).
    reactor::Task<Result<ReloadReport>> reload_from_file() const;
    // The supervision service's Supervisor and MemoryMonitor while it runs (shard 0; nullptr
    // otherwise). The backend registry (started later) watches the spawned llama-server with
    // watch_llamacpp(*supervisor(), ...) (engine/supervised_children.hpp).
    Supervisor* supervisor() const noexcept;
    MemoryMonitor* memory_monitor() const noexcept;
    void set_supervision(Supervisor* supervisor, MemoryMonitor* memory) const noexcept;

  private:
    RuntimeCore* core_;
    reactor::Shard* shard_;
};

class Service {
  public:
    virtual ~Service() = default;
    // On its shard. An error aborts the runtime's start (already started services are stopped).
    virtual reactor::Task<Status> start() = 0;
    // On its shard: finish or fail in-flight work, release everything, then return.
    virtual reactor::Task<void> stop() = 0;
    // On its shard, after ServiceContext::config() changed (reloadable keys only).
    virtual void reload(const Config& next) { (void)next; }
};

struct ServiceSpec {
    std::string name;
    ServicePlacement placement = ServicePlacement::shard0;
    int order = 0;
    // Called on the shard the instance runs on.
    std::function<std::unique_ptr<Service>(ServiceContext& context)> make;
};

}  // namespace pylon::engine
