// HandlerAnnouncement: kind 31990 with a stable d, one k per kind and metadata JSON; reads back;
// the d tag is stable for the same name and key and differs otherwise.
#include "proto/handler_announcement.hpp"

#include <gtest/gtest.h>

#include "tests/support/proto_print.hpp"

namespace pylon::proto {
namespace {

TEST(HandlerAnnouncement, BuildAndRead) {
    auto kp = Keypair::from_secret(SecretKey::generate(csprng()));
    ASSERT_TRUE(kp.ok());
    HandlerAnnouncement a;
    a.d = HandlerAnnouncement::stable_d("Pylon", kp->public_key());
    a.kinds = {5050, 5000};
    a.metadata.name = "Pylon \"node\"";
    a.metadata.about = "LLM text generation";
    a.metadata.lud16 = "node@example.com";
    a.metadata.encryption_supported = true;
    a.metadata.nip90_params_json = R"({"model":{"required":false,"values":["llama3"]}})";
    Event e;
    a.build(1700000000, kp.value(), csprng(), e);
    EXPECT_EQ(e.kind(), 31990u);
    EXPECT_EQ(e.verify(), Reject::none);
    EXPECT_EQ(e.tag_value("d"), a.d);
    ASSERT_EQ(e.tag_count(), 3u);
    EXPECT_EQ(e.tag(1).name(), "k");
    EXPECT_EQ(e.tag(1).value(), "5050");
    EXPECT_EQ(e.tag(2).value(), "5000");
    EXPECT_EQ(
        e.content(),
        R"({"name":"Pylon \"node\"","about":"LLM text generation","lud16":"node@example.com",)"
        R"("encryptionSupported":true,"nip90Params":{"model":{"required":false,)"
        R"("values":["llama3"]}}})");
    JsonReader reader;
    HandlerAnnouncement back;
    ASSERT_EQ(back.read(e, reader), Reject::none);
    EXPECT_EQ(back.d, a.d);
    EXPECT_EQ(back.kinds, a.kinds);
    EXPECT_EQ(back.metadata.name, a.metadata.name);
    EXPECT_EQ(back.metadata.lud16, a.metadata.lud16);
    EXPECT_TRUE(back.metadata.encryption_supported);
    EXPECT_EQ(back.metadata.nip90_params_json, a.metadata.nip90_params_json);
}

TEST(HandlerAnnouncement, StableD) {
    PublicKey a;
    PublicKey b;
    ASSERT_TRUE(a.set_hex(std::string(64, 'a')));
    ASSERT_TRUE(b.set_hex(std::string(64, 'b')));
    std::string d = HandlerAnnouncement::stable_d("Pylon", a);
    EXPECT_EQ(d.size(), 16u);
    EXPECT_EQ(d, HandlerAnnouncement::stable_d("Pylon", a));
    EXPECT_NE(d, HandlerAnnouncement::stable_d("Pylon", b));
    EXPECT_NE(d, HandlerAnnouncement::stable_d("Other", a));
}

TEST(HandlerAnnouncementHostile, Read) {
    JsonReader reader;
    HandlerAnnouncement h;
    Event e;
    e.set_kind(31990);
    EXPECT_EQ(h.read(e, reader), Reject::missing_field);
    e.add_tag({"d", "x"});
    e.add_tag({"k", "50a0"});
    EXPECT_EQ(h.read(e, reader), Reject::bad_tag);
    e.truncate_tags(1);
    e.add_tag({"k", "5050"});
    e.set_content("[1]");
    EXPECT_EQ(h.read(e, reader), Reject::wrong_type);
    e.set_content("{\"name\":5,\"about\":\"ok\"}");
    ASSERT_EQ(h.read(e, reader), Reject::none);
    EXPECT_EQ(h.metadata.name, "");
    EXPECT_EQ(h.metadata.about, "ok");
    e.set_kind(1);
    EXPECT_EQ(h.read(e, reader), Reject::wrong_kind);
}

}  // namespace
}  // namespace pylon::proto
