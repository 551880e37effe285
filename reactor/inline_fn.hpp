// InlineFn<Capacity>: a move-only `void()` callable stored inline (no heap allocation), used for
// cross-shard messages. A callable that does not fit is a compile error: capture a pointer to
// something owned elsewhere instead. Not thread-safe by itself; moving it through an SPSC queue
// hands it from one thread to another.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include "reactor/assert.hpp"

namespace pylon::reactor {

template <std::size_t Capacity>
class InlineFn {
  public:
    InlineFn() noexcept = default;

    template <typename F, typename D = std::decay_t<F>,
              typename = std::enable_if_t<!std::is_same_v<D, InlineFn>>>
    InlineFn(F&& f) noexcept {  // NOLINT: implicit from any fitting callable
        static_assert(sizeof(D) <= Capacity, "callable too large for InlineFn: capture less");
        static_assert(alignof(D) <= alignof(std::max_align_t), "over-aligned callable");
        static_assert(std::is_nothrow_move_constructible_v<D>,
                      "callable must move without throwing");
        ::new (static_cast<void*>(storage_)) D(std::forward<F>(f));
        ops_ = &ops_for<D>;
    }

    InlineFn(InlineFn&& other) noexcept { move_from(other); }
    InlineFn& operator=(InlineFn&& other) noexcept {
        if (this != &other) {
            reset();
            move_from(other);
        }
        return *this;
    }
    InlineFn(const InlineFn&) = delete;
    InlineFn& operator=(const InlineFn&) = delete;
    ~InlineFn() { reset(); }

    explicit operator bool() const noexcept { return ops_ != nullptr; }

    void operator()() {
        PYLON_ASSERT(ops_ != nullptr);
        ops_->call(storage_);
    }

    void reset() noexcept {
        if (ops_ != nullptr) {
            ops_->destroy(storage_);
            ops_ = nullptr;
        }
    }

  private:
    struct Ops {
        void (*call)(void*);
        void (*move)(void* dst, void* src) noexcept;
        void (*destroy)(void*) noexcept;
    };

    template <typename D>
    static constexpr Ops ops_for = {
        [](void* p) { (*static_cast<D*>(p))(); },
        [](void* dst, void* src) noexcept {
            ::new (dst) D(std::move(*static_cast<D*>(src)));
            static_cast<D*>(src)->~D();
        },
        [](void* p) noexcept { static_cast<D*>(p)->~D(); },
    };

    void move_from(InlineFn& other) noexcept {
        ops_ = other.ops_;
        if (ops_ != nullptr) {
            ops_->move(storage_, other.storage_);
            other.ops_ = nullptr;
        }
    }

    alignas(std::max_align_t) unsigned char storage_[Capacity];
    const Ops* ops_ = nullptr;
};

}  // namespace pylon::reactor
