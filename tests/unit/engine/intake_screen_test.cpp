#include "engine/intake_screen.hpp"

#include <gtest/gtest.h>

#include "proto/hex.hpp"
#include "provider_test_keys.hpp"

namespace pylon::engine {
namespace {

using testing::encrypted_request;
using testing::job_request;
using testing::test_key;
using V = Screened::Verdict;

struct IntakeRig {
    IntakeRig() : provider(test_key('1')), alice(test_key('2')), bob(test_key('3')) {
        config.relays = {"wss://relay.one", "wss://Relay.Two/"};
        config.min_price_msats = 1000;
        config.limits.pubkey_requests_per_minute = 3;
        config.limits.requests_per_second = 1000;
        BackendView v;
        v.kind = BackendKind::ollama;
        v.available = true;
        v.models = {"llama3.2:latest", "qwen2.5:7b"};
        directory.backends.push_back(v);
        make();
    }
    void make() {
        screen =
            std::make_unique<IntakeScreen>(provider, clock, IntakePolicy::from(config, 1), 1000);
    }
    std::int64_t now() const { return clock.unix_s(); }
    proto::Event request(const proto::Keypair& who,
                         std::vector<std::vector<std::string>> extra = {}) {
        std::vector<std::vector<std::string>> tags = {{"i", "Say hello", "text"}};
        for (auto& t : extra) {
            tags.push_back(std::move(t));
        }
        return job_request(who, now() - 5, tags);
    }
    Screened screen_event(const proto::Event& e, bool memory_ok = true) {
        return screen->screen(e, "wss://relay.one", &directory, memory_ok);
    }

    reactor::ManualClock clock;
    Config config;
    proto::Keypair provider;
    proto::Keypair alice;
    proto::Keypair bob;
    BackendDirectory directory;
    std::unique_ptr<IntakeScreen> screen;
};

TEST(IntakeScreen, PrescreenKindWindowAndTargeting) {
    IntakeRig rig;
    std::int64_t now = rig.now();
    auto pre = [&](const proto::Event& e) { return rig.screen->prescreen(e); };
    EXPECT_EQ(pre(job_request(rig.alice, now, {}, "", 5100)), IntakeReason::wrong_kind);
    EXPECT_EQ(pre(job_request(rig.alice, now - 601, {})), IntakeReason::stale);
    EXPECT_EQ(pre(job_request(rig.alice, now - 600, {})), IntakeReason::received);
    EXPECT_EQ(pre(job_request(rig.alice, now + 121, {})), IntakeReason::future);
    EXPECT_EQ(pre(job_request(rig.alice, now, {{"p", rig.bob.public_key().hex()}})),
              IntakeReason::not_for_us);
    EXPECT_EQ(pre(job_request(
                  rig.alice, now,
                  {{"p", rig.bob.public_key().hex()}, {"p", rig.provider.public_key().hex()}})),
              IntakeReason::received);
    EXPECT_EQ(pre(job_request(rig.alice, now, {{"encrypted"}}, "x")), IntakeReason::not_for_us);
    rig.clock.advance_ms(2000 * 1000);  // the same event later is stale
    EXPECT_EQ(pre(job_request(rig.alice, now, {})), IntakeReason::stale);
}

TEST(IntakeScreen, AcceptsAndFillsTheJob) {
    IntakeRig rig;
    proto::Event e = rig.request(
        rig.alice, {{"param", "model", "llama3.2"},
                    {"param", "temperature", "0.5"},
                    {"relays", "wss://relay.one/", "wss://extra.example", "ws://127.0.0.1:7"},
                    {"bid", "5000"}});
    Screened s = rig.screen_event(e);
    ASSERT_EQ(s.verdict, V::accept) << s.message;
    const Job& job = *s.job;
    EXPECT_EQ(job.backend, BackendKind::ollama);
    EXPECT_EQ(job.model, "llama3.2:latest");
    EXPECT_EQ(job.prompt(), "Say hello");
    EXPECT_EQ(job.params.max_tokens, 512u);
    EXPECT_EQ(job.params.temperature, 0.5);
    EXPECT_EQ(job.relay_url, "wss://relay.one");
    // Ours and private addresses are not reply relays.
    EXPECT_EQ(job.reply_relays, std::vector<std::string>{"wss://extra.example"});
    EXPECT_EQ(job.job_id, "job_" + proto::hex_encode(job.request.id).substr(0, 16));
    EXPECT_EQ(job.request.customer, rig.alice.public_key());
}

TEST(IntakeScreen, DuplicatesAreDroppedBeforeVerifying) {
    IntakeRig rig;
    proto::Event e = rig.request(rig.alice);
    EXPECT_EQ(rig.screen_event(e).verdict, V::accept);
    Screened again = rig.screen_event(e);
    EXPECT_EQ(again.verdict, V::drop);
    EXPECT_EQ(again.reason, IntakeReason::duplicate);
}

TEST(IntakeScreen, ForgeriesAreDropped) {
    IntakeRig rig;
    proto::Event bad_sig = rig.request(rig.alice);
    proto::SignatureBytes sig = bad_sig.sig();
    sig[5] ^= 1;
    bad_sig.set_sig(sig);
    EXPECT_EQ(rig.screen_event(bad_sig).reason, IntakeReason::bad_signature);
    proto::Event bad_id = rig.request(rig.alice);
    proto::EventId id = bad_id.id();
    id[0] ^= 1;
    bad_id.set_id(id);
    EXPECT_EQ(rig.screen_event(bad_id).reason, IntakeReason::bad_id);
    // A forgery is not remembered: the genuine event still gets in.
    proto::Event genuine = rig.request(rig.alice, {{"t", "x"}});
    proto::Event forged = genuine;
    forged.set_content("changed");
    EXPECT_EQ(rig.screen_event(forged).reason, IntakeReason::bad_id);
    EXPECT_EQ(rig.screen_event(genuine).verdict, V::accept);
}

TEST(IntakeScreen, RefusalsCarryTheReason) {
    IntakeRig rig;
    Screened s = rig.screen_event(rig.request(rig.alice, {{"param", "model", "mistral"}}));
    EXPECT_EQ(s.verdict, V::refuse);
    EXPECT_EQ(s.reason, IntakeReason::refused_unknown_model);
    EXPECT_EQ(s.message, "unknown model 'mistral' (available: llama3.2:latest, qwen2.5:7b)");
    ASSERT_NE(s.job, nullptr);  // so that the customer can be answered
    s = rig.screen_event(rig.request(rig.bob, {{"bid", "999"}}));
    EXPECT_EQ(s.reason, IntakeReason::refused_bid_below_price);
    EXPECT_EQ(s.message, "bid below price: 999 msats offered, 1000 msats asked");
    s = rig.screen_event(rig.request(rig.bob, {{"param", "temperature", "hot"}}));
    EXPECT_EQ(s.reason, IntakeReason::refused_bad_param);
    EXPECT_EQ(s.message, "bad param 'temperature': malformed or out of range");
    // A bid that is not a number is answered like a bad param (it was dropped silently).
    s = rig.screen_event(rig.request(test_key('5'), {{"bid", "lots"}}));
    EXPECT_EQ(s.verdict, V::refuse);
    EXPECT_EQ(s.reason, IntakeReason::refused_bad_bid);
    EXPECT_EQ(s.message, "bad bid 'lots': not a whole number of millisats");
    ASSERT_NE(s.job, nullptr);
    s = rig.screen_event(rig.request(test_key('5'), {{"bid", "1e3"}}));
    EXPECT_EQ(s.reason, IntakeReason::refused_bad_bid);
    EXPECT_EQ(s.message, "bad bid '1e3': not a whole number of millisats");
    s = rig.screen_event(rig.request(test_key('4'), {{"param", "max_tokens", "9000"}}));
    EXPECT_EQ(s.reason, IntakeReason::refused_max_tokens);
    s = rig.screen_event(rig.request(test_key('4')), false);
    EXPECT_EQ(s.reason, IntakeReason::refused_overloaded);
}

// A spawned llama-server loading its model takes requests for its model (or none) while nothing
// else answers: accepted, marked to wait; an unsupervised backend that is down still refuses.
TEST(IntakeScreen, ALoadingLlamaServerTakesItsModelAndTheJobWaits) {
    IntakeRig rig;
    rig.directory.backends[0].available = false;  // ollama down (unsupervised)
    Screened s = rig.screen_event(rig.request(rig.alice));
    EXPECT_EQ(s.reason, IntakeReason::refused_no_backend);
    BackendView llama;
    llama.kind = BackendKind::llamacpp;
    llama.supervised = true;
    llama.loading = true;
    llama.loading_model = "qwen-local";
    rig.directory.backends.push_back(llama);
    s = rig.screen_event(rig.request(rig.bob));
    ASSERT_EQ(s.verdict, V::accept) << s.message;
    EXPECT_EQ(s.job->backend, BackendKind::llamacpp);
    EXPECT_EQ(s.job->model, "qwen-local");
    EXPECT_EQ(s.job->generation_params().model, "qwen-local");
    EXPECT_TRUE(s.job->waits_for_load);
    s = rig.screen_event(rig.request(test_key('4'), {{"param", "model", "qwen-local"}}));
    ASSERT_EQ(s.verdict, V::accept) << s.message;
    EXPECT_TRUE(s.job->waits_for_load);
    s = rig.screen_event(rig.request(test_key('5'), {{"param", "model", "llama3.2"}}));
    EXPECT_EQ(s.reason, IntakeReason::refused_unknown_model);
    EXPECT_EQ(s.message, "unknown model 'llama3.2' (available: qwen-local (loading))");
    // Failed (no longer loading): refused again, at once.
    rig.directory.backends[1].loading = false;
    s = rig.screen_event(rig.request(test_key('6')));
    EXPECT_EQ(s.reason, IntakeReason::refused_no_backend);
    // Ready: jobs no longer wait.
    rig.directory.backends[1].available = true;
    rig.directory.backends[1].models = {"qwen-local"};
    s = rig.screen_event(rig.request(test_key('7')));
    ASSERT_EQ(s.verdict, V::accept) << s.message;
    EXPECT_FALSE(s.job->waits_for_load);
}

TEST(IntakeScreen, PromptTooLongAndMissing) {
    IntakeRig rig;
    rig.config.provider.prompt_bytes_max = 10;
    rig.make();
    Screened s = rig.screen_event(rig.request(rig.alice));  // "Say hello" = 9 bytes: fine
    EXPECT_EQ(s.verdict, V::accept);
    s = rig.screen_event(job_request(rig.alice, rig.now(), {{"i", "Say hello again", "text"}}));
    EXPECT_EQ(s.reason, IntakeReason::refused_prompt_too_long);
    EXPECT_EQ(s.message, "prompt too long: 15 bytes (at most 10)");
    s = rig.screen_event(job_request(rig.bob, rig.now() - 1, {{"i", "https://x", "url"}}));
    EXPECT_EQ(s.reason, IntakeReason::refused_no_prompt);
    // Pylon's rule: no text input but content: the content is the prompt.
    s = rig.screen_event(job_request(rig.bob, rig.now() - 2, {}, "Hi there"));
    ASSERT_EQ(s.verdict, V::accept);
    EXPECT_EQ(s.job->prompt(), "Hi there");
}

TEST(IntakeScreen, RateLimitsPerPubkeyAndGlobal) {
    IntakeRig rig;
    for (int i = 0; i < 3; i++) {
        EXPECT_EQ(rig.screen_event(rig.request(rig.alice, {{"n", std::to_string(i)}})).verdict,
                  V::accept);
    }
    Screened s = rig.screen_event(rig.request(rig.alice, {{"n", "3"}}));
    EXPECT_EQ(s.verdict, V::drop);
    EXPECT_EQ(s.reason, IntakeReason::rate_limited_pubkey);
    EXPECT_EQ(rig.screen_event(rig.request(rig.bob)).verdict, V::accept);  // others are fine
    rig.clock.advance_ms(20'000);  // 3 per minute: one more after 20 s
    EXPECT_EQ(rig.screen_event(rig.request(rig.alice, {{"n", "4"}})).verdict, V::accept);

    rig.config.limits.requests_per_second = 2;
    rig.make();
    EXPECT_EQ(rig.screen_event(rig.request(test_key('5'))).verdict, V::accept);
    EXPECT_EQ(rig.screen_event(rig.request(test_key('6'))).verdict, V::accept);
    s = rig.screen_event(rig.request(test_key('7')));
    EXPECT_EQ(s.verdict, V::refuse);
    EXPECT_EQ(s.reason, IntakeReason::refused_overloaded);
}

// The per-customer limit is node-wide: with two shards each customer's bucket holds the whole
// budget (3 a minute here, not 1.5 per shard), on the shard that owns the customer. The other
// shards screen without it and say so (pubkey_unchecked); Intake then asks the owner.
TEST(IntakeScreen, ThePubkeyLimitIsNodeWideOnTheCustomersShard) {
    IntakeRig rig;
    IntakePolicy two = IntakePolicy::from(rig.config, 2);
    EXPECT_DOUBLE_EQ(two.per_pubkey.burst, 3.0);
    EXPECT_DOUBLE_EQ(two.per_pubkey.per_second, 3.0 / 60.0);
    EXPECT_DOUBLE_EQ(two.global.per_second, 500.0);  // the global rate stays a per-shard share
    IntakeScreen elsewhere(rig.provider, rig.clock, two, 1000);
    IntakeScreen owner(rig.provider, rig.clock, two, 1000);
    for (int i = 0; i < 5; i++) {
        Screened s = elsewhere.screen(rig.request(rig.alice, {{"n", std::to_string(i)}}),
                                      "wss://relay.one", &rig.directory, true, false);
        ASSERT_EQ(s.verdict, V::accept) << i;
        EXPECT_TRUE(s.pubkey_unchecked);
    }
    RateLimiter::Key alice = rig.alice.public_key().bytes();
    for (int i = 0; i < 3; i++) {
        EXPECT_TRUE(owner.take_pubkey_token(alice)) << i;
    }
    EXPECT_FALSE(owner.take_pubkey_token(alice));
    EXPECT_TRUE(owner.take_pubkey_token(rig.bob.public_key().bytes()));
    rig.clock.advance_ms(20'000);
    EXPECT_TRUE(owner.take_pubkey_token(alice));
    EXPECT_FALSE(owner.take_pubkey_token(alice));
    // On the owner shard the check is made in place, against the same node-wide bucket.
    Screened s = owner.screen(rig.request(rig.alice, {{"n", "9"}}), "wss://relay.one",
                              &rig.directory, true, true);
    EXPECT_EQ(s.verdict, V::drop);
    EXPECT_EQ(s.reason, IntakeReason::rate_limited_pubkey);
    EXPECT_FALSE(s.pubkey_unchecked);
}

TEST(IntakeScreen, EncryptedRequestsToUsAreDecrypted) {
    IntakeRig rig;
    for (proto::Cipher cipher : {proto::Cipher::nip44, proto::Cipher::nip04}) {
        proto::Event e = encrypted_request(
            rig.alice, rig.provider.public_key(), rig.now() - static_cast<int>(cipher),
            R"([["i","Secret prompt","text"],["param","model","qwen2.5:7b"]])", cipher);
        EXPECT_EQ(rig.screen->prescreen(e), IntakeReason::received);
        Screened s = rig.screen_event(e);
        ASSERT_EQ(s.verdict, V::accept);
        EXPECT_EQ(s.job->prompt(), "Secret prompt");
        EXPECT_EQ(s.job->model, "qwen2.5:7b");
        EXPECT_EQ(s.job->request.cipher, cipher);
    }
    proto::Event garbage = job_request(
        rig.alice, rig.now(), {{"p", rig.provider.public_key().hex()}, {"encrypted"}}, "zzz?iv=x");
    EXPECT_EQ(rig.screen_event(garbage).reason, IntakeReason::undecryptable);
}

// A NIP-04 request's prompt is read up to what one relay message holds: beyond
// prompt_bytes_max it is refused with the reason (the customer gets an error feedback, as for a
// clear request), not dropped unread as it was above 128 KiB of payload.
TEST(IntakeScreen, ALongEncryptedPromptIsReadThenRefusedOrAcceptedByItsLength) {
    IntakeRig rig;
    std::string prompt(200'000, 'p');
    std::string inner = R"([["i",")" + prompt + R"(","text"]])";
    proto::Event e = encrypted_request(rig.alice, rig.provider.public_key(), rig.now() - 1, inner,
                                       proto::Cipher::nip04);
    ASSERT_GT(e.content().size(), 131'072u);
    Screened s = rig.screen_event(e);
    EXPECT_EQ(s.verdict, V::refuse);
    EXPECT_EQ(s.reason, IntakeReason::refused_prompt_too_long);
    EXPECT_NE(s.message.find("200000 bytes (at most 65536)"), std::string::npos) << s.message;
    ASSERT_NE(s.job, nullptr);  // to answer it, encrypted as it came
    EXPECT_EQ(s.job->request.cipher, proto::Cipher::nip04);

    rig.config.provider.prompt_bytes_max = 1'048'576;
    rig.make();
    proto::Event again = encrypted_request(rig.alice, rig.provider.public_key(), rig.now() - 2,
                                           inner, proto::Cipher::nip04);
    Screened ok = rig.screen_event(again);
    ASSERT_EQ(ok.verdict, V::accept) << ok.message;
    EXPECT_EQ(ok.job->prompt().size(), prompt.size());
}

}  // namespace
}  // namespace pylon::engine
