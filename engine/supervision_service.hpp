// SupervisionService: issue 7 inside the Runtime, on shard 0 (service_order::supervisor). It
// builds the Supervisor from the Config (a spawned llama-server in provider modes, the [worker]
// in every mode, one agent per [agents] account in host modes), becomes the subreaper of
// orphaned descendants ([supervisor] subreaper), starts the MemoryMonitor ([memory] enabled)
// after the children, and wires both into the node:
//   - domain events: ChildStateChanged on every transition; MemoryLow, MemoryCritical,
//     MemoryNormal and ProcessKilled from the monitor (the event bus: `watch`, Subscribe);
//   - the status board: autopilotd's worker fields (the typed {"type":"Status"} reply), the
//     memory reading, and admitting() (false under memory pressure; the provider's intake reads
//     it on every shard and refuses new jobs with an `error` feedback);
//   - the agents table: one row per configured agent (npub from the node's mnemonic at the
//     agent's NIP-06 account), its lifecycle updated on every state change;
//   - control commands: StartWorker, StopWorker, RestartWorker (bare/tagged: "Ok" or an Error;
//     autopilotd's typed form: {"success":..,"message":..}), Supervisor, Memory, and
//     ChildStart / ChildStop / ChildRestart {"name":..};
//   - ServiceContext::supervisor() / memory_monitor() for the services started after it (the
//     backend registry watches the spawned llama-server with watch_llamacpp()).
// Stops in reverse: commands removed, monitor stopped, every child stopped (SIGTERM, SIGKILL
// after its grace), logs closed. reload() applies the [memory] thresholds.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/memory_monitor.hpp"
#include "engine/service.hpp"
#include "engine/store_db.hpp"
#include "engine/supervisor.hpp"
#include "proto/json_reader.hpp"
#include "proto/supervision_protocol.hpp"
#include "reactor/gate.hpp"

namespace pylon::engine {

// The ServiceSpec for standard_services().
ServiceSpec supervision_service_spec();

// The supervision service's memory options from [memory].
MemoryMonitorOptions memory_options_from(const MemoryConfig& config);

class SupervisionService final : public Service {
  public:
    explicit SupervisionService(ServiceContext& context);
    ~SupervisionService() override;

    reactor::Task<Status> start() override;
    reactor::Task<void> stop() override;
    void reload(const Config& next) override;

    // What the Supervisor and Memory requests answer (also for tests).
    proto::SupervisorInfo supervisor_info() const;
    proto::MemoryInfo memory_info() const;

  private:
    struct Agent {
        std::string name;
        std::string npub;
        std::int64_t account = 0;
    };

    reactor::Task<Status> add_agents();
    void on_child(const SupervisorEvent& event);
    void on_memory(const MemoryEvent& event);
    void publish_worker(const ChildView& view);
    void register_commands();
    static reactor::Task<std::string> worker_command(void* self, proto::ControlRequest request);
    static reactor::Task<std::string> child_command(void* self, proto::ControlRequest request);
    static reactor::Task<std::string> supervisor_command(void* self, proto::ControlRequest request);
    static reactor::Task<std::string> memory_command(void* self, proto::ControlRequest request);
    static reactor::Task<void> record_agent(SupervisionService* self, std::string npub,
                                            AgentSupervision state);

    ServiceContext& context_;
    std::unique_ptr<Supervisor> supervisor_;
    std::unique_ptr<MemoryMonitor> memory_;
    std::vector<Agent> agents_;
    std::string last_memory_event_;  // describe_domain_event() of the last memory event
    std::int64_t last_memory_event_at_ms_ = 0;
    proto::JsonReader reader_;
    reactor::Gate gate_;
};

}  // namespace pylon::engine
