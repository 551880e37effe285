// Backend construction from the configuration: the URL of a local inference server parsed into
// an endpoint, and an OllamaBackend or LlamaCppBackend built for one purpose: `probe` (short
// timeouts; the registry's client on shard 0) or `generate` (the job runner's client on each
// shard: the first byte and the whole generation bounded by the backend's request_timeout_ms,
// a minute of silence between tokens; keep-alive connections kept idle up to the backend's
// slots, since a shard never streams more than that at once). Backend hosts are IP literals or
// localhost (local servers; no DNS on this path). Pure construction: any thread; the Backend then
// belongs to the shard that uses it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "engine/backend.hpp"
#include "engine/config.hpp"
#include "net/connection_pool.hpp"
#include "net/http_client.hpp"
#include "reactor/result.hpp"

namespace pylon::engine {

inline constexpr std::int64_t backend_connect_timeout_ms = 2000;
inline constexpr std::int64_t backend_probe_timeout_ms = 5000;
inline constexpr std::int64_t backend_token_gap_ms_max = 60000;
// Idle keep-alive connections: below llama-server's own keep-alive timeout (cpp-httplib: 5 s), so
// the node drops a connection before the server does rather than racing it; Ollama (Go) keeps
// them as long as the client wants.
inline constexpr std::int64_t backend_idle_connection_ms_llamacpp = 4000;
inline constexpr std::int64_t backend_idle_connection_ms_ollama = 30000;

enum class BackendUse : std::uint8_t { probe, generate };

// "http://HOST[:PORT][/]" with HOST an IPv4 literal, [IPv6] or localhost (-> 127.0.0.1).
Result<net::Endpoint> parse_backend_url(std::string_view url);

// The URL the node uses for `kind`: [backends.*] url, or for a llama-server Pylon spawns
// itself, http://127.0.0.1:<port>.
std::string backend_url(BackendKind kind, const Config& config);

// The HTTP timeouts of a generation bounded by request_timeout_ms (first byte and whole
// exchange; at most a minute of silence between tokens).
net::HttpTimeouts generation_timeouts(std::int64_t request_timeout_ms);
// [backends.<kind>] request_timeout_ms.
std::int64_t request_timeout_ms(BackendKind kind, const Config& config);

Result<std::unique_ptr<Backend>> make_backend(BackendKind kind, const std::string& url,
                                              const Config& config, BackendUse use);

}  // namespace pylon::engine
