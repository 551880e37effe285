// BuyerHistory: the customer side's jobs.db. A row reads back as written; a long prompt is kept
// to its first buyer_prompt_bytes_kept bytes, never split inside a character.
#include "engine/buyer_history.hpp"

#include <gtest/gtest.h>

#include <string>

#include "proto/utf8.hpp"
#include "tests/support/temp_dir.hpp"

namespace pylon::engine {
namespace {

TEST(BuyerHistory, ARowReadsBackAndItsUpdateSticks) {
    auto dir = test::TempDir::create("pylon-buyer");
    ASSERT_TRUE(dir.ok());
    auto h = BuyerHistory::open(dir->file("jobs.db"), true);
    ASSERT_TRUE(h.ok()) << h.error().message();
    BuyerJob job;
    job.id = std::string(64, 'a');
    job.kind = 5050;
    job.prompt = "Say hi";
    job.relay = "ws://127.0.0.1:1";
    job.created_at = 1764064800;
    ASSERT_TRUE((*h)->insert(job).ok());
    ASSERT_TRUE((*h)->update(job.id, "completed", "abc", std::string("hi"), 1764064801).ok());
    auto row = (*h)->get(job.id);
    ASSERT_TRUE(row.ok() && row->has_value());
    EXPECT_EQ((*row)->prompt, "Say hi");
    EXPECT_EQ((*row)->status, "completed");
    EXPECT_EQ((*row)->result, "hi");
    EXPECT_EQ((*row)->provider, "abc");
    EXPECT_EQ((*row)->completed_at, 1764064801);
}

TEST(BuyerHistory, ALongPromptIsCutBetweenCharacters) {
    auto dir = test::TempDir::create("pylon-buyer");
    ASSERT_TRUE(dir.ok());
    auto h = BuyerHistory::open(dir->file("jobs.db"), true);
    ASSERT_TRUE(h.ok()) << h.error().message();
    // 4,095 ASCII bytes then a 3-byte character: a byte cut at 4,096 would split it.
    BuyerJob job;
    job.id = std::string(64, 'b');
    job.kind = 5050;
    job.prompt = std::string(buyer_prompt_bytes_kept - 1, 'x') + "\xe2\x82\xac" + "tail";
    ASSERT_TRUE((*h)->insert(job).ok());
    auto row = (*h)->get(job.id);
    ASSERT_TRUE(row.ok() && row->has_value());
    EXPECT_EQ((*row)->prompt, std::string(buyer_prompt_bytes_kept - 1, 'x'));
    EXPECT_TRUE(proto::utf8_valid((*row)->prompt));
}

}  // namespace
}  // namespace pylon::engine
