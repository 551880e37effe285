#include "engine/standard_services.hpp"

#include "engine/control_server.hpp"
#include "engine/parent_watcher.hpp"
#include "engine/provider_services.hpp"
#include "engine/signal_watcher.hpp"
#include "engine/supervision_service.hpp"

namespace pylon::engine {

std::vector<ServiceSpec> standard_services(const RuntimeOptions& options) {
    std::vector<ServiceSpec> specs;
    if (!options.control_socket_path.empty()) {
        std::string path = options.control_socket_path;
        specs.push_back({"control", ServicePlacement::shard0, service_order::control,
                         [path](ServiceContext& ctx) -> std::unique_ptr<Service> {
                             return std::make_unique<ControlServer>(ctx, path);
                         }});
    }
    if (options.handle_signals) {
        specs.push_back({"signals", ServicePlacement::shard0, service_order::signals,
                         [](ServiceContext& ctx) -> std::unique_ptr<Service> {
                             return std::make_unique<SignalWatcher>(ctx);
                         }});
    }
    if (options.watch_parent_stdin) {
        specs.push_back({"parent", ServicePlacement::shard0, service_order::signals,
                         [](ServiceContext& ctx) -> std::unique_ptr<Service> {
                             return std::make_unique<ParentWatcher>(ctx);
                         }});
    }
    // Issue 7: the supervisor with the memory monitor (service_order::supervisor).
    specs.push_back(supervision_service_spec());
    // Issue 6: the backend registry (backends), the job runner on every shard (jobs) and the
    // relay pool with intake (intake).
    if (options.identity && runs_provider(options.mode)) {
        for (ServiceSpec& s : provider_services(options)) {
            specs.push_back(std::move(s));
        }
    }
    return specs;
}

}  // namespace pylon::engine
