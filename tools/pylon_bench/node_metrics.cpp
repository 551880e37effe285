#include "tools/pylon_bench/node_metrics.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "proto/json_reader.hpp"

namespace pylon::bench {
namespace {

struct Fd {
    int fd;
    ~Fd() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

bool number_after(const std::string& text, std::size_t from, const char* key, double* out) {
    std::size_t at = text.find(key, from);
    if (at == std::string::npos) {
        return false;
    }
    const char* start = text.c_str() + at + std::strlen(key);
    char* end = nullptr;
    double v = std::strtod(start, &end);
    if (end == start) {
        return false;
    }
    *out = v;
    return true;
}

}  // namespace

Result<std::string> control_request(const std::string& socket_path, const std::string& line) {
    sockaddr_un addr{};
    if (socket_path.size() >= sizeof addr.sun_path) {
        return Error(Errc::invalid_input, "control socket path too long: " + socket_path);
    }
    Fd s{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (s.fd < 0) {
        return Error::from_errno(errno, "socket");
    }
    timeval tv{control_timeout_ms / 1000, (control_timeout_ms % 1000) * 1000};
    ::setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(s.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
    if (::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        return Error::from_errno(errno, "connect " + socket_path);
    }
    std::string out = line + "\n";
    if (::send(s.fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) {
        return Error::from_errno(errno, "send to " + socket_path);
    }
    std::string reply;
    char buf[4096];
    while (reply.find('\n') == std::string::npos && reply.size() < control_reply_bytes_max) {
        ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
        if (n <= 0) {
            return Error::from_errno(n == 0 ? ECONNRESET : errno, "read from " + socket_path);
        }
        reply.append(buf, static_cast<std::size_t>(n));
    }
    return reply.substr(0, reply.find('\n'));
}

bool parse_token_latency(const std::string& reply, TokenLatency* out) {
    std::size_t at = reply.find("\"token_latency_us\"");
    if (at == std::string::npos) {
        return false;
    }
    double count = 0;
    TokenLatency t;
    bool ok = number_after(reply, at, "\"count\":", &count) &&
              number_after(reply, at, "\"p50\":", &t.p50_us) &&
              number_after(reply, at, "\"p99\":", &t.p99_us) &&
              number_after(reply, at, "\"p999\":", &t.p999_us) &&
              number_after(reply, at, "\"max\":", &t.max_us) &&
              number_after(reply, at, "\"mean\":", &t.mean_us);
    if (!ok) {
        return false;
    }
    t.count = static_cast<std::uint64_t>(count);
    t.present = true;
    *out = t;
    return true;
}

Result<TokenLatency> query_token_latency(const std::string& socket_path, bool reset) {
    auto reply = control_request(
        socket_path, reset ? "{\"Metrics\":{\"reset\":true}}" : "{\"Metrics\":{\"reset\":false}}");
    if (!reply.ok()) {
        return reply.error();
    }
    TokenLatency t;
    if (!parse_token_latency(*reply, &t)) {
        return Error(Errc::protocol, "the node's Metrics answer has no token latency: " + *reply);
    }
    return t;
}

Result<proto::StoreInfo> query_store(const std::string& socket_path) {
    auto reply = control_request(socket_path, "\"Store\"");
    if (!reply.ok()) {
        return reply.error();
    }
    proto::JsonReader reader;
    proto::ControlReply parsed;
    proto::StoreInfo info;
    if (proto::parse_control_reply(*reply, reader, parsed) != proto::Reject::none ||
        parsed.tag != "Store" ||
        proto::decode_store(parsed.body_json, reader, info) != proto::Reject::none) {
        return Error(Errc::protocol, "the node's Store answer is not a Store object: " + *reply);
    }
    return info;
}

}  // namespace pylon::bench
