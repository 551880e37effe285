// The supervision service inside a real Runtime with its control socket: a spawned llama-server
// (tools/fake_llamacpp), autopilotd's worker and two host-mode agents run under the supervisor;
// the control socket answers Supervisor, Memory, autopilotd's typed Status / StopWorker and the
// bare StartWorker, and ChildRestart; ChildStateChanged events reach a subscription; each agent
// gets its own identity in its environment (never the mnemonic in argv) and its row in the
// agents table follows its lifecycle.
#include "engine/supervision_service.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/control_client.hpp"
#include "engine/proc_fs.hpp"
#include "engine/runtime.hpp"
#include "engine/store_db.hpp"
#include "proto/json_reader.hpp"
#include "proto/nip06.hpp"
#include "proto/nip19.hpp"
#include "proto/supervision_protocol.hpp"
#include "reactor/clock.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

namespace pylon::engine {
namespace {

constexpr const char* mnemonic =
    "leader monkey parrot ring guide accident before fence cannon height naive bean";

std::string test_child() {
    return std::string(PYLON_BINARY_DIR) + "/tests/integration/pylon_test_child";
}

std::string npub_of(std::uint32_t account) {
    auto m = proto::Mnemonic::parse(mnemonic);
    auto kp = proto::nip06_keypair(*m, "", account);
    return proto::npub_encode(kp->public_key());
}

struct Node {
    Node() : dir(std::move(test::TempDir::create("pylon-supervision")).value()) {
        EXPECT_TRUE(
            test::write_file(dir.file("identity.mnemonic"), std::string(mnemonic) + "\n").ok());
        EXPECT_TRUE(test::write_file(dir.file("model.gguf"), "GGUF").ok());
        options.home_dir = dir.path();
        options.db_path = dir.file("pylon.db");
        options.control_socket_path = dir.file("control.sock");
        options.shards = 1;
        Config& c = options.config;
        c.shards.pin = false;
        c.supervisor.subreaper = false;  // this test process has children of its own
        c.supervisor.stop_grace_ms = 2000;
        c.backends.llamacpp.binary = test::tool_path("fake_llamacpp");
        c.backends.llamacpp.model = dir.file("model.gguf");
        c.backends.llamacpp.port = test::free_loopback_port().value();
        c.backends.llamacpp.parallel = 2;
        c.worker.command = {test_child(), "--ready-after-ms", "0"};
        c.worker.ready_line = "READY";
        c.agents.command = {test_child()};
        c.agents.accounts = {1, 2};
        c.agents.alive_after_ms = 100;
    }
    test::TempDir dir;
    RuntimeOptions options;
};

proto::ControlReply ask(ControlClient& c, std::string_view line) {
    auto r = c.request(line);
    EXPECT_TRUE(r.ok()) << line << ": " << (r.ok() ? "" : r.error().message());
    return r.ok() ? r.value() : proto::ControlReply{};
}

proto::SupervisorInfo supervisor_info(ControlClient& c, proto::JsonReader& reader) {
    proto::SupervisorInfo info;
    proto::ControlReply r = ask(c, "\"Supervisor\"");
    EXPECT_EQ(r.tag, "Supervisor");
    EXPECT_EQ(proto::decode_supervisor(r.body_json, reader, info), proto::Reject::none);
    return info;
}

const proto::ChildInfo* child(const proto::SupervisorInfo& info, std::string_view name) {
    for (const proto::ChildInfo& c : info.children) {
        if (c.name == name) {
            return &c;
        }
    }
    return nullptr;
}

bool all_running(ControlClient& c, proto::JsonReader& reader) {
    proto::SupervisorInfo info = supervisor_info(c, reader);
    for (const proto::ChildInfo& ch : info.children) {
        if (ch.state != "running") {
            return false;
        }
    }
    return info.children.size() == 4;
}

proto::WorkerReply typed(ControlClient& c, proto::JsonReader& reader, std::string_view type) {
    auto line = c.send("{\"type\":\"" + std::string(type) + "\"}");
    EXPECT_TRUE(line.ok());
    auto reply = c.read_line(5000);
    proto::WorkerReply w;
    EXPECT_TRUE(reply.ok());
    if (reply.ok()) {
        EXPECT_EQ(proto::decode_worker_reply(*reply, reader, w), proto::Reject::none) << *reply;
    }
    return w;
}

TEST(SupervisionService, RunsTheConfiguredChildrenBehindTheControlSocket) {
    Node node;
    Runtime rt(node.options);
    ASSERT_TRUE(rt.start().ok());
    auto sub = rt.subscribe(256);
    auto client = ControlClient::connect(node.dir.file("control.sock"));
    ASSERT_TRUE(client.ok()) << client.error().message();
    proto::JsonReader reader;
    ASSERT_TRUE(test::wait_until([&] { return all_running(*client, reader); }, 15000, 50));

    // Host mode's service runs (the agents): Status says so (it never did).
    proto::ControlReply st = ask(*client, "\"Status\"");
    EXPECT_NE(st.body_json.find("\"host_active\":true"), std::string::npos) << st.body_json;

    proto::SupervisorInfo info = supervisor_info(*client, reader);
    const proto::ChildInfo* llama = child(info, "llamacpp");
    ASSERT_NE(llama, nullptr);
    EXPECT_EQ(llama->health, "http http://127.0.0.1:" +
                                 std::to_string(node.options.config.backends.llamacpp.port) +
                                 "/health");
    EXPECT_EQ(llama->log_path, node.dir.file("logs/llamacpp.log"));
    const proto::ChildInfo* agent = child(info, "agent-1");
    ASSERT_NE(agent, nullptr);
    ASSERT_TRUE(agent->pid.has_value());

    // The agent knows who it is from its environment; the mnemonic is never in argv.
    ProcFs proc;
    auto pid = static_cast<pid_t>(*agent->pid);
    EXPECT_EQ(proc.environ_value(pid, "PYLON_AGENT_ACCOUNT").value(),
              std::optional<std::string>("1"));
    EXPECT_EQ(proc.environ_value(pid, "PYLON_AGENT_NPUB").value(),
              std::optional<std::string>(npub_of(1)));
    EXPECT_EQ(proc.environ_value(pid, "PYLON_MNEMONIC_FILE").value(),
              std::optional<std::string>(node.dir.file("identity.mnemonic")));
    auto argv = proc.cmdline(pid);
    ASSERT_TRUE(argv.ok());
    for (const std::string& arg : *argv) {
        EXPECT_EQ(arg.find("monkey"), std::string::npos);
    }

    // autopilotd's typed requests.
    proto::WorkerReply status = typed(*client, reader, "Status");
    EXPECT_TRUE(status.success);
    EXPECT_TRUE(status.has_data);
    EXPECT_EQ(status.worker_status, "running");
    EXPECT_EQ(status.worker_pid, child(info, "worker")->pid);
    EXPECT_GT(status.memory_total_bytes, 0U);
    EXPECT_GT(status.memory_available_bytes, 0U);
    proto::WorkerReply stopped = typed(*client, reader, "StopWorker");
    EXPECT_TRUE(stopped.success);
    EXPECT_EQ(stopped.message, "Worker stopped");
    ASSERT_TRUE(test::wait_until(
        [&] { return typed(*client, reader, "Status").worker_status == "stopped"; }, 5000, 20));
    EXPECT_EQ(ask(*client, "\"StartWorker\"").tag, "Ok");
    ASSERT_TRUE(test::wait_until(
        [&] { return typed(*client, reader, "Status").worker_status == "running"; }, 5000, 20));
    EXPECT_EQ(ask(*client, "{\"ChildRestart\":{\"name\":\"agent-2\"}}").tag, "Ok");
    EXPECT_TRUE(test::wait_until(
        [&] {
            const proto::SupervisorInfo now = supervisor_info(*client, reader);
            const proto::ChildInfo* a2 = child(now, "agent-2");
            return a2 != nullptr && a2->restarts == 1 && a2->state == "running";
        },
        5000, 20));
    proto::ControlReply bad = ask(*client, "{\"ChildRestart\":{\"name\":\"nobody\"}}");
    EXPECT_EQ(bad.tag, "Error");
    EXPECT_NE(bad.error.find("no child named 'nobody'"), std::string::npos);
    // `name` is the one argument, a string: anything else is a bad request, as elsewhere.
    for (const char* line :
         {"\"ChildStart\"", "{\"ChildStart\":{}}", "{\"ChildStart\":{\"name\":5}}",
          "{\"ChildStop\":{\"name\":\"agent-2\",\"extra\":1}}"}) {
        proto::ControlReply refused = ask(*client, line);
        EXPECT_EQ(refused.tag, "Error") << line;
        EXPECT_EQ(refused.error.rfind("bad request: ", 0), 0u) << line << ": " << refused.error;
    }

    proto::ControlReply mem = ask(*client, "\"Memory\"");
    proto::MemoryInfo m;
    ASSERT_EQ(proto::decode_memory(mem.body_json, reader, m), proto::Reject::none);
    EXPECT_TRUE(m.enabled);
    EXPECT_EQ(m.level, "normal");
    EXPECT_TRUE(m.admitting);
    EXPECT_GT(m.polls, 0U);

    ASSERT_TRUE(rt.stop().ok());
    bool saw_worker_running = false;
    proto::DomainEvent ev;
    while (sub->next(ev, 0)) {
        saw_worker_running =
            saw_worker_running || (ev.kind == proto::EventKind::child_state_changed &&
                                   ev.name == "worker" && ev.state == "running");
    }
    EXPECT_TRUE(saw_worker_running);

    // The agents table: one row per agent, keyed by its npub, left dormant after the stop.
    auto db = StoreDb::open({node.dir.file("pylon.db"), true});
    ASSERT_TRUE(db.ok()) << db.error().message();
    auto rows = (*db)->list_agents();
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 2U);
    EXPECT_EQ((*rows)[0].npub, npub_of(1));
    EXPECT_EQ((*rows)[0].name, "agent-1");
    EXPECT_EQ((*rows)[0].account_index, std::optional<std::int64_t>(1));
    EXPECT_EQ((*rows)[1].npub, npub_of(2));
    EXPECT_EQ((*rows)[1].restarts, 1);  // the ChildRestart above
    for (const AgentRow& r : *rows) {
        EXPECT_EQ(r.supervisor_state, "stopped");
        EXPECT_EQ(r.lifecycle_state, "dormant");
    }
}

// The Supervisor reply, on a fresh connection.
proto::SupervisorInfo rt_supervisor(const Node& node) {
    auto c = ControlClient::connect(node.dir.file("control.sock"));
    proto::JsonReader reader;
    return c.ok() ? supervisor_info(*c, reader) : proto::SupervisorInfo{};
}

// Waits for an event of `kind` on the subscription (at most timeout_ms); false if none came.
bool next_of_kind(EventSubscription& sub, proto::EventKind kind, proto::DomainEvent& out,
                  std::int64_t timeout_ms) {
    std::int64_t deadline = reactor::monotonic_ms() + timeout_ms;
    while (reactor::monotonic_ms() < deadline) {
        if (sub.next(out, 50) && out.kind == kind) {
            return true;
        }
    }
    return false;
}

// Memory pressure inside the daemon, from the machine's real /proc/meminfo: thresholds above
// any machine make it critical at once. The lowest-priority child (the agent, not the worker) is
// terminated; MemoryCritical and ProcessKilled reach subscribers (`pylon watch`), and the Memory
// request (`pylon status`) shows the level, the refusal of new jobs and the last event; a reload
// with sane thresholds brings MemoryNormal and admission back.
TEST(SupervisionService, MemoryPressureKillsTheAgentFirstAndIsReported) {
    Node node;
    Config& sane = node.options.config;
    sane.backends.llamacpp.binary = "";
    sane.agents.accounts = {1};
    Config tight = sane;
    tight.memory.min_available_bytes = 1LL << 40;
    tight.memory.critical_threshold_bytes = 1LL << 40;
    tight.memory.low_available_percent = 100;
    tight.memory.critical_available_percent = 100;
    tight.memory.kill_grace_ms = 300;
    tight.memory.kill_cooldown_ms = 600000;  // one victim in this test
    Runtime rt(node.options);
    ASSERT_TRUE(rt.start().ok());
    auto sub = rt.subscribe(1024);
    ASSERT_TRUE(test::wait_until(
        [&] {
            const proto::SupervisorInfo now = rt_supervisor(node);
            const proto::ChildInfo* w = child(now, "worker");
            const proto::ChildInfo* a = child(now, "agent-1");
            return w != nullptr && a != nullptr && w->state == "running" && a->state == "running";
        },
        10000, 20));
    ASSERT_TRUE(rt.reload(tight).ok());
    proto::DomainEvent ev;
    ASSERT_TRUE(next_of_kind(*sub, proto::EventKind::memory_critical, ev, 5000));
    EXPECT_GT(ev.total_bytes, 0U);
    ASSERT_TRUE(next_of_kind(*sub, proto::EventKind::process_killed, ev, 5000));
    EXPECT_EQ(ev.name, "agent-1");
    EXPECT_GT(ev.rss_bytes, 0U);
    EXPECT_EQ(ev.reason.rfind("SIGTERM: ", 0), 0U) << ev.reason;

    auto client = ControlClient::connect(node.dir.file("control.sock"));
    ASSERT_TRUE(client.ok());
    proto::JsonReader reader;
    proto::MemoryInfo m;
    ASSERT_EQ(proto::decode_memory(ask(*client, "\"Memory\"").body_json, reader, m),
              proto::Reject::none);
    EXPECT_EQ(m.level, "critical");
    EXPECT_FALSE(m.admitting);
    EXPECT_EQ(m.last_event.rfind("killed agent-1 (pid ", 0), 0U) << m.last_event;
    EXPECT_GT(m.last_event_at_ms, 0);
    const proto::SupervisorInfo info = supervisor_info(*client, reader);
    EXPECT_EQ(child(info, "worker")->restarts, 0U) << "the worker went before the agent";

    ASSERT_TRUE(rt.reload(sane).ok());
    ASSERT_TRUE(next_of_kind(*sub, proto::EventKind::memory_normal, ev, 5000));
    EXPECT_TRUE(test::wait_until(
        [&] {
            proto::MemoryInfo now;
            return proto::decode_memory(ask(*client, "\"Memory\"").body_json, reader, now) ==
                       proto::Reject::none &&
                   now.admitting && now.level == "normal";
        },
        3000, 20));
    ASSERT_TRUE(rt.stop().ok());
}

TEST(SupervisionService, AgentsWithoutAnIdentityAreNotSpawning) {
    Node node;
    ::unlink(node.dir.file("identity.mnemonic").c_str());
    node.options.config.worker.command.clear();
    node.options.config.backends.llamacpp.binary.clear();
    node.options.mode = RunMode::host;
    Runtime rt(node.options);
    ASSERT_TRUE(rt.start().ok());
    auto client = ControlClient::connect(node.dir.file("control.sock"));
    ASSERT_TRUE(client.ok());
    proto::JsonReader reader;
    proto::SupervisorInfo info = supervisor_info(*client, reader);
    ASSERT_EQ(info.children.size(), 2U);
    EXPECT_EQ(info.children[0].state, "not_spawning");
    EXPECT_NE(info.children[0].reason.find("run `pylon init`"), std::string::npos)
        << info.children[0].reason;
    // No worker configured: the worker commands say so.
    proto::ControlReply r = ask(*client, "\"StartWorker\"");
    EXPECT_EQ(r.tag, "Error");
    EXPECT_NE(r.error.find("no worker is configured"), std::string::npos);
    ASSERT_TRUE(rt.stop().ok());
}

}  // namespace
}  // namespace pylon::engine
