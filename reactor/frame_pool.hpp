// FramePool: a per-thread cache of freed coroutine frames, so that the steady-state paths that
// start a coroutine per message (a stream's read(), a WebSocket's next_message()) reuse frames
// instead of calling the global allocator for each. Task and DetachedFrame promises allocate
// through it. Frames are grouped in size classes of frame_class_bytes; each class keeps at most
// frames_cached_per_class_max freed frames and a thread keeps at most frame_cache_bytes_max in
// all, so the cache is bounded whatever the workload; bigger frames and overflow go straight to
// the global allocator. A frame freed on another thread than the one that allocated it simply
// joins that thread's cache (the memory comes from the global allocator either way). A thread's
// cache is released when the thread exits.
// Sanitizer builds bypass the cache (the sanitizer must see every frame's lifetime to catch a
// use after free).
// Thread-local: no locks; any thread may allocate and free.
#pragma once

#include <cstddef>
#include <cstdint>

#include "reactor/sanitizer.hpp"

namespace pylon::reactor {

inline constexpr std::size_t frame_class_bytes = 64;
inline constexpr std::size_t frame_cached_bytes_max = 2048;  // bigger frames are not cached
inline constexpr std::size_t frames_cached_per_class_max = 64;
inline constexpr std::size_t frame_cache_bytes_max = 256 * 1024;  // per thread, all classes

struct FramePoolStats {
    std::uint64_t allocations = 0;  // frames handed out
    std::uint64_t reused = 0;       // of those, taken from the cache
    std::size_t cached_bytes = 0;   // held in the cache now
};

class FramePool {
  public:
    static void* allocate(std::size_t bytes);
    static void release(void* frame, std::size_t bytes) noexcept;
    // This thread's figures (for tests and benchmarks).
    static FramePoolStats stats() noexcept;
    // Whether frames are cached at all in this build (false under sanitizers).
    static constexpr bool enabled() noexcept { return PYLON_UNDER_SANITIZER == 0; }
};

}  // namespace pylon::reactor
