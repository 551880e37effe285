// Jobs for a spawned llama-server that is still loading its model (issue 7): the real `pylon`
// daemon spawns tools/fake_llamacpp ([backends.llamacpp] binary + a dummy model file) with
// --load-ms, so /health answers 503 "Loading model" for a while; a nostr-tools customer
// (tests/node/dvm_client.mjs, through the npm relay) submits a job right after the start. The
// job is accepted and told it waits, then runs once the server is healthy; a load longer than
// [backends.llamacpp] job_wait_ms, or a server that ends `failed`, ends it with an error
// feedback that says why and a `failed` row.
#include <gtest/gtest.h>

#include <optional>

#include "provider_e2e_support.hpp"
#include "tests/integration/run_pylon.hpp"

namespace pylon::test {
namespace {

constexpr const char* waiting_text = "waiting for llama-server to load the model";

// The node's config with a spawned fake llama-server (`args` after the fixed ones).
struct LoadingNode {
    LoadingNode(const std::string& relay_url, const std::string& args, const std::string& more) {
        auto dir = TempDir::create("pylon-llama-load");
        EXPECT_TRUE(dir.ok());
        models = std::make_unique<TempDir>(std::move(dir.value()));
        std::string model = models->file("model.gguf");
        EXPECT_TRUE(write_file(model, "GGUF").ok());
        std::uint16_t port = free_loopback_port().value();
        NodeConfig config =
            node_config({relay_url}, "", "http://127.0.0.1:" + std::to_string(port));
        config.llamacpp_extra = "binary = \"" + tool_path("fake_llamacpp") + "\"\nmodel = \"" +
                                model + "\"\nport = " + std::to_string(port) +
                                "\nargs = [\"-a\", \"test-model\", \"--tokens\", \"5\", " + args +
                                "]\n" + more;
        node = std::make_unique<PylonNode>(config);
    }
    std::unique_ptr<TempDir> models;
    std::unique_ptr<PylonNode> node;
};

// The row of the request `id` (a copy: the list is a temporary).
std::optional<proto::JobInfo> find_job(const std::vector<proto::JobInfo>& jobs,
                                       const std::string& id) {
    for (const proto::JobInfo& j : jobs) {
        if (j.request_id == id) {
            return j;
        }
    }
    return std::nullopt;
}

std::string request_id(const ClientRun& run) {
    auto published = run.of("published");
    return published.empty() ? "" : published[0].id;
}

// One relay for the three cases (each runs its own daemon).
class LlamacppLoad : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        if (node_available()) {
            relay_ = new RelayProcess(start_relay());
        }
    }
    static void TearDownTestSuite() {
        delete relay_;
        relay_ = nullptr;
    }
    void SetUp() override {
        if (!node_available()) {
            GTEST_SKIP() << node_unavailable_reason();
        }
        ASSERT_TRUE(relay_ != nullptr && relay_->process);
    }
    static std::string url() { return relay_->url(); }

    static RelayProcess* relay_;
};

RelayProcess* LlamacppLoad::relay_ = nullptr;

TEST_F(LlamacppLoad, AJobDuringTheLoadWaitsThenRuns) {
    LoadingNode n(url(), "\"--load-ms\", \"2500\"", "start_timeout_ms = 10000\n");
    // The request is on the relay first: the node reads it as it subscribes, during the load.
    auto client = start_client(client_args({url()}, 2, {"--timeout-ms", "10000"}));
    ASSERT_TRUE(client);
    n.node->start();
    ClientRun run = finish_client(*client, 12000);
    std::vector<ClientLine> feedback = run.of("feedback");
    ASSERT_FALSE(feedback.empty()) << run.raw;
    EXPECT_EQ(feedback[0].status, "processing") << run.raw;
    EXPECT_EQ(feedback[0].extra, waiting_text);
    EXPECT_EQ(run.error(), nullptr) << run.raw;
    ASSERT_EQ(run.of("result").size(), 1u) << run.raw;
    EXPECT_EQ(run.of("result")[0].content, "alpha bravo charlie delta echo");
    // (The client stops at the result, so the `success` that follows is not in its output; the
    // row completes only after it was sent.)
    std::optional<proto::JobInfo> job = find_job(n.node->jobs(), request_id(run));
    ASSERT_TRUE(job.has_value());
    EXPECT_EQ(job->status, "completed");
    EXPECT_EQ(job->backend, "llamacpp");
    EXPECT_EQ(job->model, "test-model");
    EXPECT_GE(job->queue_ms.value_or(0), 500);  // it waited for the load
    EXPECT_EQ(n.node->intake()["refused_no_backend"], 0u);
}

TEST_F(LlamacppLoad, ALoadLongerThanTheWaitBoundFailsTheJob) {
    LoadingNode n(url(), "\"--load-ms\", \"60000\"", "job_wait_ms = 1000\n");
    // Another model is unknown (the loading server will serve test-model only).
    auto other = start_client(client_args({url()}, 2, {"--model", "mistral"}));
    auto waiting = start_client(client_args({url()}, 3, {"--model", "test-model"}));
    ASSERT_TRUE(other && waiting);
    n.node->start();
    ClientRun refused = finish_client(*other, 10000);
    ClientRun run = finish_client(*waiting, 10000);
    ASSERT_NE(refused.error(), nullptr) << refused.raw;
    EXPECT_EQ(refused.error()->extra, "unknown model 'mistral' (available: test-model (loading))");
    ASSERT_FALSE(run.of("feedback").empty()) << run.raw;
    EXPECT_EQ(run.of("feedback")[0].extra, waiting_text);
    ASSERT_NE(run.error(), nullptr) << run.raw;
    EXPECT_EQ(
        run.error()->extra.rfind("llama-server did not finish loading its model within 1 s", 0), 0u)
        << run.error()->extra;
    EXPECT_TRUE(run.of("result").empty());
    std::optional<proto::JobInfo> job = find_job(n.node->jobs(), request_id(run));
    ASSERT_TRUE(job.has_value());
    EXPECT_EQ(job->status, "failed");
    EXPECT_EQ(job->error_message, run.error()->extra);
    // The operator sees why nothing is available: the backend is loading its model.
    std::vector<proto::BackendInfo> backends;
    proto::JsonReader reader;
    ASSERT_EQ(proto::decode_backends(n.node->control("\"Backends\""), reader, backends),
              proto::Reject::none);
    ASSERT_EQ(backends.size(), 1u);
    EXPECT_EQ(backends[0].id, "llamacpp");
    EXPECT_FALSE(backends[0].available);
    EXPECT_TRUE(backends[0].loading);
    RunResult status = run_pylon({"status", "--home", n.node->home()});
    EXPECT_NE(status.out.find("Loading:   llamacpp"), std::string::npos) << status.out;
    EXPECT_EQ(status.out.find("None available"), std::string::npos) << status.out;
}

TEST_F(LlamacppLoad, AServerThatEndsFailedFailsItsWaitingJobsAtOnce) {
    // Never healthy within the start timeout, and one failure is enough for `failed`; the job
    // would wait 30 s, but ends when the server does. (The start timeout leaves a loaded machine
    // time to open intake and read the request while the server still loads: at 2 s a CI run
    // with other work on the machine read it after the failure and refused it instead.)
    LoadingNode n(url(), "\"--load-ms\", \"60000\"",
                  "start_timeout_ms = 5000\nfailures_max = 1\njob_wait_ms = 30000\n");
    auto client = start_client(client_args({url()}, 2, {"--timeout-ms", "15000"}));
    ASSERT_TRUE(client);
    n.node->start();
    ClientRun run = finish_client(*client, 17000);
    ASSERT_NE(run.error(), nullptr) << run.raw;
    EXPECT_EQ(run.of("feedback")[0].extra, waiting_text);
    EXPECT_EQ(run.error()->extra,
              "the supervised llama-server is failed: not healthy within 5000 ms");
    std::optional<proto::JobInfo> job = find_job(n.node->jobs(), request_id(run));
    ASSERT_TRUE(job.has_value());
    EXPECT_EQ(job->status, "failed");
    EXPECT_LT(job->queue_ms.value_or(0), 10000);
}

}  // namespace
}  // namespace pylon::test
