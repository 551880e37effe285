// ControlServer: the control socket (control.sock), a service on shard 0. It listens on a Unix
// socket created with mode 0600 that only our uid (or root) may use (net::UnixListener checks
// SO_PEERCRED), and speaks proto/control_protocol.hpp: one JSON document per line, many requests
// per connection, answered in order. Pylon v0.1's "Ping", "Status" and "Shutdown" keep their
// exact replies; "Health", "Relays", "Backends", "Jobs", "Earnings", "Shards", "Reload" and
// "Subscribe" are ours; autopilotd's {"type":..} requests get autopilotd's replies; other names
// go to the commands that services registered (engine/control_commands.hpp).
//
// A client that half-closes (shutdown(SHUT_WR), `printf .. | socat`) gets every reply to the
// complete lines it sent, flushed, before the connection closes.
//
// Hostile or broken clients: a malformed line gets {"Error":..} and the connection stays
// usable; a line longer than control.line_bytes_max (complete or not) gets a final error and is
// closed; beyond control.connections_max connections (counted from accept) a newcomer gets an
// error and is closed; a connection that sends nothing for control.idle_timeout_ms before it
// subscribes gets a final error and is closed; a client that stops reading replies is dropped
// after control.send_timeout_ms; a Subscribe connection whose queue
// (control.subscriber_events_max events) overflows gets a final error line and is closed.
// None of them can stall the daemon or hold up a database write: events never wait for
// subscribers (engine/event_bus.hpp).
//
// stop(): stops accepting (the socket file is removed), lets subscribers flush what is queued
// (bounded), closes every connection and waits for them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/event_bus.hpp"
#include "engine/service.hpp"
#include "net/socket_stream.hpp"
#include "net/unix_socket.hpp"
#include "proto/control_protocol.hpp"
#include "proto/json_reader.hpp"
#include "reactor/cancel.hpp"
#include "reactor/gate.hpp"

namespace pylon::engine {

struct ControlServerStats {
    std::uint64_t connections = 0;  // accepted in total
    std::uint64_t refused_full = 0;
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;        // {"Error":..} replies
    std::uint64_t overlong = 0;      // connections closed for a too long line
    std::uint64_t idle_closed = 0;   // connections closed for sending nothing (idle_timeout_ms)
    std::uint64_t slow_dropped = 0;  // subscribers or readers dropped for not reading
};

class ControlServer final : public Service {
  public:
    ControlServer(ServiceContext& context, std::string path);
    reactor::Task<Status> start() override;
    reactor::Task<void> stop() override;

    const ControlServerStats& stats() const noexcept { return stats_; }
    std::size_t open_connections() const noexcept { return connections_.size(); }

  private:
    struct Connection;
    static reactor::Task<void> accept_loop(ControlServer* self);
    static reactor::Task<void> serve(ControlServer* self, std::unique_ptr<Connection> owned);
    static reactor::Task<bool> read_requests(ControlServer* self, Connection* conn);
    static reactor::Task<bool> answer_lines(ControlServer* self, Connection* conn);
    static reactor::Task<void> refuse(ControlServer* self,
                                      std::unique_ptr<net::SocketStream> stream);
    static reactor::Task<void> stream_events(ControlServer* self, Connection* conn);
    static reactor::Task<void> watch_eof(Connection* conn);
    static reactor::Task<bool> handle_line(ControlServer* self, Connection* conn, std::string line);
    static reactor::Task<std::string> answer(ControlServer* self, proto::ControlRequest req);
    std::string answer_typed(const proto::ControlRequest& req);
    static reactor::Task<bool> send_line(ControlServer* self, Connection* conn, std::string line);
    // Sends a final {"Error":message} and flushes it (bounded); returns false (close).
    static reactor::Task<bool> send_last(ControlServer* self, Connection* conn,
                                         std::string message);

    ServiceContext& context_;
    std::string path_;
    std::int64_t line_bytes_max_;
    std::int64_t send_timeout_ms_;
    std::int64_t idle_timeout_ms_;  // 0: never
    std::size_t connections_max_;
    std::size_t subscriber_events_max_;
    std::unique_ptr<net::UnixListener> listener_;
    proto::JsonReader reader_;
    std::vector<Connection*> connections_;
    reactor::CancelSource cancel_;
    reactor::Gate gate_;
    bool stopping_ = false;
    ControlServerStats stats_;
};

}  // namespace pylon::engine
