// SignalWatcher: the daemon's signal handling, a service on shard 0. It reads the signals that
// main() blocked (reactor/signals.hpp) from a signalfd: SIGINT, SIGTERM and SIGQUIT ask the
// runtime to shut down gracefully; SIGHUP re-reads the config file and applies its reloadable
// keys (a bad file is logged and changes nothing); others are logged and ignored.
#pragma once

#include <optional>

#include "engine/service.hpp"
#include "reactor/cancel.hpp"
#include "reactor/gate.hpp"
#include "reactor/signals.hpp"

namespace pylon::engine {

class SignalWatcher final : public Service {
  public:
    explicit SignalWatcher(ServiceContext& context) : context_(context) {}
    reactor::Task<Status> start() override;
    reactor::Task<void> stop() override;

  private:
    static reactor::Task<void> run(SignalWatcher* self);

    ServiceContext& context_;
    std::optional<reactor::SignalReader> reader_;
    reactor::CancelSource cancel_;
    reactor::Gate gate_;
};

}  // namespace pylon::engine
