#include "engine/runtime.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "engine/control_client.hpp"
#include "engine/control_commands.hpp"
#include "engine/status_board.hpp"
#include "engine/store.hpp"
#include "proto/json_reader.hpp"
#include "reactor/clock.hpp"
#include "reactor/ops.hpp"
#include "tests/support/temp_dir.hpp"

namespace pylon::engine {
namespace {

using reactor::Task;

// What the test service reports back to the test thread.
struct Probe {
    bool fail_start = false;
    std::int64_t stop_delay_ms = 0;
    std::atomic<int> started{0};
    std::atomic<int> stopped{0};
    std::atomic<int> reloaded{0};
    std::atomic<std::int64_t> stop_finished_ms{0};
};

// A store request that records job number `n` as received and completed.
auto record_job(std::uint64_t n) {
    return [n](StoreDb& db) -> Status {
        std::string digits = std::to_string(n);
        NewJob j;  // the job id is made of the request id's first 16 characters
        j.request_id = std::string(16 - digits.size(), '0') + digits + std::string(48, 'a');
        j.id = job_id_for_request(j.request_id);
        j.kind = 5050;
        j.customer_pubkey = "cafe";
        j.received_at_ms = 1'700'000'000'000;
        PYLON_TRY(db.insert_job(j));
        return db.complete_job(j.id, {1'700'000'001'000, 1000, 1000, "", "", {}});
    };
}

// Emits a JobReceived from its shard at start, registers "Burst" on shard 0, and stops slowly
// when asked to (a stand-in for in-flight jobs).
class TestService final : public Service {
  public:
    TestService(ServiceContext& ctx, Probe* probe) : ctx_(ctx), probe_(probe) {}

    Task<Status> start() override {
        if (probe_->fail_start && ctx_.shard().id() == 0) {
            co_return Error(Errc::refused, "told to fail");
        }
        ctx_.emit(proto::DomainEvent::job_received(
            "job_from_shard_" + std::to_string(ctx_.shard().id()), 5050, "ab"));
        if (ctx_.shard().id() == 0) {
            ctx_.control_commands().add("Burst", &TestService::burst, this);
            proto::RelayInfo relay;
            relay.url = "ws://relay.test";
            relay.state = "connected";
            relay.connects = 1;
            ctx_.board().update_relay(relay);
            proto::BackendInfo backend;
            backend.id = "ollama";
            backend.url = "http://127.0.0.1:11434";
            backend.available = true;
            backend.models = {"llama3.2"};
            ctx_.board().update_backend(backend);
        }
        probe_->started++;
        co_return Ok{};
    }
    Task<void> stop() override {
        if (ctx_.shard().id() == 0) {
            ctx_.control_commands().remove("Burst");
        }
        if (probe_->stop_delay_ms > 0) {
            co_await reactor::sleep_ms(probe_->stop_delay_ms);
        }
        probe_->stop_finished_ms = reactor::monotonic_ms();
        probe_->stopped++;
    }
    void reload(const Config&) override { probe_->reloaded++; }

  private:
    // {"Burst":{"count":N,"every":M,"write":W}}: N events, pausing 1 ms every M (about M
    // events/ms); with W true, each pause also records a completed job in the store (and waits
    // for its commit). Replies "Ok", or an error if a write failed.
    static Task<std::string> burst(void* self_ptr, proto::ControlRequest req) {
        auto* self = static_cast<TestService*>(self_ptr);
        proto::JsonReader reader;
        simdjson::dom::element root;
        std::uint64_t count = 100;
        std::uint64_t every = 100;
        bool write = false;
        if (reader.parse(req.args_json, root) == proto::Reject::none) {
            if (root["count"].get(count) != simdjson::SUCCESS) {
                count = 100;
            }
            if (root["every"].get(every) != simdjson::SUCCESS) {
                every = 100;
            }
            if (root["write"].get(write) != simdjson::SUCCESS) {
                write = false;
            }
        }
        for (std::uint64_t i = 0; i < count; i++) {
            self->ctx_.emit(proto::DomainEvent::job_progress("job_burst", 0.5));
            if ((i + 1) % every != 0) {
                continue;
            }
            co_await reactor::sleep_ms(1);
            if (write) {
                Status st = co_await self->ctx_.store().run(record_job(i));
                if (!st.ok()) {
                    co_return "{\"Error\":\"write failed\"}";
                }
            }
        }
        co_return std::string("\"Ok\"");
    }

    ServiceContext& ctx_;
    Probe* probe_;
};

// Records "start <name>" / "stop <name>" into a shared log; the "jobs" instances write a job to
// the store while stopping (in-flight work finishing), which must still commit.
struct OrderLog {
    std::mutex mutex;
    std::vector<std::string> entries;
    std::atomic<int> stop_writes_ok{0};
    void add(std::string entry) {
        std::lock_guard lock(mutex);
        entries.push_back(std::move(entry));
    }
};

class OrderService final : public Service {
  public:
    OrderService(ServiceContext& ctx, OrderLog* log, std::string name)
        : ctx_(ctx), log_(log), name_(std::move(name)) {}
    Task<Status> start() override {
        log_->add("start " + name_);
        co_return Ok{};
    }
    Task<void> stop() override {
        if (name_ == "jobs") {
            co_await reactor::sleep_ms(20);
            Status st = co_await ctx_.store().run(record_job(ctx_.shard().id()));
            log_->stop_writes_ok += st.ok() ? 1 : 0;
        }
        log_->add("stop " + name_);
    }

  private:
    ServiceContext& ctx_;
    OrderLog* log_;
    std::string name_;
};

RuntimeOptions options_for(const test::TempDir& dir, Probe* probe, unsigned shards = 2) {
    RuntimeOptions o;
    o.home_dir = dir.path();
    o.db_path = dir.file("pylon.db");
    o.control_socket_path = dir.file("control.sock");
    o.shards = shards;
    o.config.shards.pin = false;
    o.services.push_back({"test", ServicePlacement::every_shard, service_order::jobs,
                          [probe](ServiceContext& ctx) -> std::unique_ptr<Service> {
                              return std::make_unique<TestService>(ctx, probe);
                          }});
    return o;
}

proto::ControlReply request(ControlClient& c, std::string_view line) {
    auto r = c.request(line);
    EXPECT_TRUE(r.ok()) << line << ": " << (r.ok() ? "" : r.error().message());
    return r.ok() ? r.value() : proto::ControlReply{};
}

TEST(Runtime, StartStatusSubscribeStop) {
    auto dir = test::TempDir::create("pylon-runtime");
    ASSERT_TRUE(dir.ok());
    Probe probe;
    Runtime rt(options_for(*dir, &probe));
    ASSERT_TRUE(rt.start().ok());
    EXPECT_TRUE(rt.running());
    EXPECT_EQ(probe.started.load(), 2);
    RuntimeStatus s = rt.status();
    EXPECT_TRUE(s.running);
    EXPECT_EQ(s.shards, 2u);
    EXPECT_EQ(s.pid, ::getpid());
    EXPECT_EQ(s.mode, RunMode::both);

    auto sub = rt.subscribe(16);
    auto c = ControlClient::connect(dir->file("control.sock"));
    ASSERT_TRUE(c.ok()) << c.error().message();
    EXPECT_EQ(request(*c, "{\"Burst\":{\"count\":3,\"every\":1}}").tag, "Ok");
    int progress = 0;
    proto::DomainEvent ev;
    while (progress < 3 && sub->next(ev, 5000)) {
        progress += ev.kind == proto::EventKind::job_progress ? 1 : 0;
    }
    EXPECT_EQ(progress, 3);

    ASSERT_TRUE(rt.stop().ok());
    EXPECT_FALSE(rt.running());
    EXPECT_EQ(probe.stopped.load(), 2);
    EXPECT_FALSE(rt.status().running);
    struct stat st {};
    EXPECT_NE(::stat(dir->file("control.sock").c_str(), &st), 0) << "socket file left behind";
    // The subscription saw the shutdown.
    bool saw_bye = false;
    while (sub->next(ev, 0)) {
        saw_bye = saw_bye || ev.kind == proto::EventKind::shutting_down;
    }
    EXPECT_TRUE(saw_bye);
}

TEST(Runtime, SecondStartIsRefused) {
    auto dir = test::TempDir::create("pylon-runtime");
    ASSERT_TRUE(dir.ok());
    Probe probe;
    Runtime rt(options_for(*dir, &probe, 1));
    ASSERT_TRUE(rt.start().ok());
    Status again = rt.start();
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code(), Errc::busy);
    EXPECT_NE(again.error().message().find("already started"), std::string::npos);
    ASSERT_TRUE(rt.stop().ok());
    EXPECT_FALSE(rt.start().ok());
}

TEST(Runtime, StopWaitsForInFlightWork) {
    auto dir = test::TempDir::create("pylon-runtime");
    ASSERT_TRUE(dir.ok());
    Probe probe;
    probe.stop_delay_ms = 300;
    Runtime rt(options_for(*dir, &probe));
    ASSERT_TRUE(rt.start().ok());
    std::int64_t before = reactor::monotonic_ms();
    ASSERT_TRUE(rt.stop().ok());
    std::int64_t after = reactor::monotonic_ms();
    EXPECT_EQ(probe.stopped.load(), 2);
    EXPECT_GE(after - before, 300);
    EXPECT_LE(probe.stop_finished_ms.load(), after);
}

TEST(Runtime, AFailingServiceAbortsStartAndStopsWhatStarted) {
    auto dir = test::TempDir::create("pylon-runtime");
    ASSERT_TRUE(dir.ok());
    Probe probe;
    probe.fail_start = true;
    Runtime rt(options_for(*dir, &probe));
    Status st = rt.start();
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message().find("test: told to fail"), std::string::npos)
        << st.error().message();
    EXPECT_FALSE(rt.running());
    struct stat sb {};
    EXPECT_NE(::stat(dir->file("control.sock").c_str(), &sb), 0);
}

TEST(Runtime, BadConfigOrDatabaseIsRefusedAtStart) {
    auto dir = test::TempDir::create("pylon-runtime");
    ASSERT_TRUE(dir.ok());
    Probe probe;
    RuntimeOptions o = options_for(*dir, &probe);
    o.config.limits.job_queue_max = 0;
    Runtime bad_config(o);
    Status st = bad_config.start();
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message().find("limits.job_queue_max"), std::string::npos);

    o = options_for(*dir, &probe);
    o.db_path = dir->path();  // a folder, not a database
    Runtime bad_db(o);
    EXPECT_FALSE(bad_db.start().ok());
}

TEST(Runtime, ControlSocketSpeaksPylonAndSurvivesGarbage) {
    auto dir = test::TempDir::create("pylon-runtime");
    ASSERT_TRUE(dir.ok());
    Probe probe;
    Runtime rt(options_for(*dir, &probe));
    ASSERT_TRUE(rt.start().ok());
    struct stat st {};
    ASSERT_EQ(::stat(dir->file("control.sock").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    auto c = ControlClient::connect(dir->file("control.sock"));
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c->send("\"Ping\"").ok());
    EXPECT_EQ(c->read_line(5000).value(), "\"Pong\"");
    ASSERT_TRUE(c->send("\"Status\"").ok());
    std::string status = c->read_line(5000).value();
    EXPECT_EQ(status.rfind("{\"Status\":{\"running\":true,\"uptime_secs\":", 0), 0u) << status;
    EXPECT_NE(status.find(",\"provider_active\":false,\"host_active\":false,"
                          "\"jobs_completed\":0,\"earnings_msats\":0}}"),
              std::string::npos)
        << status;
    // Garbage gets an error and the connection stays usable.
    for (const char* junk : {"not json", "{\"Jobs\":{\"limit\":-1}}", "[1,2]", "\"Nonsense\""}) {
        auto reply = request(*c, junk);
        EXPECT_EQ(reply.tag, "Error") << junk;
        EXPECT_FALSE(reply.error.empty());
    }
    ASSERT_TRUE(c->send("").ok());  // a blank line is ignored
    EXPECT_EQ(request(*c, "\"Ping\"").tag, "Pong");
    // Pipelined requests come back in order.
    ASSERT_TRUE(
        c->send("\"Ping\"\n\"Health\"\n{\"Jobs\":{\"limit\":5}}\n\"Earnings\"\n\"Shards\"").ok());
    EXPECT_EQ(c->read_line(5000).value(), "\"Pong\"");
    for (const char* tag : {"Health", "Jobs", "Earnings", "Shards"}) {
        std::string line = c->read_line(5000).value();
        EXPECT_EQ(line.rfind(std::string("{\"") + tag + "\":", 0), 0u) << line;
    }
    // Store: the store thread's counters; the Jobs and Earnings reads above went through it.
    auto store_reply = request(*c, "\"Store\"");
    ASSERT_EQ(store_reply.tag, "Store");
    proto::StoreInfo store_info;
    proto::JsonReader store_reader;
    ASSERT_EQ(proto::decode_store(store_reply.body_json, store_reader, store_info),
              proto::Reject::none);
    EXPECT_GE(store_info.requests, 2u);
    EXPECT_GE(store_info.transactions, 1u);
    EXPECT_LE(store_info.transactions, store_info.requests);
    EXPECT_GE(store_info.transaction_max, 1u);
    EXPECT_EQ(store_info.failed_commits, 0u);
    // Relays and Backends: what the services published on the status board.
    proto::JsonReader reader;
    auto relays = request(*c, "\"Relays\"");
    ASSERT_EQ(relays.tag, "Relays");
    std::vector<proto::RelayInfo> relay_list;
    ASSERT_EQ(proto::decode_relays(relays.body_json, reader, relay_list), proto::Reject::none);
    ASSERT_EQ(relay_list.size(), 1u);
    EXPECT_EQ(relay_list[0].url, "ws://relay.test");
    EXPECT_EQ(relay_list[0].state, "connected");
    auto backends = request(*c, "\"Backends\"");
    ASSERT_EQ(backends.tag, "Backends");
    std::vector<proto::BackendInfo> backend_list;
    ASSERT_EQ(proto::decode_backends(backends.body_json, reader, backend_list),
              proto::Reject::none);
    ASSERT_EQ(backend_list.size(), 1u);
    EXPECT_EQ(backend_list[0].id, "ollama");
    EXPECT_TRUE(backend_list[0].available);
    EXPECT_EQ(backend_list[0].models, (std::vector<std::string>{"llama3.2"}));
    auto typed = request(*c, "{\"type\":\"Status\"}");
    EXPECT_EQ(typed.tag, "success");
    EXPECT_NE(typed.body_json.find("\"worker_status\":\"stopped\""), std::string::npos);

    // A line over the bound closes the connection after a final error.
    auto big = ControlClient::connect(dir->file("control.sock"));
    ASSERT_TRUE(big.ok());
    std::string huge(70000, 'x');
    (void)big->send(huge);
    auto last = big->read_line(5000);
    ASSERT_TRUE(last.ok()) << last.error().message();
    EXPECT_NE(last->find("longer than 65536 bytes"), std::string::npos);
    EXPECT_EQ(big->read_line(5000).error().code(), Errc::closed);

    // Shutdown answers "Ok" and stops the runtime.
    EXPECT_EQ(request(*c, "\"Shutdown\"").tag, "Ok");
    EXPECT_TRUE(rt.wait().ok());
    EXPECT_FALSE(rt.running());
    EXPECT_EQ(probe.stopped.load(), 2);
}

TEST(Runtime, JobsAndEarningsComeFromTheStore) {
    auto dir = test::TempDir::create("pylon-runtime");
    ASSERT_TRUE(dir.ok());
    {
        auto db = StoreDb::open({dir->file("pylon.db")});
        ASSERT_TRUE(db.ok());
        NewJob j;
        j.request_id = std::string(64, 'e');
        j.id = job_id_for_request(j.request_id);
        j.kind = 5050;
        j.customer_pubkey = "cafe";
        j.received_at_ms = 1'700'000'000'000;
        ASSERT_TRUE((*db)->insert_job(j).ok());
        ASSERT_TRUE((*db)->complete_job(j.id, {1'700'000'001'000, 2000, 2000, "", "", {}}).ok());
    }
    Probe probe;
    Runtime rt(options_for(*dir, &probe, 1));
    ASSERT_TRUE(rt.start().ok());
    EXPECT_EQ(rt.status().jobs_completed, 1u);
    EXPECT_EQ(rt.status().earnings_msats, 2000u);
    auto c = ControlClient::connect(dir->file("control.sock"));
    ASSERT_TRUE(c.ok());
    auto jobs = request(*c, "{\"Jobs\":{\"limit\":5,\"status\":\"completed\"}}");
    ASSERT_EQ(jobs.tag, "Jobs");
    proto::JsonReader reader;
    std::vector<proto::JobInfo> list;
    ASSERT_EQ(proto::decode_jobs(jobs.body_json, reader, list), proto::Reject::none);
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].id, "job_eeeeeeeeeeeeeeee");
    EXPECT_EQ(list[0].price_msats, 2000);
    auto none = request(*c, "{\"Jobs\":{\"status\":\"failed\"}}");
    EXPECT_EQ(none.body_json, "[]");
    auto earnings = request(*c, "\"Earnings\"");
    proto::EarningsReport report;
    ASSERT_EQ(proto::decode_earnings(earnings.body_json, reader, report), proto::Reject::none);
    EXPECT_EQ(report.total_msats, 2000);
    EXPECT_EQ(request(*c, "\"Status\"").body_json.find("\"jobs_completed\":1") != std::string::npos,
              true);
    ASSERT_TRUE(rt.stop().ok());
}

TEST(Runtime, SubscribersGetEventsAndASlowOneIsDropped) {
    auto dir = test::TempDir::create("pylon-runtime");
    ASSERT_TRUE(dir.ok());
    Probe probe;
    RuntimeOptions o = options_for(*dir, &probe);
    o.config.control.subscriber_events_max = 256;
    Runtime rt(o);
    ASSERT_TRUE(rt.start().ok());
    std::string sock = dir->file("control.sock");
    auto fast = ControlClient::connect(sock);
    auto slow = ControlClient::connect(sock);
    // The burst below makes 1,000 commits one after the other: ~2 s under ASan alone, more on
    // a loaded CI machine, so its client waits longer than the default 5 s.
    auto ctl = ControlClient::connect(sock, 30000);
    ASSERT_TRUE(fast.ok() && slow.ok() && ctl.ok());
    EXPECT_EQ(request(*fast, "\"Subscribe\"").tag, "Ok");
    EXPECT_EQ(request(*slow, "\"Subscribe\"").tag, "Ok");

    // The fast subscriber reads while 20000 events go by, 20 per millisecond.
    std::atomic<int> fast_events{0};
    std::thread reader([&fast, &fast_events] {
        for (;;) {
            auto line = fast->read_line(5000);
            if (!line.ok()) {
                return;
            }
            if (line->find("\"JobProgress\"") != std::string::npos) {
                if (++fast_events == 20000) {
                    return;
                }
            }
        }
    });
    EXPECT_EQ(request(*ctl, "{\"Burst\":{\"count\":20000,\"every\":20,\"write\":true}}").tag, "Ok");
    // The daemon stays responsive while a subscriber does not read.
    std::int64_t t0 = reactor::monotonic_ms();
    EXPECT_EQ(request(*ctl, "\"Ping\"").tag, "Pong");
    EXPECT_LT(reactor::monotonic_ms() - t0, 5000);
    reader.join();
    EXPECT_EQ(fast_events.load(), 20000);

    // The slow one was dropped: its stream ends with an error line, then EOF.
    std::string last;
    for (int i = 0; i < 100000; i++) {
        auto line = slow->read_line(5000);
        if (!line.ok()) {
            EXPECT_EQ(line.error().code(), Errc::closed) << line.error().message();
            break;
        }
        last = *line;
    }
    EXPECT_NE(last.find("subscriber too slow"), std::string::npos) << last;
    EXPECT_EQ(request(*ctl, "\"Ping\"").tag, "Pong");
    ASSERT_TRUE(rt.stop().ok());
    // Every store write made while the slow subscriber stalled was committed.
    auto db = StoreDb::open({dir->file("pylon.db"), true});
    ASSERT_TRUE(db.ok());
    EXPECT_EQ((*db)->counts()->jobs_completed, 1000u);
}

TEST(Runtime, ConnectionLimitAndReload) {
    auto dir = test::TempDir::create("pylon-runtime");
    ASSERT_TRUE(dir.ok());
    Probe probe;
    RuntimeOptions o = options_for(*dir, &probe);
    o.config.control.connections_max = 2;
    Runtime rt(o);
    ASSERT_TRUE(rt.start().ok());
    std::string sock = dir->file("control.sock");
    auto a = ControlClient::connect(sock);
    auto b = ControlClient::connect(sock);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(request(*a, "\"Ping\"").tag, "Pong");
    EXPECT_EQ(request(*b, "\"Ping\"").tag, "Pong");
    auto c = ControlClient::connect(sock);
    ASSERT_TRUE(c.ok());
    auto refused = c->read_line(5000);
    ASSERT_TRUE(refused.ok());
    EXPECT_NE(refused->find("too many control connections"), std::string::npos);

    auto sub = rt.subscribe(16);
    Config next = rt.config();
    next.min_price_msats = 4242;    // reloadable
    next.limits.job_queue_max = 7;  // needs a restart
    auto report = rt.reload(next);
    ASSERT_TRUE(report.ok()) << report.error().message();
    EXPECT_EQ(report->applied, (std::vector<std::string>{"min_price_msats"}));
    EXPECT_EQ(report->not_applied, (std::vector<std::string>{"limits.job_queue_max"}));
    EXPECT_EQ(rt.config().min_price_msats, 4242);
    EXPECT_EQ(rt.config().limits.job_queue_max, 64);
    EXPECT_EQ(probe.reloaded.load(), 2);
    proto::DomainEvent ev;
    bool saw = false;
    while (!saw && sub->next(ev, 5000)) {
        saw = ev.kind == proto::EventKind::config_reloaded;
    }
    EXPECT_TRUE(saw);
    ASSERT_TRUE(rt.stop().ok());
}

TEST(Runtime, ServicesStopInReverseOrderAndTheStoreLast) {
    auto dir = test::TempDir::create("pylon-runtime");
    ASSERT_TRUE(dir.ok());
    OrderLog log;
    RuntimeOptions o;
    o.home_dir = dir->path();
    o.db_path = dir->file("pylon.db");
    o.control_socket_path = dir->file("control.sock");
    o.shards = 2;
    o.config.shards.pin = false;
    struct Entry {
        const char* name;
        ServicePlacement placement;
        int order;
    };
    // Listed out of order: the order constants decide.
    for (Entry e : {Entry{"intake", ServicePlacement::shard0, service_order::intake},
                    Entry{"supervisor", ServicePlacement::shard0, service_order::supervisor},
                    Entry{"jobs", ServicePlacement::every_shard, service_order::jobs}}) {
        std::string name = e.name;
        o.services.push_back({name, e.placement, e.order, [&log, name](ServiceContext& ctx) {
                                  return std::unique_ptr<Service>(
                                      std::make_unique<OrderService>(ctx, &log, name));
                              }});
    }
    Runtime rt(std::move(o));
    ASSERT_TRUE(rt.start().ok());
    ASSERT_TRUE(rt.stop().ok());
    std::vector<std::string> expected = {"start supervisor", "start jobs",     "start jobs",
                                         "start intake",     "stop intake",    "stop jobs",
                                         "stop jobs",        "stop supervisor"};
    EXPECT_EQ(log.entries, expected);
    // The in-flight work that finished during the stop reached the database.
    EXPECT_EQ(log.stop_writes_ok.load(), 2);
    auto db = StoreDb::open({dir->file("pylon.db"), true});
    ASSERT_TRUE(db.ok());
    EXPECT_EQ((*db)->counts()->jobs_completed, 2u);
}

}  // namespace
}  // namespace pylon::engine
