// The services every Runtime runs, chosen from its options: the control server (when a socket
// path is set), the signal watcher (handle_signals) and the parent watcher (--managed). The
// provider (issue 6: backends, job runner, relay pool and intake) and the supervisor and memory
// monitor (issue 7) add their ServiceSpecs here, one line each, so that the daemon and every
// embedding host run the same node. Called by Runtime::start() on the caller's thread.
#pragma once

#include <vector>

#include "engine/runtime.hpp"

namespace pylon::engine {

std::vector<ServiceSpec> standard_services(const RuntimeOptions& options);

}  // namespace pylon::engine
