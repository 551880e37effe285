// JobFeedback: building the five dvm_flow feedback events from the parsed request (zero aux)
// reproduces them byte for byte (ids and signatures); each reads back to its status, amount,
// bolt11, request id and content; payment_required (NDK) is accepted; encrypted feedback has the
// nostrdvm/NDK shape and decrypts under the request's cipher; oversized samples are cut.
#include "proto/job_feedback.hpp"

#include <gtest/gtest.h>

#include "proto/hex.hpp"
#include "proto/utf8.hpp"
#include "tests/support/proto_print.hpp"
#include "tests/unit/proto/nip90_fixture.hpp"

namespace pylon::proto {
namespace {

using testing::Nip90Vectors;

constexpr std::string_view k_relay = "wss://relay.example.com";

struct FlowCase {
    std::string_view name;
    FeedbackSpec spec;
};

TEST(JobFeedback, BuildsTheDvmFlowFeedbackExactly) {
    Nip90Vectors v;
    Keypair provider = v.key("provider");
    JobRequest req;
    ASSERT_EQ(req.read(v.flow.at("job_request_5050")), Reject::none);
    JobRef ref = JobRef::of(req, k_relay);
    const FlowCase cases[] = {
        {"feedback_payment_required",
         {FeedbackStatus::payment_required, "Pay 10 sats to start", 10000,
          "lnbc100n1placeholdernotarealinvoice", ""}},
        {"feedback_processing", {FeedbackStatus::processing, "", std::nullopt, "", ""}},
        {"feedback_partial",
         {FeedbackStatus::partial, "first tokens", std::nullopt, "", "The capital"}},
        {"feedback_success", {FeedbackStatus::success, "", std::nullopt, "", ""}},
        {"feedback_error", {FeedbackStatus::error, "model not available", std::nullopt, "", ""}},
    };
    for (const FlowCase& c : cases) {
        SCOPED_TRACE(c.name);
        const Event& expected = v.flow.at(std::string(c.name));
        Event built;
        FixedRandom zeros;
        ASSERT_EQ(build_feedback(ref, c.spec, expected.created_at(), provider, zeros, built),
                  Reject::none);
        EXPECT_EQ(built.to_json(), expected.to_json());

        JobFeedback fb;
        ASSERT_EQ(fb.read(expected), Reject::none);
        EXPECT_EQ(fb.status, c.spec.status);
        EXPECT_EQ(fb.extra_info, c.spec.extra_info);
        EXPECT_EQ(fb.amount_msats, c.spec.amount_msats);
        EXPECT_EQ(fb.bolt11, c.spec.bolt11);
        EXPECT_EQ(fb.request_id, req.id);
        EXPECT_EQ(fb.relay_hint, k_relay);
        EXPECT_EQ(fb.customer, req.customer);
        EXPECT_EQ(fb.content, c.spec.content);
        EXPECT_FALSE(fb.encrypted);
    }
}

TEST(JobFeedback, StatusSpellings) {
    EXPECT_EQ(parse_feedback_status("payment-required"), FeedbackStatus::payment_required);
    EXPECT_EQ(parse_feedback_status("payment_required"), FeedbackStatus::payment_required);
    EXPECT_EQ(parse_feedback_status("processing"), FeedbackStatus::processing);
    EXPECT_EQ(parse_feedback_status("scheduled"), FeedbackStatus::other);
    EXPECT_EQ(parse_feedback_status("Processing"), FeedbackStatus::other);
    EXPECT_EQ(feedback_status_text(FeedbackStatus::payment_required), "payment-required");

    Event e;
    e.set_kind(7000);
    e.add_tag({"status", "payment_required"});
    e.add_tag({"amount", "5000"});
    e.add_tag({"e", std::string(64, 'c')});
    JobFeedback fb;
    ASSERT_EQ(fb.read(e), Reject::none);
    EXPECT_EQ(fb.status, FeedbackStatus::payment_required);
    EXPECT_EQ(fb.status_text, "payment_required");
    EXPECT_EQ(fb.amount_msats, 5000u);
    EXPECT_EQ(fb.relay_hint, "");
}

TEST(JobFeedback, EncryptedFeedbackUsesTheRequestCipher) {
    Nip90Vectors v;
    Keypair provider = v.key("provider");
    Keypair customer = v.key("customer");
    JsonReader reader;
    for (const Event* request : {&v.nip44_request, &v.nip04_request}) {
        JobRequest req;
        ASSERT_EQ(req.read_encrypted(*request, provider.secret(), reader), Reject::none);
        JobRef ref = JobRef::of(req, k_relay);
        EXPECT_EQ(ref.cipher, req.cipher);
        FeedbackSpec spec{FeedbackStatus::partial, "tokens", 2000, "lnbc1", "Par"};
        Event built;
        ASSERT_EQ(build_feedback(ref, spec, 1700000100, provider, csprng(), built), Reject::none);
        EXPECT_EQ(built.verify(), Reject::none);
        // Only e, p and encrypted in clear.
        ASSERT_EQ(built.tag_count(), 3u);
        EXPECT_EQ(built.tag(0).name(), "e");
        EXPECT_EQ(built.tag(0)[1], hex_encode(req.id));
        EXPECT_EQ(built.tag(1).name(), "p");
        EXPECT_EQ(built.tag(2).name(), "encrypted");
        EXPECT_EQ(detect_cipher(built.content()), req.cipher);

        JobFeedback clear;
        ASSERT_EQ(clear.read(built), Reject::none);
        EXPECT_TRUE(clear.encrypted);
        EXPECT_EQ(clear.status, FeedbackStatus::other);  // not visible without the key

        JobFeedback fb;
        ASSERT_EQ(fb.read_encrypted(built, customer.secret(), reader), Reject::none);
        EXPECT_EQ(fb.status, FeedbackStatus::partial);
        EXPECT_EQ(fb.extra_info, "tokens");
        EXPECT_EQ(fb.amount_msats, 2000u);
        EXPECT_EQ(fb.bolt11, "lnbc1");
        EXPECT_EQ(fb.content, "Par");
        EXPECT_EQ(fb.request_id, req.id);
    }
}

TEST(JobFeedback, OversizedSampleIsCutAndSanitised) {
    Nip90Vectors v;
    Keypair provider = v.key("provider");
    JobRequest req;
    ASSERT_EQ(req.read(v.flow.at("job_request_5050")), Reject::none);
    std::string sample;
    for (int i = 0; i < 30000; ++i) {
        sample += "\"\x7f\xc3\xa9";  // quote (escaped to 2 bytes), DEL (dropped), é
    }
    Event built;
    ASSERT_EQ(build_feedback(JobRef::of(req, k_relay),
                             {FeedbackStatus::partial, "", std::nullopt, "", sample}, 1700000100,
                             provider, csprng(), built),
              Reject::none);
    EXPECT_LE(built.json_bytes(), 65536u);
    EXPECT_GT(built.json_bytes(), 65500u);
    EXPECT_TRUE(utf8_signable(built.content()));
    EXPECT_EQ(built.verify(), Reject::none);
}

TEST(JobFeedbackHostile, MissingTags) {
    Event e;
    e.set_kind(7000);
    e.add_tag({"status", "processing"});
    JobFeedback fb;
    EXPECT_EQ(fb.read(e), Reject::bad_tag);  // no e
    e.add_tag({"e", "short"});
    EXPECT_EQ(fb.read(e), Reject::bad_tag);
    Event f;
    f.set_kind(7000);
    f.add_tag({"e", std::string(64, 'a')});
    EXPECT_EQ(fb.read(f), Reject::bad_status);
    f.set_kind(6050);
    EXPECT_EQ(fb.read(f), Reject::wrong_kind);
}

}  // namespace
}  // namespace pylon::proto
