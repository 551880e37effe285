#include "tests/support/test_env.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "reactor/assert.hpp"

namespace pylon::test {

std::string source_dir() {
    return PYLON_SOURCE_DIR;
}

std::string binary_dir() {
    return PYLON_BINARY_DIR;
}

std::string tool_path(std::string_view name) {
    return binary_dir() + "/tools/" + std::string(name) + "/" + std::string(name);
}

Result<std::uint16_t> free_loopback_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return Error::from_errno(errno, "socket");
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        int e = errno;
        ::close(fd);
        return Error::from_errno(e, "bind 127.0.0.1:0");
    }
    ::close(fd);
    return static_cast<std::uint16_t>(ntohs(addr.sin_port));
}

std::optional<std::string> find_in_path(std::string_view name) {
    if (name.find('/') != std::string_view::npos) {
        return std::string(name);
    }
    const char* path = std::getenv("PATH");
    std::string_view rest = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
    while (!rest.empty()) {
        std::size_t colon = rest.find(':');
        std::string dir(rest.substr(0, colon));
        rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
        std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + std::string(name);
        if (::access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
    }
    return std::nullopt;
}

std::optional<std::string> node_binary() {
    return find_in_path("node");
}

std::string node_modules_dir() {
    return source_dir() + "/tests/node/node_modules";
}

std::string node_unavailable_reason() {
    if (!node_binary()) {
        return "Node peers unavailable: no `node` on PATH (run scripts/setup.sh --test)";
    }
    struct stat st {};
    std::string marker = node_modules_dir() + "/.package-lock.json";
    if (::stat(marker.c_str(), &st) != 0) {
        return "Node peers unavailable: " + node_modules_dir() +
               " is not installed (run `cd tests/node && npm ci` or scripts/setup.sh --test)";
    }
    return {};
}

bool node_available() {
    return node_unavailable_reason().empty();
}

ChildSpec node_script_spec(std::string_view script, std::vector<std::string> args) {
    ChildSpec spec;
    spec.argv.push_back(node_binary().value_or("node"));
    spec.argv.push_back(source_dir() + "/tests/node/" + std::string(script));
    for (auto& a : args) {
        spec.argv.push_back(std::move(a));
    }
    spec.cwd = source_dir() + "/tests/node";
    return spec;
}

Result<std::string> read_file(const std::string& path, std::size_t size_bytes_max) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return Error::from_errno(errno, "open " + path);
    }
    std::string out;
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int e = errno;
            ::close(fd);
            return Error::from_errno(e, "read " + path);
        }
        if (n == 0) {
            break;
        }
        if (out.size() + static_cast<std::size_t>(n) > size_bytes_max) {
            ::close(fd);
            return Error(Errc::too_large, path + ": larger than " + std::to_string(size_bytes_max));
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

Status write_file(const std::string& path, std::string_view content) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return Error::from_errno(errno, "open " + path);
    }
    while (!content.empty()) {
        ssize_t n = ::write(fd, content.data(), content.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int e = errno;
            ::close(fd);
            return Error::from_errno(e, "write " + path);
        }
        content.remove_prefix(static_cast<std::size_t>(n));
    }
    if (::close(fd) != 0) {
        return Error::from_errno(errno, "close " + path);
    }
    return Ok{};
}

bool wait_until(const std::function<bool()>& pred, int timeout_ms, int poll_ms) {
    PYLON_ASSERT(timeout_ms >= 0 && poll_ms > 0);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        if (pred()) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return pred();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
    }
}

}  // namespace pylon::test
