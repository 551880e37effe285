// ControlCommands: the control-socket requests that services add beside the built-in ones
// (engine/control_server.hpp). A service on shard 0 registers a name ("StartWorker",
// "RelayAdd", ...) with a handler coroutine; the control server calls it for a request of that
// name (bare, tagged or autopilotd's typed form) and writes the line it returns (one JSON
// document, no newline). The handler is a plain function with a context pointer, because
// capturing lambda coroutines are not allowed (reactor/task.hpp). A service removes its
// commands in stop(). Shard 0 only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proto/control_protocol.hpp"
#include "reactor/task.hpp"

namespace pylon::engine {

using ControlHandlerFn = reactor::Task<std::string> (*)(void* context,
                                                        proto::ControlRequest request);

class ControlCommands {
  public:
    struct Entry {
        std::string name;
        ControlHandlerFn fn;
        void* context;
    };

    // Replaces an existing command of the same name.
    void add(std::string name, ControlHandlerFn fn, void* context);
    void remove(std::string_view name);
    const Entry* find(std::string_view name) const;
    const std::vector<Entry>& entries() const noexcept { return entries_; }

  private:
    std::vector<Entry> entries_;
};

}  // namespace pylon::engine
