// JobResult: building the dvm_flow result from the parsed request (zero aux) reproduces it byte
// for byte; it reads back; the size cap drops echoed inputs first, then cuts the content, and the
// event never exceeds 65536 bytes; LLM output is sanitised; encrypted requests get encrypted
// results without echoed inputs, decryptable by the customer.
#include "proto/job_result.hpp"

#include <gtest/gtest.h>

#include "proto/hex.hpp"
#include "proto/utf8.hpp"
#include "tests/support/proto_print.hpp"
#include "tests/unit/proto/nip90_fixture.hpp"

namespace pylon::proto {
namespace {

using testing::Nip90Vectors;

constexpr std::string_view k_relay = "wss://relay.example.com";

TEST(JobResult, BuildsTheDvmFlowResultExactly) {
    Nip90Vectors v;
    Keypair provider = v.key("provider");
    JobRequest req;
    ASSERT_EQ(req.read(v.flow.at("job_request_5050")), Reject::none);
    const Event& expected = v.flow.at("result_6050");
    ResultSpec spec;
    spec.content = "The capital of France is Paris.";
    spec.amount_msats = 10000;
    Event built;
    ResultReport report;
    FixedRandom zeros;
    ASSERT_EQ(
        build_result(req, k_relay, spec, expected.created_at(), provider, zeros, built, &report),
        Reject::none);
    EXPECT_EQ(built.to_json(), expected.to_json());
    EXPECT_FALSE(report.inputs_dropped || report.request_dropped || report.content_truncated);

    JobResult res;
    ASSERT_EQ(res.read(expected), Reject::none);
    EXPECT_EQ(res.kind, 6050u);
    EXPECT_EQ(res.request_id, req.id);
    EXPECT_EQ(res.relay_hint, k_relay);
    EXPECT_EQ(res.request_json, req.request_json);
    EXPECT_EQ(res.customer, req.customer);
    EXPECT_EQ(res.amount_msats, 10000u);
    EXPECT_EQ(res.content, "The capital of France is Paris.");
    // The request inside the result is the request, verifiable.
    Event inner;
    JsonReader reader;
    ASSERT_EQ(inner.read_json(reader, res.request_json), Reject::none);
    EXPECT_EQ(inner.verify(), Reject::none);
    EXPECT_EQ(inner.id(), req.id);
}

TEST(JobResult, AltTagAndSanitisedOutput) {
    Nip90Vectors v;
    Keypair provider = v.key("provider");
    JobRequest req;
    ASSERT_EQ(req.read(v.flow.at("job_request_5050")), Reject::none);
    ResultSpec spec;
    spec.content = "ok\x7f then \xff\xfe bad";
    spec.alt = "NIP-90 text generation result";
    Event built;
    ASSERT_EQ(build_result(req, "", spec, 1700000004, provider, csprng(), built), Reject::none);
    EXPECT_EQ(built.content(), "ok then \xef\xbf\xbd\xef\xbf\xbd bad");
    EXPECT_TRUE(utf8_signable(built.content()));
    EXPECT_EQ(built.tag_value("alt"), "NIP-90 text generation result");
    EXPECT_EQ(built.find_tag("e")->size(), 2u);  // no empty relay hint element
    EXPECT_EQ(built.verify(), Reject::none);
}

JobRequest big_request(const Keypair& customer, size_t prompt_bytes) {
    Event e;
    e.set_kind(5050);
    e.set_created_at(1700000000);
    e.add_tag({"i", std::string(prompt_bytes, 'p'), "text"});
    e.add_tag({"param", "model", "m"});
    e.sign(customer);
    JobRequest req;
    EXPECT_EQ(req.read(e), Reject::none);
    return req;
}

TEST(JobResult, SizeCapDropsInputsThenTheRequestEchoThenCutsContent) {
    Nip90Vectors v;
    Keypair provider = v.key("provider");
    Keypair customer = v.key("customer");
    JobRequest req = big_request(customer, 1000);
    // Fits with everything.
    ResultSpec spec;
    std::string answer(20000, 'a');
    spec.content = answer;
    Event out;
    ResultReport rep;
    ASSERT_EQ(build_result(req, k_relay, spec, 1, provider, csprng(), out, &rep), Reject::none);
    EXPECT_FALSE(rep.inputs_dropped || rep.content_truncated);
    EXPECT_NE(out.find_tag("i"), std::nullopt);
    // Needs the room of the echoed input: it is dropped, content kept whole.
    answer.assign(65536 - out.json_bytes() + 20000 + 500, 'b');
    spec.content = answer;
    ASSERT_EQ(build_result(req, k_relay, spec, 1, provider, csprng(), out, &rep), Reject::none);
    EXPECT_TRUE(rep.inputs_dropped);
    EXPECT_FALSE(rep.content_truncated);
    EXPECT_EQ(out.find_tag("i"), std::nullopt);
    EXPECT_EQ(out.content(), answer);
    EXPECT_LE(out.json_bytes(), 65536u);
    // Needs the room of the request echo too: it goes before any of the answer does (the
    // customer has its request; the answer only from here).
    answer.assign(65536 - 1000, 'd');
    spec.content = answer;
    ASSERT_EQ(build_result(req, k_relay, spec, 1, provider, csprng(), out, &rep), Reject::none);
    EXPECT_TRUE(rep.request_dropped);
    EXPECT_FALSE(rep.content_truncated);
    EXPECT_EQ(out.content(), answer);
    EXPECT_EQ(out.find_tag("request"), std::nullopt);
    EXPECT_NE(out.find_tag("e"), std::nullopt);
    // Far too long: cut, at exactly the bound, with neither echo.
    answer.assign(200000, 'c');
    spec.content = answer;
    ASSERT_EQ(build_result(req, k_relay, spec, 1, provider, csprng(), out, &rep), Reject::none);
    EXPECT_TRUE(rep.content_truncated);
    EXPECT_EQ(out.json_bytes(), 65536u);
    EXPECT_EQ(out.verify(), Reject::none);
    EXPECT_EQ(out.find_tag("request"), std::nullopt);
    // An operator cap applies first.
    spec.content_bytes_max = 10;
    ASSERT_EQ(build_result(req, k_relay, spec, 1, provider, csprng(), out, &rep), Reject::none);
    EXPECT_EQ(out.content(), std::string(10, 'c'));
    EXPECT_TRUE(rep.content_truncated);
}

TEST(JobResult, MultiByteContentIsCutAtCodePoints) {
    Nip90Vectors v;
    Keypair provider = v.key("provider");
    JobRequest req = big_request(v.key("customer"), 10);
    std::string answer;
    for (int i = 0; i < 30000; ++i) {
        answer += "\xf0\x9f\xa4\x96\n";  // robot + newline (escaped)
    }
    ResultSpec spec;
    spec.content = answer;
    Event out;
    ResultReport rep;
    ASSERT_EQ(build_result(req, k_relay, spec, 1, provider, csprng(), out, &rep), Reject::none);
    EXPECT_TRUE(rep.content_truncated);
    EXPECT_LE(out.json_bytes(), 65536u);
    EXPECT_TRUE(utf8_valid(out.content()));
}

TEST(JobResult, HugeRequestDropsTheRequestTag) {
    Nip90Vectors v;
    Keypair provider = v.key("provider");
    Event e;
    e.set_kind(5050);
    e.add_tag({"input_blob", std::string(65000, 'x')});
    e.sign(v.key("customer"));
    JobRequest req;
    ASSERT_EQ(req.read(e), Reject::none);
    ResultSpec spec;
    spec.content = "answer";
    Event out;
    ResultReport rep;
    ASSERT_EQ(build_result(req, k_relay, spec, 1, provider, csprng(), out, &rep), Reject::none);
    EXPECT_TRUE(rep.request_dropped);
    EXPECT_EQ(out.find_tag("request"), std::nullopt);
    EXPECT_EQ(out.content(), "answer");
}

TEST(JobResult, EncryptedResults) {
    Nip90Vectors v;
    Keypair provider = v.key("provider");
    Keypair customer = v.key("customer");
    JsonReader reader;
    for (const Event* request : {&v.nip44_request, &v.nip04_request}) {
        JobRequest req;
        ASSERT_EQ(req.read_encrypted(*request, provider.secret(), reader), Reject::none);
        ResultSpec spec;
        spec.content = "Paris.";
        Event out;
        ASSERT_EQ(build_result(req, k_relay, spec, 1700000020, provider, csprng(), out),
                  Reject::none);
        EXPECT_EQ(out.verify(), Reject::none);
        EXPECT_EQ(out.find_tag("i"), std::nullopt);  // never echoed in clear
        EXPECT_NE(out.find_tag("encrypted"), std::nullopt);
        EXPECT_EQ(detect_cipher(out.content()), req.cipher);
        JobResult res;
        ASSERT_EQ(res.read_encrypted(out, customer.secret(), Limits{}), Reject::none);
        EXPECT_EQ(res.content, "Paris.");
        EXPECT_EQ(res.request_id, req.id);
        // A long encrypted answer is cut to fit after encryption.
        std::string answer(100000, 'z');
        spec.content = answer;
        ResultReport rep;
        ASSERT_EQ(build_result(req, k_relay, spec, 1700000020, provider, csprng(), out, &rep),
                  Reject::none);
        EXPECT_TRUE(rep.content_truncated);
        EXPECT_LE(out.json_bytes(), 65536u);
        ASSERT_EQ(res.read_encrypted(out, customer.secret(), Limits{}), Reject::none);
        EXPECT_GT(res.content.size(), 30000u);
    }
}

TEST(JobResultHostile, Read) {
    Event e;
    e.set_kind(7000);
    JobResult res;
    EXPECT_EQ(res.read(e), Reject::wrong_kind);
    e.set_kind(6050);
    EXPECT_EQ(res.read(e), Reject::bad_tag);
    e.add_tag({"e", "zz"});
    EXPECT_EQ(res.read(e), Reject::bad_tag);
    e.add_tag({"e", std::string(64, '1')});
    EXPECT_EQ(res.read(e), Reject::none);
    EXPECT_EQ(res.read_encrypted(e, SecretKey::generate(csprng()), Limits{}),
              Reject::not_encrypted);
}

}  // namespace
}  // namespace pylon::proto
