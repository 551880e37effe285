#include "reactor/frame_pool.hpp"

#include <array>
#include <new>

namespace pylon::reactor {
namespace {

constexpr std::size_t class_count = frame_cached_bytes_max / frame_class_bytes;

struct FreeFrame {
    FreeFrame* next;
};

// Set when this thread's cache has been destroyed (thread exit): frames freed later, by other
// thread_local or static destructors, go straight back to the global allocator.
thread_local bool t_cache_gone = false;

// One thread's cache: a singly linked free list per size class.
class ThreadCache {
  public:
    ThreadCache() = default;
    ThreadCache(const ThreadCache&) = delete;
    ThreadCache& operator=(const ThreadCache&) = delete;
    ~ThreadCache() {
        t_cache_gone = true;
        for (std::size_t c = 0; c < class_count; ++c) {
            while (FreeFrame* f = heads_[c]) {
                heads_[c] = f->next;
                ::operator delete(static_cast<void*>(f), (c + 1) * frame_class_bytes);
            }
        }
    }

    void* take(std::size_t c) noexcept {
        FreeFrame* f = heads_[c];
        if (f == nullptr) {
            return nullptr;
        }
        heads_[c] = f->next;
        counts_[c]--;
        stats_.cached_bytes -= (c + 1) * frame_class_bytes;
        stats_.reused++;
        return f;
    }

    bool keep(void* frame, std::size_t c) noexcept {
        std::size_t bytes = (c + 1) * frame_class_bytes;
        if (counts_[c] >= frames_cached_per_class_max ||
            stats_.cached_bytes + bytes > frame_cache_bytes_max) {
            return false;
        }
        auto* f = ::new (frame) FreeFrame{heads_[c]};
        heads_[c] = f;
        counts_[c]++;
        stats_.cached_bytes += bytes;
        return true;
    }

    FramePoolStats& stats() noexcept { return stats_; }

  private:
    std::array<FreeFrame*, class_count> heads_{};
    std::array<std::size_t, class_count> counts_{};
    FramePoolStats stats_;
};

// This thread's cache, or null once it has been destroyed.
ThreadCache* cache() noexcept {
    if (t_cache_gone) {
        return nullptr;
    }
    thread_local ThreadCache c;
    return &c;
}

// The class of a frame of `bytes`, or class_count when it is not cached.
std::size_t class_of(std::size_t bytes) noexcept {
    if (!FramePool::enabled() || bytes == 0 || bytes > frame_cached_bytes_max) {
        return class_count;
    }
    return (bytes - 1) / frame_class_bytes;
}

}  // namespace

void* FramePool::allocate(std::size_t bytes) {
    ThreadCache* tc = cache();
    std::size_t c = class_of(bytes);
    if (tc != nullptr) {
        tc->stats().allocations++;
    }
    if (c == class_count) {
        return ::operator new(bytes);
    }
    if (void* p = tc != nullptr ? tc->take(c) : nullptr) {
        return p;
    }
    return ::operator new((c + 1) * frame_class_bytes);
}

void FramePool::release(void* frame, std::size_t bytes) noexcept {
    if (frame == nullptr) {
        return;
    }
    std::size_t c = class_of(bytes);
    if (c == class_count) {
        ::operator delete(frame, bytes);
        return;
    }
    ThreadCache* tc = cache();
    if (tc == nullptr || !tc->keep(frame, c)) {
        ::operator delete(frame, (c + 1) * frame_class_bytes);
    }
}

FramePoolStats FramePool::stats() noexcept {
    ThreadCache* tc = cache();
    return tc != nullptr ? tc->stats() : FramePoolStats{};
}

}  // namespace pylon::reactor
