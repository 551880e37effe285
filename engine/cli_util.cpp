#include "engine/cli_util.hpp"

#include <fstream>
#include <vector>

#include "net/unix_socket.hpp"
#include "proto/json_reader.hpp"

namespace pylon::engine {

namespace {

constexpr std::size_t cmdline_bytes_max = 64 * 1024;

// A node that holds the socket's lock (net::listener_holds) but did not answer: running.
DaemonLink silent_node(const Home& home, const std::string& why) {
    DaemonLink link;
    if (net::listener_holds(home.socket_path())) {
        link.pid = PidInfo{PidState::running, 0};
        link.silent = true;
        link.error =
            "a node without a pid file holds this home's control socket but did not "
            "answer: " +
            why;
    }
    return link;
}

// No pid file: a `--managed` node or an embedding host's Runtime may still serve this home's
// control socket. It counts as running (with the pid it reports) if it answers Health, and as
// running with an unknown pid (link.error says why) if it answers with a refusal (too many
// control connections), or does not answer at all but holds the socket's lock: a live node,
// only a busy (or stopped, SIGSTOP) one.
DaemonLink find_without_pid_file(const Home& home) {
    DaemonLink link;
    auto client = ControlClient::connect(home.socket_path());
    if (!client.ok()) {
        return silent_node(home, client.error().message());
    }
    auto reply = client->request("\"Health\"");
    std::string refused;
    if (reply.ok() && reply->tag == "Error") {
        refused = reply->error;
    } else if (!reply.ok() && reply.error().code() == Errc::busy) {
        refused = reply.error().message();
    }
    if (!refused.empty()) {
        link.pid = PidInfo{PidState::running, 0};
        link.error =
            "a node without a pid file serves this home's control socket but refused: " + refused;
        return link;
    }
    if (!reply.ok()) {
        return silent_node(home, reply.error().message());
    }
    proto::JsonReader reader(control_reply_limits());
    proto::HealthReply health;
    if (reply->tag != "Health" ||
        proto::decode_health(reply->body_json, reader, health) != proto::Reject::none ||
        health.pid <= 0) {
        return link;
    }
    link.pid = PidInfo{PidState::running, static_cast<pid_t>(health.pid)};
    link.client.emplace(std::move(client.value()));
    return link;
}

}  // namespace

DaemonLink find_daemon(const Home& home) {
    DaemonLink link;
    auto info = PidFile::inspect(home.pid_path());
    if (!info.ok()) {
        // EACCES and the like: whether a daemon runs is unknown, which is not "stopped".
        link.pid_error = info.error().message();
        return link;
    }
    link.pid = info.value();
    if (link.pid.state == PidState::absent) {
        return find_without_pid_file(home);
    }
    if (link.pid.state != PidState::running) {
        return link;
    }
    auto client = ControlClient::connect(home.socket_path());
    if (client.ok()) {
        link.client.emplace(std::move(client.value()));
    } else {
        link.error = client.error().message();
    }
    return link;
}

NodeConfigPath node_config_path(const Home& home, pid_t pid, int ask_ms) {
    if (auto client = ControlClient::connect(home.socket_path(), ask_ms); client.ok()) {
        auto reply = client->request("\"Health\"");
        proto::JsonReader reader(control_reply_limits());
        proto::HealthReply health;
        if (reply.ok() && reply->tag == "Health" &&
            proto::decode_health(reply->body_json, reader, health) == proto::Reject::none &&
            !health.config.empty()) {
            return {health.config, health.config != home.config_path()};
        }
    }
    // An older node, or one that does not answer: its command line.
    std::ifstream f("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    std::string raw(cmdline_bytes_max, '\0');
    f.read(raw.data(), static_cast<std::streamsize>(raw.size()));
    raw.resize(static_cast<std::size_t>(f.gcount()));
    std::vector<std::string> argv;
    for (std::size_t start = 0; start < raw.size();) {
        std::size_t end = raw.find('\0', start);
        end = end == std::string::npos ? raw.size() : end;
        argv.push_back(raw.substr(start, end - start));
        start = end + 1;
    }
    for (std::size_t i = 0; i < argv.size(); i++) {
        const std::string& a = argv[i];
        if ((a == "-c" || a == "--config") && i + 1 < argv.size()) {
            return {argv[i + 1], true};
        }
        if (a.starts_with("--config=")) {
            return {a.substr(9), true};
        }
        if (a.size() > 2 && a.starts_with("-c")) {
            return {a.substr(2), true};  // -cPATH
        }
    }
    return {home.config_path(), false};
}

std::string pid_text(const PidInfo& pid) {
    return pid.pid > 0 ? "PID " + std::to_string(pid.pid) : std::string("PID unknown");
}

int report_not_running(CliContext& ctx) {
    std::fprintf(ctx.err, "Pylon daemon is not running. Start it with: pylon start\n");
    return exit_not_running;
}

std::string format_uptime(std::uint64_t secs) {
    std::uint64_t h = secs / 3600;
    std::uint64_t m = (secs % 3600) / 60;
    std::uint64_t s = secs % 60;
    if (h > 0) {
        return std::to_string(h) + "h " + std::to_string(m) + "m " + std::to_string(s) + "s";
    }
    if (m > 0) {
        return std::to_string(m) + "m " + std::to_string(s) + "s";
    }
    return std::to_string(s) + "s";
}

std::string format_age(std::int64_t unix_s, std::int64_t now_s) {
    std::int64_t d = now_s - unix_s;
    if (d < 5) {
        return "just now";
    }
    if (d < 60) {
        return std::to_string(d) + "s ago";
    }
    if (d < 3600) {
        return std::to_string(d / 60) + "m ago";
    }
    if (d < 86400) {
        return std::to_string(d / 3600) + "h ago";
    }
    return std::to_string(d / 86400) + "d ago";
}

std::string format_sats(std::int64_t msats) {
    return std::to_string(msats / 1000) + " sats (" + std::to_string(msats) + " msats)";
}

std::string format_bytes(std::uint64_t bytes) {
    char buf[32];
    constexpr double gib = 1024.0 * 1024.0 * 1024.0;
    if (bytes >= (1ULL << 30)) {
        std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / gib);
    } else if (bytes >= (1ULL << 20)) {
        std::snprintf(buf, sizeof buf, "%llu MiB", static_cast<unsigned long long>(bytes >> 20));
    } else {
        std::snprintf(buf, sizeof buf, "%llu KiB", static_cast<unsigned long long>(bytes >> 10));
    }
    return buf;
}

}  // namespace pylon::engine
