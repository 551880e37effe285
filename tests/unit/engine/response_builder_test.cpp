#include "engine/response_builder.hpp"

#include <gtest/gtest.h>

#include "proto/hex.hpp"
#include "proto/job_result.hpp"
#include "proto/relay_message.hpp"
#include "provider_test_keys.hpp"

namespace pylon::engine {
namespace {

using testing::encrypted_request;
using testing::job_request;
using testing::test_key;

struct Rig {
    Rig() : provider(test_key('1')), alice(test_key('2')), builder(provider, proto::csprng()) {}
    std::unique_ptr<Job> job_for(const proto::Event& request) {
        auto job = std::make_unique<Job>();
        EXPECT_EQ(job->request.read(request), proto::Reject::none);
        job->relay_url = "wss://relay.one";
        job->reply_relays = {"wss://extra.example"};
        job->job_id = "job_x";
        return job;
    }
    // The event inside a publication's ["EVENT",{...}] frame.
    proto::Event unframe(const Publication& pub) {
        EXPECT_EQ(pub.frame.rfind("[\"EVENT\",", 0), 0u);
        std::string inner = pub.frame.substr(9, pub.frame.size() - 10);
        proto::Event e;
        EXPECT_EQ(e.read_json(reader, inner), proto::Reject::none);
        EXPECT_EQ(e.verify(), proto::Reject::none);
        EXPECT_EQ(e.id(), pub.id);
        return e;
    }
    proto::Keypair provider;
    proto::Keypair alice;
    ResponseBuilder builder;
    proto::JsonReader reader;
};

TEST(ResponseBuilder, ResultCarriesTheNip90Tags) {
    Rig rig;
    proto::Event req = job_request(rig.alice, 1'700'000'000, {{"i", "Say hi", "text"}});
    auto job = rig.job_for(req);
    auto pub = rig.builder.result(*job, "alpha bravo", 49152, 1'700'000'001, 5, nullptr);
    ASSERT_NE(pub, nullptr);
    EXPECT_EQ(pub->extra_relays, job->reply_relays);
    proto::Event e = rig.unframe(*pub);
    EXPECT_EQ(e.kind(), 6050u);
    EXPECT_EQ(e.content(), "alpha bravo");
    EXPECT_EQ(e.tag_value("request"), req.to_json());
    auto etag = e.find_tag("e");
    ASSERT_TRUE(etag);
    EXPECT_EQ(etag->get(1), proto::hex_encode(req.id()));
    EXPECT_EQ(etag->get(2), "wss://relay.one");
    EXPECT_EQ(e.tag_value("i"), "Say hi");
    EXPECT_EQ(e.tag_value("p"), rig.alice.public_key().hex());
    EXPECT_EQ(e.tag_value("alt"), "NIP-90 result of a kind 5050 job (text generation)");
}

TEST(ResponseBuilder, HugeOutputIsCappedUnder64KiB) {
    Rig rig;
    std::string prompt(900, 'p');
    auto job = rig.job_for(job_request(rig.alice, 1'700'000'000, {{"i", prompt, "text"}}));
    std::string text(200'000, 'x');
    proto::ResultReport report;
    auto pub = rig.builder.result(*job, text, 49152, 1'700'000'001, 5, &report);
    ASSERT_NE(pub, nullptr);
    proto::Event e = rig.unframe(*pub);
    EXPECT_LE(e.json_bytes(), 65536u);
    EXPECT_EQ(e.content().size(), 49152u);  // the operator's cap applied first
    EXPECT_TRUE(report.content_truncated);
    auto bigger = rig.builder.result(*job, text, 1'000'000, 1'700'000'001, 5, &report);
    EXPECT_LE(rig.unframe(*bigger).json_bytes(), 65536u);  // the relays' bound still holds
}

TEST(ResponseBuilder, EncryptedJobsGetEncryptedResponsesWithoutInputs) {
    Rig rig;
    proto::Event req = encrypted_request(rig.alice, rig.provider.public_key(), 1'700'000'000,
                                         R"([["i","Secret","text"]])", proto::Cipher::nip04);
    Job job;
    ASSERT_EQ(job.request.read_encrypted(req, rig.provider.secret(), rig.reader),
              proto::Reject::none);
    job.relay_url = "wss://relay.one";
    auto pub = rig.builder.result(job, "the answer", 49152, 1'700'000'001, 5, nullptr);
    proto::Event e = rig.unframe(*pub);
    EXPECT_FALSE(e.find_tag("i"));
    EXPECT_TRUE(e.find_tag("encrypted"));
    proto::JobResult r;
    ASSERT_EQ(r.read_encrypted(e, rig.alice.secret(), proto::Limits{}), proto::Reject::none);
    EXPECT_EQ(r.content, "the answer");
    auto fb = rig.builder.feedback(job, proto::FeedbackStatus::error, "boom", "boom", 1, 5);
    proto::Event f = rig.unframe(*fb);
    EXPECT_FALSE(f.find_tag("status"));  // inside the encrypted content
    proto::JobFeedback parsed;
    ASSERT_EQ(parsed.read_encrypted(f, rig.alice.secret(), rig.reader), proto::Reject::none);
    EXPECT_EQ(parsed.status, proto::FeedbackStatus::error);
    EXPECT_EQ(parsed.extra_info, "boom");
}

TEST(ResponseBuilder, FeedbackNamesTheRequest) {
    Rig rig;
    proto::Event req = job_request(rig.alice, 1'700'000'000, {{"i", "Say hi", "text"}});
    auto job = rig.job_for(req);
    auto pub = rig.builder.feedback(*job, proto::FeedbackStatus::partial, "", "alpha", 7, 5);
    proto::Event e = rig.unframe(*pub);
    EXPECT_EQ(e.kind(), 7000u);
    auto status = e.find_tag("status");
    ASSERT_TRUE(status);
    EXPECT_EQ(status->get(1), "partial");
    EXPECT_EQ(e.content(), "alpha");
    EXPECT_EQ(e.tag_value("e"), proto::hex_encode(req.id()));
    EXPECT_EQ(e.tag_value("p"), rig.alice.public_key().hex());
}

}  // namespace
}  // namespace pylon::engine
