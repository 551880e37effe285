#include "engine/store.hpp"

#include <pthread.h>

#include <chrono>

#include "reactor/clock.hpp"
#include "reactor/log.hpp"

namespace pylon::engine {

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

bool Store::enqueue(StoreRequest* request) {
    {
        std::lock_guard lock(mutex_);
        if (closing_.load(std::memory_order_relaxed)) {
            return false;
        }
        queue_.push_back(request);
    }
    wake_.notify_one();
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
    return stats_;
}

void Store::thread_main(std::unique_ptr<StoreDb> db) {
    maintenance(*db);
    std::vector<StoreRequest*> batch;
    batch.reserve(options_.batch_writes_max);
    auto interval = std::chrono::milliseconds(options_.maintenance_interval_ms);
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            bool woke = wake_.wait_for(lock, interval, [this] {
                return !queue_.empty() || closing_.load(std::memory_order_relaxed);
            });
            if (!woke) {
                lock.unlock();
                maintenance(*db);
                continue;
            }
            if (queue_.empty()) {
                break;  // closing, and everything queued has been answered
            }
            while (!queue_.empty() && batch.size() < options_.batch_writes_max) {
                batch.push_back(queue_.front());
                queue_.pop_front();
            }
        }
        run_batch(*db, batch);
        batch.clear();
    }
    LOG_DEBUG("store: closing the database");
    db.reset();
}

void Store::run_batch(StoreDb& db, std::vector<StoreRequest*>& batch) {
    bool writable = !db.read_only();
    Status begun = writable ? db.begin() : Status(Ok{});
    if (!begun.ok()) {
        LOG_ERROR("store: cannot start a transaction: %s", begun.error().message().c_str());
        for (StoreRequest* r : batch) {
            r->fail(begun.error());
        }
    } else {
        for (StoreRequest* r : batch) {
            bool sp = writable && db.savepoint().ok();
            bool ok = r->execute(db);
            if (sp) {
                Status undo = ok ? db.release_savepoint() : db.rollback_to_savepoint();
                (void)undo;
            }
        }
        Status committed = writable ? db.commit() : Status(Ok{});
        if (!committed.ok()) {
            LOG_ERROR("store: commit failed: %s", committed.error().message().c_str());
            (void)db.rollback();
            for (StoreRequest* r : batch) {
                r->fail(committed.error());
            }
        }
        std::lock_guard lock(mutex_);
        stats_.failed_commits += committed.ok() ? 0u : 1u;
    }
    {
        std::lock_guard lock(mutex_);
        stats_.requests += batch.size();
        stats_.batches++;
        stats_.batch_max = std::max<std::uint64_t>(stats_.batch_max, batch.size());
    }
    for (StoreRequest* r : batch) {
        r->complete();  // r may be gone after this (its caller resumed)
    }
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
