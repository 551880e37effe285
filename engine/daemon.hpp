// Daemon: `pylon start`, the process around the Runtime. It loads the config and the identity,
// says so on the terminal in Pylon v0.1's words, and then either stays in the foreground (logs
// on stderr) or daemonizes (logs in logs/pylon.log, size-bounded and rotated): fork, setsid,
// fork again, chdir("/"), stdio on /dev/null, all before any thread exists. The waiting parent
// prints "Pylon daemon started successfully." only once the daemon reports, through a pipe,
// that every service started (or prints the daemon's error and exits 1).
//
// The daemon process claims pylon.pid (engine/pid_file.hpp: locked for its whole life, a stale
// file replaced), runs with umask 077, blocks the handled signals before the runtime starts its
// threads (SIGINT/SIGTERM stop it gracefully, SIGHUP reloads), serves control.sock, and on exit
// removes the socket and the pid file. A second start while one runs prints "Pylon daemon is
// already running." and exits 0; two concurrent starts make exactly one daemon.
//
// --managed: for a parent process that owns the node (a desktop app, a harness): foreground,
// no pid file, PR_SET_PDEATHSIG(SIGTERM) so the node stops when the parent dies, and a stop
// when stdin (a pipe from the parent) closes. Main thread only.
#pragma once

#include <cstdio>
#include <optional>
#include <string>

#include "engine/home.hpp"
#include "engine/runtime_status.hpp"

namespace pylon::engine {

struct StartOptions {
    Home home{""};
    std::string config_path;    // absolute or relative to the cwd
    bool config_given = false;  // -c: the file must exist
    RunMode mode = RunMode::both;
    bool foreground = false;
    bool managed = false;
    std::optional<unsigned> shards;  // none: config.shards.count; 0: the CPUs
};

// The whole of `pylon start`; returns the exit code.
int start_daemon(StartOptions options, std::FILE* out, std::FILE* err);

}  // namespace pylon::engine
