// FAKE_ASSERT: always-on assertion for the fake backends. The fakes deliberately depend on
// nothing of Pylon's (not even reactor/, which is written concurrently), so they carry this
// four-line twin of PYLON_ASSERT. A failure is a bug in the fake: print and abort.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FAKE_ASSERT(cond)                                                                 \
    do {                                                                                  \
        if (__builtin_expect(!(cond), 0)) {                                               \
            std::fprintf(stderr, "fake: assertion failed: %s (%s:%d)\n", #cond, __FILE__, \
                         __LINE__);                                                       \
            std::abort();                                                                 \
        }                                                                                 \
    } while (0)
