// The run functions of the `pylon` commands, one engine/cli_<topic>.cpp file per topic. The
// table that names them, with their options, is in engine/cli_table.cpp.
#pragma once

#include "engine/cli.hpp"

namespace pylon::engine {

int cmd_init(CliContext& ctx);          // engine/cli_identity.cpp
int cmd_identity(CliContext& ctx);      // engine/cli_identity.cpp
int cmd_event_sign(CliContext& ctx);    // engine/cli_identity.cpp
int cmd_event_verify(CliContext& ctx);  // engine/cli_identity.cpp
int cmd_start(CliContext& ctx);         // engine/cli_start.cpp
int cmd_stop(CliContext& ctx);          // engine/cli_stop.cpp
int cmd_status(CliContext& ctx);        // engine/cli_status.cpp
int cmd_doctor(CliContext& ctx);        // engine/cli_doctor.cpp
int cmd_earnings(CliContext& ctx);      // engine/cli_earnings.cpp
int cmd_jobs(CliContext& ctx);          // engine/cli_jobs.cpp
int cmd_logs(CliContext& ctx);          // engine/cli_logs.cpp
int cmd_watch(CliContext& ctx);         // engine/cli_watch.cpp
int cmd_config(CliContext& ctx);        // engine/cli_config.cpp
int cmd_job_submit(CliContext& ctx);    // engine/cli_job.cpp
int cmd_job_status(CliContext& ctx);    // engine/cli_job.cpp
int cmd_job_list(CliContext& ctx);      // engine/cli_job.cpp
// engine/cli_supervisor.cpp (issue 7)
int cmd_worker_start(CliContext& ctx);
int cmd_worker_stop(CliContext& ctx);
int cmd_worker_restart(CliContext& ctx);
int cmd_worker_status(CliContext& ctx);
int cmd_supervisor_status(CliContext& ctx);

}  // namespace pylon::engine
