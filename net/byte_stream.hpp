// ByteStream: the connection abstraction that TLS, WebSocket and HTTP are written against: an
// ordered byte stream with timed reads, a bounded send queue, and an explicit teardown. Two
// implementations: SocketStream (a TCP or Unix socket on the reactor) and TlsStream (TLS over
// another ByteStream).
//
// Reading: read() returns the next received bytes as a view into the stream's own input buffer,
// valid until the next read() or close(); an empty view means the peer closed its side.
// Writing: try_write() copies what fits into the send queue at once (never waits); write() waits
// for room as needed; flush() waits until the queue has been handed to the kernel. One reader
// and any number of writers may use a stream concurrently (all on its shard).
//
// Lifetime: close() must be awaited before destruction (it tears down as shutdown -> cancel ->
// wait for completions -> close). Owned by one coroutine/object on one shard.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "reactor/cancel.hpp"
#include "reactor/result.hpp"
#include "reactor/task.hpp"

namespace pylon::net {

using Bytes = std::span<const std::uint8_t>;

inline Bytes as_bytes(std::string_view text) noexcept {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}
inline std::string_view as_text(Bytes bytes) noexcept {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

class ByteStream {
  public:
    ByteStream() = default;
    ByteStream(const ByteStream&) = delete;
    ByteStream& operator=(const ByteStream&) = delete;
    virtual ~ByteStream() = default;

    // "host:port" or the socket path: the prefix of every error message.
    virtual const std::string& peer_name() const noexcept = 0;

    // The next received bytes (empty: the peer closed). Errors: Errc::timeout after timeout_ms
    // (0 = none) without data, Errc::cancelled, or the socket/TLS error.
    virtual reactor::Task<Result<Bytes>> read(std::int64_t timeout_ms = 0,
                                              reactor::CancelToken token = {}) = 0;
    // Queues as much of `bytes` as the send queue has room for; returns the count (0 when full).
    // Fails once the stream has failed or is closed.
    virtual Result<std::size_t> try_write(Bytes bytes) = 0;
    // Waits until the send queue has room again (or the stream failed, timed out, cancelled).
    virtual reactor::Task<Status> wait_writable(std::int64_t timeout_ms,
                                                reactor::CancelToken token) = 0;
    // Waits until every queued byte was handed to the kernel.
    virtual reactor::Task<Status> flush(std::int64_t timeout_ms, reactor::CancelToken token) = 0;
    // Tears the stream down (idempotent). Pending reads and writes end with Errc::closed.
    virtual reactor::Task<void> close() = 0;
    virtual bool closed() const noexcept = 0;

    // Queues all of `bytes` (which must stay valid until this returns), waiting for room.
    reactor::Task<Status> write(Bytes bytes, std::int64_t timeout_ms = 0,
                                reactor::CancelToken token = {});
};

}  // namespace pylon::net
