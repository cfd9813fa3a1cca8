// ScriptChannel: the scripted caller of `callflow run` and the tests (engine/script_channel.h).
#include "engine/script_channel.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/support/run_awaitable.h"

namespace callflow {
namespace {

using test_support::runAwaitable;
using Entries = std::vector<std::string>;

DigitResult collect(ScriptChannel& line, int max_digits = 20, char terminator = '#') {
  DigitRequest request;
  request.max_digits = max_digits;
  request.terminator = terminator;
  return runAwaitable(line.collectDigits(request));
}

TEST(SplitDigitsTest, Entries) {
  EXPECT_EQ(splitDigits(""), Entries{});
  EXPECT_EQ(splitDigits("1"), Entries{"1"});
  EXPECT_EQ(splitDigits("123#,2"), (Entries{"123#", "2"}));
  EXPECT_EQ(splitDigits("1,,2"), (Entries{"1", "", "2"}));
  EXPECT_EQ(splitDigits(","), (Entries{"", ""}));
  EXPECT_EQ(splitDigits("1,"), (Entries{"1", ""}));
  EXPECT_EQ(splitDigits(",1"), (Entries{"", "1"}));
  EXPECT_EQ(splitDigits("*9#,A,BCD"), (Entries{"*9#", "A", "BCD"}));
}

TEST(IsDtmfTest, Keys) {
  EXPECT_TRUE(isDtmf("0123456789*#ABCD"));
  EXPECT_TRUE(isDtmf(""));
  for (std::string_view bad : {"a", "E", "1 2", "+1", "1-2", "١", "x", "#\n", "abcd"}) {
    EXPECT_FALSE(isDtmf(bad)) << bad;
  }
}

TEST(ScriptChannelTest, TerminatorEndsTheEntryAndIsDropped) {
  ScriptChannel line(CallerScript{{"12#34", "#5", "7*8"}});
  EXPECT_EQ(collect(line).digits, "12");
  EXPECT_EQ(collect(line).digits, "");  // terminator first: nothing collected
  EXPECT_EQ(collect(line, 20, '*').digits, "7");
}

TEST(ScriptChannelTest, NoTerminatorKeepsEveryKey) {
  ScriptChannel line(CallerScript{{"12#34"}});
  EXPECT_EQ(collect(line, 20, '\0').digits, "12#34");
}

TEST(ScriptChannelTest, MaxDigitsDropsTheRest) {
  ScriptChannel line(CallerScript{{"123456", "9#", "12"}});
  EXPECT_EQ(collect(line, 4).digits, "1234");
  EXPECT_EQ(collect(line, 1).digits, "9");
  // The rest of an entry is not kept for the next collection.
  EXPECT_EQ(collect(line, 1).digits, "1");
  EXPECT_EQ(collect(line, 1).digits, "");
}

TEST(ScriptChannelTest, EmptyEntryOrNoneLeftIsSilence) {
  ScriptChannel line(CallerScript{{"", "5"}});
  DigitResult first = collect(line);
  EXPECT_EQ(first.status, LineStatus::kDone);
  EXPECT_EQ(first.digits, "");
  EXPECT_EQ(collect(line).digits, "5");
  for (int i = 0; i < 3; ++i) {
    DigitResult after = collect(line);
    EXPECT_EQ(after.status, LineStatus::kDone);
    EXPECT_EQ(after.digits, "");
  }
}

TEST(ScriptChannelTest, HangsUpOnEnteringTheElement) {
  ScriptChannel line(CallerScript{{"1", "2"}, "Bye"});
  line.enter("Welcome");
  EXPECT_FALSE(line.hungUp());
  EXPECT_EQ(runAwaitable(line.say(Speech{"hi", ""})), LineStatus::kDone);
  EXPECT_EQ(collect(line).digits, "1");
  line.enter("Byebye");
  EXPECT_FALSE(line.hungUp());
  line.enter("Bye");
  EXPECT_TRUE(line.hungUp());
  EXPECT_EQ(collect(line).status, LineStatus::kHungUp);
  EXPECT_EQ(runAwaitable(line.say(Speech{"hi", ""})), LineStatus::kHungUp);
  std::vector<std::string> files{"a.wav"};
  EXPECT_EQ(runAwaitable(line.play(files)), LineStatus::kHungUp);
  EXPECT_EQ(runAwaitable(line.transfer("sip:desk@example.com")), LineStatus::kHungUp);
  // Staying hung up on entering others.
  line.enter("Welcome");
  EXPECT_TRUE(line.hungUp());
}

TEST(ScriptChannelTest, NoHangupWhenNotScripted) {
  ScriptChannel line(CallerScript{});
  line.enter("");
  line.enter("Bye");
  EXPECT_FALSE(line.hungUp());
}

TEST(ScriptChannelTest, Transfers) {
  ScriptChannel ok(CallerScript{});
  EXPECT_EQ(runAwaitable(ok.transfer("+15550100")), LineStatus::kDone);
  CallerScript failing;
  failing.fail_transfers = true;
  ScriptChannel refused(failing);
  EXPECT_EQ(runAwaitable(refused.transfer("+15550100")), LineStatus::kFailed);
}

TEST(ScriptChannelTest, HoldAndPlay) {
  ScriptChannel line(CallerScript{});
  std::vector<std::string> files{"please-wait.wav"};
  EXPECT_FALSE(line.holding());
  line.startHold(files);
  EXPECT_TRUE(line.holding());
  line.stopHold();
  EXPECT_FALSE(line.holding());
  EXPECT_EQ(runAwaitable(line.play(files)), LineStatus::kDone);
  runAwaitable(line.hangup());
  EXPECT_FALSE(line.hungUp());  // the flow hanging up is not the caller hanging up
}

}  // namespace
}  // namespace callflow
