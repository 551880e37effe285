#include "reactor/buffer_ring.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "reactor/clock.hpp"

namespace pylon::reactor {

Result<BufferRing*> BufferRing::create(io_uring* ring, const BufferRingOptions& options) {
    std::uint32_t n = options.buffer_count;
    if (n == 0 || n > 32768 || (n & (n - 1)) != 0) {
        return Error(Errc::invalid_input, "recv buffer count must be a power of two in 1..32768");
    }
    if (options.buffer_count_initial == 0) {
        return Error(Errc::invalid_input, "initial recv buffer count must be at least 1");
    }
    if (options.buffer_bytes < 256) {
        return Error(Errc::invalid_input, "recv buffer size must be at least 256 bytes");
    }
    auto* self = new BufferRing(ring, options);
    std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    self->br_bytes_ = (n * sizeof(io_uring_buf) + page - 1) / page * page;
    void* br = ::mmap(nullptr, self->br_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE,
                      -1, 0);
    if (br == MAP_FAILED) {
        int err = errno;
        delete self;
        return Error::from_errno(err, "mmap buffer ring");
    }
    self->br_ = static_cast<io_uring_buf_ring*>(br);
    self->stride_ = (options.buffer_bytes + options.padding_bytes + 63) / 64 * 64;
    self->memory_bytes_ = self->stride_ * n;
    void* mem = ::mmap(nullptr, self->memory_bytes_, PROT_READ | PROT_WRITE,
                       MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) {
        int err = errno;
        delete self;
        return Error::from_errno(err, "mmap receive buffers");
    }
    self->memory_ = static_cast<std::uint8_t*>(mem);
    self->parked_ = new std::uint16_t[n];

    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<__u64>(self->br_);
    reg.ring_entries = n;
    reg.bgid = options.group_id;
    int rc = io_uring_register_buf_ring(ring, &reg, 0);
    if (rc < 0) {
        delete self;
        return Error::from_errno(-rc, "register provided-buffer ring (kernel 5.19+ needed)");
    }
    self->registered_ = true;
    io_uring_buf_ring_init(self->br_);
    self->provide(std::min(options.buffer_count_initial, n));
    return self;
}

void BufferRing::grow() noexcept {
    provide(std::min(provided_, options_.buffer_count - provided_));
}

void BufferRing::provide(std::uint32_t count) noexcept {
    std::uint32_t first = provided_;
    int mask = io_uring_buf_ring_mask(options_.buffer_count);
    for (std::uint32_t i = 0; i < count; i++) {
        auto bid = static_cast<std::uint16_t>(first + i);
        io_uring_buf_ring_add(br_, address(bid), options_.buffer_bytes, bid, mask,
                              static_cast<int>(i));
    }
    io_uring_buf_ring_advance(br_, static_cast<int>(count));
    provided_ += count;
    available_ += count;
}

void BufferRing::add_to_kernel(std::uint16_t bid) noexcept {
    io_uring_buf_ring_add(br_, address(bid), options_.buffer_bytes, bid,
                          io_uring_buf_ring_mask(options_.buffer_count), 0);
    io_uring_buf_ring_advance(br_, 1);
    available_++;
}

void BufferRing::cancel_shrink() noexcept {
    for (std::uint32_t i = 0; i < parked_count_; i++) {
        add_to_kernel(parked_[i]);
    }
    parked_count_ = 0;
    shrink_to_ = 0;
}

void BufferRing::park(std::uint16_t bid) noexcept {
    parked_[parked_count_++] = bid;
    if (parked_count_ < provided_ - shrink_to_) {
        return;
    }
    // Every buffer from shrink_to_ up is parked: release their whole pages (a page shared with
    // buffer shrink_to_ - 1 stays; the pages past the last one were never provided).
    auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    std::size_t begin = (shrink_to_ * stride_ + page - 1) / page * page;
    std::size_t end = std::min((provided_ * stride_ + page - 1) / page * page,
                               (memory_bytes_ + page - 1) / page * page);
    if (end > begin) {
        (void)::madvise(memory_ + begin, end - begin, MADV_DONTNEED);
    }
    provided_ = shrink_to_;
    parked_count_ = 0;
    shrink_to_ = 0;
    shrinks_++;
}

BufferRing::~BufferRing() {
    PYLON_ASSERT_MSG(
        (available_ + parked_count_ == provided_ && spilled_bytes_ == 0) || !registered_,
        "BufferRing destroyed while Buffers are still held");
    if (registered_) {
        io_uring_unregister_buf_ring(ring_, options_.group_id);
    }
    if (memory_ != nullptr) {
        ::munmap(memory_, memory_bytes_);
    }
    if (br_ != nullptr) {
        ::munmap(br_, br_bytes_);
    }
    delete[] parked_;
}

Buffer Buffer::copied_out(Buffer&& from) {
    PYLON_ASSERT(from.in_ring());
    BufferRing* ring = from.ring_;
    std::size_t padding = ring->padding_bytes();
    Buffer copy;
    copy.heap_ = new std::uint8_t[from.size_ + padding];
    std::memcpy(copy.heap_, from.data(), from.size_);
    std::memset(copy.heap_ + from.size_, 0, padding);
    copy.size_ = from.size_;
    copy.ring_ = ring;
    ring->spilled_bytes_ += copy.size_;
    from.reset();
    return copy;
}

Buffer BufferRing::take(std::uint32_t cqe_flags, std::int32_t length) noexcept {
    PYLON_ASSERT((cqe_flags & IORING_CQE_F_BUFFER) != 0);
    PYLON_ASSERT(length >= 0 && static_cast<std::uint32_t>(length) <= options_.buffer_bytes);
    auto bid = static_cast<std::uint16_t>(cqe_flags >> IORING_CQE_BUFFER_SHIFT);
    PYLON_ASSERT(bid < provided_ && available_ > 0);
    available_--;
    if (available_ <= (provided_ - parked_count_) / 4) {
        pressed_ms_ = monotonic_ms();
        if (shrink_to_ != 0) {
            cancel_shrink();
        }
        if (available_ <= provided_ / 4 && provided_ < options_.buffer_count) {
            grow();  // before the kernel runs dry
        }
    }
    return Buffer(this, bid, static_cast<std::uint32_t>(length));
}

void BufferRing::give_back(std::uint16_t bid) noexcept {
    PYLON_ASSERT(bid < provided_ && available_ + parked_count_ < provided_);
    if (shrink_to_ != 0 && bid >= shrink_to_) {
        park(bid);
        return;
    }
    add_to_kernel(bid);
    if (waiters_ != nullptr && available_ >= (provided_ - parked_count_) / 2) {
        notify_waiters();
    }
    std::uint32_t initial = std::min(options_.buffer_count_initial, options_.buffer_count);
    if (available_ == provided_ && provided_ > initial && shrink_to_ == 0 && waiters_ == nullptr &&
        monotonic_ms() - pressed_ms_ >= options_.shrink_after_ms) {
        shrink_to_ = initial;  // calm, everything back: shrink as buffers come round again
    }
}

void BufferRing::wait_for_buffers(RearmWaiter* waiter) noexcept {
    PYLON_ASSERT(!waiter->waiting && waiter->fn != nullptr);
    enobufs_++;
    waiter->waiting = true;
    waiter->next = waiters_;
    waiters_ = waiter;
    pressed_ms_ = monotonic_ms();
    if (shrink_to_ != 0) {
        cancel_shrink();
    }
    if (provided_ < options_.buffer_count) {
        grow();
    }
    if (available_ >= provided_ / 2) {
        notify_waiters();
    }
}

void BufferRing::cancel_wait(RearmWaiter* waiter) noexcept {
    if (!waiter->waiting) {
        return;
    }
    for (RearmWaiter** p = &waiters_; *p != nullptr; p = &(*p)->next) {
        if (*p == waiter) {
            *p = waiter->next;
            break;
        }
    }
    waiter->waiting = false;
    waiter->next = nullptr;
}

void BufferRing::notify_waiters() noexcept {
    RearmWaiter* list = std::exchange(waiters_, nullptr);
    while (list != nullptr) {
        RearmWaiter* w = list;
        list = w->next;
        w->next = nullptr;
        w->waiting = false;
        w->fn(w);
    }
}

}  // namespace pylon::reactor
