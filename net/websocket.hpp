// WebSocket: a client connection (RFC 6455) over a ByteStream (plain TCP for ws://, TlsStream
// for wss://), framed by wslay's event API in client mode (it masks our frames, answers pings,
// checks UTF-8 in text frames and runs the close handshake). The opening handshake is ours: a
// random Sec-WebSocket-Key, the 101 status, Upgrade/Connection and the Sec-WebSocket-Accept
// (SHA-1 + base64) checked, bounded by handshake_timeout_ms.
//
// Receiving: next_message() returns one whole message (fragments assembled) as a view into a
// per-connection buffer that stays valid until the next next_message() call and has at least
// message_padding_bytes of readable slack after it (simdjson); buffers are reused, so a warmed
// up connection does no per-message allocation on receive. A message above message_bytes_max
// is skipped: its frames are read to its end and discarded (nothing of it is buffered), it is
// counted (messages_skipped()) and the next message is returned; so what one connection buffers
// stays within message_bytes_max plus one read of the stream. Keep-alive runs inside
// next_message(): every ping_interval_ms we send a ping and a pong must come back within
// pong_timeout_ms, else the link is reported dead. (So a WebSocket nobody reads neither pings nor
// notices a dead peer.)
//
// Sending: send_text()/send_binary() frame one message and wait until it is handed to the
// stream's bounded send queue (framed and masked by us into a reused buffer when wslay has
// nothing queued, else queued in wslay, which copies it). close(code, reason) runs the close
// handshake (bounded by close_timeout_ms) and tears the connection down; it must be awaited before
// destruction. One shard; one reader at a time; senders may run concurrently with the reader.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/byte_stream.hpp"
#include "net/socket_stream.hpp"
#include "net/url.hpp"
#include "reactor/cancel.hpp"
#include "reactor/ring_queue.hpp"
#include "reactor/task.hpp"

struct wslay_event_context;

namespace pylon::net {

class Resolver;
class TlsContext;

struct WebSocketOptions {
    std::int64_t connect_timeout_ms = 10000;
    std::int64_t handshake_timeout_ms = 10000;  // TLS + HTTP upgrade
    std::int64_t ping_interval_ms = 30000;      // 0: no keep-alive pings
    std::int64_t pong_timeout_ms = 10000;
    std::int64_t close_timeout_ms = 2000;  // close(): wait for the peer's close frame
    std::int64_t send_timeout_ms = 30000;  // send_*(): wait for room in the send queue
    std::size_t message_bytes_max = 1024 * 1024;
    std::size_t handshake_bytes_max = 16 * 1024;
    std::size_t ready_messages_max = 64;  // assembled, not yet returned by next_message()
    std::vector<std::pair<std::string, std::string>> extra_headers;  // e.g. Origin
    std::string ca_file;              // wss: trust this CA file instead of the system store
    std::shared_ptr<TlsContext> tls;  // wss: a shared context (overrides ca_file)
    Resolver* resolver = nullptr;     // for names (numeric hosts need none)
    bool public_only = false;         // TcpOptions::public_only
    StreamOptions stream{};
};

enum class MessageKind : std::uint8_t { text, binary };

struct Message {
    MessageKind kind = MessageKind::text;
    std::string_view data;  // valid until the next next_message(); padded (see above)
};

class WebSocket {
  public:
    static constexpr std::size_t message_padding_bytes = 64;

    // Connects to a ws:// or wss:// URL and runs the opening handshake.
    static reactor::Task<Result<std::unique_ptr<WebSocket>>> connect(
        std::string url, WebSocketOptions options, reactor::CancelToken token = {});
    // Runs the opening handshake on an already connected stream (tests, proxies).
    static reactor::Task<Result<std::unique_ptr<WebSocket>>> handshake(
        std::unique_ptr<ByteStream> stream, Url url, WebSocketOptions options,
        reactor::CancelToken token = {});

    WebSocket(const WebSocket&) = delete;
    WebSocket& operator=(const WebSocket&) = delete;
    ~WebSocket();

    const std::string& peer_name() const noexcept { return stream_->peer_name(); }
    // The peer's close frame, once one arrived (0 / empty before).
    std::uint16_t close_code() const noexcept { return close_code_; }
    const std::string& close_reason() const noexcept { return close_reason_; }
    std::uint64_t pings_sent() const noexcept { return pings_sent_; }
    std::uint64_t pongs_received() const noexcept { return pongs_received_; }
    // Messages over message_bytes_max skipped so far (the connection stays up), and the size of
    // the last one (its frames' payloads).
    std::uint64_t messages_skipped() const noexcept { return messages_skipped_; }
    std::size_t last_skipped_bytes() const noexcept { return last_skipped_bytes_; }

    reactor::Task<Status> send_text(std::string_view text);
    reactor::Task<Status> send_binary(Bytes bytes);
    // The next whole message. Errors: Errc::timeout (timeout_ms passed; the connection is
    // fine), Errc::closed (the peer closed: close_code()/close_reason()), Errc::protocol (bad
    // frames: 1002 sent, or bad UTF-8: 1007 sent; the message says which), Errc::timeout
    // with "dead link" (no pong), or the stream's error. After any error but a plain timeout,
    // only close() is useful.
    reactor::Task<Result<Message>> next_message(std::int64_t timeout_ms = 0,
                                                reactor::CancelToken token = {});
    // Close handshake with `code` and `reason` (<= 123 bytes, UTF-8), then teardown.
    // Idempotent; safe after errors.
    reactor::Task<void> close(std::uint16_t code = 1000, std::string reason = {});

    struct Callbacks;  // wslay glue (websocket.cpp)

  private:
    WebSocket(std::unique_ptr<ByteStream> stream, WebSocketOptions options);
    Status init_wslay();
    reactor::Task<Status> run_handshake(const Url* url, const std::string* key,
                                        reactor::CancelToken token);
    reactor::Task<Status> send_message(std::uint8_t opcode, Bytes bytes);
    bool can_send_direct() const;
    bool frame_direct(std::uint8_t opcode, Bytes payload);
    reactor::Task<Status> flush_direct(std::int64_t timeout_ms);
    reactor::Task<Status> pump_send(std::int64_t timeout_ms);
    Result<bool> keepalive_due(std::int64_t now_ms);
    bool frame_protocol_close();
    Error failure_from_wslay();
    std::string take_buffer();

    std::unique_ptr<ByteStream> stream_;
    WebSocketOptions options_;
    wslay_event_context* ctx_ = nullptr;
    Bytes in_;  // received bytes not yet given to wslay (a view into the stream's buffer)
    // Receive assembly (see the header paragraph).
    std::string assembling_;
    MessageKind assembling_kind_ = MessageKind::text;
    bool frame_is_data_ = false;
    bool frame_fin_ = false;
    bool skipping_ = false;          // the message being received passed message_bytes_max
    std::size_t skipped_bytes_ = 0;  // its size so far (frame headers' payload lengths)
    std::uint64_t messages_skipped_ = 0;
    std::size_t last_skipped_bytes_ = 0;
    bool frame_error_ = false;          // wslay's frame parser refused a frame
    bool protocol_close_sent_ = false;  // ... and our Close 1002 went out
    reactor::RingQueue<std::pair<MessageKind, std::string>> ready_{8};
    bool front_returned_ = false;  // ready_.front() was handed out by the last next_message()
    std::vector<std::string> spare_;
    // Keep-alive.
    std::int64_t next_ping_ms_ = 0;
    std::int64_t pong_deadline_ms_ = 0;  // 0: no ping outstanding
    std::uint64_t pings_sent_ = 0;
    std::uint64_t pongs_received_ = 0;
    // A data frame we framed and masked ourselves (see send_message), and how much of it the
    // stream has taken: wslay's queue would copy each message into a heap block first.
    std::vector<std::uint8_t> direct_;
    std::size_t direct_sent_ = 0;
    // Masking keys come from getrandom(2) in batches.
    std::uint8_t mask_pool_[256];
    std::size_t mask_used_ = sizeof mask_pool_;
    std::uint16_t close_code_ = 0;
    std::string close_reason_;
    bool failed_ = false;
    bool closed_ = false;
};

// base64(SHA-1(key + the RFC 6455 GUID)): the Sec-WebSocket-Accept a server must answer.
std::string websocket_accept_for(std::string_view key);

}  // namespace pylon::net
