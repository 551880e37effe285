// MemoryPolicy: how full memory is, as a level, and how soon to look again. Pure arithmetic on a
// MemInfo snapshot, so the thresholds and the adaptive interval are tested without a machine.
//
// Levels use autopilotd's names and defaults (min_available_bytes 2 GiB = low,
// critical_threshold_bytes 1 GiB = critical) together with earlyoom's percentages (10% / 5%)
// of MemAvailable + AnonPages (earlyoom 1.8's "user memory", so a full tmpfs cannot keep the
// threshold out of reach); as in earlyoom, where a size and a percentage are both given the
// lower threshold applies. Swap counts as in earlyoom: with swap configured, memory is low only
// when free swap is low too (no swap: memory alone decides). A level is left only once memory
// is recover_margin_percent above its threshold, so admission does not flap.
//
// The next poll comes after the time the headroom above the low threshold would take to fill at
// fill_rate_bytes_per_s (earlyoom: 6000 MiB/s), between poll_min_ms and poll_max_ms; under
// pressure, poll_min_ms.
#pragma once

#include <cstdint>

#include "engine/meminfo.hpp"

namespace pylon::engine {

enum class MemoryLevel : unsigned char { normal, low, critical };
const char* memory_level_name(MemoryLevel level) noexcept;

struct MemoryThresholds {
    std::uint64_t min_available_bytes = 2ULL << 30;
    std::uint64_t critical_threshold_bytes = 1ULL << 30;
    unsigned low_available_percent = 10;
    unsigned critical_available_percent = 5;
    unsigned recover_margin_percent = 10;
    std::int64_t poll_min_ms = 100;
    std::int64_t poll_max_ms = 1000;
    std::uint64_t fill_rate_bytes_per_s = 6000ULL << 20;
};

struct MemoryAssessment {
    MemoryLevel level = MemoryLevel::normal;
    std::uint64_t low_threshold_bytes = 0;  // the thresholds that applied
    std::uint64_t critical_threshold_bytes = 0;
    std::uint64_t base_bytes = 0;      // MemAvailable + AnonPages
    double available_percent = 100.0;  // of base_bytes
    std::int64_t next_poll_ms = 0;
};

MemoryAssessment assess_memory(const MemInfo& mem, const MemoryThresholds& thresholds,
                               MemoryLevel previous);

}  // namespace pylon::engine
