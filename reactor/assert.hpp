// Always-on assertions. A failed PYLON_ASSERT is a bug in Pylon, never an operating error: it
// prints the condition, file and line (and an optional message) to stderr and aborts. They stay
// on in release builds because crashing beats running on corrupt state (see docs/STYLE notes).
// Safe to use from any thread.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace pylon::reactor::detail {

[[noreturn]] inline void assert_fail(const char* expr, const char* file, int line,
                                     const char* msg) noexcept {
    std::fprintf(stderr, "pylon: assertion failed: %s (%s:%d)%s%s\n", expr, file, line,
                 msg != nullptr ? ": " : "", msg != nullptr ? msg : "");
    std::fflush(stderr);
    std::abort();
}

}  // namespace pylon::reactor::detail

#define PYLON_ASSERT(cond)                                                             \
    do {                                                                               \
        if (__builtin_expect(!(cond), 0)) {                                            \
            ::pylon::reactor::detail::assert_fail(#cond, __FILE__, __LINE__, nullptr); \
        }                                                                              \
    } while (0)

#define PYLON_ASSERT_MSG(cond, msg)                                                  \
    do {                                                                             \
        if (__builtin_expect(!(cond), 0)) {                                          \
            ::pylon::reactor::detail::assert_fail(#cond, __FILE__, __LINE__, (msg)); \
        }                                                                            \
    } while (0)

#define PYLON_UNREACHABLE() \
    ::pylon::reactor::detail::assert_fail("unreachable", __FILE__, __LINE__, nullptr)
