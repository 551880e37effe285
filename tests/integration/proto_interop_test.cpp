// proto/ against an independent implementation: nostr-tools (npm, run by Node through
// tests/node/interop.mjs, one JSON request per line in, one answer per line out). Events we sign
// (escape-heavy contents and tags) verify there with the same id, and events nostr-tools signs
// verify here (including U+007F, which both sides serialise verbatim); NIP-06 keys from the same
// mnemonic agree for accounts 0, 1 and 7 with and without a passphrase; NIP-44 and NIP-04
// payloads decrypt both ways; NIP-19 strings agree. Node runs as a child process by pid with a
// bounded wait. Skipped with the reason when node or tests/node/node_modules is missing.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <functional>
#include <string>
#include <vector>

#include "proto/event.hpp"
#include "proto/hex.hpp"
#include "proto/json_writer.hpp"
#include "proto/mnemonic.hpp"
#include "proto/nip06.hpp"
#include "proto/nip19.hpp"
#include "proto/payload_cipher.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/proto_print.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

namespace pylon::test {
namespace {

using namespace pylon::proto;

constexpr int k_node_wait_ms = 60000;

// One request line and the check of its answer.
struct Exchange {
    std::string request;
    std::function<void(simdjson::dom::element answer)> check;
};

// A request object built with our own JsonWriter.
class Request {
  public:
    explicit Request(std::string_view op) : w_(json_) {
        w_.begin_object();
        w_.field("op", op);
    }
    Request& field(std::string_view key, std::string_view value) {
        w_.field(key, value);
        return *this;
    }
    Request& number(std::string_view key, int64_t value) {
        w_.field_int(key, value);
        return *this;
    }
    Request& event(std::string_view key, const Event& e) {
        w_.key(key);
        e.write_json(w_);
        return *this;
    }
    JsonWriter& writer() { return w_; }
    std::string done() {
        w_.end_object();
        return json_;
    }

  private:
    std::string json_;
    JsonWriter w_;
};

std::string_view answer_string(simdjson::dom::element a, std::string_view key) {
    std::string_view error;
    if (a["error"].get_string().get(error) == simdjson::SUCCESS) {
        ADD_FAILURE() << "nostr-tools error: " << error;
        return {};
    }
    std::string_view out;
    EXPECT_EQ(a[key].get_string().get(out), simdjson::SUCCESS) << key;
    return out;
}

// Runs interop.mjs over the requests and checks every answer, in order.
void run_exchanges(const std::vector<Exchange>& exchanges) {
    auto dir = TempDir::create("pylon-interop");
    ASSERT_TRUE(dir.ok());
    std::string input;
    for (const Exchange& x : exchanges) {
        input += x.request;
        input += '\n';
    }
    std::string path = dir->file("requests.jsonl");
    ASSERT_TRUE(write_file(path, input).ok());
    ChildSpec spec = node_script_spec("interop.mjs", {path});
    spec.line_bytes_max = 1024 * 1024;
    spec.tail_bytes_max = 16 * 1024 * 1024;
    auto child = ChildProcess::spawn(std::move(spec));
    ASSERT_TRUE(child.ok()) << child.error().message();
    auto exit = (*child)->wait_exit(k_node_wait_ms);
    ASSERT_TRUE(exit.has_value()) << "node did not finish in time: " << (*child)->describe();
    ASSERT_TRUE(exit->exited && exit->code == 0) << (*child)->describe();
    std::vector<std::string> lines = (*child)->lines(Stream::out);
    ASSERT_EQ(lines.size(), exchanges.size()) << (*child)->describe();
    simdjson::dom::parser parser;
    for (size_t i = 0; i < lines.size(); ++i) {
        simdjson::dom::element answer;
        ASSERT_EQ(parser.parse(lines[i]).get(answer), simdjson::SUCCESS) << lines[i];
        SCOPED_TRACE("exchange " + std::to_string(i) + ": " + exchanges[i].request.substr(0, 200));
        exchanges[i].check(answer);
    }
}

#define SKIP_WITHOUT_NODE()                            \
    do {                                               \
        if (!node_available()) {                       \
            GTEST_SKIP() << node_unavailable_reason(); \
        }                                              \
    } while (0)

Keypair fresh_keys() {
    auto kp = Keypair::from_secret(SecretKey::generate(csprng()));
    EXPECT_TRUE(kp.ok());
    return kp.value();
}

std::vector<std::string> hostile_contents() {
    static constexpr char k_controls[] = "controls \x01\x02\x0b\x1b\x1f and nul \0 inside";
    std::string long_mix;
    for (int i = 0; i < 500; ++i) {
        long_mix += "line \"" + std::to_string(i) + "\"\\\n\t\x01 caf\xc3\xa9 ";
    }
    return {
        "plain",
        "",
        "quote \" backslash \\ slash / </script>",
        "newline\n cr\r tab\t backspace\b formfeed\f",
        std::string(k_controls, sizeof k_controls - 1),
        "unicode caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\xa4\x96 "
        "\xe2\x80\xa8 \xe2\x80\xa9",
        long_mix,
    };
}

TEST(ProtoInterop, EventsBothWays) {
    SKIP_WITHOUT_NODE();
    Keypair ours = fresh_keys();
    Keypair theirs = fresh_keys();
    std::vector<Exchange> xs;
    for (const std::string& content : hostile_contents()) {
        auto e = std::make_shared<Event>();
        e->set_kind(5050);
        e->set_created_at(1700000000);
        e->set_content(content);
        e->add_tag({"i", content.empty() ? "x" : content, "text"});
        e->add_tag({"e", std::string(64, 'a'), "wss://relay.example.com/\"q\""});
        e->add_tag({"t", "\xf0\x9f\xa4\x96", "/"});
        e->sign(ours);
        xs.push_back({Request("verify").event("event", *e).done(), [e](simdjson::dom::element a) {
                          bool ok = false;
                          EXPECT_EQ(a["ok"].get_bool().get(ok), simdjson::SUCCESS);
                          EXPECT_TRUE(ok);
                          EXPECT_EQ(answer_string(a, "id"), hex_encode(e->id()));
                      }});

        // nostr-tools signs the same content (plus U+007F, which we never sign ourselves).
        Request r("sign");
        r.field("secret", theirs.secret().hex());
        JsonWriter& w = r.writer();
        w.key("template");
        w.begin_object();
        w.field_int("kind", 1);
        w.field_int("created_at", 1700000001);
        w.key("tags");
        w.begin_array();
        w.begin_array();
        w.string("alt");  // multi-letter: no 1024-byte single-letter bound
        w.string(content + "\x7f");
        w.end_array();
        w.begin_array();
        w.string("t");
        w.string("x\x7f");
        w.end_array();
        w.end_array();
        w.field("content", content + "\x7f");
        w.end_object();
        PublicKey expected_pubkey = theirs.public_key();
        xs.push_back({r.done(), [expected_pubkey, content](simdjson::dom::element a) {
                          simdjson::dom::element ev;
                          ASSERT_EQ(a["event"].get(ev), simdjson::SUCCESS);
                          Event got;
                          ASSERT_EQ(got.read_element(ev, Limits{}), Reject::none);
                          EXPECT_EQ(got.verify(), Reject::none);
                          EXPECT_EQ(got.pubkey(), expected_pubkey);
                          EXPECT_EQ(got.content(), content + "\x7f");
                      }});
    }
    run_exchanges(xs);
}

TEST(ProtoInterop, Nip06SameKeys) {
    SKIP_WITHOUT_NODE();
    std::vector<std::string> mnemonics = {
        "leader monkey parrot ring guide accident before fence cannon height naive bean",
        "what bleak badge arrange retreat wolf trade produce cricket blur garlic valid proud rude "
        "strong choose busy staff weather area salt hollow arm fade",
        Mnemonic::generate(12, csprng()).phrase(),
        Mnemonic::generate(24, csprng()).phrase(),
    };
    std::vector<Exchange> xs;
    for (const std::string& phrase : mnemonics) {
        for (uint32_t account : {0u, 1u, 7u}) {
            for (std::string_view pass : {"", "TREZOR"}) {
                auto m = Mnemonic::parse(phrase);
                ASSERT_TRUE(m.ok());
                auto kp = nip06_keypair(m.value(), pass, account);
                ASSERT_TRUE(kp.ok());
                std::string secret = kp->secret().hex();
                std::string pubkey = kp->public_key().hex();
                xs.push_back({Request("nip06")
                                  .field("mnemonic", phrase)
                                  .field("passphrase", pass)
                                  .number("account", account)
                                  .done(),
                              [secret, pubkey](simdjson::dom::element a) {
                                  EXPECT_EQ(answer_string(a, "secret"), secret);
                                  EXPECT_EQ(answer_string(a, "pubkey"), pubkey);
                              }});
            }
        }
    }
    run_exchanges(xs);
}

std::vector<std::string> plaintexts() {
    return {"a", "hello nostr", "caf\xc3\xa9 \xf0\x9f\xa4\x96 \"quoted\" \\ \n",
            std::string(300, 'x'), std::string(30000, 'y')};
}

void cipher_both_ways(Cipher cipher) {
    Keypair ours = fresh_keys();
    Keypair theirs = fresh_keys();
    std::string prefix = cipher == Cipher::nip44 ? "nip44" : "nip04";
    std::vector<Exchange> xs;
    for (const std::string& text : plaintexts()) {
        std::string payload;
        ASSERT_EQ(
            encrypt_payload(cipher, ours.secret(), theirs.public_key(), text, csprng(), payload),
            Reject::none);
        xs.push_back(
            {Request(prefix + "_decrypt")
                 .field("secret", theirs.secret().hex())
                 .field("pubkey", ours.public_key().hex())
                 .field("payload", payload)
                 .done(),
             [text](simdjson::dom::element a) { EXPECT_EQ(answer_string(a, "plaintext"), text); }});
        xs.push_back({Request(prefix + "_encrypt")
                          .field("secret", theirs.secret().hex())
                          .field("pubkey", ours.public_key().hex())
                          .field("plaintext", text)
                          .done(),
                      [text, ours, theirs, cipher](simdjson::dom::element a) {
                          std::string_view theirs_payload = answer_string(a, "payload");
                          std::string plain;
                          Cipher used = Cipher::none;
                          EXPECT_EQ(decrypt_payload(ours.secret(), theirs.public_key(),
                                                    theirs_payload, plain, used),
                                    Reject::none);
                          EXPECT_EQ(used, cipher);
                          EXPECT_EQ(plain, text);
                      }});
    }
    run_exchanges(xs);
}

TEST(ProtoInterop, Nip44BothWays) {
    SKIP_WITHOUT_NODE();
    cipher_both_ways(Cipher::nip44);
}

TEST(ProtoInterop, Nip04BothWays) {
    SKIP_WITHOUT_NODE();
    cipher_both_ways(Cipher::nip04);
}

TEST(ProtoInterop, Nip19Strings) {
    SKIP_WITHOUT_NODE();
    std::vector<Exchange> xs;
    for (int i = 0; i < 3; ++i) {
        Keypair kp = fresh_keys();
        std::string npub = npub_encode(kp.public_key());
        xs.push_back(
            {Request("npub").field("pubkey", kp.public_key().hex()).done(),
             [npub](simdjson::dom::element a) { EXPECT_EQ(answer_string(a, "npub"), npub); }});
        std::string nsec = nsec_encode(kp.secret());
        std::string secret = kp.secret().hex();
        xs.push_back(
            {Request("decode").field("bech32", nsec).done(), [secret](simdjson::dom::element a) {
                 EXPECT_EQ(answer_string(a, "type"), "nsec");
                 EXPECT_EQ(answer_string(a, "data"), secret);
             }});
        EventId id{};
        csprng().fill(id);
        std::string hex = hex_encode(id);
        std::vector<std::string> relays = {"wss://relay.example.com"};
        xs.push_back({Request("decode")
                          .field("bech32", nevent_encode(id, relays, kp.public_key(), 5050))
                          .done(),
                      [hex](simdjson::dom::element a) {
                          EXPECT_EQ(answer_string(a, "type"), "nevent");
                          std::string_view got;
                          EXPECT_EQ(a["data"]["id"].get_string().get(got), simdjson::SUCCESS);
                          EXPECT_EQ(got, hex);
                          int64_t kind = 0;
                          EXPECT_EQ(a["data"]["kind"].get_int64().get(kind), simdjson::SUCCESS);
                          EXPECT_EQ(kind, 5050);
                      }});
        xs.push_back({Request("decode").field("bech32", note_encode(id)).done(),
                      [hex](simdjson::dom::element a) {
                          EXPECT_EQ(answer_string(a, "type"), "note");
                          EXPECT_EQ(answer_string(a, "data"), hex);
                      }});
    }
    run_exchanges(xs);
}

}  // namespace
}  // namespace pylon::test
