// Backend: one local inference server (Ollama or llama-server) as the provider sees it, on one
// shard. probe() asks the server whether it is up, which models it has and how many requests it
// runs at once; generate() starts a streamed generation and returns a Generation whose next()
// yields token, done and error events as the server sends them. Cancelling (the token given to
// generate(), or Generation::cancel()) closes the HTTP connection, which is how both servers
// learn to stop. Implementations: OllamaBackend, LlamaCppBackend. One shard: each shard has its
// own Backend objects (and connection pools) for the same server.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proto/generation.hpp"
#include "reactor/cancel.hpp"
#include "reactor/result.hpp"
#include "reactor/task.hpp"

namespace pylon::engine {

enum class BackendKind : std::uint8_t { ollama, llamacpp };
std::string_view backend_kind_name(BackendKind kind) noexcept;  // "ollama" | "llamacpp"

struct BackendProbe {
    bool available = false;
    std::string version;                   // Ollama's version, llama-server's build info
    std::vector<proto::ModelInfo> models;  // what it can serve now
    std::uint32_t slots = 0;               // concurrent generations (0 = unknown)
    bool loading = false;                  // llama-server answers 503 while it loads its model
    std::string error;                     // why it is unavailable, for status and logs
};

// One streamed generation. next() returns the next event; after a done or error event (or a
// failed Result) the generation is over. The event's views are valid until the next call.
class Generation {
  public:
    virtual ~Generation() = default;
    virtual reactor::Task<Result<proto::StreamEvent>> next() = 0;
    // Stops early: closes the connection (the server stops generating).
    virtual reactor::Task<void> cancel() = 0;
    // When (reactor::monotonic_ns) the body data of the event next() last returned was read
    // from the socket; 0 if unknown. The runner's token latency counts from here.
    virtual std::int64_t received_ns() const noexcept { return 0; }
};

class Backend {
  public:
    virtual ~Backend() = default;
    virtual BackendKind kind() const noexcept = 0;
    virtual std::string_view id() const noexcept { return backend_kind_name(kind()); }
    // "http://127.0.0.1:11434", for messages.
    virtual const std::string& url() const noexcept = 0;
    // A reloaded request_timeout_ms, for the generations started from now on.
    virtual void set_request_timeout_ms(std::int64_t ms) noexcept { (void)ms; }

    virtual reactor::Task<BackendProbe> probe(reactor::CancelToken token) = 0;
    // Starts a generation. Errors before the stream starts (refused connection, 404 unknown
    // model, 503 busy or loading, a bad request) come back here with the server's reason.
    virtual reactor::Task<Result<std::unique_ptr<Generation>>> generate(
        proto::GenerationParams params, reactor::CancelToken token) = 0;
    // Closes idle connections (before the shard stops).
    virtual reactor::Task<void> close() = 0;
};

}  // namespace pylon::engine
