// CancelSource / CancelToken: cooperative cancellation on one shard. The owner of some work (a
// job, a connection) holds a CancelSource; operations and loops take its CancelToken. cancel()
// runs every registered callback once (an in-flight io_uring operation answers by submitting
// ASYNC_CANCEL; its coroutine still resumes only at the operation's final completion, so its
// buffers stay alive). The source must outlive its registrations. Not thread-safe: cross-shard
// cancellation is a message to the owning shard.
#pragma once

#include "reactor/assert.hpp"

namespace pylon::reactor {

class CancelSource;

struct CancelRegistration {
    using Fn = void (*)(CancelRegistration*);
    explicit CancelRegistration(Fn fn_in = nullptr, void* context_in = nullptr) noexcept
        : fn(fn_in), context(context_in) {}
    CancelRegistration(const CancelRegistration&) = delete;
    CancelRegistration& operator=(const CancelRegistration&) = delete;
    ~CancelRegistration() {
        PYLON_ASSERT_MSG(source == nullptr, "CancelRegistration still linked");
    }

    Fn fn;
    void* context;
    CancelRegistration* prev = nullptr;
    CancelRegistration* next = nullptr;
    CancelSource* source = nullptr;
};

class CancelToken {
  public:
    CancelToken() noexcept = default;
    explicit CancelToken(CancelSource* source) noexcept : source_(source) {}

    bool can_cancel() const noexcept { return source_ != nullptr; }
    bool cancelled() const noexcept;
    // Links `reg`; returns false (and does not link) if already cancelled.
    bool add(CancelRegistration* reg) const noexcept;
    static void remove(CancelRegistration* reg) noexcept;

  private:
    CancelSource* source_ = nullptr;
};

class CancelSource {
  public:
    CancelSource() noexcept = default;
    CancelSource(const CancelSource&) = delete;
    CancelSource& operator=(const CancelSource&) = delete;
    ~CancelSource() {
        PYLON_ASSERT_MSG(head_ == nullptr, "CancelSource destroyed with registrations");
    }

    CancelToken token() noexcept { return CancelToken(this); }
    bool cancelled() const noexcept { return cancelled_; }

    // Runs each registered callback once, in registration order; later add()s fail.
    void cancel() noexcept {
        if (cancelled_) {
            return;
        }
        cancelled_ = true;
        while (head_ != nullptr) {
            CancelRegistration* reg = head_;
            CancelToken::remove(reg);
            reg->fn(reg);
        }
    }

  private:
    friend class CancelToken;
    bool cancelled_ = false;
    CancelRegistration* head_ = nullptr;
    CancelRegistration* tail_ = nullptr;
};

inline bool CancelToken::cancelled() const noexcept {
    return source_ != nullptr && source_->cancelled_;
}

inline bool CancelToken::add(CancelRegistration* reg) const noexcept {
    PYLON_ASSERT(reg->source == nullptr);
    if (source_ == nullptr) {
        return true;
    }
    if (source_->cancelled_) {
        return false;
    }
    reg->source = source_;
    reg->prev = source_->tail_;
    reg->next = nullptr;
    if (source_->tail_ != nullptr) {
        source_->tail_->next = reg;
    } else {
        source_->head_ = reg;
    }
    source_->tail_ = reg;
    return true;
}

inline void CancelToken::remove(CancelRegistration* reg) noexcept {
    CancelSource* src = reg->source;
    if (src == nullptr) {
        return;
    }
    if (reg->prev != nullptr) {
        reg->prev->next = reg->next;
    } else {
        src->head_ = reg->next;
    }
    if (reg->next != nullptr) {
        reg->next->prev = reg->prev;
    } else {
        src->tail_ = reg->prev;
    }
    reg->prev = reg->next = nullptr;
    reg->source = nullptr;
}

}  // namespace pylon::reactor
