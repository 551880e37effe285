#include "tests/support/counting_new/counting_new.hpp"

#include <cstdlib>
#include <new>

namespace pylon::testing::counting_new {
namespace {
thread_local bool counting = false;
thread_local Counts counts;
}  // namespace

void start() {
    counts = Counts{};
    counting = true;
}

Counts stop() {
    counting = false;
    return counts;
}

}  // namespace pylon::testing::counting_new

#if PYLON_UNDER_SANITIZER == 0
namespace {
using pylon::testing::counting_new::counting;
using pylon::testing::counting_new::counts;

// The size header keeps every block aligned for max_align_t (or for the requested alignment).
constexpr std::size_t header_bytes = alignof(std::max_align_t);

std::size_t header_for(std::size_t align) {
    return align > header_bytes ? align : header_bytes;
}

void* allocate(std::size_t size, std::size_t align) {
    if (counting) {
        counts.allocations++;
    }
    std::size_t header = header_for(align);
    std::size_t total = (size + header + align - 1) / align * align;
    auto* base = static_cast<unsigned char*>(std::aligned_alloc(align, total));
    if (base == nullptr) {
        throw std::bad_alloc();
    }
    unsigned char* p = base + header;
    reinterpret_cast<std::size_t*>(p)[-1] = size;
    return p;
}

void release(void* p, std::size_t align) noexcept {
    if (p == nullptr) {
        return;
    }
    if (counting) {
        counts.freed_bytes += static_cast<std::size_t*>(p)[-1];
    }
    std::free(static_cast<unsigned char*>(p) - header_for(align));
}
}  // namespace

// The replacements pair aligned_alloc with free; g++ cannot see that they match.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
    return allocate(size, header_bytes);
}
void* operator new[](std::size_t size) {
    return allocate(size, header_bytes);
}
void* operator new(std::size_t size, std::align_val_t align) {
    return allocate(size, static_cast<std::size_t>(align));
}
void* operator new[](std::size_t size, std::align_val_t align) {
    return allocate(size, static_cast<std::size_t>(align));
}
void operator delete(void* p) noexcept {
    release(p, header_bytes);
}
void operator delete[](void* p) noexcept {
    release(p, header_bytes);
}
void operator delete(void* p, std::size_t) noexcept {
    release(p, header_bytes);
}
void operator delete[](void* p, std::size_t) noexcept {
    release(p, header_bytes);
}
void operator delete(void* p, std::align_val_t align) noexcept {
    release(p, static_cast<std::size_t>(align));
}
void operator delete[](void* p, std::align_val_t align) noexcept {
    release(p, static_cast<std::size_t>(align));
}
void operator delete(void* p, std::size_t, std::align_val_t align) noexcept {
    release(p, static_cast<std::size_t>(align));
}
void operator delete[](void* p, std::size_t, std::align_val_t align) noexcept {
    release(p, static_cast<std::size_t>(align));
}
#endif
