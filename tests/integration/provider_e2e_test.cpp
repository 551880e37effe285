// The provider end to end: the real `pylon` daemon with real peers on loopback (the npm relay
// tests/node/relay.mjs, the naive tests/node/raw_relay.mjs for hostile input, the fake
// backends of tools/, nostr-tools as the customer through tests/node/dvm_client.mjs, and
// `pylon job submit` as the other customer). Each test checks what the customer sees (feedback,
// a verified result with the right tags), what the backend saw (its /_fake/stats) and what the
// node recorded (Jobs and Intake on the control socket).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "engine/intake.hpp"
#include "provider_e2e_support.hpp"
#include "run_pylon.hpp"

namespace pylon::test {
namespace {

constexpr const char* six_words = "alpha bravo charlie delta echo foxtrot";

#define SKIP_WITHOUT_NODE()                            \
    do {                                               \
        if (!node_available()) {                       \
            GTEST_SKIP() << node_unavailable_reason(); \
        }                                              \
    } while (0)

std::string pubkey_of_customer(int n) {
    // secp256k1 x-coordinates of 2G, 3G, 4G (keys 2, 3, 4).
    switch (n) {
        case 2:
            return "c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5";
        case 3:
            return "f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9";
        default:
            return "";
    }
}

bool tag_present(const ClientLine& l, const std::string& fragment) {
    return l.tags_json.find(fragment) != std::string::npos;
}

TEST(ProviderEndToEnd, JobsFromNostrToolsAndTheCliComplete) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay();
    ReadyChild fake = start_fake("fake_ollama", {"--models", "llama3.2,qwen2.5:7b", "--tokens", "6",
                                                 "--token-delay-ms", "5"});
    RelayProcess elsewhere = start_relay("raw_relay.mjs");  // only in a request's `relays` tag
    NodeConfig config = node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.extra = "[relay_pool]\nreply_relays_private = true";
    PylonNode node(config);
    node.start();

    // nostr-tools, clear text.
    ClientRun plain = run_client(client_args({relay.url()}, 2, {"--model", "llama3.2"}));
    ASSERT_EQ(plain.of("result").size(), 1u) << plain.raw;
    const ClientLine r = plain.of("result")[0];
    EXPECT_TRUE(r.valid);
    EXPECT_EQ(r.content, six_words);
    EXPECT_EQ(r.pubkey, provider_pubkey);
    EXPECT_TRUE(plain.has_status("processing")) << plain.raw;
    EXPECT_TRUE(tag_present(r, "[\"e\",\"" + r.request + "\",\"" + relay.url() + "\"]"));
    EXPECT_TRUE(tag_present(r, "[\"i\",\"Say hello\",\"text\"]"));
    EXPECT_TRUE(tag_present(r, "[\"p\",\"" + pubkey_of_customer(2) + "\"]"));
    EXPECT_TRUE(tag_present(r, "[\"request\",\"{\\\"id\\\":\\\"" + r.request));
    EXPECT_TRUE(tag_present(r, "[\"alt\",\"NIP-90 result of a kind 5050 job"));

    // nostr-tools, NIP-44 encrypted to the provider: an encrypted answer, no inputs echoed.
    ClientRun secret = run_client(client_args({relay.url()}, 3,
                                              {"--encrypt", "nip44", "--provider", provider_pubkey,
                                               "--model", "qwen2.5:7b", "--prompt", "a secret"}));
    ASSERT_EQ(secret.of("result").size(), 1u) << secret.raw;
    const ClientLine s = secret.of("result")[0];
    EXPECT_EQ(s.content, six_words);
    EXPECT_FALSE(tag_present(s, "[\"i\","));
    EXPECT_TRUE(tag_present(s, "[\"encrypted\"]"));
    EXPECT_EQ(s.cipher, "nip44");

    // NIP-04 encrypted: answered in NIP-04 (the client decrypts with nip04 or fails).
    ClientRun old_cipher = run_client(
        client_args({relay.url()}, 5, {"--encrypt", "nip04", "--provider", provider_pubkey}));
    ASSERT_EQ(old_cipher.of("result").size(), 1u) << old_cipher.raw;
    EXPECT_EQ(old_cipher.of("result")[0].content, six_words);
    EXPECT_EQ(old_cipher.of("result")[0].cipher, "nip04");
    EXPECT_FALSE(tag_present(old_cipher.of("result")[0], "[\"i\","));

    // A `relays` tag naming a relay the node does not use: the answers go there too, through a
    // temporary connection: the result and `success` (and `processing` when it was sent before
    // the result: an unsent `processing` gives way to the result, which carries the answer, so
    // on a loaded machine whose temporary connection is slower than the job it is not sent).
    ClientRun tagged = run_client(client_args({relay.url()}, 6, {"--relays-tag", elsewhere.url()}));
    ASSERT_EQ(tagged.of("result").size(), 1u) << tagged.raw;
    EXPECT_TRUE(wait_until([&]() { return elsewhere.raw_events() >= 2; }, 5000, 50))
        << elsewhere.raw_events();

    // pylon job submit, with its own home and key.
    auto cli_home = TempDir::create("pylon-cli");
    ASSERT_TRUE(cli_home.ok());
    ChildSpec spec;
    spec.argv = {
        tool_path("pylon"), "job",           "submit", "Say hi", "--relay", relay.url(),
        "--wait",           "--timeout",     "20",     "--json", "--key",   customer_secret(4),
        "--home",           cli_home->path()};
    auto cli = ChildProcess::spawn(spec);
    ASSERT_TRUE(cli.ok());
    auto exit = cli.value()->wait_exit(30000);
    ASSERT_TRUE(exit && exit->exited) << cli.value()->describe();
    EXPECT_EQ(exit->code, 0) << cli.value()->describe();
    std::string out = cli.value()->tail(Stream::out);
    EXPECT_NE(out.find("\"status\":\"completed\""), std::string::npos) << out;
    EXPECT_NE(out.find(std::string("\"result\":\"") + six_words + "\""), std::string::npos) << out;
    ChildSpec list;
    list.argv = {tool_path("pylon"), "job", "list", "--home", cli_home->path()};
    auto lister = ChildProcess::spawn(list);
    ASSERT_TRUE(lister.ok());
    lister.value()->wait_exit(10000);
    EXPECT_NE(lister.value()->tail(Stream::out).find("completed"), std::string::npos);

    // The node's record: five completed jobs with their backend, model, tokens and timings.
    std::vector<proto::JobInfo> jobs = node.jobs();
    ASSERT_EQ(jobs.size(), 5u);
    for (const proto::JobInfo& j : jobs) {
        EXPECT_EQ(j.status, "completed") << j.id << " " << j.error_message;
        EXPECT_EQ(j.backend, "ollama");
        EXPECT_EQ(j.completion_tokens, 6);
        EXPECT_TRUE(j.total_ms.has_value());
        EXPECT_TRUE(j.queue_ms.has_value());
    }
    EXPECT_EQ(node.intake()["accepted"], 5u);
    EXPECT_EQ(node.stop().code, 0);
}

// A relay named in a request's `relays` tag only receives the node's answers: one that pushes
// job requests down that temporary connection under the node's (guessable) subscription id is
// ignored. Before, those requests were taken as if subscribed, and one owned by another shard
// was handed over with the temporary link's index (-1) and crashed the node.
TEST(ProviderEndToEnd, ATemporaryReplyRelayCannotPushRequests) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay();
    ReadyChild fake = start_fake("fake_ollama", {"--models", "llama3.2", "--tokens", "2"});
    RelayProcess hostile = start_relay(
        "raw_relay.mjs", 0,
        {"--store-jobs", "--push-sub", "pylon-jobs-" + std::string(provider_pubkey).substr(0, 8)});
    // Requests only the hostile relay holds (nobody subscribed there answers them).
    ClientRun stored = run_client(
        client_args({hostile.url()}, 7, {"--count", "8", "--wait", "none", "--model", "llama3.2"}));
    ASSERT_EQ(stored.of("published").size(), 8u) << stored.raw;
    NodeConfig config = node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.extra = "[relay_pool]\nreply_relays_private = true";
    PylonNode node(config);
    node.start();
    ClientRun tagged = run_client(client_args({relay.url()}, 6, {"--relays-tag", hostile.url()}));
    ASSERT_EQ(tagged.of("result").size(), 1u) << tagged.raw;
    // The node's answers reached the hostile relay: its connection was open, and was pushed to.
    EXPECT_TRUE(wait_until([&]() { return hostile.raw_events() >= 8 + 2; }, 5000, 50))
        << hostile.raw_events();
    std::this_thread::sleep_for(std::chrono::milliseconds(
        500));  // time for pushed requests to reach the intake, were they taken
    EXPECT_EQ(node.intake()["received"], 1u);
    EXPECT_EQ(node.jobs().size(), 1u);
    EXPECT_EQ(node.stop().code, 0);  // alive until asked to stop
}

// reply_relays_private = false (the default): a `relays` entry that reaches loopback however
// it is written (127.1 is no literal inet_pton knows, but it resolves to 127.0.0.1) gets
// nothing; the job itself is answered on the node's relay.
TEST(ProviderEndToEnd, AReplyRelayThatResolvesToLoopbackGetsNothing) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay();
    ReadyChild fake = start_fake("fake_ollama", {"--models", "llama3.2", "--tokens", "2"});
    RelayProcess local = start_relay("raw_relay.mjs");
    NodeConfig config = node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.shards = 1;
    PylonNode node(config);
    node.start();
    std::string sneaky = "ws://127.1:" + std::to_string(local.port);
    ClientRun run = run_client(client_args({relay.url()}, 6, {"--relays-tag", sneaky}));
    ASSERT_EQ(run.of("result").size(), 1u) << run.raw;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_EQ(local.raw_events(), 0);
    EXPECT_EQ(node.stop().code, 0);
}

// One customer may open a quarter of a shard's temporary relay connections: a request naming
// two reply relays gets one (temp_relays_max = 4), and another customer's relay still gets its
// answers (before, any customer could take every slot with requests naming slow relays).
TEST(ProviderEndToEnd, OneCustomerGetsAShareOfTheTemporaryRelayConnections) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay();
    ReadyChild fake = start_fake("fake_ollama", {"--models", "llama3.2", "--tokens", "2"});
    RelayProcess a1 = start_relay("raw_relay.mjs");
    RelayProcess a2 = start_relay("raw_relay.mjs");
    RelayProcess b = start_relay("raw_relay.mjs");
    NodeConfig config = node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.extra = "[relay_pool]\nreply_relays_private = true\ntemp_relays_max = 4";
    config.shards = 1;
    PylonNode node(config);
    node.start();
    ClientRun greedy = run_client(
        client_args({relay.url()}, 6, {"--relays-tag", a1.url(), "--relays-tag", a2.url()}));
    ASSERT_EQ(greedy.of("result").size(), 1u) << greedy.raw;
    ClientRun other = run_client(client_args({relay.url()}, 7, {"--relays-tag", b.url()}));
    ASSERT_EQ(other.of("result").size(), 1u) << other.raw;
    EXPECT_TRUE(wait_until([&]() { return b.raw_events() >= 2; }, 5000, 50)) << b.raw_events();
    EXPECT_TRUE(wait_until([&]() { return a1.raw_events() + a2.raw_events() >= 2; }, 5000, 50));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_TRUE(a1.raw_events() == 0 || a2.raw_events() == 0)
        << a1.raw_events() << " and " << a2.raw_events();
    EXPECT_EQ(node.stop().code, 0);
}

TEST(ProviderEndToEnd, TheSameRequestFromTwoRelaysRunsOnce) {
    SKIP_WITHOUT_NODE();
    RelayProcess a = start_relay();
    RelayProcess b = start_relay();
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "4", "--token-delay-ms", "5"});
    NodeConfig config =
        node_config({a.url(), b.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    // A job that ends within 2 s gets no `processing`: only its result and `success`.
    config.extra = "[provider]\nprocessing_feedback_delay_ms = 2000";
    PylonNode node(config);
    node.start();
    ClientRun run = run_client(client_args({a.url(), b.url()}, 2));
    ASSERT_EQ(run.of("result").size(), 1u) << run.raw;
    // (The client stops at the result, so the `success` that follows is not in its output.)
    EXPECT_FALSE(run.has_status("processing")) << run.raw;
    // The second copy arrives on the other link: wait until intake has counted it.
    EXPECT_TRUE(wait_until([&]() { return node.intake()["received"] == 2; }, 5000, 50));
    EXPECT_EQ(fake_stat(fake.port, "streams_started"), 1);
    auto intake = node.intake();
    EXPECT_EQ(intake["accepted"], 1u);
    EXPECT_EQ(intake["received"], 2u);
    EXPECT_EQ(intake["duplicate"], 1u);
    EXPECT_EQ(node.jobs().size(), 1u);
}

TEST(ProviderEndToEnd, AnAuthRelayIsServedAfterNip42) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay("relay.mjs", 0, {"--auth"});
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "3", "--token-delay-ms", "5"});
    PylonNode node(node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(fake.port)));
    node.start();  // the REQ was refused until the node authenticated, then subscribed
    ClientRun run = run_client(client_args({relay.url()}, 2, {"--auth"}));
    ASSERT_EQ(run.of("result").size(), 1u) << run.raw;
    EXPECT_EQ(run.of("result")[0].content, "alpha bravo charlie");
}

// A relay that wants AUTH from a node that does not answer (`[relay_pool] auth = false`) closes
// each REQ with auth-required: the node subscribes again every resubscribe_delay_ms (5 s), not
// at once: it sent REQ after REQ as fast as the relay answered.
TEST(ProviderEndToEnd, AnAuthRequiredRelayIsNotAskedAgainAndAgainWithoutAuth) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay("relay.mjs", 0, {"--auth"});
    NodeConfig config = node_config({relay.url()}, "");
    config.shards = 1;
    config.extra = "[relay_pool]\nauth = false";
    PylonNode node(config);
    node.start(false);
    std::regex closed_line(".*closed our subscription \\(auth-required.*");
    ASSERT_TRUE(node.process().wait_for_line(closed_line, 10000, Stream::err))
        << node.process().describe();
    // 2.5 s after the first refusal: the second comes 5 s after it.
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    auto lines = node.process().lines(Stream::err);
    auto closed = std::count_if(lines.begin(), lines.end(), [&](const std::string& l) {
        return std::regex_match(l, closed_line);
    });
    EXPECT_EQ(closed, 1) << node.process().describe();
}

TEST(ProviderEndToEnd, ARestartDuringAJobRunsItAgainOrSaysWhy) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay();
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "15", "--token-delay-ms", "100"});
    NodeConfig config = node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.shards = 1;
    config.extra = "[provider]\nshutdown_grace_ms = 200";
    PylonNode node(config);
    node.start();

    // kill -9 while the job runs: after the restart it runs again and completes.
    auto client = start_client(client_args({relay.url()}, 2, {"--timeout-ms", "30000"}));
    ASSERT_TRUE(client->wait_for_line(std::regex(".*\"status\":\"processing\".*"), 10000));
    node.kill9();
    node.start();
    ClientRun run = finish_client(*client, 40000);
    ASSERT_EQ(run.of("result").size(), 1u) << run.raw;
    EXPECT_EQ(node.intake()["rerun"], 1u);
    ASSERT_EQ(node.jobs().size(), 1u);
    EXPECT_EQ(node.jobs()[0].status, "completed");

    // SIGTERM while a job runs: it fails with an error feedback that says why.
    auto second = start_client(client_args({relay.url()}, 3, {"--timeout-ms", "20000"}));
    ASSERT_TRUE(second->wait_for_line(std::regex(".*\"status\":\"processing\".*"), 10000));
    EXPECT_EQ(node.stop().code, 0);
    ClientRun stopped = finish_client(*second, 30000);
    ASSERT_NE(stopped.error(), nullptr) << stopped.raw << node.stopped_log();
    EXPECT_EQ(stopped.error()->extra, "the node is shutting down");
    EXPECT_TRUE(stopped.of("result").empty());
}

// SIGTERM with jobs running on both shards: every shard gives them the grace at the same time,
// so the node is gone within about one grace (audit, session 8: shard after shard, the stop
// took shards x the grace, and `pylon stop`'s SIGKILL left accepted jobs without an ending).
TEST(ProviderEndToEnd, AllShardsGiveRunningJobsTheSameGraceAtOnce) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay();
    ReadyChild fake =
        start_fake("fake_ollama", {"--tokens", "200", "--token-delay-ms", "100", "--slots", "16"});
    NodeConfig config = node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.shards = 2;
    config.extra = "[provider]\nshutdown_grace_ms = 3000";
    config.ollama_extra = "slots = 16";
    PylonNode node(config);
    node.start();
    auto client =
        start_client(client_args({relay.url()}, 4, {"--count", "12", "--timeout-ms", "30000"}));
    auto processing = [&]() {
        std::size_t n = 0;
        for (const std::string& line : client->lines(Stream::out)) {
            n += line.find("\"status\":\"processing\"") != std::string::npos ? 1u : 0u;
        }
        return n;
    };
    ASSERT_TRUE(wait_until([&]() { return processing() >= 12; }, 15000, 20)) << processing();
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(node.process().signal(SIGTERM).ok());
    std::optional<ExitInfo> exit = node.process().wait_exit(20000);
    auto took_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    ASSERT_TRUE(exit.has_value());
    EXPECT_EQ(exit->code, 0);
    std::size_t shards_waiting = 0;
    for (const std::string& line : node.process().lines(Stream::err)) {
        if (line.find("job(s) in flight; waiting up to 3000 ms") != std::string::npos) {
            shards_waiting++;
        }
    }
    EXPECT_EQ(shards_waiting, 2u);  // 12 requests: both shards own some (all on one: 2^-11)
    // One grace (3 s) and the stop's own work; shard after shard it was over 6 s.
    EXPECT_LT(took_ms, 5500);
    ClientRun stopped = finish_client(*client, 30000);
    EXPECT_EQ(stopped.of("result").size(), 0u);
    std::vector<std::string> statuses = stopped.statuses();
    EXPECT_EQ(std::count(statuses.begin(), statuses.end(), "error"), 12) << stopped.raw;
}

// The ids of the kind-6050 results a raw relay (--log) received from the node.
std::set<std::string> results_received(ChildProcess& relay) {
    static const std::regex result(
        "<- \\[\"EVENT\",\\{\"id\":\"([0-9a-f]{64})\",\"pubkey\":\"[0-9a-f]{64}\","
        "\"created_at\":[0-9]+,\"kind\":6050,.*");
    std::set<std::string> ids;
    for (const std::string& line : relay.lines(Stream::err)) {
        std::smatch m;
        if (std::regex_match(line, m, result)) {
            ids.insert(m[1].str());
        }
    }
    return ids;
}

// docs/provider.md: a job is never run twice. Its result is out (the relay forwarded it to the
// customer) but the relay never said OK, so the job is still delivering when the node is killed;
// after the restart the very same event is published again: one generation, one result id.
TEST(ProviderEndToEnd, AResultAlreadyOutIsPublishedAgainAfterARestartNotGeneratedAgain) {
    SKIP_WITHOUT_NODE();
    RelayProcess silent =
        start_relay("raw_relay.mjs", 0,
                    {"--silent-first", "1000", "--refuse-author", provider_pubkey, "--log"});
    std::uint16_t port = silent.port;
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "3", "--token-delay-ms", "5"});
    NodeConfig config =
        node_config({silent.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.shards = 1;
    PylonNode node(config);
    node.start();
    ClientRun run = run_client(client_args({silent.url()}, 2));
    ASSERT_EQ(run.of("result").size(), 1u) << run.raw;
    std::string first = run.of("result")[0].id;
    ASSERT_EQ(node.jobs().size(), 1u);
    ASSERT_NE(node.jobs()[0].status, "completed");  // waiting for an OK that never comes
    node.kill9();
    std::set<std::string> before = results_received(*silent.process);
    silent.process->stop(3000);
    // The fake's text is always the same: a result generated again differs only by created_at.
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));

    RelayProcess relay = start_relay("raw_relay.mjs", port, {"--log"});
    ASSERT_EQ(relay.port, port);
    node.start();
    ASSERT_TRUE(wait_until(
        [&]() {
            auto jobs = node.jobs();
            return jobs.size() == 1 && jobs[0].status == "completed";
        },
        10000, 50))
        << node.process().describe();
    EXPECT_EQ(before, std::set<std::string>{first});
    EXPECT_EQ(results_received(*relay.process), std::set<std::string>{first});
    EXPECT_EQ(fake_stat(fake.port, "streams_started"), 1);
    EXPECT_EQ(node.intake()["rerun"], 1u);
    EXPECT_TRUE(node.process().wait_for_line(
        std::regex(".*already signed before the restart; published again.*"), 1000, Stream::err));
}

// More unfinished jobs than the queue bound (2 slots running + 4 queued, job_queue_max = 4;
// after the restart no slot is held yet, so all 6 queue at once): every one runs again to its
// result. They were refused "queue full" beyond the bound (audit C3).
TEST(ProviderEndToEnd, ARestartRunsEveryUnfinishedJobAgainPastTheQueueBound) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay();
    ReadyChild fake =
        start_fake("fake_ollama", {"--slots", "2", "--tokens", "60", "--token-delay-ms", "50"});
    NodeConfig config = node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.shards = 1;
    config.ollama_extra = "slots = 2";
    config.extra = "[limits]\njob_queue_max = 4";
    PylonNode node(config);
    node.start();
    // Two run (their slots leased), then four wait: the queue is full.
    auto running =
        start_client(client_args({relay.url()}, 2, {"--count", "2", "--timeout-ms", "40000"}));
    auto processing = [&]() {
        std::vector<proto::JobInfo> jobs = node.jobs();
        return std::count_if(jobs.begin(), jobs.end(),
                             [](const proto::JobInfo& j) { return j.status == "processing"; });
    };
    ASSERT_TRUE(wait_until([&]() { return processing() == 2; }, 15000, 50))
        << node.process().describe();
    auto queued =
        start_client(client_args({relay.url()}, 3, {"--count", "4", "--timeout-ms", "40000"}));
    ASSERT_TRUE(wait_until([&]() { return node.intake()["accepted"] == 6; }, 15000, 50))
        << node.process().describe();
    // A running job takes 3 s; on a slow machine one may still end before the kill (it then
    // has nothing to run again: CI once saw 4 of 6).
    std::vector<proto::JobInfo> before = node.jobs();
    auto ended = std::count_if(before.begin(), before.end(),
                               [](const proto::JobInfo& j) { return j.status == "completed"; });
    node.kill9();
    node.start();
    ClientRun first = finish_client(*running, 45000);
    ClientRun rest = finish_client(*queued, 45000);
    EXPECT_EQ(first.of("result").size(), 2u) << first.raw;
    EXPECT_EQ(rest.of("result").size(), 4u) << rest.raw << node.process().describe();
    EXPECT_EQ(first.error(), nullptr) << first.raw;
    EXPECT_EQ(rest.error(), nullptr) << rest.raw;
    EXPECT_EQ(node.intake()["rerun"], 6u - static_cast<std::uint64_t>(ended));
    std::vector<proto::JobInfo> jobs = node.jobs();
    ASSERT_EQ(jobs.size(), 6u);
    for (const proto::JobInfo& j : jobs) {
        EXPECT_EQ(j.status, "completed") << j.id << ": " << j.error_message;
    }
}

// A one-shard node whose database another connection write-locks (BEGIN EXCLUSIVE, held past
// the node's [store] busy_timeout_ms of 50 ms) until unlock().
struct LockedStoreNode {
    LockedStoreNode()
        : relay(start_relay()),
          fake(start_fake("fake_ollama", {"--tokens", "3", "--token-delay-ms", "5"})),
          node(config(relay, fake)) {
        node.start();
        EXPECT_EQ(sqlite3_open((node.home() + "/pylon.db").c_str(), &db), SQLITE_OK);
        EXPECT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
    }
    ~LockedStoreNode() { unlock(); }
    static NodeConfig config(const RelayProcess& relay, const ReadyChild& fake) {
        NodeConfig c = node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
        c.shards = 1;
        c.extra = "[store]\nbusy_timeout_ms = 50";
        return c;
    }
    void unlock() {
        if (db != nullptr) {
            EXPECT_EQ(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
            sqlite3_close(db);
            db = nullptr;
        }
    }

    RelayProcess relay;
    ReadyChild fake;
    PylonNode node;
    sqlite3* db = nullptr;
};

// While another process holds the database's write lock (past [store] busy_timeout_ms) the
// accepted request's row cannot be written: the node tries again (store_retried) and, once the
// lock is gone, records and runs it. It was dropped with its id kept as seen (audit C4).
TEST(ProviderEndToEnd, ARequestTheStoreCouldNotRecordIsRetriedAndRuns) {
    SKIP_WITHOUT_NODE();
    LockedStoreNode t;
    PylonNode& node = t.node;
    auto client = start_client(client_args({t.relay.url()}, 2, {"--timeout-ms", "20000"}));
    bool retried = wait_until([&]() { return node.intake()["store_retried"] >= 1; }, 10000, 20);
    t.unlock();
    ASSERT_TRUE(retried) << node.process().describe();
    ClientRun run = finish_client(*client, 25000);
    ASSERT_EQ(run.of("result").size(), 1u) << run.raw << node.process().describe();
    EXPECT_EQ(run.error(), nullptr) << run.raw;
    auto intake = node.intake();
    EXPECT_EQ(intake["store_failed"], 0u);
    EXPECT_EQ(intake["accepted"], 1u);
    ASSERT_EQ(node.jobs().size(), 1u);
    EXPECT_EQ(node.jobs()[0].status, "completed");
}

// The same while the lock outlasts every retry (1 + 2 + 4 + 8 s): the request is not run and
// its customer hears why (an `error` feedback), it leaves no row, and its id is forgotten.
TEST(ProviderEndToEnd, ARequestTheStoreNeverRecordsIsAnsweredWithAnErrorNotRun) {
    SKIP_WITHOUT_NODE();
    LockedStoreNode t;
    PylonNode& node = t.node;
    ClientRun run = run_client(client_args({t.relay.url()}, 2, {"--timeout-ms", "25000"}));
    t.unlock();
    const ClientLine* error = run.error();
    ASSERT_NE(error, nullptr) << run.raw << node.process().describe();
    EXPECT_NE(error->content.find("could not record the request"), std::string::npos) << run.raw;
    EXPECT_TRUE(run.of("result").empty()) << run.raw;
    auto intake = node.intake();
    EXPECT_EQ(intake["store_retried"], static_cast<std::uint64_t>(engine::store_retries_max));
    EXPECT_EQ(intake["store_failed"], 1u);
    EXPECT_EQ(intake["accepted"], 0u);
    EXPECT_TRUE(node.jobs().empty());
    EXPECT_EQ(fake_stat(t.fake.port, "streams_started"), 0);
}

// A job's end is recorded before its customer hears of it, and a store error on that write is
// tried again (audit, session 13): the `error` of a cancelled job went out before the row said
// `cancelled`, and the row stayed `processing` when that write failed, so a restart ran the
// cancelled job again and published a result after all.
TEST(ProviderEndToEnd, ACancelledJobsRowIsWrittenBeforeItsErrorAndRetried) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay("raw_relay.mjs");
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "60", "--token-delay-ms", "100"});
    NodeConfig config = node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.shards = 1;
    config.extra = "[store]\nbusy_timeout_ms = 50";
    PylonNode node(config);
    node.start();
    auto client = start_client(
        client_args({relay.url()}, 2, {"--cancel-after", "partial", "--timeout-ms", "20000"}));
    // Accepted (its row is written): now another connection takes the write lock.
    ASSERT_TRUE(wait_until([&]() { return node.intake()["accepted"] == 1; }, 10000, 10))
        << node.process().describe();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((node.home() + "/pylon.db").c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);  // the node's store may be mid-commit
    ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
    ASSERT_TRUE(client->wait_for_line(std::regex(".*\"deletion\".*"), 10000)) << client->describe();
    ASSERT_TRUE(node.process().wait_for_line(
        std::regex(".*could not record its end.*trying again.*"), 10000, Stream::err))
        << node.process().describe();
    std::regex error_line(".*\"status\":\"error\".*");
    auto lines = client->lines(Stream::out);
    EXPECT_FALSE(std::any_of(lines.begin(), lines.end(),
                             [&](const std::string& l) { return std::regex_match(l, error_line); }))
        << "the customer heard `error` while the row was still open\n"
        << client->describe();
    EXPECT_EQ(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    ClientRun run = finish_client(*client, 20000);
    ASSERT_NE(run.error(), nullptr) << run.raw;
    EXPECT_EQ(run.error()->extra, "cancelled by the customer (kind-5 deletion)");
    EXPECT_TRUE(run.of("result").empty());
    std::vector<proto::JobInfo> jobs = node.jobs();
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_EQ(jobs[0].status, "cancelled");
}

TEST(ProviderEndToEnd, ARestartedRelayIsResubscribed) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay();
    std::uint16_t port = relay.port;
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "2", "--token-delay-ms", "5"});
    NodeConfig config = node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.extra = "[relay_pool]\nbackoff_initial_ms = 200\nbackoff_max_ms = 1000";
    PylonNode node(config);
    node.start();
    EXPECT_EQ(run_client(client_args({relay.url()}, 2)).of("result").size(), 1u);
    relay.process->stop(3000);
    ASSERT_TRUE(
        node.process().wait_for_line(std::regex(".*reconnecting in.*"), 10000, Stream::err));
    RelayProcess again = start_relay("relay.mjs", port);
    ASSERT_EQ(again.port, port);
    ASSERT_TRUE(node.wait_subscribed(1, 15000)) << node.process().describe();
    ClientRun run = run_client(client_args({again.url()}, 3));
    ASSERT_EQ(run.of("result").size(), 1u) << run.raw;
    EXPECT_EQ(run.of("result")[0].content, "alpha bravo");
    // `pylon status` shows the relay connected, and the error that ended the first connection as
    // history, not as its state (before: "connected: <that error>").
    test::RunResult status = test::run_pylon({"status", "--home", node.home()});
    EXPECT_NE(status.out.find(again.url() + " (connected; "), std::string::npos) << status.out;
    EXPECT_NE(status.out.find("; earlier: "), std::string::npos) << status.out;
    // ... and the backend with its models, busy slots and queue (before: its URL only).
    EXPECT_TRUE(std::regex_search(
        status.out,
        std::regex("Available: ollama \\(default\\)  http://127\\.0\\.0\\.1:[0-9]+  "
                   "\\(models: [^;]+; [0-9]+ of [0-9]+ slot\\(s\\) busy, [0-9]+ queued\\)")))
        << status.out;
}

// A result cut at [provider] output_bytes_max ends before the character that straddles the cap.
// Here "€€" and then " €€" per token: 251 bytes after 36 tokens, and the 37th puts the cap (256)
// inside its second €. Before, the cut split it and the result ended in U+FFFD.
TEST(ProviderEndToEnd, AResultCutAtTheOutputCapEndsBetweenCharacters) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay();
    ReadyChild fake = start_fake("fake_ollama", {"--text", "\xe2\x82\xac\xe2\x82\xac", "--tokens",
                                                 "100", "--token-delay-ms", "0"});
    NodeConfig config = node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.shards = 1;
    config.extra = "[provider]\noutput_bytes_max = 256";
    PylonNode node(config);
    node.start();
    ClientRun run = run_client(client_args({relay.url()}, 2));
    ASSERT_EQ(run.of("result").size(), 1u) << run.raw;
    std::string expected = "\xe2\x82\xac\xe2\x82\xac";
    for (int i = 0; i < 35; i++) {
        expected += " \xe2\x82\xac\xe2\x82\xac";
    }
    expected += " \xe2\x82\xac";
    EXPECT_EQ(expected.size(), 255u);
    EXPECT_EQ(run.of("result")[0].content, expected);
}

// An Ollama with 500 models lists them in ~165 KB of /api/tags, more than the 128 KiB a stream
// line may take: the probe reads it under the probe's own bound. Before, the backend was
// "Unavailable: ... not a model list: too large" and every job was refused.
TEST(ProviderEndToEnd, AnOllamaWithHundredsOfModelsIsAvailable) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay();
    std::string models = "llama3.2";
    for (int i = 1; i < 500; i++) {
        models += ",model-number-" + std::to_string(i);
    }
    ReadyChild fake = start_fake("fake_ollama", {"--models", models, "--tokens", "2"});
    NodeConfig config = node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.shards = 1;
    PylonNode node(config);
    node.start();
    ClientRun run = run_client(client_args({relay.url()}, 2));
    ASSERT_EQ(run.of("result").size(), 1u) << run.raw << node.process().describe();
    test::RunResult status = test::run_pylon({"status", "--home", node.home()});
    EXPECT_NE(status.out.find("(models: llama3.2:latest, model-number-1:latest, "
                              "model-number-2:latest, +497 more; "),
              std::string::npos)
        << status.out;
}

TEST(ProviderEndToEnd, BackendFaultsEndInAnErrorFeedbackWithTheReason) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay();
    struct Case {
        const char* tool;
        const char* fault;
        const char* expect;
    };
    const Case cases[] = {
        {"fake_ollama", "model-404", "HTTP 404"},
        {"fake_ollama", "busy-503", "HTTP 503"},
        {"fake_ollama", "error-mid-stream", "injected error"},
        {"fake_ollama", "reset-mid-stream", "reset"},
        {"fake_ollama", "hang", "1500 ms"},
        {"fake_llamacpp", "error-mid-stream", "injected"},
    };
    int customer = 2;
    for (const Case& c : cases) {
        ReadyChild fake =
            start_fake(c.tool, {"--fault", c.fault, "--fault-after", "2", "--token-delay-ms", "5"});
        std::string url = "http://127.0.0.1:" + std::to_string(fake.port);
        bool ollama = std::string(c.tool) == "fake_ollama";
        NodeConfig config = node_config({relay.url()}, ollama ? url : "", ollama ? "" : url);
        config.shards = 1;
        config.ollama_extra = "request_timeout_ms = 1500";
        config.llamacpp_extra = "request_timeout_ms = 1500";
        PylonNode node(config);
        node.start();
        ClientRun run =
            run_client(client_args({relay.url()}, customer++, {"--timeout-ms", "10000"}));
        const ClientLine* err = run.error();
        ASSERT_NE(err, nullptr) << c.fault << "\n" << run.raw;
        EXPECT_NE(err->extra.find(c.expect), std::string::npos) << c.fault << ": " << err->extra;
        EXPECT_TRUE(run.of("result").empty());
        // (The relay also replays the earlier cases' requests to this new node: look for ours.)
        bool found = false;
        for (const proto::JobInfo& j : node.jobs()) {
            if (j.request_id == err->request) {
                found = true;
                EXPECT_EQ(j.status, "failed");
                EXPECT_EQ(j.error_message, err->extra);
            }
        }
        EXPECT_TRUE(found) << c.fault;
    }
}

// The backend (not one the node runs, one slot) dies with one job running and five queued. Jobs
// queued on the shard that holds the slot run into the dead backend and fail at once (connection
// refused); those queued on the other shard wait for a slot lent from the registry, which lends
// none while the backend is unavailable: they used to wait out queue_wait_max_ms (300 s, no word
// to the customer) and then fail "waited more than 300 s for a free backend slot". Now they fail
// as soon as the backend is marked unavailable, with that reason, as new requests are refused.
// Found by an audit.
TEST(ProviderEndToEnd, JobsQueuedForABackendThatDiesFailAtOnceWithTheReason) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay();
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "40", "--token-delay-ms", "300"});
    NodeConfig config = node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.shards = 2;
    PylonNode node(config);
    node.start();
    constexpr std::size_t jobs = 6;
    auto client = start_client(
        client_args({relay.url()}, 2, {"--count", std::to_string(jobs), "--timeout-ms", "20000"}));
    ASSERT_TRUE(client);
    ASSERT_TRUE(wait_until([&] { return node.jobs().size() == jobs; }, 10000, 50))
        << "the requests were not all accepted";
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // the first one streams
    ASSERT_TRUE(fake.process->signal(SIGKILL).ok());
    auto begun = std::chrono::steady_clock::now();
    ClientRun run = finish_client(*client, 30000);
    std::vector<std::string> reasons;
    for (const ClientLine& l : run.of("feedback")) {
        if (l.status == "error") {
            reasons.push_back(l.extra);
        }
    }
    EXPECT_EQ(reasons.size(), jobs) << run.raw << node.process().tail(Stream::err);
    for (const std::string& r : reasons) {
        EXPECT_EQ(r.find("free backend slot"), std::string::npos) << r;
    }
    EXPECT_LT(std::chrono::steady_clock::now() - begun, std::chrono::seconds(15));
    for (const proto::JobInfo& j : node.jobs()) {
        EXPECT_EQ(j.status, "failed") << j.id;
    }
}

TEST(ProviderEndToEnd, LlamaServerServesAndAJobDuringItsLoadIsRefused) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay();
    // The load lasts until the test ends it (POST /_fake/loaded), however slow the machine.
    ReadyChild fake = start_fake("fake_llamacpp", {"--models", "gpt-oss-20b", "--tokens", "5",
                                                   "--token-delay-ms", "5", "--load-ms", "120000"});
    NodeConfig config =
        node_config({relay.url()}, "", "http://127.0.0.1:" + std::to_string(fake.port));
    PylonNode node(config);
    node.start();
    ClientRun early = run_client(client_args({relay.url()}, 2));
    ASSERT_NE(early.error(), nullptr) << early.raw;
    EXPECT_EQ(early.error()->extra, "no inference backend is available right now");
    ASSERT_EQ(fetch(fake.port, "POST", "/_fake/loaded").status, 200);
    // After the load the next probe finds it (1 s, 2 s, 4 s, ... while it is down).
    ASSERT_TRUE(wait_until(
        [&]() {
            return node.control("\"Backends\"").find("\"available\":true") != std::string::npos;
        },
        20000, 100));
    ClientRun run = run_client(client_args({relay.url()}, 3, {"--model", "gpt-oss-20b"}));
    ASSERT_EQ(run.of("result").size(), 1u) << run.raw;
    EXPECT_EQ(run.of("result")[0].content, "alpha bravo charlie delta echo");
    EXPECT_EQ(node.intake()["refused_no_backend"], 1u);
}

// Through the naive relay: @nostr-relay/core 0.0.40 neither stores nor forwards kind-5
// deletions (it only deletes what they name), so no subscriber ever sees one there.
TEST(ProviderEndToEnd, AKind5DeletionCancelsTheJobAndClosesTheBackendStream) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay("raw_relay.mjs");
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "60", "--token-delay-ms", "100"});
    PylonNode node(node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(fake.port)));
    node.start();
    ClientRun run = run_client(
        client_args({relay.url()}, 2, {"--cancel-after", "partial", "--timeout-ms", "10000"}));
    ASSERT_EQ(run.of("deletion").size(), 1u) << run.raw;
    ASSERT_NE(run.error(), nullptr) << run.raw;
    EXPECT_EQ(run.error()->extra, "cancelled by the customer (kind-5 deletion)");
    EXPECT_TRUE(run.of("result").empty());
    EXPECT_TRUE(wait_until(
        [&]() { return fake_stat(fake.port, "streams_cancelled_by_client") == 1; }, 5000, 50));
    std::vector<proto::JobInfo> jobs = node.jobs();
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_EQ(jobs[0].status, "cancelled");
    EXPECT_EQ(node.intake()["cancellations"], 1u);
}

// raw_relay.mjs --log's line for the deletion watch's REQ naming exactly `request`.
std::regex watch_req_naming(const std::string& request) {
    return std::regex("<- \\[\"REQ\",\"pylon-cancels-[0-9a-f]+\",.\"kinds\":\\[5\\],\"#e\":\\[\"" +
                      request + "\"\\].\\]");
}

// A deletion without a `k` tag (NIP-09 makes it optional) cancels too: the node asks its relays
// for the deletions of its jobs open a second or more, by their ids ({"kinds":[5],"#e":[...]}).
// raw_relay.mjs --match-filters sends a subscription only what its filters match, and keeps
// kind-5 events for later REQs, as NIP-09 asks of relays (relay.mjs's @nostr-relay/core 0.0.40
// neither stores nor forwards deletions). On two shards: the job's and the relay link's may
// differ. The `#k` subscription alone never saw such a deletion.
TEST(ProviderEndToEnd, AKind5DeletionWithoutAKTagCancelsTheJobToo) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay("raw_relay.mjs", 0, {"--match-filters", "--log"});
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "60", "--token-delay-ms", "100"});
    NodeConfig config = node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    PylonNode node(config);
    node.start();
    ClientRun run = run_client(
        client_args({relay.url()}, 2,
                    {"--cancel-after", "partial", "--cancel-without-k", "--timeout-ms", "10000"}));
    ASSERT_EQ(run.of("deletion").size(), 1u) << run.raw;
    ASSERT_NE(run.error(), nullptr) << run.raw << node.process().describe();
    EXPECT_EQ(run.error()->extra, "cancelled by the customer (kind-5 deletion)");
    EXPECT_TRUE(run.of("result").empty()) << run.raw;
    std::vector<proto::JobInfo> jobs = node.jobs();
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_EQ(jobs[0].status, "cancelled");
    EXPECT_EQ(node.intake()["cancellations"], 1u);
    // The watch named the job, and was closed once no job was left open.
    std::string request = run.of("deletion")[0].request;
    EXPECT_TRUE(relay.process->wait_for_line(watch_req_naming(request), 1000, Stream::err))
        << relay.process->describe();
    EXPECT_TRUE(relay.process->wait_for_line(
        std::regex("<- \\[\"CLOSE\",\"pylon-cancels-[0-9a-f]+\"\\]"), 5000, Stream::err))
        << relay.process->describe();
}

// A deletion with a `k` tag for a job the watch names reaches the node through both
// subscriptions; it is verified and counted once.
TEST(ProviderEndToEnd, ADeletionThatArrivesTwiceIsCountedOnce) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay("raw_relay.mjs", 0, {"--match-filters", "--log"});
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "120", "--token-delay-ms", "100"});
    NodeConfig config = node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    PylonNode node(config);
    node.start();
    // Published 4 s after `processing`: by then the job has been open a second and a sweep
    // (every second) has named it in the watch.
    ClientRun run = run_client(client_args(
        {relay.url()}, 2,
        {"--cancel-after", "processing", "--cancel-delay-ms", "4000", "--timeout-ms", "14000"}));
    ASSERT_EQ(run.of("deletion").size(), 1u) << run.raw;
    ASSERT_NE(run.error(), nullptr) << run.raw << node.process().describe();
    EXPECT_EQ(run.error()->extra, "cancelled by the customer (kind-5 deletion)");
    std::string request = run.of("deletion")[0].request;
    // The relay had the watch naming the job before the deletion came, so it sent it twice.
    std::regex watch = watch_req_naming(request);
    std::regex deletion("<- \\[\"EVENT\",.\"kind\":5,");
    // Both lines read from the relay's pipe before the log is looked at.
    ASSERT_TRUE(relay.process->wait_for_line(watch, 5000, Stream::err))
        << relay.process->describe();
    ASSERT_TRUE(relay.process->wait_for_line(deletion, 5000, Stream::err))
        << relay.process->describe();
    std::vector<std::string> log = relay.process->lines(Stream::err);
    auto watched = std::find_if(log.begin(), log.end(),
                                [&](const std::string& l) { return std::regex_search(l, watch); });
    auto deleted = std::find_if(log.begin(), log.end(), [&](const std::string& l) {
        return std::regex_search(l, deletion);
    });
    ASSERT_NE(watched, log.end()) << relay.process->describe();
    ASSERT_NE(deleted, log.end()) << relay.process->describe();
    ASSERT_LT(watched - log.begin(), deleted - log.begin()) << relay.process->describe();
    auto intake = node.intake();
    EXPECT_EQ(intake["deletions"], 1u);
    EXPECT_EQ(intake["cancellations"], 1u);
    EXPECT_EQ(intake["bad_signature"], 0u);
}

// One deletion without `k` names two jobs while the watch names only the first (the second is
// younger than a second): its first copy cancels the first job; when the watch grows to the
// second, the relay sends its stored copy again, and that copy, neither verified nor counted
// again, cancels the second.
TEST(ProviderEndToEnd, ADeletionSentAgainWhenTheWatchGrowsCancelsTheJobsAddedToIt) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay("raw_relay.mjs", 0, {"--match-filters", "--log"});
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "150", "--token-delay-ms", "100"});
    NodeConfig config = node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.ollama_extra = "slots = 2";
    PylonNode node(config);
    node.start();
    // The second request 3 s after the first; the deletion right at the second's `processing`.
    ClientRun run = run_client(
        client_args({relay.url()}, 2,
                    {"--count", "2", "--request-spacing-ms", "3000", "--cancel-after", "processing",
                     "--cancel-names-all", "--cancel-without-k", "--timeout-ms", "14000"}));
    ASSERT_EQ(run.of("deletion").size(), 1u) << run.raw << node.process().describe();
    std::vector<ClientLine> errors = run.of("feedback");
    std::erase_if(errors, [](const ClientLine& e) { return e.status != "error"; });
    ASSERT_EQ(errors.size(), 2u) << run.raw << node.process().describe();
    for (const ClientLine& e : errors) {
        EXPECT_EQ(e.extra, "cancelled by the customer (kind-5 deletion)");
    }
    EXPECT_TRUE(run.of("result").empty()) << run.raw;
    // The watch named the first job alone, then the second.
    std::vector<std::string> log = relay.process->lines(Stream::err);
    auto watches = std::count_if(log.begin(), log.end(), [](const std::string& l) {
        return l.find("[\"REQ\",\"pylon-cancels-") != std::string::npos;
    });
    EXPECT_GE(watches, 2) << relay.process->describe();
    auto intake = node.intake();
    EXPECT_EQ(intake["deletions"], 1u);
    EXPECT_EQ(intake["cancellations"], 2u);
}

TEST(ProviderEndToEnd, RefusalsAreAnsweredAndSpamIsCounted) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay();
    RelayProcess raw = start_relay("raw_relay.mjs");
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "2", "--token-delay-ms", "5"});
    NodeConfig config =
        node_config({relay.url(), raw.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.extra =
        "[provider]\nprompt_bytes_max = 64\nrefusal_feedback_per_second = "
        "100\n[limits]\npubkey_requests_per_minute = 2";
    // Two shards: the flood's requests land on both (by request id), yet the per-pubkey limit
    // is node-wide (the customer's bucket lives on one shard, asked by message): exactly 2 of 5.
    config.shards = 2;
    PylonNode node(config);
    node.start();
    std::vector<std::string> quiet = {"--timeout-ms", "2000"};
    auto with = [](std::vector<std::string> a, const std::vector<std::string>& b) {
        a.insert(a.end(), b.begin(), b.end());
        return a;
    };
    // All at once: the ones that get no answer wait out their timeout together.
    auto unknown = start_client(client_args({relay.url()}, 2, {"--model", "nope"}));
    auto big = start_client(client_args({relay.url()}, 3, {"--prompt", std::string(100, 'x')}));
    auto bad_sig = start_client(client_args({raw.url()}, 4, with({"--tamper", "sig"}, quiet)));
    auto bad_id = start_client(client_args({raw.url()}, 5, with({"--tamper", "id"}, quiet)));
    auto other_p = start_client(
        client_args({relay.url()}, 6, with({"--provider", pubkey_of_customer(2)}, quiet)));
    auto stale =
        start_client(client_args({raw.url()}, 7, with({"--created-at-offset", "-3600"}, quiet)));
    auto flood =
        start_client(client_args({relay.url()}, 8, {"--count", "5", "--timeout-ms", "3000"}));
    auto bad_bid = start_client(client_args({relay.url()}, 9, {"--bid", "lots"}));

    ClientRun u = finish_client(*unknown, 20000);
    ASSERT_NE(u.error(), nullptr) << u.raw;
    EXPECT_EQ(u.error()->extra, "unknown model 'nope' (available: llama3.2:latest)");
    ClientRun p = finish_client(*big, 20000);
    ASSERT_NE(p.error(), nullptr) << p.raw;
    EXPECT_EQ(p.error()->extra, "prompt too long: 100 bytes (at most 64)");
    for (auto* c : {bad_sig.get(), bad_id.get(), other_p.get(), stale.get()}) {
        ClientRun silent = finish_client(*c, 20000);
        EXPECT_TRUE(silent.of("feedback").empty()) << silent.raw;
        EXPECT_EQ(silent.of("timeout").size(), 1u) << silent.raw;
    }
    ClientRun f = finish_client(*flood, 20000);
    EXPECT_EQ(f.of("result").size(), 2u) << f.raw;
    ClientRun b = finish_client(*bad_bid, 20000);  // it was dropped silently (audit F5)
    ASSERT_NE(b.error(), nullptr) << b.raw;
    EXPECT_EQ(b.error()->extra, "bad bid 'lots': not a whole number of millisats");

    auto intake = node.intake();
    EXPECT_EQ(intake["refused_unknown_model"], 1u);
    EXPECT_EQ(intake["refused_prompt_too_long"], 1u);
    EXPECT_EQ(intake["refused_bad_bid"], 1u);
    EXPECT_EQ(intake["malformed"], 0u);
    EXPECT_EQ(intake["bad_signature"], 1u);
    EXPECT_EQ(intake["bad_id"], 1u);
    EXPECT_EQ(intake["not_for_us"], 1u);
    EXPECT_EQ(intake["stale"], 1u);
    EXPECT_EQ(intake["rate_limited_pubkey"], 3u);
    EXPECT_EQ(intake["accepted"], 2u);
    // Each relay's events_received reaches `Relays` within the board's refresh (1 s): every
    // event the intake counted came through one of them. (Before, a link bumped the board only
    // on a state change or a publication: after events that need no answer, here three kind-1
    // notes, a relay read "1 event" after thousands.)
    std::uint64_t before = node.intake()["received"];
    ClientRun notes =
        run_client(client_args({raw.url()}, 6, with({"--kind", "1", "--count", "3"}, quiet)));
    EXPECT_EQ(notes.of("published").size(), 3u) << notes.raw;
    ASSERT_TRUE(wait_until([&] { return node.intake()["received"] == before + 3; }, 5000, 50))
        << before << " then " << node.intake()["received"];
    std::uint64_t relayed = 0;
    bool matched = wait_until(
        [&] {
            std::vector<proto::RelayInfo> relays;
            proto::JsonReader reader;
            relayed = 0;
            if (proto::decode_relays(node.control("\"Relays\""), reader, relays) ==
                proto::Reject::none) {
                for (const proto::RelayInfo& r : relays) {
                    relayed += r.events_received;
                }
            }
            return relayed == node.intake()["received"];
        },
        5000, 100);
    EXPECT_TRUE(matched) << relayed << " relayed, " << node.intake()["received"] << " received";
}

// [backends.ollama] request_timeout_ms is marked reload: a reload bounds the generations started
// after it (the job runner's clients kept the start-time value until a restart).
TEST(ProviderEndToEnd, AReloadedRequestTimeoutBoundsTheNextGeneration) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay();
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "3", "--token-delay-ms", "2500"});
    NodeConfig config = node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.ollama_extra = "request_timeout_ms = 60000";
    config.shards = 1;
    PylonNode node(config);
    node.start();
    config.ollama_extra = "request_timeout_ms = 1000";
    node.rewrite(config);
    std::string reloaded = node.control("\"Reload\"");
    EXPECT_NE(reloaded.find("backends.ollama.request_timeout_ms"), std::string::npos) << reloaded;
    ClientRun run = run_client(client_args({relay.url()}, 2, {"--timeout-ms", "15000"}));
    EXPECT_TRUE(run.of("result").empty()) << run.raw;
    ASSERT_NE(run.error(), nullptr) << run.raw;
    EXPECT_NE(run.error()->extra.find("1000 ms"), std::string::npos) << run.error()->extra;
    EXPECT_EQ(node.stop().code, 0);
}

// refusal_feedback_per_second = 0 silences refusals (the rate limiter reads 0 as "off", so
// every refusal was answered).
TEST(ProviderEndToEnd, ZeroRefusalFeedbackPerSecondAnswersNoRefusal) {
    SKIP_WITHOUT_NODE();
    RelayProcess relay = start_relay();
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "2"});
    NodeConfig config = node_config({relay.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.extra = "[provider]\nrefusal_feedback_per_second = 0";
    PylonNode node(config);
    node.start();
    ClientRun refused =
        run_client(client_args({relay.url()}, 2, {"--model", "nope", "--timeout-ms", "2000"}));
    EXPECT_TRUE(refused.of("feedback").empty()) << refused.raw;
    EXPECT_EQ(refused.of("timeout").size(), 1u) << refused.raw;
    EXPECT_EQ(node.intake()["refused_unknown_model"], 1u);
    EXPECT_EQ(node.intake()["feedback_suppressed"], 1u);
    EXPECT_EQ(node.stop().code, 0);
}

// Prompts are bounded by prompt_bytes_max, not by the 1,024 bytes relays allow indexed tag
// values: 2,000 and 60,000 bytes run, 120,000 bytes get an error feedback. A request over the
// link's message bound (1 MiB + 64 KiB) is skipped and counted, the relay connection stays up
// and the request after it on the same connection runs.
TEST(ProviderEndToEnd, LongPromptsRunAndAnOversizedRequestIsSkippedNotTheRelay) {
    SKIP_WITHOUT_NODE();
    RelayProcess raw = start_relay("raw_relay.mjs", 0, {"--max-payload-bytes", "4194304"});
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "2", "--token-delay-ms", "5"});
    NodeConfig config = node_config({raw.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.extra = "[provider]\nprompt_bytes_max = 100000";
    config.shards = 1;
    PylonNode node(config);
    node.start();
    for (const char* bytes : {"2000", "60000"}) {
        ClientRun run = run_client(client_args({raw.url()}, 2, {"--prompt-bytes", bytes}));
        EXPECT_EQ(run.of("result").size(), 1u) << bytes << " bytes: " << run.raw.substr(0, 2000);
    }
    ClientRun long_one = run_client(client_args({raw.url()}, 3, {"--prompt-bytes", "120000"}));
    ASSERT_NE(long_one.error(), nullptr) << long_one.raw.substr(0, 2000);
    EXPECT_EQ(long_one.error()->extra, "prompt too long: 120000 bytes (at most 100000)");

    ClientRun huge =
        run_client(client_args({raw.url()}, 4, {"--prompt-bytes", "1200000", "--wait", "none"}));
    EXPECT_EQ(huge.of("published").size(), 1u) << huge.raw.substr(0, 2000);
    ClientRun after = run_client(client_args({raw.url()}, 5, {"--prompt", "after the big one"}));
    EXPECT_EQ(after.of("result").size(), 1u) << after.raw.substr(0, 2000);

    auto intake = node.intake();
    EXPECT_EQ(intake["unreadable"], 1u);
    EXPECT_EQ(intake["refused_prompt_too_long"], 1u);
    EXPECT_EQ(intake["accepted"], 3u);
    // The relay's own count, on the status board within its refresh (1 s).
    std::string relays;
    EXPECT_TRUE(wait_until(
        [&]() {
            relays = node.control("\"Relays\"");
            return relays.find("\"unreadable\":1}") != std::string::npos;
        },
        5000, 50))
        << relays;
    EXPECT_NE(relays.find("\"connects\":1,"), std::string::npos) << relays;
    std::size_t warned = 0;
    for (const std::string& line : node.process().lines(Stream::err)) {
        if (line.find("dropped an unreadable message (over the link's message bound") !=
            std::string::npos) {
            warned++;
        }
    }
    EXPECT_EQ(warned, 1u);
}

// One large request leaves its copies' pages with the allocator (the WebSocket message, the
// parser's strings, the job, the backend's body: ~13 MB resident for a 900 KB prompt); once the
// shard has been idle for two sweeps it runs the heap trim (engine/heap_trim.hpp), and so does
// the store thread 2 s after its last batch.
TEST(ProviderEndToEnd, AfterALargeJobTheIdleNodeHandsItsHeapPagesBack) {
#ifndef PYLON_NODE_TRIMS_HEAP
    GTEST_SKIP() << "this pylon is built without mimalloc: it has no heap trim";
#endif
    SKIP_WITHOUT_NODE();
    RelayProcess raw = start_relay("raw_relay.mjs", 0, {"--max-payload-bytes", "4194304"});
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "2"});
    NodeConfig config = node_config({raw.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.extra = "[log]\nlevel = \"debug\"\n[provider]\nprompt_bytes_max = 1048576";
    config.shards = 1;
    PylonNode node(config);
    node.start();
    // The shard trims only after a job ended; the store trimmed once after the start-up.
    std::size_t shard_from = node.process().lines(Stream::err).size();
    ClientRun big = run_client(client_args({raw.url()}, 2, {"--prompt-bytes", "900000"}));
    ASSERT_EQ(big.of("result").size(), 1u) << big.raw.substr(0, 2000);
    std::size_t store_from = node.process().lines(Stream::err).size();
    // "memory: idle shard thread handed back its free heap pages: RSS 22.2 -> 17.5 MB"
    auto trimmed = [&](const char* who, std::size_t from, double* before, double* after) {
        auto lines = node.process().lines(Stream::err);
        std::string needle = std::string("memory: idle ") + who + " thread handed back";
        for (std::size_t i = from; i < lines.size(); i++) {
            auto at = lines[i].find(needle);
            if (at != std::string::npos) {
                return std::sscanf(lines[i].c_str() + lines[i].find("RSS ", at), "RSS %lf -> %lf",
                                   before, after) == 2;
            }
        }
        return false;
    };
    double before = 0;
    double after = 0;
    ASSERT_TRUE(
        wait_until([&]() { return trimmed("shard", shard_from, &before, &after); }, 10000, 50))
        << "no idle trim on the shard within 10 s of the job";
    // How much comes back depends on what mimalloc already gave back by itself (on a busy
    // machine, less is left to trim): bench/README.md has the figures. Here: it never grows.
    EXPECT_LE(after, before + 0.1) << "RSS " << before << " -> " << after << " MB";
    double store_before = 0;
    double store_after = 0;
    EXPECT_TRUE(wait_until(
        [&]() { return trimmed("store", store_from, &store_before, &store_after); }, 10000, 50));
}

// A relay that streams NIP-42 challenges gets at most one signed answer a second (for the latest
// challenge) and is served; a NOTICE flood takes a few log lines, not one per NOTICE.
TEST(ProviderEndToEnd, AChallengeFloodIsAnsweredOnceASecondAndNoticesInAFewLines) {
    SKIP_WITHOUT_NODE();
    RelayProcess raw = start_relay("raw_relay.mjs", 0,
                                   {"--auth-flood", "20000", "--notice-flood", "20000", "--log"});
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "2", "--token-delay-ms", "5"});
    NodeConfig config = node_config({raw.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.shards = 1;
    PylonNode node(config);
    auto started = std::chrono::steady_clock::now();
    node.start();  // subscribed: an AUTH was accepted, then the REQ went out
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::size_t auths = 0;
    for (const std::string& line : raw.process->lines(Stream::err)) {
        if (line.rfind("<- [\"AUTH\",{", 0) == 0) {
            auths++;
        }
    }
    EXPECT_GE(auths, 1u);
    EXPECT_LE(static_cast<double>(auths), seconds + 2) << seconds << " s";
    std::size_t notices = 0;
    for (const std::string& line : node.process().lines(Stream::err)) {
        if (line.find(": NOTICE n") != std::string::npos) {
            notices++;
        }
    }
    EXPECT_EQ(notices, 5u);  // notice_log_lines_max per minute
    ClientRun run = run_client(client_args({raw.url()}, 2, {"--prompt", "still served"}));
    EXPECT_EQ(run.of("result").size(), 1u) << run.raw;
}

TEST(ProviderEndToEnd, PublishingRetriesRateLimitedAndGivesUpOnInvalid) {
    SKIP_WITHOUT_NODE();
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "2", "--token-delay-ms", "5"});
    std::string backend = "http://127.0.0.1:" + std::to_string(fake.port);
    {
        // The first two events the node publishes are refused "rate-limited:": sent again.
        RelayProcess raw = start_relay("raw_relay.mjs", 0,
                                       {"--refuse-first", "2", "--refuse-author", provider_pubkey});
        NodeConfig config = node_config({raw.url()}, backend);
        config.extra = "[provider]\nannounce = false";
        PylonNode node(config);
        node.start();
        ClientRun run = run_client(client_args({raw.url()}, 2, {"--timeout-ms", "15000"}));
        ASSERT_EQ(run.of("result").size(), 1u) << run.raw;
        EXPECT_EQ(node.jobs()[0].status, "completed");
    }
    {
        // Every event refused "invalid:": the result reaches nobody, so the job fails.
        RelayProcess raw = start_relay("raw_relay.mjs", 0,
                                       {"--refuse-first", "1000", "--refuse-author",
                                        provider_pubkey, "--refuse-with", "invalid: no thanks"});
        NodeConfig config = node_config({raw.url()}, backend);
        config.extra = "[provider]\nannounce = false";
        PylonNode node(config);
        node.start();
        ClientRun run = run_client(client_args({raw.url()}, 3, {"--timeout-ms", "3000"}));
        EXPECT_TRUE(run.of("result").empty()) << run.raw;
        ASSERT_TRUE(
            wait_until([&]() { return !node.jobs().empty() && node.jobs()[0].status == "failed"; },
                       10000, 100));
        EXPECT_NE(node.jobs()[0].error_message.find("invalid: no thanks"), std::string::npos)
            << node.jobs()[0].error_message;
    }
}

}  // namespace
}  // namespace pylon::test

namespace pylon::test {
namespace {

bool logged(PylonNode& node, const std::string& text) {
    for (const std::string& line : node.process().lines(Stream::err)) {
        if (line.find(text) != std::string::npos) {
            return true;
        }
    }
    return false;
}

// A relay that stops answering OK: the results pile up in the node's publish queue for it. Once
// half of publish_queue_max (16: 8) are results waiting, intake pauses: the node CLOSEs its job
// subscription. A request published meanwhile is not lost: when the queue drained (here: the OKs
// time out, those jobs fail with an error feedback the relay then accepts) the node subscribes
// again from its cursor, the relay (--store-jobs) sends the request again, and it runs to a
// result. No result was dropped for room: the relay (it forwards what it gets) delivered every
// one to the customer.
TEST(ProviderEndToEnd, ARelayThatStopsAnsweringOkHoldsIntakeWithoutLosingResults) {
    SKIP_WITHOUT_NODE();
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "2", "--token-delay-ms", "5"});
    RelayProcess raw =
        start_relay("raw_relay.mjs", 0,
                    {"--silent-first", "8", "--refuse-author", provider_pubkey, "--store-jobs"});
    NodeConfig config = node_config({raw.url()}, "http://127.0.0.1:" + std::to_string(fake.port));
    config.shards = 1;
    config.extra =
        "[provider]\nannounce = false\nprocessing_feedback_delay_ms = 60000\n"
        "partial_interval_ms = 0\n[relay_pool]\npublish_queue_max = 16\n"
        "publish_ok_timeout_ms = 3000\npublish_attempts_max = 1\n"
        "[limits]\npubkey_requests_per_minute = 100\n";
    PylonNode node(config);
    node.start();
    ClientRun first =
        run_client(client_args({raw.url()}, 2, {"--count", "8", "--timeout-ms", "2500"}));
    EXPECT_EQ(first.of("result").size(), 8u) << first.raw;
    ASSERT_TRUE(wait_until([&]() { return logged(node, "intake paused"); }, 2000, 20))
        << node.process().describe();
    // Published while paused: the relay keeps it, the node fetches it when it resumes.
    ClientRun during = run_client(client_args({raw.url()}, 3, {"--timeout-ms", "12000"}));
    EXPECT_EQ(during.of("result").size(), 1u) << during.raw;
    EXPECT_TRUE(logged(node, "intake resumed")) << node.process().describe();
    auto intake = node.intake();
    EXPECT_EQ(intake["accepted"], 9u);
    EXPECT_EQ(intake["refused_busy"], 0u);
    EXPECT_GE(intake["paused"], 1u);
    EXPECT_GE(intake["resumed"], 1u);
    // The silent relay's jobs: their results never got an OK.
    auto all_failed = [&]() {
        std::vector<proto::JobInfo> jobs = node.jobs();
        auto failed = std::count_if(jobs.begin(), jobs.end(),
                                    [](const proto::JobInfo& j) { return j.status == "failed"; });
        return failed == 8;
    };
    EXPECT_TRUE(wait_until(all_failed, 8000, 50));
}

// The config of the pause tests: one shard; a relay that never answers OK to the node's first
// 8 events (results) makes intake pause (half of publish_queue_max 16); no other event of ours
// counts toward those 8; the margin of `since` is 0, so the REQ reaches back to an older request
// only when the node held its cursor back for it.
NodeConfig pause_node_config(const std::vector<std::string>& relays, std::uint16_t fake_port,
                             int ok_timeout_ms, int held_max) {
    NodeConfig config = node_config(relays, "http://127.0.0.1:" + std::to_string(fake_port));
    config.shards = 1;
    config.extra =
        "[provider]\nannounce = false\nprocessing_feedback_delay_ms = 60000\n"
        "partial_interval_ms = 0\nsince_margin_s = 0\nshutdown_grace_ms = 200\n"
        "[relay_pool]\n"
        "publish_queue_max = 16\npublish_ok_timeout_ms = " +
        std::to_string(ok_timeout_ms) +
        "\npublish_attempts_max = 1\n[limits]\npubkey_requests_per_minute = 100\n"
        "held_requests_max = " +
        std::to_string(held_max) + "\n";
    return config;
}

// A relay that keeps job requests (and answers REQ from `since`), ignores CLOSE and, if
// `silent`, never acknowledges the node's first 8 events.
RelayProcess start_pause_relay(bool silent) {
    std::vector<std::string> args = {"--store-jobs", "--ignore-close"};
    if (silent) {
        args.insert(args.end(), {"--silent-first", "8", "--refuse-author", provider_pubkey});
    }
    return start_relay("raw_relay.mjs", 0, args);
}

// Customer 2's 8 jobs, whose results the silent relay never acknowledges: true once intake paused.
bool pause_with_silent_results(PylonNode& node, const std::vector<std::string>& relays) {
    ClientRun first = run_client(client_args(relays, 2, {"--count", "8", "--timeout-ms", "5000"}));
    EXPECT_EQ(first.of("result").size(), 8u) << first.raw;
    bool paused = wait_until([&]() { return logged(node, "intake paused"); }, 3000, 20);
    EXPECT_TRUE(paused) << node.process().describe();
    return paused;
}

// Stopped while paused: a request that arrived during the pause (the relay ignores CLOSE, as
// one that had already sent it) is held in memory only. The cursor the node persisted stays at
// or before it, so after the restart the node asks the relay (--store-jobs: it answers REQ from
// `since`) for it again and runs it. It is 30 s older than the newest request the node read,
// beyond since_margin_s (0): only the held-back cursor brings it back.
TEST(ProviderEndToEnd, ARequestHeldWhenTheNodeStopsWhilePausedRunsAfterTheRestart) {
    SKIP_WITHOUT_NODE();
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "2", "--token-delay-ms", "5"});
    RelayProcess raw = start_pause_relay(true);
    PylonNode node(pause_node_config({raw.url()}, fake.port, 60000, 4096));
    node.start();
    ASSERT_TRUE(pause_with_silent_results(node, {raw.url()}));
    auto late = start_client(
        client_args({raw.url()}, 3, {"--created-at-offset", "-30", "--timeout-ms", "25000"}));
    ASSERT_TRUE(wait_until([&]() { return node.intake()["held"] >= 1; }, 5000, 50))
        << node.process().describe();
    EXPECT_EQ(node.intake()["accepted"], 8u);
    EXPECT_EQ(node.stop().code, 0);

    node.start();
    ClientRun run = finish_client(*late, 25000);
    ASSERT_EQ(run.of("result").size(), 1u) << run.raw << node.process().describe();
    EXPECT_EQ(run.of("result")[0].content, "alpha bravo");
    EXPECT_EQ(node.intake()["accepted"], 1u);  // the 8 earlier ones are known: duplicates
}

// Paused, with room to hold one request per shard ([limits] held_requests_max = 1): a request
// from each of two relays arrives (they ignore CLOSE). The first is held; the second is read
// (its id remembered) and then left for its relay to send again: the node forgets its id and
// holds that relay's cursor back to it, so the REQ of the resume (the silent relay's results
// time out, the queue drains) fetches it although it is older than the newest request read
// there. Nobody is refused "busy"; every customer gets a result.
TEST(ProviderEndToEnd, RequestsBeyondTheHeldBoundWhilePausedAreFetchedAgainAndAnswered) {
    SKIP_WITHOUT_NODE();
    ReadyChild fake = start_fake("fake_ollama", {"--tokens", "2", "--token-delay-ms", "5"});
    RelayProcess silent = start_pause_relay(true);
    RelayProcess other = start_pause_relay(false);
    // The pause lasts until the silent relay's OKs time out: 8 s, room for two customers (Node
    // processes) to start and publish on a loaded machine.
    PylonNode node(pause_node_config({silent.url(), other.url()}, fake.port, 8000, 1));
    node.start();
    ASSERT_TRUE(pause_with_silent_results(node, {silent.url(), other.url()}));
    auto held = start_client(client_args({silent.url()}, 3, {"--timeout-ms", "15000"}));
    ASSERT_TRUE(wait_until([&]() { return node.intake()["held"] >= 1; }, 5000, 50))
        << node.process().describe();
    auto left = start_client(
        client_args({other.url()}, 4, {"--created-at-offset", "-30", "--timeout-ms", "15000"}));
    ASSERT_TRUE(wait_until([&]() { return node.intake()["deferred"] >= 1; }, 5000, 50))
        << node.process().describe();
    ClientRun held_run = finish_client(*held, 20000);
    ClientRun left_run = finish_client(*left, 20000);
    EXPECT_EQ(held_run.of("result").size(), 1u) << held_run.raw;
    EXPECT_EQ(left_run.of("result").size(), 1u) << left_run.raw << node.process().describe();
    EXPECT_EQ(left_run.error(), nullptr) << left_run.raw;
    auto intake = node.intake();
    EXPECT_EQ(intake["accepted"], 10u);
    EXPECT_EQ(intake["refused_busy"], 0u);
    EXPECT_GE(intake["resumed"], 1u);
}

}  // namespace
}  // namespace pylon::test
