#include "engine/heap_trim.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "reactor/log.hpp"

namespace pylon::engine {
namespace {

std::atomic<HeapTrimFn> g_trim{nullptr};

// VmRSS of this process from /proc/self/statm (pages): one small read, no allocation.
std::uint64_t resident_bytes() noexcept {
    int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    char buf[128];
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) {
        return 0;
    }
    buf[n] = '\0';
    unsigned long long size = 0;
    unsigned long long resident = 0;
    if (std::sscanf(buf, "%llu %llu", &size, &resident) != 2) {
        return 0;
    }
    long page = ::sysconf(_SC_PAGESIZE);
    return resident * static_cast<std::uint64_t>(page > 0 ? page : 4096);
}

}  // namespace

void set_heap_trim(HeapTrimFn fn) noexcept {
    g_trim.store(fn, std::memory_order_release);
}

HeapTrimReport trim_thread_heap() noexcept {
    HeapTrimReport r;
    HeapTrimFn fn = g_trim.load(std::memory_order_acquire);
    if (fn == nullptr) {
        return r;
    }
    r.rss_before = resident_bytes();
    fn();
    r.ran = true;
    r.rss_after = resident_bytes();
    return r;
}

void log_heap_trim(const char* who, const HeapTrimReport& report) {
    if (!report.ran) {
        return;
    }
    LOG_DEBUG("memory: idle %s thread handed back its free heap pages: RSS %.1f -> %.1f MB", who,
              static_cast<double>(report.rss_before) / 1e6,
              static_cast<double>(report.rss_after) / 1e6);
}

}  // namespace pylon::engine
