#include "tools/pylon_bench/ws_server_frame.hpp"

#include <strings.h>

#include "net/websocket.hpp"

namespace pylon::bench {

FrameRead read_client_frame(char* data, std::size_t size, std::size_t payload_bytes_max,
                            ClientFrame* out) noexcept {
    if (size < 2) {
        return FrameRead::need_more;
    }
    auto b0 = static_cast<std::uint8_t>(data[0]);
    auto b1 = static_cast<std::uint8_t>(data[1]);
    if ((b0 & 0x70) != 0) {
        out->error = "reserved bits set";
        return FrameRead::error;
    }
    if ((b1 & 0x80) == 0) {
        out->error = "unmasked client frame";
        return FrameRead::error;
    }
    std::size_t pos = 2;
    std::uint64_t len = b1 & 0x7F;
    std::size_t ext = len == 126 ? 2 : len == 127 ? 8 : 0;
    if (size < pos + ext + 4) {
        return FrameRead::need_more;
    }
    if (ext != 0) {
        len = 0;
        for (std::size_t i = 0; i < ext; i++) {
            len = (len << 8) | static_cast<std::uint8_t>(data[pos + i]);
        }
        pos += ext;
    }
    if (len > payload_bytes_max) {
        out->error = "frame above the size bound";
        return FrameRead::error;
    }
    const char* mask = data + pos;
    pos += 4;
    auto n = static_cast<std::size_t>(len);
    if (size - pos < n) {
        return FrameRead::need_more;
    }
    char* p = data + pos;
    for (std::size_t i = 0; i < n; i++) {
        p[i] = static_cast<char>(p[i] ^ mask[i & 3]);
    }
    out->opcode = b0 & 0x0F;
    out->fin = (b0 & 0x80) != 0;
    out->payload = std::string_view(p, n);
    out->frame_bytes = pos + n;
    return FrameRead::frame;
}

void append_server_frame_header(std::string& out, std::uint8_t opcode, std::size_t payload_bytes) {
    out.push_back(static_cast<char>(0x80 | opcode));
    if (payload_bytes < 126) {
        out.push_back(static_cast<char>(payload_bytes));
    } else if (payload_bytes <= 0xFFFF) {
        out.push_back(static_cast<char>(126));
        out.push_back(static_cast<char>((payload_bytes >> 8) & 0xFF));
        out.push_back(static_cast<char>(payload_bytes & 0xFF));
    } else {
        out.push_back(static_cast<char>(127));
        for (int shift = 56; shift >= 0; shift -= 8) {
            out.push_back(static_cast<char>((payload_bytes >> shift) & 0xFF));
        }
    }
}

void append_server_frame(std::string& out, std::uint8_t opcode, std::string_view payload) {
    append_server_frame_header(out, opcode, payload.size());
    out.append(payload);
}

std::string_view upgrade_request_key(std::string_view head) noexcept {
    constexpr std::string_view name = "sec-websocket-key:";
    std::size_t line = 0;
    while (line < head.size()) {
        std::size_t end = head.find("\r\n", line);
        if (end == std::string_view::npos) {
            end = head.size();
        }
        std::string_view l = head.substr(line, end - line);
        if (l.size() > name.size() && ::strncasecmp(l.data(), name.data(), name.size()) == 0) {
            std::string_view v = l.substr(name.size());
            while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
                v.remove_prefix(1);
            }
            while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) {
                v.remove_suffix(1);
            }
            return v;
        }
        line = end + 2;
    }
    return {};
}

std::string upgrade_response(std::string_view key) {
    return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Accept: " +
           net::websocket_accept_for(key) + "\r\n\r\n";
}

}  // namespace pylon::bench
