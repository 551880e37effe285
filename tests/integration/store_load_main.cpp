// pylon_store_load: test equipment for the daemon's crash tests. Runs the engine Runtime on a
// database with a writer service on every shard that records jobs as fast as the store commits
// them (each request: insert a job, complete it, record its earning, atomically), handles
// SIGINT/SIGTERM like the daemon, and prints "ACK <n>" after every 200 acknowledged (committed)
// requests, so a test that kills it knows a lower bound of the rows that must survive.
//   usage: pylon_store_load --db PATH [--shards N] [--writers-per-shard K]
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <unistd.h>

#include "engine/runtime.hpp"
#include "engine/store.hpp"
#include "reactor/clock.hpp"
#include "reactor/gate.hpp"
#include "reactor/signals.hpp"

namespace {

using pylon::Status;
using pylon::engine::StoreDb;
using pylon::reactor::Task;

std::atomic<std::uint64_t> g_acked{0};

class Writer final : public pylon::engine::Service {
  public:
    Writer(pylon::engine::ServiceContext& ctx, int writers) : ctx_(ctx), writers_(writers) {}
    Task<Status> start() override {
        for (int i = 0; i < writers_; i++) {
            gate_.spawn(run(this, i));
        }
        co_return pylon::Ok{};
    }
    Task<void> stop() override {
        stopping_ = true;
        co_await gate_.close();
    }

  private:
    static Task<void> run(Writer* self, int lane) {
        for (std::uint64_t n = 0; !self->stopping_; n++) {
            // The first 16 characters (the job id) are unique: process, shard, lane, counter.
            char id[80];
            unsigned long long key =
                (static_cast<unsigned long long>(::getpid() & 0xffff) << 48) |
                (static_cast<unsigned long long>(self->ctx_.shard().id() & 0xff) << 40) |
                (static_cast<unsigned long long>(lane & 0xff) << 32) | (n & 0xffffffffull);
            std::snprintf(id, sizeof id, "%016llx%048x", key, 0u);
            pylon::engine::NewJob job;
            job.request_id = std::string(id, 64);
            job.id = pylon::engine::job_id_for_request(job.request_id);
            job.kind = 5050;
            job.customer_pubkey = std::string(64, 'c');
            job.received_at_ms = pylon::reactor::unix_ms();
            auto write = [job](StoreDb& db) -> Status {
                PYLON_TRY(db.insert_job(job));
                pylon::engine::JobCompletion done;
                done.at_ms = job.received_at_ms + 1;
                done.price_msats = 1000;
                done.earned_msats = 1000;
                return db.complete_job(job.id, done);
            };
            Status st = co_await self->ctx_.store().run(std::move(write));
            if (!st.ok()) {
                std::fprintf(stderr, "write failed: %s\n", st.error().message().c_str());
                co_return;
            }
            std::uint64_t acked = ++g_acked;
            if (acked % 200 == 0) {
                std::printf("ACK %llu\n", static_cast<unsigned long long>(acked));
                std::fflush(stdout);
            }
        }
    }

    pylon::engine::ServiceContext& ctx_;
    int writers_;
    bool stopping_ = false;
    pylon::reactor::Gate gate_;
};

}  // namespace

int main(int argc, char** argv) {
    std::string db;
    unsigned shards = 2;
    int writers = 16;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--db") == 0) {
            db = argv[i + 1];
        } else if (std::strcmp(argv[i], "--shards") == 0) {
            shards = static_cast<unsigned>(std::atoi(argv[i + 1]));
        } else if (std::strcmp(argv[i], "--writers-per-shard") == 0) {
            writers = std::atoi(argv[i + 1]);
        }
    }
    if (db.empty()) {
        std::fprintf(stderr, "usage: pylon_store_load --db PATH [--shards N]\n");
        return 2;
    }
    pylon::reactor::block_handled_signals();
    pylon::engine::RuntimeOptions o;
    o.home_dir = db.substr(0, db.rfind('/'));
    o.db_path = db;
    o.handle_signals = true;
    o.shards = shards;
    o.config.shards.pin = false;
    o.services.push_back(
        {"writer", pylon::engine::ServicePlacement::every_shard, pylon::engine::service_order::jobs,
         [writers](pylon::engine::ServiceContext& ctx) -> std::unique_ptr<pylon::engine::Service> {
             return std::make_unique<Writer>(ctx, writers);
         }});
    pylon::engine::Runtime runtime(std::move(o));
    if (Status st = runtime.start(); !st.ok()) {
        std::fprintf(stderr, "start: %s\n", st.error().message().c_str());
        return 1;
    }
    std::printf("READY\n");
    std::fflush(stdout);
    Status end = runtime.wait();
    std::printf("STOPPED acked=%llu\n", static_cast<unsigned long long>(g_acked.load()));
    std::fflush(stdout);
    return end.ok() ? 0 : 1;
}
