#include "engine/store.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "engine/heap_trim.hpp"
#include "reactor/clock.hpp"
#include "reactor/gate.hpp"
#include "reactor/ops.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/unit/reactor/run_on_shards.hpp"

namespace pylon::engine {
namespace {

using reactor::Gate;
using reactor::Shard;
using reactor::Task;

std::string request_id(int n) {
    char buf[80];
    std::snprintf(buf, sizeof buf, "%016llx%048x",
                  static_cast<unsigned long long>(n + 1) * 0x9e3779b97f4a7c15ull, n);
    return std::string(buf, 64);
}

NewJob make_job(int n) {
    NewJob j;
    j.request_id = request_id(n);
    j.id = job_id_for_request(j.request_id);
    j.kind = 5050;
    j.customer_pubkey = std::string(64, 'c');
    j.received_at_ms = 1'700'000'000'000 + n;
    return j;
}

std::unique_ptr<Store> open_store(const std::string& path, unsigned shards,
                                  std::size_t queue_max = 64) {
    StoreOptions o;
    o.db.path = path;
    o.shard_count = shards;
    o.queue_max = queue_max;
    auto s = Store::open(o);
    EXPECT_TRUE(s.ok()) << s.error().message();
    return std::move(s.value());
}

TEST(Store, ShardsWriteManyJobsInBatchesAndResumeOnTheirShard) {
    auto dir = test::TempDir::create("pylon-store");
    ASSERT_TRUE(dir.ok());
    auto store = open_store(dir->file("pylon.db"), 2, 64);
    constexpr int per_shard = 500;
    std::atomic<int> wrong_shard{0};
    std::atomic<int> failures{0};
    reactor::testing::run_on_shards(2, [&](Shard& shard) -> Task<void> {
        return [](Store* st, unsigned id, std::atomic<int>* wrong,
                  std::atomic<int>* failed) -> Task<void> {
            Gate gate;
            for (int i = 0; i < per_shard; i++) {
                gate.spawn([](Store* s, int n, unsigned me, std::atomic<int>* w,
                              std::atomic<int>* f) -> Task<void> {
                    // A named lambda: g++ 12 destroys temporaries of a co_await expression
                    // twice (PR 100611), so none with a destructor may appear there.
                    auto accept = [job = make_job(n)](StoreDb& db) { return db.accept_job(job); };
                    auto r = co_await s->run(std::move(accept));
                    if (!r.ok() || r.value() != AcceptOutcome::accepted) {
                        (*f)++;
                    }
                    if (Shard::current().id() != me) {
                        (*w)++;
                    }
                }(st, static_cast<int>(id) * per_shard + i, id, wrong, failed));
            }
            co_await gate.close();
            Status flushed = co_await st->flush();
            EXPECT_TRUE(flushed.ok());
        }(store.get(), shard.id(), &wrong_shard, &failures);
    });
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(wrong_shard.load(), 0);
    auto counts = store->run_sync([](StoreDb& db) { return db.counts(); });
    ASSERT_TRUE(counts.ok());
    EXPECT_EQ(counts->jobs_total, 2u * per_shard);
    StoreStats stats = store->stats();
    EXPECT_GE(stats.requests, 2u * per_shard);
    // 1000 writes with at most 64 queued: they went in batches, not one transaction each.
    EXPECT_LT(stats.batches, stats.requests);
    EXPECT_GT(stats.batch_max, 1u);
    EXPECT_LE(stats.batch_max, 64u + 1u);
    EXPECT_EQ(store->shard_requests(0), static_cast<std::uint64_t>(per_shard) + 1);
}

// "A write is committed within a few ms": idle, each request is its own transaction at once
// (no batching delay). The bound is generous for a loaded CI machine and sanitizers; a
// batching timer or a commit that waited for company would show as >= 1 ms per write.
TEST(Store, AnIdleWriteCommitsWithinMilliseconds) {
    auto dir = test::TempDir::create("pylon-store");
    ASSERT_TRUE(dir.ok());
    auto store = open_store(dir->file("pylon.db"), 1);
    constexpr int writes = 21;
    std::vector<std::int64_t> us;
    reactor::testing::run_on_shard([&]() -> Task<void> {
        return [](Store* st, std::vector<std::int64_t>* out) -> Task<void> {
            for (int i = 0; i < writes; i++) {
                std::int64_t t0 = reactor::monotonic_us();
                auto insert = [job = make_job(i)](StoreDb& db) { return db.insert_job(job); };
                Status ok = co_await st->run(std::move(insert));
                EXPECT_TRUE(ok.ok());
                out->push_back(reactor::monotonic_us() - t0);
            }
        }(store.get(), &us);
    });
    ASSERT_EQ(us.size(), static_cast<std::size_t>(writes));
    std::sort(us.begin(), us.end());
    EXPECT_LT(us[writes / 2], 20'000) << "median commit " << us[writes / 2] << " us";
    EXPECT_EQ(store->stats().batches, static_cast<std::uint64_t>(writes))
        << "idle writes are not held back to share a transaction";
}

TEST(Store, AFailingRequestUndoesOnlyItself) {
    auto store = open_store(":memory:", 1);
    reactor::testing::run_on_shard([&]() -> Task<void> {
        return [](Store* st) -> Task<void> {
            Gate gate;
            std::vector<int> results(3, -1);
            for (int i = 0; i < 3; i++) {
                gate.spawn([](Store* s, int n, int* out) -> Task<void> {
                    auto r = co_await s->run([n](StoreDb& db) -> Status {
                        PYLON_TRY(db.insert_job(make_job(n)));
                        if (n == 1) {
                            return Error(Errc::invalid_input, "refused after writing");
                        }
                        return Ok{};
                    });
                    *out = r.ok() ? 1 : 0;
                }(st, i, &results[static_cast<std::size_t>(i)]));
            }
            co_await gate.close();
            EXPECT_EQ(results, (std::vector<int>{1, 0, 1}));
            auto jobs = co_await st->run([](StoreDb& db) { return db.list_jobs({10, ""}); });
            EXPECT_TRUE(jobs.ok());
            EXPECT_EQ(jobs->size(), 2u);
        }(store.get());
    });
}

// What a batch did: which request ran when (on the store thread), and what each caller got.
struct BatchRun {
    std::vector<int> executions;
    std::vector<int> results;       // 1 ok, 0 failed, -1 not answered
    std::vector<std::string> rows;  // job ids left `pending`, in insertion (rowid) order
    StoreStats stats;
};

// Holds the store thread inside one request (run_sync from another thread) while a shard queues
// `count` requests, so that they all wait for the same next batch; request `fail_at` inserts its
// job and then fails.
BatchRun run_held_batch(int count, int fail_at) {
    auto store = open_store(":memory:", 1, 4096);
    BatchRun out;
    out.results.assign(static_cast<std::size_t>(count), -1);
    std::atomic<bool> holding{false};
    std::atomic<bool> release{false};
    std::thread holder([&]() {
        Status st = store->run_sync([&](StoreDb&) -> Status {
            holding = true;
            for (int i = 0; i < 10'000 && !release; i++) {
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
            return Ok{};
        });
        EXPECT_TRUE(st.ok());
    });
    for (int i = 0; i < 10'000 && !holding; i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_TRUE(holding.load());
    reactor::testing::run_on_shard([&]() -> Task<void> {
        return
            [](Store* st, BatchRun* run, int n_max, int fail, std::atomic<bool>* go) -> Task<void> {
                Gate gate;
                for (int i = 0; i < n_max; i++) {
                    gate.spawn([](Store* s, BatchRun* r, int n, int fail_n) -> Task<void> {
                        auto write = [r, n, fail_n](StoreDb& db) -> Status {
                            r->executions.push_back(n);
                            PYLON_TRY(db.insert_job(make_job(n)));
                            if (n == fail_n) {
                                return Error(Errc::invalid_input, "refused after writing");
                            }
                            return Ok{};
                        };
                        Status answer = co_await s->run(std::move(write));
                        r->results[static_cast<std::size_t>(n)] = answer.ok() ? 1 : 0;
                    }(st, run, i, fail));
                }
                // Every request is queued once the shard's counter says so (queueing is
                // synchronous).
                for (int i = 0; i < 100'000 && st->shard_requests(0) < std::uint64_t(n_max); i++) {
                    co_await reactor::yield();
                }
                EXPECT_EQ(st->shard_requests(0), std::uint64_t(n_max));
                *go = true;
                co_await gate.close();
            }(store.get(), &out, count, fail_at, &release);
    });
    holder.join();
    out.stats = store->stats();
    auto rows = store->run_sync([](StoreDb& db) { return db.unfinished_jobs(); });
    EXPECT_TRUE(rows.ok());
    for (const UnfinishedJob& j : rows.value()) {
        out.rows.push_back(j.id);
    }
    return out;
}

std::vector<int> iota_except(int count, int skip) {
    std::vector<int> v;
    for (int i = 0; i < count; i++) {
        if (i != skip) {
            v.push_back(i);
        }
    }
    return v;
}

std::vector<std::string> job_ids(const std::vector<int>& ns) {
    std::vector<std::string> ids;
    for (int n : ns) {
        ids.push_back(make_job(n).id);
    }
    return ids;
}

TEST(Store, QueuedRequestsRunInOneTransactionInQueueOrder) {
    constexpr int count = 200;
    BatchRun run = run_held_batch(count, -1);
    EXPECT_EQ(run.results, std::vector<int>(count, 1));
    EXPECT_EQ(run.executions, iota_except(count, -1)) << "each ran once, in queue order";
    EXPECT_EQ(run.rows, job_ids(iota_except(count, -1)));
    EXPECT_EQ(run.stats.batches, 2u) << "the held request, then all the others together";
    EXPECT_EQ(run.stats.batch_max, static_cast<std::uint64_t>(count));
    EXPECT_EQ(run.stats.batch_reruns, 0u);
    EXPECT_EQ(run.stats.failed_commits, 0u);
}

TEST(Store, AFailingRequestInABatchLosesNothingElse) {
    constexpr int count = 50;
    constexpr int failing = 17;
    BatchRun run = run_held_batch(count, failing);
    std::vector<int> expected(count, 1);
    expected[failing] = 0;
    EXPECT_EQ(run.results, expected) << "only the failing request reports a failure";
    // Its insert is undone, every other row kept, in queue order, in the same single commit.
    EXPECT_EQ(run.rows, job_ids(iota_except(count, failing)));
    EXPECT_EQ(run.stats.batches, 2u);
    EXPECT_EQ(run.stats.batch_reruns, 1u) << "the batch ran again with savepoints";
    std::vector<int> twice = iota_except(count, -1);
    twice.insert(twice.end(), twice.begin(), twice.end());
    EXPECT_EQ(run.executions, twice);
}

TEST(Store, CallRunsAMethodWithCopiedArguments) {
    auto store = open_store(":memory:", 1);
    reactor::testing::run_on_shard([&]() -> Task<void> {
        return [](Store* st) -> Task<void> {
            NewJob job = make_job(3);
            Status ins = co_await st->call(&StoreDb::insert_job, job);
            EXPECT_TRUE(ins.ok());
            Status failed = co_await st->call(
                &StoreDb::fail_job, job.id,
                std::string("the backend went away after ") + std::to_string(42) + " tokens",
                std::int64_t{1'700'000'000'500}, std::int64_t{0});
            EXPECT_TRUE(failed.ok());
            auto row = co_await st->call(&StoreDb::get_job, job.id);
            EXPECT_TRUE(row.ok() && row->has_value());
            if (row.ok() && row->has_value()) {
                EXPECT_EQ((*row)->error_message, "the backend went away after 42 tokens");
            }
            auto missing = co_await st->call(&StoreDb::fail_job, std::string("job_none"),
                                             std::string("x"), std::int64_t{1}, std::int64_t{0});
            EXPECT_EQ(missing.error().code(), Errc::not_found);
        }(store.get());
    });
}

TEST(Store, RunSyncFromAnotherThreadAndCloseAnswersEverything) {
    auto store = open_store(":memory:", 1);
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int t = 0; t < 4; t++) {
        threads.emplace_back([&store, &ok, t]() {
            for (int i = 0; i < 50; i++) {
                Status st = store->run_sync(
                    [n = t * 50 + i](StoreDb& db) { return db.insert_job(make_job(n)); });
                ok += st.ok() ? 1 : 0;
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    EXPECT_EQ(ok.load(), 200);
    EXPECT_EQ(store->run_sync([](StoreDb& db) { return db.counts(); })->jobs_total, 200u);
    store->close();
    EXPECT_TRUE(store->closed());
    Status after = store->run_sync([](StoreDb& db) { return db.exec("SELECT 1"); });
    ASSERT_FALSE(after.ok());
    EXPECT_EQ(after.error().code(), Errc::closed);
}

// Group commit under load ([store] group_commit_wait_us / group_commit_jobs_min). The wait is a
// minute here so that a commit that did not wait for company, or a wait that was not cut short,
// cannot pass by chance.
std::unique_ptr<Store> open_gathering_store(std::uint32_t jobs_min) {
    StoreOptions o;
    o.db.path = ":memory:";
    o.group_commit_wait_us = 60'000'000;
    o.group_commit_jobs_min = jobs_min;
    auto s = Store::open(o);
    EXPECT_TRUE(s.ok()) << s.error().message();
    return std::move(s.value());
}

// Queues `count` inserts (jobs first, first + 1, ...) one at a time from a shard that reports
// `open_jobs` open jobs; after the first, waits (up to 10 s) until the store thread either
// waits for company or answered it, so that the others are queued while it waits. Returns how
// many were answered ok and the seconds it took.
std::pair<int, double> insert_one_by_one(Store* store, std::uint32_t open_jobs, int count,
                                         int first = 0) {
    int ok = 0;
    std::int64_t t0 = reactor::monotonic_us();
    reactor::testing::run_on_shard([&]() -> Task<void> {
        return [](Store* st, std::uint32_t open, int n_max, int n0, int* answered) -> Task<void> {
            st->set_open_jobs(open);
            Gate gate;
            for (int i = 0; i < n_max; i++) {
                gate.spawn([](Store* s, int n, int* a) -> Task<void> {
                    auto insert = [job = make_job(n)](StoreDb& db) { return db.insert_job(job); };
                    Status done = co_await s->run(std::move(insert));
                    *a += done.ok() ? 1 : 0;
                }(st, n0 + i, answered));
                for (int w = 0; i == 0 && w < 10'000 && !st->stats().gathering && *answered == 0;
                     w++) {
                    (void)co_await reactor::sleep_ms(1);
                }
            }
            co_await gate.close();
            st->set_open_jobs(0);  // the jobs ended: later requests need not wait
        }(store, open_jobs, count, first, &ok);
    });
    return {ok, static_cast<double>(reactor::monotonic_us() - t0) / 1e6};
}

TEST(Store, UnderLoadACommitWaitsUntilHalfTheOpenJobsAsked) {
    auto store = open_gathering_store(8);
    // The first requests commit at once (no request rate known yet: nothing says company will
    // come); two batches give the store a rate, and a minute's wait is then sure to see more.
    EXPECT_EQ(insert_one_by_one(store.get(), 12, 2, 100).first, 2);
    // 12 jobs open: the first request waits for 5 more (half of 12), and the 6th cuts the
    // minute short. Each request was queued alone, so without the wait they would have gone in
    // several transactions.
    auto [ok, seconds] = insert_one_by_one(store.get(), 12, 6);
    EXPECT_EQ(ok, 6);
    EXPECT_LT(seconds, 30.0) << "the 6th request did not end the wait";
    StoreStats stats = store->stats();
    EXPECT_EQ(stats.batches, 3u);
    EXPECT_EQ(stats.batch_max, 6u);
    EXPECT_EQ(stats.waited_batches, 1u);
    EXPECT_EQ(store->run_sync([](StoreDb& db) { return db.counts(); })->jobs_total, 8u);
}

// Many jobs open but requests seldom (long generations): waiting for company would only add
// latency, so the store commits at once. 10 requests 20 ms apart against a 1 ms wait.
TEST(Store, ManyOpenJobsAtALowRequestRateDoNotWait) {
    StoreOptions o;
    o.db.path = ":memory:";
    o.group_commit_wait_us = 1000;
    o.group_commit_jobs_min = 8;
    auto opened = Store::open(o);
    ASSERT_TRUE(opened.ok());
    auto store = std::move(opened.value());
    int ok = 0;
    reactor::testing::run_on_shard([&]() -> Task<void> {
        return [](Store* st, int* answered) -> Task<void> {
            st->set_open_jobs(100);
            for (int i = 0; i < 10; i++) {
                auto insert = [job = make_job(i)](StoreDb& db) { return db.insert_job(job); };
                Status done = co_await st->run(std::move(insert));
                *answered += done.ok() ? 1 : 0;
                (void)co_await reactor::sleep_ms(20);
            }
            st->set_open_jobs(0);
        }(store.get(), &ok);
    });
    EXPECT_EQ(ok, 10);
    EXPECT_EQ(store->stats().waited_batches, 0u);
    EXPECT_EQ(store->stats().batches, 10u);
}

TEST(Store, BelowTheJobsMinimumEveryRequestCommitsAtOnce) {
    auto store = open_gathering_store(8);
    auto [ok, seconds] = insert_one_by_one(store.get(), 7, 5);
    EXPECT_EQ(ok, 5);
    EXPECT_LT(seconds, 30.0);
    StoreStats stats = store->stats();
    EXPECT_EQ(stats.waited_batches, 0u);
    EXPECT_GE(stats.batches, 1u);
}

TEST(Store, CloseEndsAWaitForCompanyAndCommitsWhatWaited) {
    auto store = open_gathering_store(8);
    EXPECT_EQ(insert_one_by_one(store.get(), 100, 2, 100).first, 2);  // the rate is known now
    std::thread closer([&store]() {
        // Once the request waits in the store for company, close.
        for (int i = 0; i < 10'000 && !store->stats().gathering; i++) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        store->close();
    });
    auto [ok, seconds] = insert_one_by_one(store.get(), 100, 1);
    closer.join();
    EXPECT_EQ(ok, 1) << "a request queued before close() is committed and answered";
    EXPECT_LT(seconds, 30.0);
    EXPECT_EQ(store->stats().waited_batches, 1u);
}

// Pruning is due every maintenance interval even when requests never stop: it used to wait for
// an interval with no request at all, which a busy node never has.
TEST(Store, ABusyStoreStillPrunesOnSchedule) {
    StoreOptions o;
    o.db.path = ":memory:";
    o.maintenance_interval_ms = 300;
    auto opened = Store::open(o);
    ASSERT_TRUE(opened.ok());
    auto store = std::move(opened.value());
    std::int64_t t0 = reactor::monotonic_us();
    int n = 0;
    // A request every 5 ms (never 300 ms without one), each remembering a request created in
    // 1970: older than any keep period, so the next pruning takes it.
    while (store->stats().pruned_requests == 0 && reactor::monotonic_us() - t0 < 10'000'000) {
        auto remember = [id = request_id(n++)](StoreDb& db) {
            return db.remember_request(id, 1000, "refused", reactor::unix_ms());
        };
        ASSERT_TRUE(store->run_sync(std::move(remember)).ok());
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_GT(store->stats().pruned_requests, 0u)
        << n << " requests in " << (reactor::monotonic_us() - t0) / 1000 << " ms, none pruned";
}

std::atomic<int> g_store_trims{0};
std::atomic<bool> g_trimmed_on_store_thread{false};

TEST(Store, AnIdleStoreThreadTrimsItsHeapOnce) {
    g_store_trims = 0;
    g_trimmed_on_store_thread = false;
    set_heap_trim([]() {
        char name[32] = {};
        pthread_getname_np(pthread_self(), name, sizeof name);
        g_trimmed_on_store_thread = std::string(name) == "pylon-store";
        g_store_trims++;
    });
    auto store = open_store(":memory:", 1);
    ASSERT_TRUE(store->run_sync([](StoreDb& db) { return db.insert_job(make_job(1)); }).ok());
    for (int i = 0; i < 1000 && g_store_trims.load() == 0; i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    int after_first = g_store_trims.load();
    // Idle on: no second trim without work in between.
    std::this_thread::sleep_for(std::chrono::milliseconds(heap_trim_idle_ms + 500));
    int later = g_store_trims.load();
    store->close();
    set_heap_trim(nullptr);
    EXPECT_EQ(after_first, 1) << "trimmed within 10 s of its last request";
    EXPECT_TRUE(g_trimmed_on_store_thread.load());
    EXPECT_EQ(later, 1);
}

// A file store (busy_timeout_ms 1500) holding one job, and another connection that holds the
// database's write lock until unlock().
struct LockedStore {
    test::TempDir dir = std::move(test::TempDir::create("pylon-store")).value();
    std::unique_ptr<Store> store;
    sqlite3* other = nullptr;

    explicit LockedStore(std::int64_t busy_timeout_ms = 1500) {
        StoreOptions o;
        o.db.path = dir.file("pylon.db");
        o.db.busy_timeout_ms = busy_timeout_ms;
        auto opened = Store::open(o);
        EXPECT_TRUE(opened.ok()) << opened.error().message();
        store = std::move(opened.value());
        EXPECT_TRUE(store->run_sync([](StoreDb& db) { return db.insert_job(make_job(1)); }).ok());
        EXPECT_EQ(sqlite3_open(o.db.path.c_str(), &other), SQLITE_OK);
        EXPECT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    }
    ~LockedStore() { unlock(); }
    void unlock() {
        if (other != nullptr) {
            sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
            sqlite3_close(other);
            other = nullptr;
        }
    }
};

// Another process holding the database's write lock (a backup, an operator's sqlite3 session)
// holds up writes for busy_timeout_ms, never reads: the start-up's counts and the CLI's jobs
// and earnings are answered from a snapshot. They used to wait for the lock and fail, which
// stopped the node at its start.
TEST(Store, AnotherConnectionsWriteLockHoldsUpWritesNotReads) {
    LockedStore locked;
    Store* store = locked.store.get();

    auto counts = store->read_sync([](StoreDb& db) { return db.counts(); });
    ASSERT_TRUE(counts.ok()) << counts.error().message();
    EXPECT_EQ(counts->jobs_total, 1u);
    auto listed = store->read_sync([](StoreDb& db) { return db.list_jobs(JobQuery{}); });
    ASSERT_TRUE(listed.ok()) << listed.error().message();
    EXPECT_EQ(listed->size(), 1u);
    // The lock is real: a write waits busy_timeout_ms for it, then fails saying why.
    Status write = store->run_sync([](StoreDb& db) { return db.insert_job(make_job(2)); });
    ASSERT_FALSE(write.ok());
    EXPECT_EQ(write.error().code(), Errc::busy);
    EXPECT_NE(write.error().message().find("busy_timeout_ms"), std::string::npos)
        << write.error().message();
    // Who holds it (here, this process's other connection), from /proc/locks.
    EXPECT_NE(write.error().message().find("it is held by pid " + std::to_string(::getpid())),
              std::string::npos)
        << write.error().message();

    locked.unlock();
    // A write passed to read_sync fails rather than write without the lock; the next write
    // works (the read batch's query_only is undone).
    Status misuse = store->read_sync([](StoreDb& db) { return db.insert_job(make_job(9)); });
    ASSERT_FALSE(misuse.ok());
    EXPECT_EQ(misuse.error().code(), Errc::permission) << misuse.error().message();
    EXPECT_TRUE(store->run_sync([](StoreDb& db) { return db.insert_job(make_job(2)); }).ok());
    EXPECT_EQ(store->read_sync([](StoreDb& db) { return db.counts(); })->jobs_total, 2u);
}

// A read queued behind a write that waits for the lock is answered during that wait (from a
// second, read-only connection), not after it: `pylon jobs` used to hang for busy_timeout_ms.
TEST(Store, AReadQueuedBehindAWriteWaitingForTheLockIsAnsweredMeanwhile) {
    LockedStore locked(10000);
    Store* store = locked.store.get();

    std::atomic<bool> write_done{false};
    Status write = Error(Errc::internal, "not run");
    std::thread writer([&] {
        write = store->run_sync([](StoreDb& db) { return db.insert_job(make_job(2)); });
        write_done = true;
    });
    // On any way out: the lock released (so the write ends), the writer joined.
    struct Joiner {
        LockedStore& locked;
        std::thread& writer;
        ~Joiner() {
            locked.unlock();
            if (writer.joinable()) {
                writer.join();
            }
        }
    } joiner{locked, writer};
    for (int i = 0; i < 500 && !store->stats().waiting_for_lock; i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(store->stats().waiting_for_lock);
    auto counts = store->read_sync([](StoreDb& db) { return db.counts(); });
    bool write_done_at_read = write_done;
    EXPECT_FALSE(write_done_at_read) << "the read waited for the write";
    ASSERT_TRUE(counts.ok()) << counts.error().message();
    EXPECT_EQ(counts->jobs_total, 1u);
    EXPECT_EQ(store->stats().reads_in_lock_waits, 1u);

    locked.unlock();
    writer.join();
    EXPECT_TRUE(write.ok()) << write.error().message();
    EXPECT_EQ(store->read_sync([](StoreDb& db) { return db.counts(); })->jobs_total, 2u);
}

// A batch of reads and writes that cannot have the write lock answers its reads from a snapshot
// and fails only its writes (it failed them all). The batch is made deterministic by a first,
// slow read that holds the store thread until the write and the read are both queued.
TEST(Store, AMixedBatchWithoutTheWriteLockStillAnswersItsReads) {
    LockedStore locked;
    Store* store = locked.store.get();

    Status second = Ok{};
    Result<StoreCounts> read = Error(Errc::internal, "not run");
    std::atomic<bool> holding{false};
    std::thread holder([&] {
        (void)store->read_sync([store, &holding](StoreDb& db) {
            holding = true;
            for (int i = 0; i < 500 && store->stats().queued < 2; i++) {
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            return db.counts();
        });
    });
    for (int i = 0; i < 500 && !holding; i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::thread writer(
        [&] { second = store->run_sync([](StoreDb& db) { return db.insert_job(make_job(3)); }); });
    std::thread reader([&] { read = store->read_sync([](StoreDb& db) { return db.counts(); }); });
    holder.join();
    writer.join();
    reader.join();
    locked.unlock();

    EXPECT_EQ(store->stats().batch_max, 2u) << "the read and the write were one batch";
    EXPECT_EQ(store->stats().reads_in_lock_waits, 0u);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code(), Errc::busy);
    ASSERT_TRUE(read.ok()) << read.error().message();
    EXPECT_EQ(read->jobs_total, 1u);
}

TEST(Store, OpenFailureIsReported) {
    StoreOptions o;
    o.db.path = "/nonexistent-folder/pylon.db";
    auto s = Store::open(o);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message().find("/nonexistent-folder/pylon.db"), std::string::npos);
}

TEST(Store, DataSurvivesReopen) {
    auto dir = test::TempDir::create("pylon-store");
    ASSERT_TRUE(dir.ok());
    {
        auto store = open_store(dir->file("pylon.db"), 1);
        ASSERT_TRUE(store->run_sync([](StoreDb& db) { return db.insert_job(make_job(1)); }).ok());
    }
    auto store = open_store(dir->file("pylon.db"), 1);
    EXPECT_EQ(store->run_sync([](StoreDb& db) { return db.counts(); })->jobs_total, 1u);
}

}  // namespace
}  // namespace pylon::engine
