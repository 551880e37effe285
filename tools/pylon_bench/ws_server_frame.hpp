// WsServerFrame: the server side of RFC 6455 framing for the relay simulator (measurement
// equipment, not a product server). Reads one client frame (which must be masked) from the
// front of a byte buffer and unmasks its payload where it lies; writes unmasked server frames
// into a caller-owned string. Also the opening handshake's request parsing (the
// Sec-WebSocket-Key) and the 101 answer. Pure functions on caller buffers; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pylon::bench {

inline constexpr std::uint8_t ws_op_continuation = 0x0;
inline constexpr std::uint8_t ws_op_text = 0x1;
inline constexpr std::uint8_t ws_op_binary = 0x2;
inline constexpr std::uint8_t ws_op_close = 0x8;
inline constexpr std::uint8_t ws_op_ping = 0x9;
inline constexpr std::uint8_t ws_op_pong = 0xA;

enum class FrameRead : std::uint8_t { need_more, frame, error };

struct ClientFrame {
    std::uint8_t opcode = 0;
    bool fin = false;
    std::string_view payload;  // unmasked, inside the caller's buffer
    std::size_t frame_bytes = 0;
    const char* error = "";  // for FrameRead::error
};

// Reads the frame at data[0..size); unmasks its payload in place. Frames above
// payload_bytes_max, unmasked frames and reserved bits are errors.
FrameRead read_client_frame(char* data, std::size_t size, std::size_t payload_bytes_max,
                            ClientFrame* out) noexcept;

// Appends one unmasked, final server frame.
void append_server_frame(std::string& out, std::uint8_t opcode, std::string_view payload);
// Appends the frame header only (the payload follows, written by the caller).
void append_server_frame_header(std::string& out, std::uint8_t opcode, std::size_t payload_bytes);

// The Sec-WebSocket-Key of a complete HTTP upgrade request head ("" when absent).
std::string_view upgrade_request_key(std::string_view head) noexcept;
// The "101 Switching Protocols" response for `key`.
std::string upgrade_response(std::string_view key);

}  // namespace pylon::bench
