#include "engine/memory_policy.hpp"

#include <algorithm>

namespace pylon::engine {
namespace {

std::uint64_t percent_of(std::uint64_t base, unsigned percent) {
    return base / 100 * percent + base % 100 * percent / 100;
}

std::uint64_t with_margin(std::uint64_t threshold, unsigned margin_percent) {
    return threshold + percent_of(threshold, margin_percent);
}

}  // namespace

const char* memory_level_name(MemoryLevel level) noexcept {
    switch (level) {
        case MemoryLevel::normal:
            return "normal";
        case MemoryLevel::low:
            return "low";
        case MemoryLevel::critical:
            return "critical";
    }
    return "?";
}

MemoryAssessment assess_memory(const MemInfo& mem, const MemoryThresholds& t,
                               MemoryLevel previous) {
    MemoryAssessment a;
    a.base_bytes = mem.available_bytes + mem.anon_bytes;
    if (a.base_bytes == 0) {
        a.base_bytes = mem.total_bytes;
    }
    a.available_percent = a.base_bytes > 0 ? 100.0 * static_cast<double>(mem.available_bytes) /
                                                 static_cast<double>(a.base_bytes)
                                           : 0.0;
    a.low_threshold_bytes =
        std::min(t.min_available_bytes, percent_of(a.base_bytes, t.low_available_percent));
    a.critical_threshold_bytes = std::min(t.critical_threshold_bytes,
                                          percent_of(a.base_bytes, t.critical_available_percent));
    // Swap: with swap configured, memory is only short when free swap is short too.
    bool swap_low = true;
    bool swap_critical = true;
    if (mem.swap_total_bytes > 0) {
        swap_low = mem.swap_free_bytes <= percent_of(mem.swap_total_bytes, t.low_available_percent);
        swap_critical =
            mem.swap_free_bytes <= percent_of(mem.swap_total_bytes, t.critical_available_percent);
    }
    std::uint64_t avail = mem.available_bytes;
    std::uint64_t crit_line =
        previous == MemoryLevel::critical
            ? with_margin(a.critical_threshold_bytes, t.recover_margin_percent)
            : a.critical_threshold_bytes;
    std::uint64_t low_line = previous != MemoryLevel::normal
                                 ? with_margin(a.low_threshold_bytes, t.recover_margin_percent)
                                 : a.low_threshold_bytes;
    if (avail <= crit_line && swap_critical) {
        a.level = MemoryLevel::critical;
    } else if (avail <= low_line && swap_low) {
        a.level = MemoryLevel::low;
    }
    if (a.level != MemoryLevel::normal) {
        a.next_poll_ms = t.poll_min_ms;
        return a;
    }
    std::uint64_t headroom = avail > a.low_threshold_bytes ? avail - a.low_threshold_bytes : 0;
    std::uint64_t rate = std::max<std::uint64_t>(t.fill_rate_bytes_per_s, 1);
    auto ms = static_cast<std::int64_t>(headroom / rate * 1000 + headroom % rate * 1000 / rate);
    a.next_poll_ms = std::clamp(ms, t.poll_min_ms, std::max(t.poll_min_ms, t.poll_max_ms));
    return a;
}

}  // namespace pylon::engine
