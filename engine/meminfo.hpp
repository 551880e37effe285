// MemInfo: the fields of /proc/meminfo the memory monitor needs, in bytes, and their parser.
// MemAvailable is estimated as MemFree + Cached + Buffers - Shmem when the kernel lacks it
// (before 3.14), as earlyoom does. Pure; any thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "reactor/result.hpp"

namespace pylon::engine {

inline constexpr std::size_t meminfo_bytes_max = 8192;  // earlyoom reads into 8 KiB too

struct MemInfo {
    std::uint64_t total_bytes = 0;      // MemTotal
    std::uint64_t available_bytes = 0;  // MemAvailable (or the estimate)
    std::uint64_t anon_bytes = 0;       // AnonPages
    std::uint64_t swap_total_bytes = 0;
    std::uint64_t swap_free_bytes = 0;
    bool available_estimated = false;
};

// Parses the text of /proc/meminfo ("Key:   123 kB" lines). corrupt when MemTotal is missing or
// neither MemAvailable nor the fields of its estimate are present.
Result<MemInfo> parse_meminfo(std::string_view text);

}  // namespace pylon::engine
