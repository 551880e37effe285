#include "reactor/shard.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>

#include "reactor/clock.hpp"
#include "reactor/log.hpp"
#include "reactor/mailbox.hpp"
#include "reactor/shard_set.hpp"

namespace pylon::reactor {
namespace {

thread_local Shard* t_current = nullptr;

DetachedFrame run_spawned(Task<void> task, std::uint64_t* live) {
    co_await std::move(task);
    (*live)--;
}

DetachedFrame run_main(Task<void> task, bool* done, ShardSet* set) {
    co_await std::move(task);
    *done = true;
    if (set != nullptr) {
        set->note_main_done(&Shard::current());
    }
}

constexpr std::int64_t shutdown_drain_ms_max = 5000;

}  // namespace

Shard& Shard::current() noexcept {
    PYLON_ASSERT_MSG(t_current != nullptr, "not on a shard thread");
    return *t_current;
}

Shard* Shard::current_or_null() noexcept {
    return t_current;
}

Shard::Shard(unsigned id, ShardSet* set, const ShardOptions& options)
    : id_(id), set_(set), options_(options), timers_(monotonic_ms()) {
    now_ms_ = monotonic_ms();
}

Result<std::unique_ptr<Shard>> Shard::create(unsigned id, ShardSet* set,
                                             const ShardOptions& options) {
    std::unique_ptr<Shard> shard(new Shard(id, set, options));
    Status st = shard->init();
    if (!st.ok()) {
        return std::move(st).error();
    }
    return shard;
}

Status Shard::init() {
    io_uring_params params{};
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                   IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
    params.cq_entries = options_.cq_entries;
    int rc = io_uring_queue_init_params(options_.sq_entries, &ring_, &params);
    if (rc < 0) {
        return Error::from_errno(-rc, "io_uring_setup for shard " + std::to_string(id_));
    }
    ring_ready_ = true;
    ring_fd_ = ring_.ring_fd;
    // Skips the fd table lookup on every io_uring_enter; not fatal if refused.
    if (io_uring_register_ring_fd(&ring_) < 0) {
        LOG_WARN("shard %u: io_uring_register_ring_fd failed; continuing without", id_);
    }
    unsigned workers[2] = {options_.iowq_workers_max, options_.iowq_workers_max};
    io_uring_register_iowq_max_workers(&ring_, workers);

    auto buffers = BufferRing::create(&ring_, options_.recv_buffers);
    if (!buffers.ok()) {
        return std::move(buffers).error();
    }
    buffers_ = buffers.value();

    event_fd_ = ::eventfd(0, EFD_CLOEXEC);
    if (event_fd_ < 0) {
        return Error::from_errno(errno, "eventfd for shard wake-ups");
    }
    return Ok{};
}

Shard::~Shard() {
    if (t_current == this) {
        t_current = nullptr;
    }
    if (ring_ready_) {
        // The eventfd read may still be armed; closing the ring cancels it.
        io_uring_queue_exit(&ring_);
    }
    delete buffers_;
    if (event_fd_ >= 0) {
        ::close(event_fd_);
    }
}

std::int64_t Shard::refresh_now_ms() noexcept {
    now_ms_ = monotonic_ms();
    return now_ms_;
}

io_uring_sqe* Shard::get_sqe() noexcept {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
        counters_.sqe_waits++;
        io_uring_submit(&ring_);
        sqe = io_uring_get_sqe(&ring_);
    }
    PYLON_ASSERT(sqe != nullptr);
    return sqe;
}

void Shard::cancel_op(const Completion* target) noexcept {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel64(sqe, reinterpret_cast<std::uint64_t>(target), 0);
    sqe->user_data = tag::ignore;
}

void Shard::spawn(Task<void> task) {
    spawned_live_++;
    DetachedFrame frame = run_spawned(std::move(task), &spawned_live_);
    schedule(frame.handle);
}

void Shard::run(Task<void> main) {
    PYLON_ASSERT(t_current == nullptr || t_current == this);
    t_current = this;
    char name[8];
    std::snprintf(name, sizeof name, "s%u", id_);
    Log::set_thread_tag(name);
    main_done_ = false;
    DetachedFrame frame = run_main(std::move(main), &main_done_, set_);
    schedule(frame.handle);
    arm_eventfd();
    loop();
    shutdown_drain();
}

void Shard::loop() {
    for (;;) {
        std::int64_t turn_start_ns = monotonic_ns();
        now_ms_ = turn_start_ns / 1'000'000;
        counters_.loops++;
        run_ready();
        flush_outbound_blocked();
        drain_inbound();
        drain_foreign();
        counters_.timers_fired += timers_.advance(refresh_now_ms());
        if (main_done_ && spawned_live_ == 0 && ready_.empty() && local_messages_.empty() &&
            outbound_blocked_.empty() && (set_ == nullptr || set_->all_mains_done())) {
            // SQEs prepared this turn (e.g. a MSG_RING wake for a peer) must still go out.
            io_uring_submit(&ring_);
            break;
        }
        note_turn(turn_start_ns);
        submit_and_wait(ready_.empty() && local_messages_.empty());
        reap();
    }
}

void Shard::run_ready() {
    std::int64_t deadline_ns = monotonic_ns() + options_.task_quota_us * 1000;
    std::uint32_t n = 0;
    while (!ready_.empty()) {
        std::coroutine_handle<> h = ready_.pop();
        h.resume();
        n++;
        if ((n & 15) == 0 && monotonic_ns() > deadline_ns) {
            break;  // yield to I/O; the rest runs next turn
        }
    }
    counters_.tasks_resumed += n;
}

void Shard::note_turn(std::int64_t turn_start_ns) {
    std::int64_t spent_us = (monotonic_ns() - turn_start_ns) / 1000;
    if (spent_us > options_.stall_warn_ms * 1000) {
        counters_.stalls++;
        LOG_WARN("shard %u: a loop turn took %lld ms (stall budget %lld ms)", id_,
                 static_cast<long long>(spent_us / 1000),
                 static_cast<long long>(options_.stall_warn_ms));
    }
    if (static_cast<std::uint64_t>(spent_us) > counters_.stall_max_us) {
        counters_.stall_max_us = static_cast<std::uint64_t>(spent_us);
    }
}

bool Shard::inbound_pending() noexcept {
    if (foreign_pending_.load(std::memory_order_relaxed)) {
        return true;
    }
    for (Mailbox* mb : inbound_) {
        if (!mb->empty_approx()) {
            return true;
        }
    }
    // A receiver that drained a mailbox we are blocked on wakes us only if it saw us asleep;
    // checking for room here (after announcing sleep) closes the window where it did not.
    for (Mailbox* mb : outbound_blocked_) {
        if (mb->has_room_for_sender()) {
            return true;
        }
    }
    return false;
}

void Shard::submit_and_wait(bool block) {
    if (!block) {
        io_uring_submit_and_get_events(&ring_);
        return;
    }
    // Announce that we may sleep, then look at our inputs once more: a sender that pushed
    // before the announcement is seen here; one that pushes after it sees sleeping_ and wakes us.
    sleeping_.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (inbound_pending() || (main_done_ && set_ != nullptr && set_->all_mains_done())) {
        sleeping_.store(false, std::memory_order_relaxed);
        io_uring_submit_and_get_events(&ring_);
        return;
    }
    counters_.waits++;
    std::int64_t next_ms = timers_.next_deadline_ms();
    io_uring_cqe* cqe = nullptr;
    if (next_ms == TimerWheel::never) {
        io_uring_submit_and_wait(&ring_, 1);
    } else {
        std::int64_t wait_ns = next_ms * 1'000'000 - monotonic_ns();
        if (wait_ns < 0) {
            wait_ns = 0;
        }
        __kernel_timespec ts{};
        ts.tv_sec = wait_ns / 1'000'000'000;
        ts.tv_nsec = wait_ns % 1'000'000'000;
        io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    }
    sleeping_.store(false, std::memory_order_relaxed);
}

void Shard::reap() {
    unsigned head = 0;
    unsigned n = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(&ring_, head, cqe) {
        n++;
        std::uint64_t ud = cqe->user_data;
        if ((ud & 1) != 0) {
            dispatch_tag(ud, cqe->res);
        } else if (ud != tag::ignore) {
            auto* c = reinterpret_cast<Completion*>(ud);
            c->on_cqe(c, cqe->res, cqe->flags);
        }
    }
    io_uring_cq_advance(&ring_, n);
    counters_.cqes += n;
}

void Shard::dispatch_tag(std::uint64_t ud, std::int32_t res) {
    std::uint64_t kind = ud & 0xff;
    if (kind == tag::wake) {
        counters_.wakes_received++;
    } else if (kind == tag::eventfd) {
        event_armed_ = false;
        if (!main_done_ || spawned_live_ > 0) {
            arm_eventfd();
        }
    } else if (kind == tag::msg_ring_failed) {
        // -EOVERFLOW (target CQ full) or similar: the target must still learn of its mail.
        auto target = static_cast<unsigned>(ud >> 8);
        if (res == -EOWNERDEAD || set_ == nullptr) {
            return;  // the target shard has exited
        }
        LOG_DEBUG("shard %u: wake of shard %u failed (%d); retrying", id_, target, res);
        set_->shard(target).send_wake(this);
    }
}

void Shard::arm_eventfd() {
    if (event_armed_) {
        return;
    }
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_read(sqe, event_fd_, &event_value_, sizeof event_value_, 0);
    sqe->user_data = tag::eventfd;
    event_armed_ = true;
}

void Shard::wake(Shard* from) noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!sleeping_.load(std::memory_order_relaxed)) {
        return;
    }
    if (!sleeping_.exchange(false, std::memory_order_acq_rel)) {
        return;  // someone else is waking it
    }
    send_wake(from);
}

void Shard::send_wake(Shard* from) noexcept {
    if (from != nullptr && from != this) {
        io_uring_sqe* sqe = from->get_sqe();
        io_uring_prep_msg_ring(sqe, ring_fd_, 0, tag::wake, 0);
        sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
        sqe->user_data = tag::msg_ring_failed | (static_cast<std::uint64_t>(id_) << 8);
        from->counters_.wakes_sent++;
    } else {
        std::uint64_t one = 1;
        ssize_t n = ::write(event_fd_, &one, sizeof one);
        (void)n;  // cannot fail short of a counter overflow (2^64 wakes)
    }
}

void Shard::post_foreign(Message msg) {
    {
        std::lock_guard lock(foreign_mutex_);
        foreign_.push_back(std::move(msg));
    }
    foreign_pending_.store(true, std::memory_order_release);
    Shard* from = t_current;
    // Another shard may use MSG_RING; a plain thread uses the eventfd.
    wake(from != nullptr && from->set_ == set_ ? from : nullptr);
}

void Shard::drain_foreign() {
    if (!foreign_pending_.load(std::memory_order_acquire)) {
        return;
    }
    foreign_pending_.store(false, std::memory_order_relaxed);
    {
        std::lock_guard lock(foreign_mutex_);
        foreign_swap_.swap(foreign_);
    }
    for (Message& m : foreign_swap_) {
        m();
        counters_.foreign_posts++;
    }
    foreign_swap_.clear();
}

void Shard::drain_inbound() {
    for (std::size_t n = local_messages_.size(); n > 0; n--) {
        Message m = local_messages_.pop();
        m();
    }
    for (Mailbox* mb : inbound_) {
        counters_.messages_in += mb->drain(options_.mailbox_drain_max);
    }
}

void Shard::note_outbound_blocked(Mailbox* mailbox) {
    if (!mailbox->in_blocked_list_) {
        mailbox->in_blocked_list_ = true;
        outbound_blocked_.push_back(mailbox);
    }
}

void Shard::flush_outbound_blocked() {
    for (std::size_t i = 0; i < outbound_blocked_.size();) {
        Mailbox* mb = outbound_blocked_[i];
        if (mb->flush_pending()) {
            mb->in_blocked_list_ = false;
            outbound_blocked_[i] = outbound_blocked_.back();
            outbound_blocked_.pop_back();
        } else {
            i++;
        }
    }
}

void Shard::shutdown_drain() {
    if (ops_in_flight_ == 0) {
        return;
    }
    LOG_DEBUG("shard %u: cancelling %llu operations still in flight", id_,
              static_cast<unsigned long long>(ops_in_flight_));
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL);
    sqe->user_data = tag::ignore;
    std::int64_t deadline = monotonic_ms() + shutdown_drain_ms_max;
    while (ops_in_flight_ > 0 && monotonic_ms() < deadline) {
        run_ready();
        __kernel_timespec ts{0, 50'000'000};
        io_uring_cqe* cqe = nullptr;
        io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
        reap();
    }
    run_ready();
    PYLON_ASSERT_MSG(ops_in_flight_ == 0, "shard exit: operations still in flight after cancel");
}

}  // namespace pylon::reactor
