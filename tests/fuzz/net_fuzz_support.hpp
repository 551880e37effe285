// Shared by the net/ libFuzzer targets. Each target compiles the net/ sources it fuzzes into
// itself (see the .cpp includes at the top of each target): the fuzz build links pylon_proto
// only, and compiling them here lets libFuzzer instrument them. Header-only.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

#define NET_FUZZ_CHECK(cond)                                                             \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            std::fprintf(stderr, "NET_FUZZ_CHECK failed: %s (%s:%d)\n", #cond, __FILE__, \
                         __LINE__);                                                      \
            std::abort();                                                                \
        }                                                                                \
    } while (0)

namespace pylon::net::fuzz {

// Split points for feeding the same input in pieces: derived from the input itself.
inline std::size_t piece_size(const std::uint8_t* data, std::size_t size) {
    return size == 0 ? 1 : 1 + data[0] % 17;
}

inline std::span<const std::uint8_t> bytes(const std::uint8_t* data, std::size_t size) {
    return {data, size};
}

}  // namespace pylon::net::fuzz
