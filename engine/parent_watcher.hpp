// ParentWatcher: `pylon start --managed`, a service on shard 0. A managed daemon belongs to the
// process that started it (a desktop app, a test harness): PR_SET_PDEATHSIG (set by the daemon
// before the runtime starts) turns the parent's death into SIGTERM, and this service also stops
// the node when its stdin, a pipe or socket from the parent, reaches end of file. Input on stdin
// is read and discarded. When stdin is not a pipe or socket (a terminal, /dev/null) it is not
// watched.
#pragma once

#include "engine/service.hpp"
#include "reactor/cancel.hpp"
#include "reactor/gate.hpp"

namespace pylon::engine {

class ParentWatcher final : public Service {
  public:
    explicit ParentWatcher(ServiceContext& context) : context_(context) {}
    reactor::Task<Status> start() override;
    reactor::Task<void> stop() override;

  private:
    static reactor::Task<void> run(ParentWatcher* self);

    ServiceContext& context_;
    reactor::CancelSource cancel_;
    reactor::Gate gate_;
};

}  // namespace pylon::engine
