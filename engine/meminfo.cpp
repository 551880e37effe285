#include "engine/meminfo.hpp"

#include <charconv>
#include <optional>

namespace pylon::engine {
namespace {

// The value of "Key:   123 kB" in bytes, if the line is that key.
std::optional<std::uint64_t> value_of(std::string_view line, std::string_view key) {
    if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ':') {
        return std::nullopt;
    }
    std::string_view rest = line.substr(key.size() + 1);
    std::size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) {
        return std::nullopt;
    }
    rest.remove_prefix(start);
    std::uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
    if (ec != std::errc()) {
        return std::nullopt;
    }
    std::string_view unit = rest.substr(static_cast<std::size_t>(ptr - rest.data()));
    return unit == " kB" ? v * 1024 : v;
}

}  // namespace

Result<MemInfo> parse_meminfo(std::string_view text) {
    MemInfo m;
    std::optional<std::uint64_t> total;
    std::optional<std::uint64_t> available;
    std::uint64_t free = 0;
    std::uint64_t cached = 0;
    std::uint64_t buffers = 0;
    std::uint64_t shmem = 0;
    bool have_free = false;
    while (!text.empty()) {
        std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        if (auto v = value_of(line, "MemTotal")) {
            total = *v;
        } else if (auto a = value_of(line, "MemAvailable")) {
            available = *a;
        } else if (auto f = value_of(line, "MemFree")) {
            free = *f;
            have_free = true;
        } else if (auto c = value_of(line, "Cached")) {
            cached = *c;
        } else if (auto b = value_of(line, "Buffers")) {
            buffers = *b;
        } else if (auto s = value_of(line, "Shmem")) {
            shmem = *s;
        } else if (auto an = value_of(line, "AnonPages")) {
            m.anon_bytes = *an;
        } else if (auto st = value_of(line, "SwapTotal")) {
            m.swap_total_bytes = *st;
        } else if (auto sf = value_of(line, "SwapFree")) {
            m.swap_free_bytes = *sf;
        }
    }
    if (!total || *total == 0) {
        return Error(Errc::corrupt, "/proc/meminfo: no MemTotal");
    }
    m.total_bytes = *total;
    if (available) {
        m.available_bytes = *available;
    } else if (have_free) {
        std::uint64_t sum = free + cached + buffers;
        m.available_bytes = sum > shmem ? sum - shmem : 0;
        m.available_estimated = true;
    } else {
        return Error(Errc::corrupt, "/proc/meminfo: no MemAvailable or MemFree");
    }
    return m;
}

}  // namespace pylon::engine
