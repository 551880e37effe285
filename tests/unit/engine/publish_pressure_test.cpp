#include "engine/publish_pressure.hpp"

#include <gtest/gtest.h>

namespace pylon::engine {
namespace {

using Change = PublishPressure::Change;

TEST(PublishPressure, TheFirstPressingLinkPausesAndTheLastOneToDrainResumes) {
    PublishPressure p;
    EXPECT_FALSE(p.paused());
    EXPECT_EQ(p.note(true), Change::paused);
    EXPECT_TRUE(p.paused());
    EXPECT_EQ(p.note(true), Change::none);   // a second relay behind: still one pause
    EXPECT_EQ(p.note(false), Change::none);  // one of them drained: still paused
    EXPECT_TRUE(p.paused());
    EXPECT_EQ(p.pressing(), 1);
    EXPECT_EQ(p.note(false), Change::resumed);
    EXPECT_FALSE(p.paused());
}

TEST(PublishPressure, EachPauseAndResumeIsReportedOnce) {
    PublishPressure p;
    int pauses = 0;
    int resumes = 0;
    for (int round = 0; round < 3; round++) {
        for (bool on : {true, true, false, true, false, false}) {
            Change c = p.note(on);
            pauses += c == Change::paused ? 1 : 0;
            resumes += c == Change::resumed ? 1 : 0;
        }
        EXPECT_FALSE(p.paused());
    }
    EXPECT_EQ(pauses, 3);
    EXPECT_EQ(resumes, 3);
}

}  // namespace
}  // namespace pylon::engine
