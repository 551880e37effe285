// The real `pylon` binary with a [worker] (tests/integration/pylon_test_child, which leaves a
// grandchild) as an operator drives it: `pylon worker status|restart|stop|start`,
// `pylon supervisor status [--json]` and the supervision lines of `pylon status`, the one-line
// hint without a daemon; then the daemon killed with SIGKILL while its worker's grandchild is
// alive and started again: the old instance's processes are gone, one new worker runs (no
// duplicates). Every process is stopped by its pid when the test ends.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "engine/control_client.hpp"
#include "engine/pid_file.hpp"
#include "engine/pidfd.hpp"
#include "engine/proc_fs.hpp"
#include "engine/run_file.hpp"
#include "proto/json_reader.hpp"
#include "proto/supervision_protocol.hpp"
#include "tests/integration/run_pylon.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

namespace pylon {
namespace {

using engine::ControlClient;

constexpr const char* test_mnemonic =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
    "about";

using test::run_pylon;
using test::RunResult;

bool alive(pid_t pid) {
    auto st = engine::ProcFs().stat(pid);
    return st.ok() && st->state != 'Z';
}

void kill_pid(pid_t pid) {
    int fd = engine::pidfd_open_fd(pid);
    if (fd >= 0) {
        engine::pidfd_signal(fd, SIGKILL);
        pollfd p{fd, POLLIN, 0};
        ::poll(&p, 1, 5000);
        ::close(fd);
    }
}

// Live processes whose supervisor token starts with `prefix` (a daemon instance's children).
std::vector<pid_t> with_token(const std::string& prefix) {
    std::vector<pid_t> out;
    engine::ProcFs proc;
    for (pid_t pid : proc.pids()) {
        auto token = proc.environ_value(pid, engine::child_token_env);
        if (alive(pid) && token.ok() && token->has_value() && (*token)->rfind(prefix, 0) == 0) {
            out.push_back(pid);
        }
    }
    return out;
}

// A home with an identity and a worker; kills what is left of the daemon and the worker's
// processes at the end.
class Node {
  public:
    Node() : dir_(std::move(test::TempDir::create("pylon-cli-super")).value()) {
        std::string id = dir_.file("identity.mnemonic");
        EXPECT_TRUE(test::write_file(id, std::string(test_mnemonic) + "\n").ok());
        ::chmod(id.c_str(), 0600);
        std::string child = std::string(PYLON_BINARY_DIR) + "/tests/integration/pylon_test_child";
        EXPECT_TRUE(test::write_file(dir_.file("config.toml"),
                                     "relays = []\n[worker]\ncommand = [\"" + child +
                                         "\", \"--grandchild\", \"--ready-after-ms\", \"0\"]\n"
                                         "ready_line = \"READY\"\nstop_grace_ms = 2000\n")
                        .ok());
    }
    ~Node() {
        auto info = engine::PidFile::inspect(dir_.file("pylon.pid"));
        if (info.ok() && info->state == engine::PidState::running && info->pid > 0) {
            kill_pid(info->pid);
        }
        for (pid_t pid : leftovers_) {
            if (alive(pid)) {
                kill_pid(pid);
            }
        }
    }
    std::vector<std::string> args(std::vector<std::string> a) const {
        a.push_back("--home");
        a.push_back(dir_.path());
        return a;
    }
    std::string file(std::string_view name) const { return dir_.file(name); }
    pid_t daemon_pid() const {
        auto info = engine::PidFile::inspect(dir_.file("pylon.pid"));
        return info.ok() && info->state == engine::PidState::running ? info->pid : 0;
    }
    void leave(pid_t pid) { leftovers_.push_back(pid); }

    // The worker as the Supervisor request shows it, once it runs (nullopt after 10 s).
    std::optional<proto::ChildInfo> running_worker() const {
        std::optional<proto::ChildInfo> found;
        test::wait_until(
            [&] {
                auto c = ControlClient::connect(dir_.file("control.sock"));
                auto r = c.ok() ? c->request("\"Supervisor\"")
                                : Result<proto::ControlReply>(Error(Errc::closed, "no"));
                proto::JsonReader reader;
                proto::SupervisorInfo info;
                if (!r.ok() || r->tag != "Supervisor" ||
                    proto::decode_supervisor(r->body_json, reader, info) != proto::Reject::none) {
                    return false;
                }
                for (const proto::ChildInfo& ch : info.children) {
                    if (ch.name == "worker" && ch.state == "running" && ch.pid) {
                        found = ch;
                    }
                }
                return found.has_value();
            },
            10000, 50);
        return found;
    }

  private:
    test::TempDir dir_;
    std::vector<pid_t> leftovers_;
};

std::string line_starting(const std::string& text, const std::string& prefix) {
    std::size_t at = text.find("\n" + prefix);
    if (at == std::string::npos) {
        return text.rfind(prefix, 0) == 0 ? text.substr(0, text.find('\n')) : "";
    }
    return text.substr(at + 1, text.find('\n', at + 1) - at - 1);
}

TEST(CliSupervision, WorkerAndSupervisorCommandsAgainstTheRealDaemon) {
    Node node;
    RunResult none = run_pylon(node.args({"worker", "status"}));
    EXPECT_EQ(none.code, 3);
    EXPECT_EQ(none.err, "Pylon daemon is not running. Start it with: pylon start\n");
    EXPECT_EQ(run_pylon(node.args({"supervisor", "status", "--json"})).code, 3);

    RunResult start = run_pylon(node.args({"start", "--shards", "1"}));
    ASSERT_EQ(start.code, 0) << start.out << start.err;
    auto worker = node.running_worker();
    ASSERT_TRUE(worker.has_value());
    pid_t pid = static_cast<pid_t>(*worker->pid);
    EXPECT_EQ(worker->log_path, node.file("logs/worker.log"));

    RunResult table = run_pylon(node.args({"supervisor", "status"}));
    EXPECT_EQ(table.code, 0) << table.err;
    std::string header = line_starting(table.out, "  NAME");
    std::string row = line_starting(table.out, "  worker");
    ASSERT_FALSE(header.empty()) << table.out;
    EXPECT_EQ(header.find("STATE"), row.find("running")) << table.out;
    EXPECT_EQ(header.find("PID"), row.find(std::to_string(pid))) << table.out;
    EXPECT_NE(table.out.find("exit watch: "), std::string::npos);
    EXPECT_NE(table.out.find(node.file("logs/worker.log")), std::string::npos);
    EXPECT_NE(table.out.find("\nMemory: normal, "), std::string::npos) << table.out;

    RunResult json = run_pylon(node.args({"supervisor", "status", "--json"}));
    EXPECT_EQ(json.out.rfind("{\"supervisor\":{\"exit_watch\":", 0), 0U) << json.out;
    EXPECT_NE(
        json.out.find("\"name\":\"worker\",\"kind\":\"worker\",\"state\":\"running\",\"pid\":" +
                      std::to_string(pid)),
        std::string::npos)
        << json.out;
    EXPECT_NE(json.out.find(",\"memory\":{\"enabled\":true,\"level\":\"normal\""),
              std::string::npos);

    RunResult ws = run_pylon(node.args({"worker", "status"}));
    EXPECT_NE(ws.out.find("Worker:     running (PID " + std::to_string(pid) + ")\n"),
              std::string::npos)
        << ws.out;
    EXPECT_NE(ws.out.find("Log:        " + node.file("logs/worker.log")), std::string::npos);
    RunResult wj = run_pylon(node.args({"worker", "status", "--json"}));
    EXPECT_EQ(wj.out.rfind("{\"success\":true,\"message\":\"Daemon status\",\"data\":{"
                           "\"worker_status\":\"running\",\"worker_pid\":" +
                               std::to_string(pid),
                           0),
              0U)
        << wj.out;

    RunResult restart = run_pylon(node.args({"worker", "restart"}));
    EXPECT_EQ(restart.code, 0) << restart.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(restart.out, m, std::regex("Worker running \\(PID (\\d+)\\)")))
        << restart.out;
    pid_t restarted = std::stoi(m[1]);
    EXPECT_NE(restarted, pid);
    EXPECT_TRUE(test::wait_until([pid] { return !alive(pid); }, 3000));

    RunResult stop = run_pylon(node.args({"worker", "stop"}));
    EXPECT_EQ(stop.code, 0) << stop.err;
    EXPECT_EQ(stop.out, "Worker stopped.\n");
    EXPECT_FALSE(alive(restarted));
    EXPECT_NE(run_pylon(node.args({"worker", "status"})).out.find("Worker:     stopped\n"),
              std::string::npos);
    RunResult again = run_pylon(node.args({"worker", "start"}));
    EXPECT_EQ(again.code, 0) << again.err;
    EXPECT_EQ(again.out.rfind("Worker running (PID ", 0), 0U) << again.out;

    RunResult status = run_pylon(node.args({"status"}));
    EXPECT_NE(
        status.out.find("\nSupervised: (pylon supervisor status)\n  worker     running (PID "),
        std::string::npos)
        << status.out;
    EXPECT_NE(status.out.find("\nMemory:   normal, "), std::string::npos) << status.out;
    RunResult status_json = run_pylon(node.args({"status", "--json"}));
    EXPECT_NE(status_json.out.find(",\"supervisor\":{\"exit_watch\":"), std::string::npos);
    EXPECT_EQ(run_pylon(node.args({"stop"})).code, 0);
}

TEST(CliSupervision, DaemonKilledWithSigkillThenStartedAgainLeavesNoDuplicates) {
    Node node;
    ASSERT_EQ(run_pylon(node.args({"start", "--shards", "1"})).code, 0);
    auto worker = node.running_worker();
    ASSERT_TRUE(worker.has_value());
    pid_t pid = static_cast<pid_t>(*worker->pid);
    auto token = engine::ProcFs().environ_value(pid, engine::child_token_env);
    ASSERT_TRUE(token.ok() && token->has_value());
    std::string instance = (*token)->substr(0, (*token)->find('-') + 1);
    std::vector<pid_t> old = with_token(instance);
    ASSERT_EQ(old.size(), 2U);  // the worker and its grandchild
    for (pid_t p : old) {
        node.leave(p);
    }
    pid_t daemon = node.daemon_pid();
    ASSERT_GT(daemon, 0);
    ::kill(daemon, SIGKILL);
    ASSERT_TRUE(test::wait_until([daemon] { return !alive(daemon); }, 5000));
    // PDEATHSIG takes the worker with the daemon; its grandchild outlives both.
    EXPECT_TRUE(test::wait_until([pid] { return !alive(pid); }, 3000));
    ASSERT_EQ(with_token(instance).size(), 1U);

    RunResult start = run_pylon(node.args({"start", "--shards", "1"}));
    ASSERT_EQ(start.code, 0) << start.out << start.err;
    auto fresh = node.running_worker();
    ASSERT_TRUE(fresh.has_value());
    EXPECT_NE(*fresh->pid, pid);
    EXPECT_TRUE(test::wait_until([&instance] { return with_token(instance).empty(); }, 5000))
        << "a process of the killed daemon survived the new start";
    auto new_token =
        engine::ProcFs().environ_value(static_cast<pid_t>(*fresh->pid), engine::child_token_env);
    ASSERT_TRUE(new_token.ok() && new_token->has_value());
    std::string new_instance = (*new_token)->substr(0, (*new_token)->find('-') + 1);
    EXPECT_NE(new_instance, instance);
    EXPECT_EQ(with_token(new_instance).size(), 2U);  // one worker (and its grandchild)
    RunResult json = run_pylon(node.args({"supervisor", "status", "--json"}));
    EXPECT_NE(json.out.find("\"stale_terminated\":1,"), std::string::npos) << json.out;
    EXPECT_EQ(run_pylon(node.args({"stop"})).code, 0);
    EXPECT_TRUE(
        test::wait_until([&new_instance] { return with_token(new_instance).empty(); }, 5000));
}

}  // namespace
}  // namespace pylon
