// Store: pylon.db on its own thread, the only writer of the disk. Shards never wait on it: a
// shard calls `co_await store.run([](StoreDb& db) { return db.complete_job(...); })`, the
// request is queued to the store thread, runs there inside a transaction, and the coroutine
// resumes on its own shard (through Shard::post_foreign) once that transaction has committed.
// Non-shard threads (the embedding host, tests, the CLI's start-up) use run_sync(), which blocks.
//
// Batching (group commit): the thread takes every queued request (up to batch_writes_max) into
// one transaction, runs them in queue order, then commits once and answers them all. Idle, a
// request commits at once (well under a millisecond on a local disk); under load the queue grows
// while a commit runs, so the next transaction carries many requests. With many jobs open (at
// least group_commit_jobs_min across the shards, as the job runners report through
// set_open_jobs) and requests arriving often enough that one more is likely within the wait
// (a running average over the batches; engine/commit_pacer.hpp decides), the thread, once woken
// by a request, also waits up to
// group_commit_wait_us for requests from half of those jobs before it commits: a commit's cost (its
// WAL pages, its locks) is shared by more requests, and a job that already waits behind that many
// others hardly notices the wait. Below that it never waits, so a lightly loaded node answers at
// once. A failing request undoes only itself: the batch is then rolled back and run again with a
// savepoint around each request (so a request's function may run twice: it must depend only on its
// arguments and the database, or on data its caller leaves untouched until it resumes, as
// Intake::admit's job). A failed commit fails every request of the batch. With WAL and
// synchronous=NORMAL, a committed request survives kill -9 of the process (the durability contract:
// docs/storage.md).
//
// Bounds: at most queue_max requests are queued, shared out as a per-shard quota
// (queue_max / shard_count); a shard at its quota waits (an AsyncSemaphore of that shard)
// before queueing more: backpressure, never growth. flush() returns once everything queued
// before it has committed. close() answers what is queued, commits, closes the database and
// joins the thread; requests after close() fail with Errc::closed. 30 s after the start, then once
// an hour (between batches, busy or idle), the thread prunes processed request ids older than
// processed_requests_keep_ms; two seconds after its last batch it hands its free heap pages back
// (engine/heap_trim.hpp).
//
// Thread rules: run() from a shard of the ShardSet sized at open (shard_count); run_sync() from
// any other thread; close() from the owner after every shard stopped using it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include "engine/store_db.hpp"
#include "reactor/shard.hpp"
#include "reactor/sync.hpp"
#include "reactor/task.hpp"

namespace pylon::engine {

struct StoreOptions {
    StoreDbOptions db;
    unsigned shard_count = 1;
    std::size_t queue_max = 4096;
    std::size_t batch_writes_max = 1024;
    std::int64_t processed_requests_keep_ms = 2LL * 24 * 3600 * 1000;
    std::int64_t maintenance_interval_ms = 3600 * 1000;
    std::int64_t group_commit_wait_us = 500;  // 0: never wait
    std::uint32_t group_commit_jobs_min = 32;
};

struct StoreStats {
    std::uint64_t requests = 0;
    std::uint64_t batches = 0;
    std::uint64_t batch_max = 0;  // largest batch so far
    std::uint64_t failed_commits = 0;
    std::uint64_t batch_reruns = 0;  // batches run again with savepoints after a failure
    std::uint64_t pruned_requests = 0;
    std::uint64_t queued = 0;          // waiting for the store thread when stats() was called
    std::uint64_t waited_batches = 0;  // batches that waited group_commit_wait_us for company
    // Reads answered while a batch waited for another process's write lock (Store::read).
    std::uint64_t reads_in_lock_waits = 0;
    bool waiting_for_lock = false;   // a batch waited for that lock when stats() was called
    std::uint64_t lock_wait_ms = 0;  // for how long so far (0 when not waiting)
    bool gathering = false;          // the thread waits for company when stats() was called
};

// One queued request; implemented by Store's awaiters.
class StoreRequest {
  public:
    virtual ~StoreRequest() = default;
    // On the store thread: runs the request; false if it failed (its writes are undone). May be
    // called a second time in the same batch (after another request failed): the last result
    // counts.
    virtual bool execute(StoreDb& db) = 0;
    // On the store thread: the batch did not commit; the result becomes this error.
    virtual void fail(const Error& error) = 0;
    // On the store thread, after the commit: hand the result back to the caller.
    virtual void complete() = 0;
    // Set by Store::read and its kin: the request only reads.
    bool reads_only = false;
};

class Store {
  public:
    // Opens the database on a new store thread; returns once it is open (or failed).
    static Result<std::unique_ptr<Store>> open(StoreOptions options);
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;
    ~Store();

    // Shard side. fn(StoreDb&) returns Status or Result<T>; the Task yields the same type.
    // g++ 12 destroys some temporaries of a co_await expression twice: a lambda with
    // non-trivial captures, or a braced aggregate (`JobQuery{5, ""}`). Name them first
    // (`auto fn = [...](StoreDb& db) {...}; co_await store.run(std::move(fn));`); constructor
    // calls (`std::string(..)`), named values and std::move of them are safe.
    template <typename F>
    reactor::Task<std::invoke_result_t<F&, StoreDb&>> run(F fn) {
        return submit<false>(std::move(fn));
    }
    // Shard side: runs db.*method(args...) on the store thread, e.g.
    //   Status st = co_await store.call(&StoreDb::fail_job, job_id, reason, now_ms);
    // The arguments are copied (std::string for string_view parameters is fine).
    template <typename M, typename... A>
    reactor::Task<std::invoke_result_t<M, StoreDb&, A&...>> call(M method, A... args) {
        return submit<false>(bind_method(method, std::move(args)...));
    }
    // Any non-shard thread: the same, blocking until committed.
    template <typename F>
    std::invoke_result_t<F&, StoreDb&> run_sync(F fn) {
        return submit_sync<false>(std::move(fn));
    }
    // The same three for a request that only reads (the CLI's jobs and earnings, the start-up
    // counts, cursors): a batch of nothing but reads takes no write lock (a WAL snapshot), so it
    // is answered at once while another process holds the database's write lock (a backup, an
    // operator's sqlite3 session), where a write waits busy_timeout_ms and fails. A batch that
    // mixes reads and writes runs them in one write transaction, in queue order; if it cannot
    // have the lock, its reads are answered from a snapshot and only its writes fail. While a
    // batch waits for the lock, the reads queued behind it are taken out of the queue and
    // answered from a second, read-only connection opened for that wait.
    template <typename F>
    reactor::Task<std::invoke_result_t<F&, StoreDb&>> read(F fn) {
        return submit<true>(std::move(fn));
    }
    template <typename M, typename... A>
    reactor::Task<std::invoke_result_t<M, StoreDb&, A&...>> read_call(M method, A... args) {
        return submit<true>(bind_method(method, std::move(args)...));
    }
    template <typename F>
    std::invoke_result_t<F&, StoreDb&> read_sync(F fn) {
        return submit_sync<true>(std::move(fn));
    }
    // Shard side: resumes once every request queued before it has committed.
    reactor::Task<Status> flush();

    void close();
    bool closed() const noexcept { return closing_.load(std::memory_order_acquire); }
    StoreStats stats() const;
    // Requests queued by shard `shard` so far (that shard's counter; read it on that shard).
    std::uint64_t shard_requests(unsigned shard) const noexcept;
    unsigned shard_count() const noexcept { return options_.shard_count; }
    // Shard side: how many jobs this shard has open now (the group-commit signal).
    void set_open_jobs(std::uint32_t jobs) noexcept;

  private:
    template <typename F, typename R>
    class ShardRequest;
    template <typename F, typename R>
    class SyncRequest;
    template <typename Req>
    struct Enqueue;
    struct alignas(64) ShardQuota {
        explicit ShardQuota(std::uint32_t n) : slots(n) {}
        reactor::AsyncSemaphore slots;
        std::uint64_t requests = 0;
        std::atomic<std::uint32_t> open_jobs{0};  // written by its shard, read by the store
    };

    template <bool Reads, typename F>
    reactor::Task<std::invoke_result_t<F&, StoreDb&>> submit(F fn);
    template <bool Reads, typename F>
    std::invoke_result_t<F&, StoreDb&> submit_sync(F fn);
    template <typename M, typename... A>
    static auto bind_method(M method, A... args) {
        return [method, ... captured = std::move(args)](StoreDb& db) mutable {
            return (db.*method)(captured...);
        };
    }

    explicit Store(StoreOptions options);
    bool enqueue(StoreRequest* request);  // false once closing
    void thread_main(std::unique_ptr<StoreDb> db);
    void run_batch(StoreDb& db, std::vector<StoreRequest*>& batch);
    static Status execute_in_transaction(StoreDb& db, std::vector<StoreRequest*>& batch,
                                         bool* rerun);
    static Status execute_read_only(StoreDb& db, std::vector<StoreRequest*>& batch);
    // After a batch failed for the write lock: runs its reads alone in a read transaction; true
    // if there were some and they ran.
    static bool answer_reads(StoreDb& db, const std::vector<StoreRequest*>& batch);
    // The store connection's busy wait (StoreDb::set_busy_wait): waits up to step_ms for a read
    // to be queued, then answers every queued read on reader_ (opened for the wait). If the
    // reader cannot answer them, they go back to the front of the queue and the rest of this
    // wait sleeps.
    void serve_reads_in_lock_wait(std::int64_t step_ms);
    void end_lock_wait();  // after a batch or the maintenance: closes reader_
    void maintenance(StoreDb& db);
    std::uint64_t open_jobs() const noexcept;  // summed over the shards
    ShardQuota& quota();

    StoreOptions options_;
    std::vector<std::unique_ptr<ShardQuota>> quotas_;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<StoreRequest*> queue_;
    std::atomic<bool> closing_{false};
    // Under mutex_: while the thread waits for company, enqueue wakes it only once this many
    // requests are queued (0: not waiting, every request wakes it).
    std::size_t gather_target_ = 0;
    std::size_t queued_reads_ = 0;         // under mutex_: requests in queue_ that only read
    std::unique_ptr<StoreDb> reader_;      // store thread: open during a lock wait that had reads
    std::int64_t lock_wait_since_ms_ = 0;  // under mutex_: the wait's start (monotonic); 0: none
    bool lock_waited_ = false;             // store thread: the same, read without the mutex
    bool reader_failed_ = false;           // store thread: reader_ failed in this wait
    bool joined_ = false;
    StoreStats stats_;  // under mutex_
};

// -- Implementation of the templates --

template <typename F, typename R>
class Store::ShardRequest final : public StoreRequest {
  public:
    ShardRequest(F fn, reactor::Shard* shard) : fn_(std::move(fn)), shard_(shard) {}
    bool execute(StoreDb& db) override {
        result_.emplace(fn_(db));
        return result_->ok();
    }
    void fail(const Error& error) override { result_.emplace(error); }
    void complete() override {
        std::coroutine_handle<> h = waiter_;
        reactor::Shard* shard = shard_;
        shard->post_foreign(reactor::Message([shard, h]() { shard->schedule(h); }));
    }
    void set_waiter(std::coroutine_handle<> h) { waiter_ = h; }
    R take() { return std::move(*result_); }

  private:
    F fn_;
    reactor::Shard* shard_;
    std::coroutine_handle<> waiter_;
    std::optional<R> result_;
};

template <typename F, typename R>
class Store::SyncRequest final : public StoreRequest {
  public:
    explicit SyncRequest(F fn) : fn_(std::move(fn)) {}
    bool execute(StoreDb& db) override {
        result_.emplace(fn_(db));
        return result_->ok();
    }
    void fail(const Error& error) override { result_.emplace(error); }
    void complete() override {
        std::lock_guard lock(mutex_);
        done_ = true;
        cv_.notify_one();
    }
    R wait() {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return done_; });
        return std::move(*result_);
    }

  private:
    F fn_;
    std::optional<R> result_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool done_ = false;
};

// Queues the request as the coroutine suspends; the store thread's answer resumes it.
template <typename Req>
struct Store::Enqueue {
    Store* store;
    Req* request;
    bool queued = false;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
        request->set_waiter(h);
        queued = store->enqueue(request);
        return queued;  // not queued (closing): resume at once
    }
    bool await_resume() const noexcept { return queued; }
};

template <bool Reads, typename F>
reactor::Task<std::invoke_result_t<F&, StoreDb&>> Store::submit(F fn) {
    using R = std::invoke_result_t<F&, StoreDb&>;
    ShardQuota& q = quota();
    if (closed() || !(co_await q.slots.acquire())) {
        co_return R(Error(Errc::closed, "the store is closed"));
    }
    q.requests++;
    ShardRequest<F, R> request(std::move(fn), &reactor::Shard::current());
    request.reads_only = Reads;
    bool queued = co_await Enqueue<ShardRequest<F, R>>{this, &request};
    q.slots.release();
    if (!queued) {
        co_return R(Error(Errc::closed, "the store is closed"));
    }
    co_return request.take();
}

template <bool Reads, typename F>
std::invoke_result_t<F&, StoreDb&> Store::submit_sync(F fn) {
    using R = std::invoke_result_t<F&, StoreDb&>;
    SyncRequest<F, R> request(std::move(fn));
    request.reads_only = Reads;
    if (!enqueue(&request)) {
        return R(Error(Errc::closed, "the store is closed"));
    }
    return request.wait();
}

}  // namespace pylon::engine
