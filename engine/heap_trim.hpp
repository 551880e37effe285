// Heap trim: hands the free pages an idle thread's allocator keeps back to the kernel.
//
// mimalloc keeps the pages a burst of work freed until the same thread allocates again (its
// delayed decommit runs inside later allocations), so one large request (a 900 KB prompt goes
// through a WebSocket message, the parser, the job, the store row and the backend's body) leaves
// ~9 MB resident on a node that then sits idle (bench/README.md, "what one large request leaves
// behind"). The allocator is the binary's choice (tools/pylon links mimalloc; tests and
// sanitizer builds do not), so the binary registers how to trim (set_heap_trim: mi_collect(true)
// there) and engine threads call trim_thread_heap() on themselves: mimalloc's heaps are per
// thread. IdleTrim says when: once, after a few idle ticks that follow work, so that a busy
// thread never pays for it and an idle one pays once.
//
// Thread rules: set_heap_trim before the threads start (it is read with acquire ordering, so a
// late registration is seen, just not by a trim already running); the rest on any thread.
#pragma once

#include <cstdint>

namespace pylon::engine {

using HeapTrimFn = void (*)();

// How long the store thread stays idle after work before it trims (a shard: after two idle
// sweeps of 1 s, so 1-2 s).
inline constexpr std::int64_t heap_trim_idle_ms = 2000;

void set_heap_trim(HeapTrimFn fn) noexcept;

struct HeapTrimReport {
    bool ran = false;              // false: no trim registered
    std::uint64_t rss_before = 0;  // the process's resident bytes before and after (0: unknown)
    std::uint64_t rss_after = 0;
};

// Runs the registered trim on the calling thread.
HeapTrimReport trim_thread_heap() noexcept;
// Logs what a trim by `who` ("shard", "store") did, at debug level ("memory: idle shard thread
// handed back its free heap pages: RSS 25.0 -> 16.3 MB"); nothing when none ran.
void log_heap_trim(const char* who, const HeapTrimReport& report);

// Decides when a thread trims: after `idle_ticks` ticks in a row with nothing open, once work
// happened since the last trim (worked(), or a tick while busy).
class IdleTrim {
  public:
    explicit IdleTrim(unsigned idle_ticks = 2) noexcept : idle_ticks_(idle_ticks) {}
    void worked() noexcept {
        dirty_ = true;
        idle_ = 0;
    }
    // One tick of the thread's clock; true when the trim is due now.
    bool tick(bool busy) noexcept {
        if (busy) {
            worked();
            return false;
        }
        if (!dirty_ || ++idle_ < idle_ticks_) {
            return false;
        }
        dirty_ = false;
        idle_ = 0;
        return true;
    }

  private:
    unsigned idle_ticks_;
    unsigned idle_ = 0;
    bool dirty_ = false;
};

}  // namespace pylon::engine
