#include "engine/store.hpp"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "engine/commit_pacer.hpp"
#include "engine/heap_trim.hpp"
#include "reactor/clock.hpp"
#include "reactor/log.hpp"

namespace pylon::engine {

namespace {
constexpr std::chrono::seconds first_maintenance{30};
}  // namespace

Store::Store(StoreOptions options) : options_(std::move(options)) {
    PYLON_ASSERT(options_.shard_count > 0 && options_.queue_max > 0);
    auto per_shard = static_cast<std::uint32_t>(
        std::max<std::size_t>(1, options_.queue_max / options_.shard_count));
    for (unsigned i = 0; i < options_.shard_count; i++) {
        quotas_.push_back(std::make_unique<ShardQuota>(per_shard));
    }
}

Result<std::unique_ptr<Store>> Store::open(StoreOptions options) {
    std::unique_ptr<Store> store(new Store(std::move(options)));
    std::mutex m;
    std::condition_variable cv;
    std::optional<Status> opened;
    Store* self = store.get();
    store->thread_ = std::thread([self, &m, &cv, &opened]() {
        pthread_setname_np(pthread_self(), "pylon-store");
        reactor::Log::set_thread_tag("st");
        auto db = StoreDb::open(self->options_.db);
        {
            std::lock_guard lock(m);
            opened = db.ok() ? Status(Ok{}) : Status(db.error());
            cv.notify_one();
        }
        if (db.ok()) {
            self->thread_main(std::move(db.value()));
        }
    });
    std::unique_lock lock(m);
    cv.wait(lock, [&opened] { return opened.has_value(); });
    if (!opened->ok()) {
        lock.unlock();
        store->closing_.store(true);
        store->thread_.join();
        store->joined_ = true;
        return opened->error();
    }
    return store;
}

Store::~Store() {
    close();
}

Store::ShardQuota& Store::quota() {
    unsigned id = reactor::Shard::current().id();
    PYLON_ASSERT_MSG(id < quotas_.size(), "Store::run from a shard it was not sized for");
    return *quotas_[id];
}

std::uint64_t Store::shard_requests(unsigned shard) const noexcept {
    return shard < quotas_.size() ? quotas_[shard]->requests : 0;
}

void Store::set_open_jobs(std::uint32_t jobs) noexcept {
    quota().open_jobs.store(jobs, std::memory_order_relaxed);
}

std::uint64_t Store::open_jobs() const noexcept {
    std::uint64_t open = 0;
    for (const auto& q : quotas_) {
        open += q->open_jobs.load(std::memory_order_relaxed);
    }
    return open;
}

bool Store::enqueue(StoreRequest* request) {
    bool wake;
    {
        std::lock_guard lock(mutex_);
        if (closing_.load(std::memory_order_relaxed)) {
            return false;
        }
        queue_.push_back(request);
        queued_reads_ += request->reads_only ? 1u : 0u;
        // While the thread gathers a batch it is woken only once the gather target is queued:
        // a wake-up per request would cost more than the wait saves.
        wake = queue_.size() >= gather_target_;
    }
    if (wake) {
        wake_.notify_one();
    }
    return true;
}

void Store::close() {
    {
        std::lock_guard lock(mutex_);
        closing_.store(true, std::memory_order_release);
    }
    wake_.notify_one();
    if (thread_.joinable() && !joined_) {
        thread_.join();
        joined_ = true;
    }
}

StoreStats Store::stats() const {
    std::lock_guard lock(mutex_);
    StoreStats s = stats_;
    s.queued = queue_.size();
    s.gathering = gather_target_ > 0;
    s.waiting_for_lock = lock_wait_since_ms_ != 0;
    if (s.waiting_for_lock) {
        s.lock_wait_ms = static_cast<std::uint64_t>(
            std::max<std::int64_t>(0, reactor::monotonic_ms() - lock_wait_since_ms_));
    }
    return s;
}

void Store::thread_main(std::unique_ptr<StoreDb> db) {
    std::vector<StoreRequest*> batch;
    batch.reserve(options_.batch_writes_max);
    using Clock = std::chrono::steady_clock;
    const auto interval = std::chrono::milliseconds(options_.maintenance_interval_ms);
    const auto trim_idle = std::chrono::milliseconds(heap_trim_idle_ms);
    // Maintenance is due every interval, busy or idle (a busy node must prune too); the heap
    // trim once the thread has been idle for trim_idle after some work. The first prune comes
    // soon after the start (a node restarted more often than the interval prunes too), but not
    // before the start-up's own requests: with the write lock held by another process it would
    // hold them up for busy_timeout_ms.
    auto next_maintenance = Clock::now() + std::min<Clock::duration>(interval, first_maintenance);
    if (!db->read_only() && options_.db.path != ":memory:") {
        db->set_busy_wait([this](std::int64_t step_ms) { serve_reads_in_lock_wait(step_ms); });
    }
    auto last_work = Clock::now();
    CommitPacer pacer(
        CommitPacer::Options{options_.group_commit_wait_us, options_.group_commit_jobs_min,
                             std::min<std::size_t>(options_.batch_writes_max, options_.queue_max)});
    bool trim_due = true;  // the start-up (migrations, reconcile) was work
    auto maintain = [&](Clock::time_point now) {
        maintenance(*db);
        end_lock_wait();
        next_maintenance = now + interval;
        last_work = Clock::now();
        trim_due = true;
    };
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            auto deadline =
                trim_due ? std::min(next_maintenance, last_work + trim_idle) : next_maintenance;
            bool woke = wake_.wait_until(lock, deadline, [this] {
                return !queue_.empty() || closing_.load(std::memory_order_relaxed);
            });
            if (!woke) {
                lock.unlock();
                auto now = Clock::now();
                if (now >= next_maintenance) {
                    maintain(now);
                } else if (trim_due && now >= last_work + trim_idle) {
                    log_heap_trim("store", trim_thread_heap());
                    trim_due = false;
                }
                continue;
            }
            if (queue_.empty()) {
                break;  // closing, and everything queued has been answered
            }
            // Group commit under load (engine/commit_pacer.hpp).
            std::uint64_t open = pacer.wait_us() > 0 ? open_jobs() : 0;
            if (std::size_t target = pacer.gather_target(queue_.size(), open); target > 0) {
                gather_target_ = target;
                wake_.wait_for(lock, std::chrono::microseconds(pacer.wait_us()), [this] {
                    return queue_.size() >= gather_target_ ||
                           closing_.load(std::memory_order_relaxed);
                });
                gather_target_ = 0;
                stats_.waited_batches++;
            }
            while (!queue_.empty() && batch.size() < options_.batch_writes_max) {
                batch.push_back(queue_.front());
                queue_.pop_front();
                queued_reads_ -= batch.back()->reads_only ? 1u : 0u;
            }
            pacer.took(batch.size(), std::chrono::duration_cast<std::chrono::microseconds>(
                                         Clock::now().time_since_epoch())
                                         .count());
        }
        run_batch(*db, batch);
        batch.clear();
        last_work = Clock::now();
        trim_due = true;
        if (last_work >= next_maintenance) {
            maintain(last_work);
        }
    }
    {
        std::lock_guard lock(mutex_);
        LOG_DEBUG(
            "store: closing the database (%llu requests in %llu transactions, %llu run "
            "again after a failure)",
            static_cast<unsigned long long>(stats_.requests),
            static_cast<unsigned long long>(stats_.batches),
            static_cast<unsigned long long>(stats_.batch_reruns));
    }
    reader_.reset();
    db->set_busy_wait({});  // its close (PRAGMA optimize) may wait for a lock: a plain sleep
    db.reset();
}

// One transaction for the whole batch. Fast path: the requests run one after the other with no
// savepoint between them (a savepoint makes SQLite copy every page a request touches that an
// earlier request of the batch already changed). If one fails, the transaction is rolled back
// and the batch runs again with a savepoint around each request, so that only the failing one is
// undone; a request may therefore run twice (StoreRequest::execute).
void Store::run_batch(StoreDb& db, std::vector<StoreRequest*>& batch) {
    bool rerun = false;
    Status committed =
        db.read_only() ? execute_read_only(db, batch) : execute_in_transaction(db, batch, &rerun);
    if (!committed.ok()) {
        LOG_ERROR("store: a batch of %zu request(s) failed: %s", batch.size(),
                  committed.error().message().c_str());
        // Another process held the write lock: the batch's reads are answered all the same,
        // from a snapshot (they see what was committed; the batch's writes did not happen).
        bool reads_answered =
            committed.error().code() == Errc::busy && !db.read_only() && answer_reads(db, batch);
        for (StoreRequest* r : batch) {
            if (!(reads_answered && r->reads_only)) {
                r->fail(committed.error());
            }
        }
    }
    {
        std::lock_guard lock(mutex_);
        stats_.failed_commits += committed.ok() ? 0u : 1u;
        stats_.batch_reruns += rerun ? 1u : 0u;
        stats_.requests += batch.size();
        stats_.batches++;
        stats_.batch_max = std::max<std::uint64_t>(stats_.batch_max, batch.size());
    }
    end_lock_wait();  // before any caller resumes and asks for stats
    for (StoreRequest* r : batch) {
        r->complete();  // r may be gone after this (its caller resumed)
    }
}

bool Store::answer_reads(StoreDb& db, const std::vector<StoreRequest*>& batch) {
    std::vector<StoreRequest*> reads;
    for (StoreRequest* r : batch) {
        if (r->reads_only) {
            reads.push_back(r);
        }
    }
    bool rerun = false;
    return !reads.empty() && execute_in_transaction(db, reads, &rerun).ok();
}

// Another process holds the write lock and a batch waits for it (a backup, an operator's
// sqlite3 session): a read queued meanwhile need not wait too. Reads change nothing, so taking
// them ahead of the queued writes is safe: none of those writes has committed, so no caller has
// seen it done.
void Store::serve_reads_in_lock_wait(std::int64_t step_ms) {
    if (reader_failed_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(step_ms));  // as SQLite would
        return;
    }
    std::vector<StoreRequest*> reads;
    {
        std::unique_lock lock(mutex_);
        if (lock_wait_since_ms_ == 0) {
            lock_wait_since_ms_ = reactor::monotonic_ms();
        }
        lock_waited_ = true;
        wake_.wait_for(lock, std::chrono::milliseconds(step_ms),
                       [this] { return queued_reads_ > 0; });
        if (queued_reads_ == 0) {
            return;
        }
        for (auto it = queue_.begin(); it != queue_.end();) {
            if ((*it)->reads_only) {
                reads.push_back(*it);
                it = queue_.erase(it);
            } else {
                ++it;
            }
        }
        queued_reads_ = 0;
    }
    Status done = Ok{};
    if (!reader_) {
        // Its own lock waits (a WAL recovery) are kept short: the reads can still go back.
        auto opened = StoreDb::open_reader(
            options_.db.path, std::min<std::int64_t>(options_.db.busy_timeout_ms, 1000));
        if (opened.ok()) {
            reader_ = std::move(opened.value());
        } else {
            done = opened.error();
        }
    }
    bool rerun = false;
    if (done.ok()) {
        done = execute_in_transaction(*reader_, reads, &rerun);
    }
    if (!done.ok()) {
        // Back to the front of the queue, in their order, for the batch after this wait: they
        // wait as they did before this path existed, and the rest of the wait is a plain sleep.
        LOG_WARN(
            "store: %zu read(s) could not be answered during a wait for the write lock "
            "(%s); they wait for it",
            reads.size(), done.error().message().c_str());
        reader_failed_ = true;
        reader_.reset();
        std::lock_guard lock(mutex_);
        queue_.insert(queue_.begin(), reads.begin(), reads.end());
        queued_reads_ += reads.size();
        return;
    }
    {
        std::lock_guard lock(mutex_);
        stats_.requests += reads.size();
        stats_.batches++;
        stats_.reads_in_lock_waits += reads.size();
    }
    for (StoreRequest* r : reads) {
        r->complete();
    }
}

void Store::end_lock_wait() {
    if (!lock_waited_) {
        return;  // the common case: no lock taken
    }
    lock_waited_ = false;
    reader_failed_ = false;
    reader_.reset();
    std::lock_guard lock(mutex_);
    lock_wait_since_ms_ = 0;
}

Status Store::execute_read_only(StoreDb& db, std::vector<StoreRequest*>& batch) {
    for (StoreRequest* r : batch) {
        (void)r->execute(db);
    }
    return Ok{};
}

Status Store::execute_in_transaction(StoreDb& db, std::vector<StoreRequest*>& batch, bool* rerun) {
    bool reads_only = std::all_of(batch.begin(), batch.end(),
                                  [](const StoreRequest* r) { return r->reads_only; });
    // A read request that writes fails (SQLITE_READONLY) instead of writing without the lock
    // it was meant not to need.
    struct QueryOnly {
        StoreDb* db = nullptr;
        ~QueryOnly() {
            if (db != nullptr) {
                (void)db->set_query_only(false);
            }
        }
    } query_only;
    if (reads_only) {
        PYLON_TRY(db.set_query_only(true));
        query_only.db = &db;
    }
    PYLON_TRY(reads_only ? db.begin_read() : db.begin());
    bool all_ok = true;
    for (StoreRequest* r : batch) {
        all_ok = r->execute(db) && all_ok;
    }
    if (!all_ok) {
        if (db.in_transaction()) {
            (void)db.rollback();
        }
        if (batch.size() == 1) {
            return Ok{};  // nothing else to keep: the request's own error is its answer
        }
        *rerun = true;
        PYLON_TRY(reads_only ? db.begin_read() : db.begin());
        for (StoreRequest* r : batch) {
            bool sp = db.savepoint().ok();
            bool ok = r->execute(db);
            if (sp && db.in_transaction()) {
                (void)(ok ? db.release_savepoint() : db.rollback_to_savepoint());
            }
            if (!db.in_transaction()) {  // SQLite gave up the whole transaction (I/O, full disk)
                return Error(Errc::io, "the transaction was aborted by a failing request");
            }
        }
    }
    Status committed = db.commit();
    if (!committed.ok() && db.in_transaction()) {
        (void)db.rollback();
    }
    return committed;
}

void Store::maintenance(StoreDb& db) {
    if (db.read_only()) {
        return;
    }
    auto pruned = db.prune_requests(reactor::unix_ms() - options_.processed_requests_keep_ms);
    if (!pruned.ok()) {
        LOG_WARN("store: pruning processed requests failed: %s", pruned.error().message().c_str());
        return;
    }
    std::lock_guard lock(mutex_);
    stats_.pruned_requests += static_cast<std::uint64_t>(pruned.value());
}

reactor::Task<Status> Store::flush() {
    co_return co_await run([](StoreDb&) -> Status { return Ok{}; });
}

}  // namespace pylon::engine
