// BackendDirectory: what every shard knows about the inference backends, as a snapshot the
// BackendRegistry (shard 0) builds after each probe that changed something and sends to every
// shard (an immutable value shared read-only between shards). Intake routes each request with
// it: the request's `model` param must name a model an available backend lists (a name without
// a tag matches name:latest, as Ollama does), else the request is refused as unknown model;
// without a param, default_model is used when a backend has it, else the default backend's
// first model. Backends are listed in preference order (registered_backends() applies Pylon's
// backend_preference rules); the default backend is the first available one.
// A supervised llama-server that is loading (starting or restarting) is routable too, for the
// model it will serve (its --alias or -m path) when no available backend has the requested model,
// and for a request without a model when no backend is available: the route says `waits` (the
// job is accepted and waits for the server's slots). Unsupervised backends never wait.
// Pure; the snapshot is immutable once built (any thread may read it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backend.hpp"
#include "engine/config.hpp"

namespace pylon::engine {

inline constexpr std::size_t backend_kinds_count = 2;  // ollama, llamacpp
inline constexpr std::size_t error_models_listed_max = 8;

inline std::size_t backend_slot_index(BackendKind kind) noexcept {
    return static_cast<std::size_t>(kind);
}

struct BackendView {
    BackendKind kind = BackendKind::ollama;
    std::string url;
    bool available = false;
    bool use_chat = false;
    std::vector<std::string> models;  // as the backend names them
    std::uint32_t slots = 0;
    std::string last_error;
    // A spawned llama-server (supervised): while `loading` (starting, restarting, or healthy
    // but not probed yet) its jobs wait, for `loading_model`; unavailable and not loading it is
    // down (failed, stopped): its waiting jobs fail at once.
    bool supervised = false;
    bool loading = false;
    std::string loading_model;

    // Jobs for it may wait (it will come back by itself).
    bool waitable() const noexcept {
        return supervised && !available && loading && !loading_model.empty();
    }
    // A supervised server that will not come back without an operator.
    bool down() const noexcept { return supervised && !available && !loading; }
};

// Which backends the node registers, in preference order. Pylon's backend_preference rules:
// exactly one entry keeps only that backend (none if it is not enabled or not supported here:
// apple_fm is macOS-only); several entries order the enabled backends (the ones not named come
// last). `notes` receives one line per entry that was ignored and why.
std::vector<BackendKind> registered_backends(const Config& config, std::vector<std::string>* notes);

struct ModelRoute {
    bool ok = false;
    std::size_t backend = 0;  // index into BackendDirectory::backends
    std::string model;        // the backend's own name for it
    std::string error;        // why not, in words for the customer ("unknown model 'x' ...")
    bool no_backend = false;  // no backend available at all (else: the model is unknown)
    bool waits = false;       // ok, on a backend that is loading: the job waits for its slots
};

class BackendDirectory {
  public:
    std::vector<BackendView> backends;  // preference order

    // The first available backend, or -1.
    int default_backend() const noexcept;
    bool any_available() const noexcept { return default_backend() >= 0; }
    // Some backend is loading: jobs may wait for it.
    bool any_waitable() const noexcept;
    // Chooses a backend and model for a request (`requested` = its model param, "" if none).
    ModelRoute route(std::string_view requested, std::string_view default_model) const;
    // The index of `kind`, or -1 when it is not registered.
    int index_of(BackendKind kind) const noexcept;

  private:
    bool find_model(std::string_view requested, ModelRoute& out) const;
    // The first waitable backend whose loading model matches `requested` ("" = any).
    bool find_loading(std::string_view requested, ModelRoute& out) const;
    std::string available_models_text() const;
    std::string unknown_model_text(std::string_view requested) const;
};

}  // namespace pylon::engine
