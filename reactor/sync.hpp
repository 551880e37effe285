// Coroutine synchronisation on one shard (no locks, no threads): AsyncEvent (a flag coroutines
// wait for), AsyncSemaphore (N permits; backend slots, concurrency bounds) and AsyncQueue<T> (a
// bounded FIFO whose push waits when full and whose pop waits when empty; close() ends both).
// Waiters are intrusive nodes in the waiting coroutine's frame; waits take an optional
// CancelToken. Everything here belongs to one shard.
#pragma once

#include <coroutine>
#include <cstdint>
#include <optional>
#include <utility>

#include "reactor/cancel.hpp"
#include "reactor/ring_queue.hpp"
#include "reactor/shard.hpp"

namespace pylon::reactor {

namespace detail {

class ListAwaiter;

// A waiting coroutine in an intrusive FIFO.
struct Waiter {
    ListAwaiter* owner = nullptr;
    std::coroutine_handle<> handle;
    Waiter* next = nullptr;
    Waiter* prev = nullptr;
    bool linked = false;
    bool cancelled = false;
};

class WaitList {
  public:
    bool empty() const noexcept { return head_ == nullptr; }
    void push(Waiter* w) noexcept {
        w->prev = tail_;
        w->next = nullptr;
        if (tail_ != nullptr) {
            tail_->next = w;
        } else {
            head_ = w;
        }
        tail_ = w;
        w->linked = true;
    }
    void remove(Waiter* w) noexcept {
        if (!w->linked) {
            return;
        }
        if (w->prev != nullptr) {
            w->prev->next = w->next;
        } else {
            head_ = w->next;
        }
        if (w->next != nullptr) {
            w->next->prev = w->prev;
        } else {
            tail_ = w->prev;
        }
        w->next = w->prev = nullptr;
        w->linked = false;
    }
    Waiter* pop() noexcept {
        Waiter* w = head_;
        if (w != nullptr) {
            remove(w);
        }
        return w;
    }

  private:
    Waiter* head_ = nullptr;
    Waiter* tail_ = nullptr;
};

// Awaiter base: waits in `list`, resumable by the owner or by a cancellation.
class ListAwaiter {
  public:
    ListAwaiter(WaitList* list, CancelToken token) noexcept
        : list_(list), token_(token), reg_(&ListAwaiter::on_cancel, this) {
        waiter_.owner = this;
    }
    ListAwaiter(const ListAwaiter&) = delete;
    ListAwaiter& operator=(const ListAwaiter&) = delete;
    ~ListAwaiter() { PYLON_ASSERT(!waiter_.linked && reg_.source == nullptr); }

    void suspend(std::coroutine_handle<> h) noexcept {
        waiter_.handle = h;
        list_->push(&waiter_);
        token_.add(&reg_);
    }
    // Called by the owner after popping waiter_ from the list.
    static void resume_popped(Waiter* w) noexcept;
    bool was_cancelled() const noexcept { return waiter_.cancelled; }
    bool token_cancelled() const noexcept { return token_.cancelled(); }

  protected:
    static void on_cancel(CancelRegistration* reg) {
        auto* self = static_cast<ListAwaiter*>(reg->context);
        self->list_->remove(&self->waiter_);
        self->waiter_.cancelled = true;
        Shard::current().schedule(self->waiter_.handle);
    }

  public:
    Waiter waiter_;
    CancelRegistration* registration() noexcept { return &reg_; }

  private:
    WaitList* list_;
    CancelToken token_;
    CancelRegistration reg_;
};

}  // namespace detail

class AsyncEvent {
  public:
    bool is_set() const noexcept { return set_; }
    void set() noexcept;
    void reset() noexcept { set_ = false; }

    class Awaiter : public detail::ListAwaiter {
      public:
        Awaiter(AsyncEvent* ev, CancelToken token) noexcept
            : ListAwaiter(&ev->waiters_, token), ev_(ev) {}
        bool await_ready() const noexcept { return ev_->set_ || token_cancelled(); }
        void await_suspend(std::coroutine_handle<> h) noexcept { suspend(h); }
        // True if the event is set; false if the wait was cancelled first.
        bool await_resume() const noexcept { return ev_->set_ && !was_cancelled(); }

      private:
        AsyncEvent* ev_;
    };
    Awaiter wait(CancelToken token = {}) noexcept { return Awaiter(this, token); }

  private:
    friend class Awaiter;
    bool set_ = false;
    detail::WaitList waiters_;
};

class AsyncSemaphore {
  public:
    explicit AsyncSemaphore(std::uint32_t permits) noexcept : permits_(permits) {}

    std::uint32_t available() const noexcept { return permits_; }
    bool has_waiters() const noexcept { return !waiters_.empty(); }
    bool try_acquire() noexcept {
        if (permits_ > 0 && waiters_.empty()) {
            permits_--;
            return true;
        }
        return false;
    }
    // Returns a permit; the oldest waiter (if any) gets it.
    void release() noexcept;
    // Adds (or removes, if negative and available) permits, e.g. after a backend re-probe.
    void adjust(std::int32_t delta) noexcept;

    class Awaiter : public detail::ListAwaiter {
      public:
        Awaiter(AsyncSemaphore* sem, CancelToken token) noexcept
            : ListAwaiter(&sem->waiters_, token), sem_(sem) {}
        bool await_ready() noexcept {
            if (token_cancelled()) {
                waiter_.cancelled = true;
                return true;
            }
            return sem_->try_acquire();
        }
        void await_suspend(std::coroutine_handle<> h) noexcept { suspend(h); }
        // True when a permit was acquired (the caller must release it); false if cancelled.
        bool await_resume() const noexcept { return !was_cancelled(); }

      private:
        AsyncSemaphore* sem_;
    };
    Awaiter acquire(CancelToken token = {}) noexcept { return Awaiter(this, token); }

  private:
    std::uint32_t permits_;
    detail::WaitList waiters_;
};

// A bounded FIFO between coroutines on one shard.
template <typename T>
class AsyncQueue {
  public:
    explicit AsyncQueue(std::size_t capacity) : capacity_(capacity) { PYLON_ASSERT(capacity > 0); }

    std::size_t size() const noexcept { return items_.size(); }
    std::size_t capacity() const noexcept { return capacity_; }
    bool closed() const noexcept { return closed_; }

    // False when full or closed (value untouched).
    bool try_push(T& value) {
        if (closed_ || items_.size() >= capacity_) {
            return false;
        }
        items_.push(std::move(value));
        wake_one(pop_waiters_);
        return true;
    }
    std::optional<T> try_pop() {
        if (items_.empty()) {
            return std::nullopt;
        }
        T v = items_.pop();
        wake_one(push_waiters_);
        return v;
    }
    // Ends the queue: waiting pushers fail, poppers drain what is left and then get nullopt.
    void close() noexcept {
        closed_ = true;
        wake_all(pop_waiters_);
        wake_all(push_waiters_);
    }

    class PopAwaiter : public detail::ListAwaiter {
      public:
        PopAwaiter(AsyncQueue* q, CancelToken token) noexcept
            : ListAwaiter(&q->pop_waiters_, token), q_(q) {}
        bool await_ready() const noexcept {
            return !q_->items_.empty() || q_->closed_ || token_cancelled();
        }
        void await_suspend(std::coroutine_handle<> h) noexcept { suspend(h); }
        // nullopt when closed and empty, or cancelled.
        std::optional<T> await_resume() {
            if (was_cancelled() || token_cancelled()) {
                return std::nullopt;
            }
            return q_->try_pop();
        }

      private:
        AsyncQueue* q_;
    };
    PopAwaiter pop(CancelToken token = {}) noexcept { return PopAwaiter(this, token); }

    class PushAwaiter : public detail::ListAwaiter {
      public:
        PushAwaiter(AsyncQueue* q, T value, CancelToken token)
            : ListAwaiter(&q->push_waiters_, token), q_(q), value_(std::move(value)) {}
        bool await_ready() {
            if (token_cancelled() || q_->closed_) {
                return true;
            }
            pushed_ = q_->try_push(value_);
            return pushed_;
        }
        void await_suspend(std::coroutine_handle<> h) noexcept { suspend(h); }
        // True when the value is in the queue; false if closed or cancelled.
        bool await_resume() {
            if (!pushed_ && !was_cancelled() && !q_->closed_) {
                pushed_ = q_->try_push(value_);
            }
            return pushed_;
        }

      private:
        AsyncQueue* q_;
        T value_;
        bool pushed_ = false;
    };
    PushAwaiter push(T value, CancelToken token = {}) {
        return PushAwaiter(this, std::move(value), token);
    }

  private:
    static void wake_one(detail::WaitList& list) noexcept {
        if (detail::Waiter* w = list.pop()) {
            detail::ListAwaiter::resume_popped(w);
        }
    }
    static void wake_all(detail::WaitList& list) noexcept {
        while (detail::Waiter* w = list.pop()) {
            detail::ListAwaiter::resume_popped(w);
        }
    }

    std::size_t capacity_;
    RingQueue<T> items_{16};
    bool closed_ = false;
    detail::WaitList pop_waiters_;
    detail::WaitList push_waiters_;
};

}  // namespace pylon::reactor
