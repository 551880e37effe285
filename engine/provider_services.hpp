// The provider (issue 6) as Runtime services: the BackendRegistry on shard 0
// (service_order::backends), and on every shard a RelayPool (service_order::relays), a
// JobRunner (service_order::jobs) and an Intake (service_order::intake), wired through one
// ProviderHub. Start order backends -> relays -> jobs -> intake; shutdown is the reverse:
// intake stops taking requests, running jobs finish or fail with feedback (their relays are
// still up), relay links flush and close, backends last.
//
// The provider runs when the runtime has an identity (RuntimeOptions::identity) and its mode
// includes provider. `require_payment = true` refuses to start (there is no payment backend
// yet): the error says to set `require_payment = false`. Called on the Runtime's start thread.
#pragma once

#include <vector>

#include "engine/runtime.hpp"

namespace pylon::engine {

std::vector<ServiceSpec> provider_services(const RuntimeOptions& options);

// Why the provider cannot start with this config, or "" when it can.
std::string provider_config_problem(const Config& config);

}  // namespace pylon::engine
