// The run functions of the `pylon` commands, one engine/cli_<topic>.cpp file per topic. The
// table that names them, with their options, is in engine/cli.cpp.
#pragma once

#include "engine/cli.hpp"

namespace pylon::engine {

int cmd_start(CliContext& ctx);   // engine/cli_start.cpp
int cmd_config(CliContext& ctx);  // engine/cli_config.cpp

}  // namespace pylon::engine
