// PYLON_UNDER_SANITIZER: 1 when this translation unit is built with AddressSanitizer or
// ThreadSanitizer, else 0. Code that must behave differently there (the coroutine frame cache
// is bypassed, allocation-counting and stack-depth tests scale down) tests this one macro. GCC
// announces the sanitizers with __SANITIZE_ADDRESS__ / __SANITIZE_THREAD__; clang (14 at least)
// does not define those and answers only __has_feature. Compile-time only: no state, any thread.
#pragma once

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PYLON_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PYLON_UNDER_SANITIZER 1
#endif
#endif
#ifndef PYLON_UNDER_SANITIZER
#define PYLON_UNDER_SANITIZER 0
#endif
