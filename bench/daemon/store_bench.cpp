// Store benchmark (Google Benchmark): the store thread's work for one instant job, as the
// provider pipeline drives it at steady state. A transaction holds `batch` accepts (the
// processed_requests row and the jobs row with a ~1.2 KB request JSON) and the completions of
// the jobs accepted one batch earlier (one UPDATE each), exactly the StoreDb calls the store
// thread makes, on a file database in WAL mode that already holds `prefill` jobs (the B-trees
// a running node has). CPU time is the thread's, so the WAL writes, reads and checkpoint
// fsyncs the kernel does for it are counted. Method and figures: bench/README.md ("store").
#include <benchmark/benchmark.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/store_db.hpp"
#include "proto/hex.hpp"

namespace {

using pylon::engine::JobCompletion;
using pylon::engine::NewJob;
using pylon::engine::StoreDb;
using pylon::engine::StoreDbOptions;

constexpr std::size_t customers = 16;
constexpr std::size_t request_json_bytes = 1200;

class JobSource {
  public:
    JobSource() : rng_(42) {
        for (std::size_t i = 0; i < customers; i++) {
            customers_.push_back(random_hex());
        }
        request_json_.assign(request_json_bytes, 'x');
    }

    NewJob next(std::int64_t now_ms) {
        NewJob job;
        job.request_id = random_hex();
        job.id = pylon::engine::job_id_for_request(job.request_id);
        job.kind = 5050;
        job.customer_pubkey = customers_[rng_() % customers];
        job.request_created_at = now_ms / 1000;
        job.received_at_ms = now_ms;
        job.relay_hint = "ws://127.0.0.1:7000";
        job.reply_relays = {"ws://127.0.0.1:7000"};
        job.request_json = request_json_;
        return job;
    }

  private:
    std::string random_hex() {
        std::array<std::uint8_t, 32> bytes{};
        for (auto& b : bytes) {
            b = static_cast<std::uint8_t>(rng_());
        }
        return pylon::proto::hex_encode(bytes);
    }

    std::mt19937_64 rng_;
    std::vector<std::string> customers_;
    std::string request_json_;
};

JobCompletion completion_at(std::int64_t now_ms) {
    JobCompletion c;
    c.at_ms = now_ms;
    c.result_event_id = std::string(64, 'a');
    c.metrics.backend = "ollama";
    c.metrics.model = "llama3.2";
    c.metrics.prompt_tokens = 12;
    c.metrics.completion_tokens = 1;
    c.metrics.queue_ms = 0;
    c.metrics.first_token_ms = 1;
    c.metrics.total_ms = 1;
    return c;
}

struct Fixture {
    std::string dir;
    std::unique_ptr<StoreDb> db;
    JobSource source;
    std::vector<std::string> pending;  // accepted in the previous batch, to complete
    std::int64_t now_ms = 1'700'000'000'000;

    explicit Fixture(benchmark::State& state) {
        char tmpl[] = "/tmp/pylon-store-bench-XXXXXX";
        dir = ::mkdtemp(tmpl);
        auto opened = StoreDb::open(StoreDbOptions{dir + "/pylon.db", false, 5000});
        if (!opened.ok()) {
            state.SkipWithError(opened.error().message().c_str());
            return;
        }
        db = std::move(opened).value();
    }

    ~Fixture() {
        db.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }

    // One transaction: `accepts` new jobs, and the completions of the previous batch's.
    bool transaction(std::size_t accepts) {
        if (!db->begin().ok()) {
            return false;
        }
        for (const std::string& id : pending) {
            if (!db->complete_job(id, completion_at(now_ms)).ok()) {
                return false;
            }
        }
        pending.clear();
        for (std::size_t i = 0; i < accepts; i++) {
            NewJob job = source.next(now_ms++);
            if (!db->accept_job(job).ok()) {
                return false;
            }
            pending.push_back(job.id);
        }
        return db->commit().ok();
    }
};

void BM_StoreJob(benchmark::State& state) {
    Fixture f(state);
    if (!f.db) {
        return;
    }
    auto batch = static_cast<std::size_t>(state.range(0));
    auto prefill = static_cast<std::size_t>(state.range(1));
    for (std::size_t done = 0; done < prefill; done += 1000) {
        if (!f.transaction(1000)) {
            state.SkipWithError("prefill failed");
            return;
        }
    }
    std::size_t in_batch = 0;
    for (auto _ : state) {
        if (++in_batch == batch) {
            in_batch = 0;
            if (!f.transaction(batch)) {
                state.SkipWithError("transaction failed");
                return;
            }
        }
    }
    state.SetItemsProcessed(state.iterations());
}

// batch: accepts per transaction; prefill: jobs already in the database.
BENCHMARK(BM_StoreJob)
    ->ArgNames({"batch", "prefill"})
    ->Args({1, 20000})
    ->Args({16, 20000})
    ->Args({128, 20000})
    ->Args({128, 200000})
    ->Unit(benchmark::kMicrosecond)
    ->Iterations(20480);  // fixed: the fixture (and its prefill) is built once per run

}  // namespace

BENCHMARK_MAIN();
