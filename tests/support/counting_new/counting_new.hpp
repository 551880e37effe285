// A replaced global operator new/delete for tests that count the heap: how many allocations the
// calling thread makes, and how many bytes it frees (each block carries its requested size in a
// header). Link the OBJECT library pylon_counting_new into exactly the test executables that
// count; every other test keeps the normal allocator.
// Not available under sanitizers (they replace operator new themselves): `enabled` is false
// there and the replacement is not compiled, so tests skip.
#pragma once

#include <cstddef>
#include <cstdint>

#include "reactor/sanitizer.hpp"

namespace pylon::testing::counting_new {

inline constexpr bool enabled = PYLON_UNDER_SANITIZER == 0;

// What the calling thread did while counting was on.
struct Counts {
    std::uint64_t allocations = 0;
    std::size_t freed_bytes = 0;
};

// Zeroes the calling thread's counts and starts counting (allocations and frees).
void start();
// Stops counting on the calling thread and returns what was counted since start().
Counts stop();

}  // namespace pylon::testing::counting_new
