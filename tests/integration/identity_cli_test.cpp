// The identity commands through the real binary: `pylon init` (generate, --import, --force,
// refusal with the bad word's position, mode 0600, default config), `pylon identity [--json]`,
// `pylon event sign` (verified by nostr-tools when Node is installed) and `pylon event verify`.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <simdjson.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

namespace pylon {
namespace {

// NIP-06's own examples (../shared/vectors/nip06-vectors.json): phrase, then account 0's key.
constexpr const char* kLeader =
    "leader monkey parrot ring guide accident before fence cannon height naive bean";
constexpr const char* kLeaderPubkey =
    "17162c921dc4d2518f9a101db33695df1afb56ab82f5ff3e5da6eec3ca5cd917";
constexpr const char* kLeaderNpub =
    "npub1zutzeysacnf9rru6zqwmxd54mud0k44tst6l70ja5mhv8jjumytsd2x7nu";
constexpr const char* kWhat24 =
    "what bleak badge arrange retreat wolf trade produce cricket blur garlic valid proud rude "
    "strong choose busy staff weather area salt hollow arm fade";
constexpr const char* kWhat24Pubkey =
    "d41b22899549e1f3d335a31002cfd382174006e166d3e658e3a5eecdb6463573";

struct CliRun {
    int code = -1;
    std::string out;
    std::string err;
};

// Runs `pylon args...` with `input` on its stdin (through a file and /bin/sh redirection).
CliRun run_pylon(const test::TempDir& dir, std::vector<std::string> args,
                 const std::string& input = "") {
    std::string in_path = dir.file("stdin.txt");
    EXPECT_TRUE(test::write_file(in_path, input).ok());
    test::ChildSpec spec;
    spec.argv = {"/bin/sh", "-c", "exec \"$0\" \"$@\" < \"$PYLON_TEST_STDIN\"",
                 test::tool_path("pylon")};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env_add = {{"PYLON_TEST_STDIN", in_path}};
    CliRun r;
    auto child = test::ChildProcess::spawn(spec);
    EXPECT_TRUE(child.ok());
    if (!child.ok()) {
        return r;
    }
    auto& p = *child.value();
    auto exit = p.wait_exit(20'000);
    EXPECT_TRUE(exit.has_value()) << p.describe();
    if (exit && exit->exited) {
        r.code = exit->code;
    }
    r.out = p.tail(test::Stream::out);
    r.err = p.tail(test::Stream::err);
    return r;
}

mode_t mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

class IdentityCli : public ::testing::Test {
  protected:
    void SetUp() override {
        auto d = test::TempDir::create("pylon-identity");
        ASSERT_TRUE(d.ok());
        dir_.emplace(std::move(d).value());
        home_ = dir_->file("home");
    }
    CliRun pylon(std::vector<std::string> args, const std::string& input = "") {
        args.push_back("--home");
        args.push_back(home_);
        return run_pylon(*dir_, std::move(args), input);
    }
    std::optional<test::TempDir> dir_;
    std::string home_;
};

TEST_F(IdentityCli, InitGeneratesAPrivateMnemonicAndADefaultConfig) {
    CliRun r = pylon({"init", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(r.out).get(doc), simdjson::SUCCESS) << r.out;
    std::string_view npub;
    std::string_view pubkey;
    std::string_view path;
    ASSERT_EQ(doc["npub"].get(npub), simdjson::SUCCESS);
    ASSERT_EQ(doc["pubkey"].get(pubkey), simdjson::SUCCESS);
    ASSERT_EQ(doc["mnemonic_path"].get(path), simdjson::SUCCESS);
    EXPECT_EQ(npub.substr(0, 5), "npub1");
    EXPECT_EQ(pubkey.size(), 64u);
    EXPECT_EQ(path, home_ + "/identity.mnemonic");
    EXPECT_EQ(int64_t(doc["account"]), 0);
    EXPECT_EQ(mode_of(home_ + "/identity.mnemonic"), 0600u);
    auto words = test::read_file(home_ + "/identity.mnemonic");
    ASSERT_TRUE(words.ok());
    EXPECT_EQ(std::count(words->begin(), words->end(), ' '), 11) << "12 words";
    EXPECT_EQ(mode_of(home_ + "/config.toml") & 077, 0u) << "umask 077";

    // The identity command reads back the same key; a second init refuses to overwrite.
    CliRun id = pylon({"identity", "--json"});
    ASSERT_EQ(id.code, 0) << id.err;
    EXPECT_NE(id.out.find(std::string(pubkey)), std::string::npos) << id.out;
    CliRun again = pylon({"init"});
    EXPECT_EQ(again.code, 1);
    EXPECT_NE(again.err.find("--force"), std::string::npos) << again.err;
    auto words_after = test::read_file(home_ + "/identity.mnemonic");
    ASSERT_TRUE(words_after.ok());
    EXPECT_EQ(*words_after, *words) << "the refused init changed the mnemonic";
}

// Four inits at once on an empty home (two start-node.sh started together): exactly one writes
// and shows its phrase; the others say an identity exists and write nothing, so the phrase shown
// is the one on disk. Before, each one renamed its file over the others' and all four printed a
// different "only backup".
TEST_F(IdentityCli, InitsRacingOnAnEmptyHomeLeaveOneIdentityAndOneWinner) {
    constexpr int kRacers = 4;
    for (int round = 0; round < 3; round++) {
        std::string home = dir_->file("race" + std::to_string(round));
        std::vector<std::unique_ptr<test::ChildProcess>> racers;
        for (int i = 0; i < kRacers; i++) {
            test::ChildSpec spec;
            spec.argv = {test::tool_path("pylon"), "init", "--json", "--home", home};
            auto child = test::ChildProcess::spawn(spec);
            ASSERT_TRUE(child.ok());
            racers.push_back(std::move(child).value());
        }
        int winners = 0;
        std::string winner_pubkey;
        for (auto& p : racers) {
            auto exit = p->wait_exit(20'000);
            ASSERT_TRUE(exit.has_value() && exit->exited) << p->describe();
            if (exit->code == 0) {
                winners++;
                simdjson::dom::parser parser;
                simdjson::dom::element doc;
                std::string out = p->tail(test::Stream::out);
                ASSERT_EQ(parser.parse(out).get(doc), simdjson::SUCCESS) << out;
                std::string_view pubkey;
                ASSERT_EQ(doc["pubkey"].get(pubkey), simdjson::SUCCESS) << out;
                winner_pubkey = std::string(pubkey);
            } else {
                EXPECT_EQ(exit->code, 1) << p->describe();
                EXPECT_NE(p->tail(test::Stream::err).find("Identity already exists"),
                          std::string::npos)
                    << p->describe();
            }
        }
        ASSERT_EQ(winners, 1) << "round " << round;
        CliRun id = run_pylon(*dir_, {"identity", "--json", "--home", home});
        ASSERT_EQ(id.code, 0) << id.err;
        EXPECT_NE(id.out.find(winner_pubkey), std::string::npos)
            << "the identity on disk is not the one the winner showed: " << id.out;
    }
}

TEST_F(IdentityCli, ImportDerivesTheNip06KeyAndForceReplaces) {
    ASSERT_EQ(pylon({"init"}).code, 0);
    CliRun r = pylon({"init", "--import", "--force", "--json"}, std::string(kLeader) + "\n");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find(kLeaderPubkey), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(kLeaderNpub), std::string::npos) << r.out;
    CliRun human = pylon({"identity"});
    ASSERT_EQ(human.code, 0) << human.err;
    EXPECT_NE(human.out.find(kLeaderPubkey), std::string::npos) << human.out;
    EXPECT_NE(human.out.find(kLeaderNpub), std::string::npos) << human.out;

    // 24 words work as well.
    CliRun w = pylon({"init", "--import", "--force", "--json"}, std::string(kWhat24) + "\n");
    ASSERT_EQ(w.code, 0) << w.err;
    EXPECT_NE(w.out.find(kWhat24Pubkey), std::string::npos) << w.out;
}

TEST_F(IdentityCli, BadWordIsNamedByPositionAndNothingIsWritten) {
    std::string bad = kLeader;
    bad.replace(bad.find("monkey"), 6, "monkee");  // the second word
    CliRun r = pylon({"init", "--import"}, bad + "\n");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("2"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("monkee"), std::string::npos) << r.err;
    struct stat st {};
    EXPECT_NE(::stat((home_ + "/identity.mnemonic").c_str(), &st), 0) << "nothing is written";

    // A valid word list with a wrong checksum is refused too.
    std::string bad_sum = std::string(kLeader);
    bad_sum.replace(bad_sum.rfind("bean"), 4, "zoo");
    CliRun c = pylon({"init", "--import"}, bad_sum + "\n");
    EXPECT_EQ(c.code, 1);
    EXPECT_NE(c.err.find("checksum"), std::string::npos) << c.err;
    EXPECT_NE(::stat((home_ + "/identity.mnemonic").c_str(), &st), 0);

    // A wrong word count says what --import takes, whatever BIP-39 would allow (it said
    // "expected 12, 15, 18, 21 or 24 words" for 11, then refused a valid 15).
    std::string eleven = std::string(kLeader).substr(0, std::string(kLeader).rfind(' '));
    CliRun n = pylon({"init", "--import"}, eleven + "\n");
    EXPECT_EQ(n.code, 1);
    EXPECT_NE(n.err.find("--import takes a 12 or 24 word phrase, got 11 words"), std::string::npos)
        << n.err;
    EXPECT_NE(::stat((home_ + "/identity.mnemonic").c_str(), &st), 0);
}

TEST_F(IdentityCli, IdentityWithoutInitSaysWhatToRun) {
    CliRun r = pylon({"identity"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("pylon init"), std::string::npos) << r.err;
}

TEST_F(IdentityCli, SignedEventsVerifyHereAndInNostrTools) {
    ASSERT_EQ(pylon({"init", "--import"}, std::string(kLeader) + "\n").code, 0);
    CliRun s = pylon({"event", "sign"},
                     R"({"kind":5050,"content":"hi \"there\"\n","tags":[["i","2+2","text"]],)"
                     R"("created_at":1700000000})");
    ASSERT_EQ(s.code, 0) << s.err;
    simdjson::dom::parser parser;
    simdjson::dom::element ev;
    ASSERT_EQ(parser.parse(s.out).get(ev), simdjson::SUCCESS) << s.out;
    EXPECT_EQ(std::string_view(ev["pubkey"]), kLeaderPubkey);
    EXPECT_EQ(int64_t(ev["created_at"]), 1700000000);
    EXPECT_EQ(int64_t(ev["kind"]), 5050);

    CliRun v = pylon({"event", "verify"}, s.out);
    EXPECT_EQ(v.code, 0) << v.err;
    EXPECT_NE(v.out.find("valid"), std::string::npos) << v.out;

    // One changed content byte: the id no longer holds.
    std::string tampered = s.out;
    tampered.replace(tampered.find("hi "), 3, "ho ");
    CliRun t = pylon({"event", "verify"}, tampered);
    EXPECT_EQ(t.code, 1);
    EXPECT_NE(t.out.find("invalid: bad event id"), std::string::npos) << t.out << t.err;
    CliRun tj = pylon({"event", "verify", "--json"}, tampered);
    EXPECT_EQ(tj.code, 1);
    EXPECT_NE(tj.out.find("\"valid\":false"), std::string::npos) << tj.out;

    CliRun garbage = pylon({"event", "verify"}, "{\"kind\":");
    EXPECT_EQ(garbage.code, 1);

    if (!test::node_available()) {
        GTEST_SKIP()
            << "node with tests/node/node_modules not installed: nostr-tools check skipped";
    }
    std::string req = dir_->file("verify.ndjson");
    std::string line = s.out.substr(0, s.out.find_last_not_of("\n") + 1);
    ASSERT_TRUE(test::write_file(req, "{\"op\":\"verify\",\"event\":" + line + "}\n").ok());
    auto node = test::ChildProcess::spawn(test::node_script_spec("interop.mjs", {req}));
    ASSERT_TRUE(node.ok());
    auto exit = node.value()->wait_exit(20'000);
    ASSERT_TRUE(exit.has_value()) << node.value()->describe();
    EXPECT_EQ(exit->code, 0) << node.value()->describe();
    std::string answer = node.value()->tail(test::Stream::out);
    EXPECT_NE(answer.find("\"ok\":true"), std::string::npos) << answer;
    EXPECT_NE(answer.find(std::string(ev["id"].get_string().value())), std::string::npos) << answer;
}

}  // namespace
}  // namespace pylon
