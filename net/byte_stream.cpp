#include "net/byte_stream.hpp"

#include "net/deadline.hpp"

namespace pylon::net {

reactor::Task<Status> ByteStream::write(Bytes bytes, std::int64_t timeout_ms,
                                        reactor::CancelToken token) {
    Result<std::size_t> first = try_write(bytes);
    if (!first.ok()) {
        co_return std::move(first).error();
    }
    bytes = bytes.subspan(*first);
    if (bytes.empty()) {
        co_return Ok{};
    }
    Deadline deadline(timeout_ms, token);
    while (!bytes.empty()) {
        Status room = co_await wait_writable(0, deadline.token());
        if (!room.ok()) {
            if (deadline.expired()) {
                co_return Error(Errc::timeout, peer_name() + ": send queue still full after " +
                                                   std::to_string(timeout_ms) + " ms");
            }
            co_return room;
        }
        Result<std::size_t> n = try_write(bytes);
        if (!n.ok()) {
            co_return std::move(n).error();
        }
        bytes = bytes.subspan(*n);
    }
    co_return Ok{};
}

}  // namespace pylon::net
