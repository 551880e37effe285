// Runtime: the node as a library. A host application (or the daemon, which is a thin shell
// around it) fills RuntimeOptions, calls start(), reads status() and events from subscribe(),
// and calls stop(). No PID file, no socket and no signal handling unless asked for.
//
// start() opens the store (on its own thread), seeds the status counters from it, and runs the
// ShardSet on a background thread, so the caller is never blocked by the reactor; it returns once
// every service has started (Ok) or one failed (the error; what had started is stopped again).
// A Runtime starts once: a second start() is refused with Errc::busy, also after stop().
// stop() asks for shutdown and waits for it: services stop in reverse order (intake, in-flight
// jobs, children, control socket), the store is flushed and closed, the threads are joined.
// request_stop() only asks (any thread; what SIGTERM, the Shutdown request and the managed-mode
// parent watch call); wait() blocks until the runtime has stopped (the daemon's main thread).
//
// Services: standard_services() (engine/standard_services.hpp) lists the built-in ones for the
// options given; RuntimeOptions::services adds more (the provider and the supervisor register
// theirs there). See engine/service.hpp for the contract.
//
// Threads: every public member may be called from any thread except a shard of this runtime,
// apart from request_stop(), status() and subscribe(), which are safe from shards too.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/config.hpp"
#include "engine/event_bus.hpp"
#include "engine/runtime_status.hpp"
#include "engine/service.hpp"
#include "proto/keys.hpp"
#include "reactor/result.hpp"

namespace pylon::engine {

struct RuntimeOptions {
    Config config;
    std::string home_dir;     // the Pylon home (status, default paths)
    std::string config_path;  // re-read on reload; empty: reload_from_file is refused
    // The file was named (-c): it must exist, at a reload as at the start. The home's
    // config.toml may be missing (the defaults).
    bool config_given = false;
    RunMode mode = RunMode::both;
    std::string db_path;              // empty: <home_dir>/pylon.db; ":memory:" for none on disk
    std::string control_socket_path;  // empty: no control socket (the embedded default)
    bool handle_signals = false;      // daemon: SIGINT/SIGTERM stop, SIGHUP reloads
    bool watch_parent_stdin = false;  // --managed: stop when stdin (a pipe) reaches EOF
    std::optional<unsigned> shards;   // overrides config.shards.count; 0: the CPUs
    // The node's key. The provider (relays, intake, jobs, backends) runs only with one, and
    // only in mode provider or both (engine/provider_services.hpp).
    std::optional<proto::Keypair> identity;
    std::vector<ServiceSpec> services;  // added after the standard services
};

class Runtime {
  public:
    explicit Runtime(RuntimeOptions options);
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;
    // Stops the runtime if it is running.
    ~Runtime();

    Status start();
    Status stop();
    void request_stop(std::string_view reason);
    // Blocks until the runtime has stopped; the status is the first error of the run (Ok after
    // a clean shutdown).
    Status wait();
    // Waits up to `timeout_ms` for the runtime to stop; true if it has (then call wait()).
    bool stopped_within(int timeout_ms);

    bool running() const;
    RuntimeStatus status() const;
    std::shared_ptr<EventSubscription> subscribe(std::size_t events_max = 1024);
    // Applies the reloadable keys of `next` (the others are reported as needing a restart).
    Result<ReloadReport> reload(Config next);
    // The configuration in force (with the reloads applied).
    Config config() const;
    unsigned shard_count() const;

  private:
    std::unique_ptr<RuntimeCore> core_;
};

}  // namespace pylon::engine
