#include "net/websocket.hpp"

// SHA1_* is deprecated in OpenSSL 3 in favour of EVP, whose first fetch activates the provider
// machinery (~2 MB of libcrypto in the node's RSS) for one 20-byte hash per handshake.
#define OPENSSL_SUPPRESS_DEPRECATED

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/random.h>
#include <wslay/wslay.h>

#include <cerrno>

#include <algorithm>
#include <cstring>
#include <limits>

#include "net/deadline.hpp"
#include "net/http_parser.hpp"
#include "net/tcp.hpp"
#include "net/tls.hpp"
#include "net/utf8.hpp"
#include "reactor/clock.hpp"

namespace pylon::net {

using reactor::Task;

namespace {

constexpr std::string_view ws_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr std::size_t close_reason_bytes_max = 123;
constexpr std::size_t spare_buffers_max = 8;
// A receive buffer grown past this (by a big message) is freed, not kept as a spare.
constexpr std::size_t spare_buffer_bytes_max = 64 * 1024;
constexpr std::uint64_t wslay_frame_bytes_max = std::uint64_t{1} << 62;
// The Close frame we send after a frame wslay's parser refused: status 1002 (protocol error).
constexpr std::uint8_t close_1002_payload[2] = {0x03, 0xea};

// Masks and handshake keys from the kernel CSPRNG (getrandom(2)): RFC 6455 wants them
// unpredictable, and OpenSSL's RAND_bytes would start its provider-based DRBG for them.
bool fill_random(std::uint8_t* out, std::size_t n) {
    std::size_t done = 0;
    for (int attempts = 0; done < n && attempts < 16; attempts++) {
        ssize_t got = ::getrandom(out + done, n - done, 0);
        if (got > 0) {
            done += static_cast<std::size_t>(got);
        } else if (got < 0 && errno != EINTR) {
            return false;
        }
    }
    return done == n;
}

std::string base64(const std::uint8_t* data, std::size_t n) {
    std::string out(4 * ((n + 2) / 3) + 1, '\0');
    int len =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
    out.resize(static_cast<std::size_t>(len));
    return out;
}

bool has_token(std::string_view value, std::string_view token) {
    while (!value.empty()) {
        std::size_t comma = value.find(',');
        std::string_view item = value.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
            item.remove_prefix(1);
        }
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) {
            item.remove_suffix(1);
        }
        bool same = item.size() == token.size();
        for (std::size_t i = 0; same && i < item.size(); i++) {
            char c = item[i] >= 'A' && item[i] <= 'Z' ? static_cast<char>(item[i] + 32) : item[i];
            same = c == token[i];
        }
        if (same) {
            return true;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        value.remove_prefix(comma + 1);
    }
    return false;
}

}  // namespace

std::string websocket_accept_for(std::string_view key) {
    std::string joined = std::string(key) + std::string(ws_guid);
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA_CTX c;
    SHA1_Init(&c);
    SHA1_Update(&c, joined.data(), joined.size());
    SHA1_Final(md, &c);
    return base64(md, sizeof md);
}

// ---- wslay glue ----

struct WebSocket::Callbacks {
    static ssize_t recv(wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len, int,
                        void* user) {
        auto* ws = static_cast<WebSocket*>(user);
        // Backpressure: no more input while the ready queue is full.
        if (ws->in_.empty() || ws->ready_.size() >= ws->options_.ready_messages_max) {
            wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
            return -1;
        }
        std::size_t n = std::min(len, ws->in_.size());
        std::memcpy(buf, ws->in_.data(), n);
        ws->in_ = ws->in_.subspan(n);
        return static_cast<ssize_t>(n);
    }

    static ssize_t send(wslay_event_context_ptr ctx, const std::uint8_t* data, std::size_t len, int,
                        void* user) {
        auto* ws = static_cast<WebSocket*>(user);
        Result<std::size_t> n = ws->stream_->try_write(Bytes(data, len));
        if (!n.ok()) {
            wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
            return -1;
        }
        if (*n == 0) {
            wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
            return -1;
        }
        return static_cast<ssize_t>(*n);
    }

    static int genmask(wslay_event_context_ptr, std::uint8_t* buf, std::size_t len, void* user) {
        auto* ws = static_cast<WebSocket*>(user);
        if (ws->mask_used_ + len > sizeof ws->mask_pool_) {
            if (!fill_random(ws->mask_pool_, sizeof ws->mask_pool_)) {
                return -1;
            }
            ws->mask_used_ = 0;
        }
        std::memcpy(buf, ws->mask_pool_ + ws->mask_used_, len);
        ws->mask_used_ += len;
        return 0;
    }

    // A data message that would pass message_bytes_max is skipped: the rest of its frames are
    // read and discarded (nothing of it is kept), counted, and the next message is read as usual.
    static void frame_start(wslay_event_context_ptr, const wslay_event_on_frame_recv_start_arg* arg,
                            void* user) {
        auto* ws = static_cast<WebSocket*>(user);
        ws->frame_is_data_ = (arg->opcode & 0x8) == 0;
        ws->frame_fin_ = arg->fin != 0;
        if (!ws->frame_is_data_) {
            return;  // control frames are buffered by wslay: see message()
        }
        if (arg->opcode != WSLAY_CONTINUATION_FRAME) {
            ws->assembling_.clear();
            ws->skipping_ = false;
            ws->skipped_bytes_ = 0;
            ws->assembling_kind_ =
                arg->opcode == WSLAY_TEXT_FRAME ? MessageKind::text : MessageKind::binary;
        }
        if (!ws->skipping_ &&
            ws->assembling_.size() + arg->payload_length > ws->options_.message_bytes_max) {
            ws->skipping_ = true;
            ws->skipped_bytes_ = ws->assembling_.size();
            ws->assembling_.clear();
        }
        if (ws->skipping_) {
            ws->skipped_bytes_ += arg->payload_length;
        }
    }

    static void frame_chunk(wslay_event_context_ptr, const wslay_event_on_frame_recv_chunk_arg* arg,
                            void* user) {
        auto* ws = static_cast<WebSocket*>(user);
        if (ws->frame_is_data_ && !ws->skipping_) {
            ws->assembling_.append(reinterpret_cast<const char*>(arg->data), arg->data_length);
        }
    }

    static void frame_end(wslay_event_context_ptr, void* user) {
        auto* ws = static_cast<WebSocket*>(user);
        if (!ws->frame_is_data_ || !ws->frame_fin_) {
            return;
        }
        if (ws->skipping_) {
            ws->skipping_ = false;
            ws->messages_skipped_++;
            ws->last_skipped_bytes_ = ws->skipped_bytes_;
            return;
        }
        ws->assembling_.reserve(ws->assembling_.size() + message_padding_bytes);
        ws->ready_.push({ws->assembling_kind_, std::move(ws->assembling_)});
        ws->assembling_ = ws->take_buffer();
    }

    static void message(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg,
                        void* user) {
        auto* ws = static_cast<WebSocket*>(user);
        if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
            ws->close_code_ = arg->status_code != 0 ? arg->status_code : 1005;
            if (arg->msg_length > 2) {
                ws->close_reason_.assign(reinterpret_cast<const char*>(arg->msg) + 2,
                                         arg->msg_length - 2);
            }
        } else if (arg->opcode == WSLAY_PONG) {
            ws->pongs_received_++;
            ws->pong_deadline_ms_ = 0;
        }
    }
};

WebSocket::WebSocket(std::unique_ptr<ByteStream> stream, WebSocketOptions options)
    : stream_(std::move(stream)), options_(std::move(options)) {}

WebSocket::~WebSocket() {
    PYLON_ASSERT_MSG(closed_, "WebSocket destroyed without close()");
    if (ctx_ != nullptr) {
        wslay_event_context_free(ctx_);
    }
}

std::string WebSocket::take_buffer() {
    if (spare_.empty()) {
        return {};
    }
    std::string s = std::move(spare_.back());
    spare_.pop_back();
    s.clear();
    return s;
}

Status WebSocket::init_wslay() {
    wslay_event_callbacks cb{};
    cb.recv_callback = &Callbacks::recv;
    cb.send_callback = &Callbacks::send;
    cb.genmask_callback = &Callbacks::genmask;
    cb.on_frame_recv_start_callback = &Callbacks::frame_start;
    cb.on_frame_recv_chunk_callback = &Callbacks::frame_chunk;
    cb.on_frame_recv_end_callback = &Callbacks::frame_end;
    cb.on_msg_recv_callback = &Callbacks::message;
    if (wslay_event_context_client_init(&ctx_, &cb, this) != 0) {
        return Error(Errc::internal, peer_name() + ": wslay context");
    }
    wslay_event_config_set_no_buffering(ctx_, 1);  // we assemble messages ourselves
    // wslay would close with 1009 on a data frame above its bound: ours skips the message
    // instead (frame_start), so wslay's bound only has to let every frame through (control
    // frames stay within 125 bytes: wslay's frame parser refuses longer ones).
    wslay_event_config_set_max_recv_msg_length(ctx_, wslay_frame_bytes_max);
    next_ping_ms_ = reactor::monotonic_ms() + options_.ping_interval_ms;
    return Ok{};
}

// ---- opening handshake ----

namespace {

Result<std::string> upgrade_request(const Url& url, const WebSocketOptions& o,
                                    const std::string& key) {
    std::string req = "GET " + url.target + " HTTP/1.1\r\nHost: " + url.host_header() +
                      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
                      "\r\nSec-WebSocket-Version: 13\r\n";
    for (const auto& [name, value] : o.extra_headers) {
        if (name.find_first_of(":\r\n ") != std::string::npos ||
            value.find_first_of("\r\n") != std::string::npos) {
            return Error(Errc::invalid_input, "WebSocket header '" + name + "' is malformed");
        }
        req += name + ": " + value + "\r\n";
    }
    req += "\r\n";
    return req;
}

Status check_upgrade(const HttpResponseHead& head, const std::string& expected,
                     const std::string& peer) {
    if (head.status != 101) {
        return Error(Errc::refused, peer + ": WebSocket upgrade refused: HTTP " +
                                        std::to_string(head.status) + " " + head.reason);
    }
    auto upgrade = head.header("upgrade");
    auto connection = head.header("connection");
    if (!upgrade || !has_token(*upgrade, "websocket") || !connection ||
        !has_token(*connection, "upgrade")) {
        return Error(Errc::protocol, peer + ": WebSocket upgrade without Upgrade/Connection");
    }
    auto accept = head.header("sec-websocket-accept");
    if (!accept || *accept != expected) {
        return Error(Errc::protocol, peer + ": wrong Sec-WebSocket-Accept in the handshake");
    }
    if (head.header("sec-websocket-extensions") || head.header("sec-websocket-protocol")) {
        return Error(Errc::protocol, peer +
                                         ": server chose an extension or subprotocol we "
                                         "did not offer");
    }
    return Ok{};
}

}  // namespace

Task<Result<std::unique_ptr<WebSocket>>> WebSocket::handshake(std::unique_ptr<ByteStream> stream,
                                                              Url url, WebSocketOptions options,
                                                              reactor::CancelToken token) {
    std::unique_ptr<WebSocket> ws(new WebSocket(std::move(stream), std::move(options)));
    std::uint8_t raw_key[16];
    bool random_ok = fill_random(raw_key, sizeof raw_key);
    PYLON_ASSERT_MSG(random_ok, "getrandom failed");
    std::string key = base64(raw_key, sizeof raw_key);
    Status st = co_await ws->run_handshake(&url, &key, token);
    if (st.ok()) {
        st = ws->init_wslay();
    }
    if (!st.ok()) {
        ws->failed_ = true;
        co_await ws->close(1000, {});
        co_return std::move(st).error();
    }
    co_return std::move(ws);
}

Task<Status> WebSocket::run_handshake(const Url* url, const std::string* key,
                                      reactor::CancelToken token) {
    Result<std::string> req = upgrade_request(*url, options_, *key);
    if (!req.ok()) {
        co_return std::move(req).error();
    }
    Deadline deadline(options_.handshake_timeout_ms, token);
    auto timed_out = [&]() {
        return Error(Errc::timeout, peer_name() + ": WebSocket handshake not done within " +
                                        std::to_string(options_.handshake_timeout_ms) + " ms");
    };
    Status w = co_await stream_->write(as_bytes(*req), 0, deadline.token());
    if (!w.ok()) {
        co_return deadline.expired() ? timed_out() : std::move(w).error();
    }
    HttpLimits limits;
    limits.head_bytes_max = options_.handshake_bytes_max;
    HttpResponseParser parser(limits);
    parser.reset(false, true);
    for (;;) {
        Result<Bytes> got = co_await stream_->read(0, deadline.token());
        if (!got.ok()) {
            co_return deadline.expired() ? timed_out() : std::move(got).error();
        }
        if (got->empty()) {
            co_return Error(Errc::closed,
                            peer_name() + ": connection closed during the WebSocket handshake");
        }
        HttpStep step = parser.step(*got);
        if (step.event == HttpEvent::error) {
            co_return Error(Errc::protocol, peer_name() + ": bad WebSocket handshake response: " +
                                                http_error_name(parser.error()));
        }
        if (step.event == HttpEvent::head) {
            in_ = got->subspan(step.consumed);  // the first frames may follow the head at once
            co_return check_upgrade(parser.head(), websocket_accept_for(*key), peer_name());
        }
    }
}

Task<Result<std::unique_ptr<WebSocket>>> WebSocket::connect(std::string url_text,
                                                            WebSocketOptions options,
                                                            reactor::CancelToken token) {
    Result<Url> url = parse_ws_url(url_text);
    if (!url.ok()) {
        co_return std::move(url).error();
    }
    TcpOptions tcp{options.connect_timeout_ms, true, options.stream, options.public_only};
    auto sock = co_await tcp_connect(url->host, url->port, options.resolver, tcp, token);
    if (!sock.ok()) {
        co_return std::move(sock).error();
    }
    std::unique_ptr<ByteStream> stream;
    if (!url->secure) {
        stream = std::move(sock).value();
    } else {
        std::shared_ptr<TlsContext> ctx = options.tls;
        if (!ctx) {
            auto made = TlsContext::create(TlsContextOptions{options.ca_file});
            if (!made.ok()) {
                co_await (*sock)->close();
                co_return std::move(made).error();
            }
            ctx = std::move(made).value();
        }
        TlsOptions tls;
        tls.handshake_timeout_ms = options.handshake_timeout_ms;
        auto secured =
            co_await TlsStream::handshake(std::move(sock).value(), ctx, url->host, tls, token);
        if (!secured.ok()) {
            co_return std::move(secured).error();
        }
        stream = std::move(secured).value();
    }
    co_return co_await handshake(std::move(stream), std::move(url).value(), std::move(options),
                                 token);
}

// ---- sending ----

// A data frame can skip wslay's queue when nothing of wslay's is queued or half sent (no control
// frame may be cut in two, none overtaken), the close handshake has not begun and no direct frame
// is still partly unsent (its buffer is in use).
bool WebSocket::can_send_direct() const {
    return direct_sent_ == direct_.size() && wslay_event_get_write_enabled(ctx_) != 0 &&
           wslay_event_get_close_sent(ctx_) == 0 && wslay_event_want_write(ctx_) == 0 &&
           wslay_event_get_queued_msg_count(ctx_) == 0;
}

// One unfragmented frame (FIN, opcode, client mask) written into direct_, as wslay would frame
// it: the payload is masked while it is copied, and nothing is allocated once direct_ is warm.
bool WebSocket::frame_direct(std::uint8_t opcode, Bytes payload) {
    std::uint8_t mask[4];
    if (Callbacks::genmask(ctx_, mask, sizeof mask, this) != 0) {
        return false;
    }
    std::size_t n = payload.size();
    std::uint8_t head[14];
    std::size_t head_bytes = 2;
    head[0] = static_cast<std::uint8_t>(0x80u | opcode);
    if (n < 126) {
        head[1] = static_cast<std::uint8_t>(0x80u | n);
    } else if (n <= 0xffff) {
        head[1] = 0x80u | 126u;
        head[2] = static_cast<std::uint8_t>(n >> 8);
        head[3] = static_cast<std::uint8_t>(n);
        head_bytes = 4;
    } else {
        head[1] = 0x80u | 127u;
        for (std::size_t i = 0; i < 8; ++i) {
            head[2 + i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(n) >> (56 - 8 * i));
        }
        head_bytes = 10;
    }
    std::memcpy(head + head_bytes, mask, sizeof mask);
    head_bytes += sizeof mask;
    direct_.resize(head_bytes + n);
    std::memcpy(direct_.data(), head, head_bytes);
    std::uint8_t* out = direct_.data() + head_bytes;
    for (std::size_t i = 0; i < n; ++i) {
        out[i] = static_cast<std::uint8_t>(payload[i] ^ mask[i & 3]);
    }
    direct_sent_ = 0;
    return true;
}

// Hands what is left of the direct frame to the stream, waiting for room as needed.
Task<Status> WebSocket::flush_direct(std::int64_t timeout_ms) {
    while (direct_sent_ < direct_.size()) {
        Result<std::size_t> n = stream_->try_write(Bytes(direct_).subspan(direct_sent_));
        if (!n.ok()) {
            failed_ = true;
            co_return Error(Errc::closed, peer_name() + ": send failed (connection broken)");
        }
        direct_sent_ += *n;
        if (direct_sent_ < direct_.size()) {
            Status room = co_await stream_->wait_writable(timeout_ms, {});
            if (!room.ok()) {
                failed_ = true;
                co_return room;
            }
        }
    }
    co_return Ok{};
}

Task<Status> WebSocket::pump_send(std::int64_t timeout_ms) {
    if (direct_sent_ < direct_.size()) {
        Status flushed = co_await flush_direct(timeout_ms);  // a direct frame goes out whole first
        if (!flushed.ok()) {
            co_return flushed;
        }
    }
    for (;;) {
        if (wslay_event_send(ctx_) != 0) {
            failed_ = true;
            co_return Error(Errc::closed, peer_name() + ": send failed (connection broken)");
        }
        if (wslay_event_want_write(ctx_) == 0) {
            co_return Ok{};
        }
        Status room = co_await stream_->wait_writable(timeout_ms, {});
        if (!room.ok()) {
            failed_ = true;
            co_return room;
        }
    }
}

Task<Status> WebSocket::send_message(std::uint8_t opcode, Bytes bytes) {
    if (closed_ || failed_ || ctx_ == nullptr) {
        co_return Error(Errc::closed, peer_name() + ": WebSocket closed");
    }
    if (can_send_direct()) {
        if (!frame_direct(opcode, bytes)) {
            failed_ = true;
            co_return Error(Errc::closed, peer_name() + ": send failed (no random mask)");
        }
        co_return co_await flush_direct(options_.send_timeout_ms);
    }
    wslay_event_msg msg{opcode, bytes.data(), bytes.size()};
    if (wslay_event_queue_msg(ctx_, &msg) != 0) {
        co_return Error(Errc::closed, peer_name() + ": WebSocket is closing");
    }
    co_return co_await pump_send(options_.send_timeout_ms);
}

Task<Status> WebSocket::send_text(std::string_view text) {
    if (!is_valid_utf8(text)) {
        co_return Error(Errc::invalid_input, peer_name() + ": text message is not valid UTF-8");
    }
    co_return co_await send_message(WSLAY_TEXT_FRAME, as_bytes(text));
}

Task<Status> WebSocket::send_binary(Bytes bytes) {
    return send_message(WSLAY_BINARY_FRAME, bytes);
}

// ---- receiving ----

Error WebSocket::failure_from_wslay() {
    failed_ = true;
    if (close_code_ != 0) {
        std::string why = std::to_string(close_code_);
        if (!close_reason_.empty()) {
            why += " " + close_reason_;
        }
        return Error(Errc::closed, peer_name() + ": closed by peer: " + why);
    }
    if (frame_error_) {
        return Error(Errc::protocol,
                     peer_name() + ": WebSocket protocol error (a malformed frame); " +
                         (protocol_close_sent_ ? "closed with 1002"
                                               : "closed without a status code (1005)"));
    }
    std::uint16_t sent = wslay_event_get_status_code_sent(ctx_);
    if (sent == WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA) {
        return Error(Errc::protocol, peer_name() +
                                         ": invalid UTF-8 in a text message; closed "
                                         "with 1007");
    }
    return Error(Errc::protocol,
                 peer_name() + ": WebSocket protocol error; closed with " + std::to_string(sent));
}

// wslay's frame parser refused a frame (a control frame over 125 bytes or fragmented, ...) and
// queued a Close without a status code; RFC 6455 wants 1002. When nothing else of wslay's is
// queued or half sent (a frame must not be cut), ours goes instead of wslay's: this frames it
// into direct_ (true) for the caller to flush.
bool WebSocket::frame_protocol_close() {
    if (wslay_event_get_write_enabled(ctx_) == 0 || wslay_event_get_queued_msg_count(ctx_) != 1 ||
        direct_sent_ != direct_.size() || stream_->closed()) {
        return false;
    }
    wslay_event_shutdown_write(ctx_);
    return frame_direct(WSLAY_CONNECTION_CLOSE, Bytes(close_1002_payload));
}

// Sends a ping when one is due; an error when the last one went unanswered too long.
Result<bool> WebSocket::keepalive_due(std::int64_t now) {
    if (pong_deadline_ms_ != 0 && now >= pong_deadline_ms_) {
        failed_ = true;
        return Error(Errc::timeout, peer_name() + ": no pong within " +
                                        std::to_string(options_.pong_timeout_ms) +
                                        " ms (dead link)");
    }
    if (options_.ping_interval_ms <= 0 || now < next_ping_ms_) {
        return false;
    }
    next_ping_ms_ = now + options_.ping_interval_ms;
    if (pong_deadline_ms_ == 0) {
        pong_deadline_ms_ = now + options_.pong_timeout_ms;
    }
    std::uint8_t payload[8];
    std::uint64_t n = ++pings_sent_;
    std::memcpy(payload, &n, sizeof payload);
    wslay_event_msg ping{WSLAY_PING, payload, sizeof payload};
    return wslay_event_queue_msg(ctx_, &ping) == 0;
}

Task<Result<Message>> WebSocket::next_message(std::int64_t timeout_ms, reactor::CancelToken token) {
    if (front_returned_) {
        std::string done = std::move(ready_.front().second);
        ready_.pop();
        front_returned_ = false;
        if (spare_.size() < spare_buffers_max && done.capacity() <= spare_buffer_bytes_max) {
            spare_.push_back(std::move(done));
        }
    }
    constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();
    std::int64_t user_deadline = timeout_ms > 0 ? reactor::monotonic_ms() + timeout_ms : never;
    for (;;) {
        if (closed_ || ctx_ == nullptr) {
            co_return Error(Errc::closed, peer_name() + ": WebSocket closed");
        }
        if (ready_.empty() && !failed_ && wslay_event_get_read_enabled(ctx_) != 0) {
            if (wslay_event_recv(ctx_) != 0) {
                failed_ = true;
                frame_error_ = true;  // wslay's frame parser refused a frame
                if (frame_protocol_close()) {
                    Status sent = co_await flush_direct(options_.close_timeout_ms);
                    protocol_close_sent_ = sent.ok();
                }
            }
        }
        if (wslay_event_want_write(ctx_) != 0 && !failed_) {
            Status sent = co_await pump_send(options_.send_timeout_ms);  // pongs, close replies
            if (!sent.ok()) {
                co_return std::move(sent).error();
            }
        }
        if (!ready_.empty()) {
            front_returned_ = true;
            const auto& [kind, data] = ready_.front();
            co_return Message{kind, std::string_view(data)};
        }
        if (failed_ || wslay_event_get_read_enabled(ctx_) == 0) {
            co_return failure_from_wslay();
        }
        std::int64_t now = reactor::monotonic_ms();
        Result<bool> ping = keepalive_due(now);
        if (!ping.ok()) {
            co_return std::move(ping).error();
        }
        if (*ping) {
            continue;  // send it
        }
        if (now >= user_deadline) {
            co_return Error(Errc::timeout, peer_name() + ": no message within " +
                                               std::to_string(timeout_ms) + " ms");
        }
        if (!in_.empty()) {
            continue;  // wslay stopped early (ready queue was full)
        }
        std::int64_t wake = user_deadline;
        if (options_.ping_interval_ms > 0) {
            wake = std::min(wake, next_ping_ms_);
        }
        if (pong_deadline_ms_ != 0) {
            wake = std::min(wake, pong_deadline_ms_);
        }
        std::int64_t wait_ms = wake == never ? 0 : std::max<std::int64_t>(1, wake - now);
        Result<Bytes> got = co_await stream_->read(wait_ms, token);
        if (!got.ok()) {
            if (got.error().code() == Errc::timeout) {
                continue;  // a deadline of ours: the loop decides which
            }
            if (got.error().code() != Errc::cancelled) {
                failed_ = true;
            }
            co_return std::move(got).error();
        }
        if (got->empty()) {
            failed_ = true;
            co_return Error(Errc::closed,
                            peer_name() + ": connection closed without a WebSocket close frame");
        }
        in_ = *got;
    }
}

// ---- closing ----

Task<void> WebSocket::close(std::uint16_t code, std::string reason) {
    if (closed_) {
        co_return;
    }
    if (ctx_ != nullptr && wslay_event_get_write_enabled(ctx_) != 0 && !stream_->closed()) {
        if (reason.size() > close_reason_bytes_max || !is_valid_utf8(reason)) {
            reason.clear();
        }
        (void)wslay_event_queue_close(
            ctx_, code, reinterpret_cast<const std::uint8_t*>(reason.data()), reason.size());
        Deadline deadline(options_.close_timeout_ms, {});
        if ((co_await pump_send(options_.close_timeout_ms)).ok() &&
            (co_await stream_->flush(options_.close_timeout_ms, {})).ok()) {
            // Wait (bounded) for the peer's close frame, dropping any late messages.
            while (close_code_ == 0 && wslay_event_get_read_enabled(ctx_) != 0 &&
                   !deadline.fired()) {
                if (in_.empty()) {
                    Result<Bytes> got = co_await stream_->read(0, deadline.token());
                    if (!got.ok() || got->empty()) {
                        break;
                    }
                    in_ = *got;
                }
                while (!ready_.empty()) {
                    ready_.pop();
                }
                front_returned_ = false;
                if (wslay_event_recv(ctx_) != 0) {
                    break;
                }
            }
        }
    }
    if (!stream_->closed()) {
        (void)co_await stream_->flush(options_.close_timeout_ms, {});  // e.g. wslay's 1007 close
    }
    closed_ = true;
    co_await stream_->close();
}

}  // namespace pylon::net
