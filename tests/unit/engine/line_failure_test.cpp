// A line that cannot give what an element asked for (speech that cannot be made, a prompt that
// cannot be read; RELIABILITY.md row P12): TextToSpeech and Play take `error` when the flow
// wires it, else go on by `output`; the call is never dropped for it and the trace says why.
#include <gtest/gtest.h>

#include <string>

#include "elements/elements.h"
#include "engine/runner.h"
#include "engine/script_channel.h"
#include "flow/flow.h"

namespace callflow {
namespace {

// A scripted caller whose line fails every say and play, as a real line does for a rendered
// text over the engine's limit or a missing prompt file.
class FailingLine : public ScriptChannel {
 public:
  FailingLine() : ScriptChannel(CallerScript{}) {}
  boost::asio::awaitable<LineStatus> say(Speech) override { co_return LineStatus::kFailed; }
  boost::asio::awaitable<LineStatus> play(std::span<const std::string>) override {
    co_return LineStatus::kFailed;
  }
  std::string_view failure() const override { return "the text is too long"; }
};

Call runThrough(std::string_view text) {
  LoadedFlow loaded = loadFlow(text, elementTypes());
  EXPECT_TRUE(loaded.flow);
  Call call = makeCall(*loaded.flow, "+441632960001", "100");
  FailingLine line;
  runCallToEnd(*loaded.flow, call, line);
  return call;
}

TEST(LineFailureTest, AWiredErrorExitIsTaken) {
  Call call = runThrough(R"({"format": 1, "name": "F", "start": "Say", "elements": [
    {"name": "Say", "type": "TextToSpeech", "text": "hello",
     "next": {"output": "Bye", "error": "Sorry"}},
    {"name": "Sorry", "type": "Hangup", "resultCode": "speech-failed"},
    {"name": "Bye", "type": "Hangup"}]})");
  ASSERT_EQ(call.trace().steps.size(), 2u);
  EXPECT_EQ(call.trace().steps[0].exit, ExitKind::kError);
  EXPECT_EQ(call.trace().steps[0].note, "the speech could not be played: the text is too long");
  EXPECT_EQ(call.result(0).error, "the speech could not be played: the text is too long");
  EXPECT_EQ(call.trace().result_code, "speech-failed");
}

TEST(LineFailureTest, AnUnwiredErrorGoesOnByOutput) {
  Call call = runThrough(R"({"format": 1, "name": "F", "start": "Say", "elements": [
    {"name": "Say", "type": "TextToSpeech", "text": "hello", "next": {"output": "Tune"}},
    {"name": "Tune", "type": "Play", "phrase": ["tune.wav"], "next": {"output": "Bye"}},
    {"name": "Bye", "type": "Hangup", "resultCode": "reached-the-end"}]})");
  ASSERT_EQ(call.trace().steps.size(), 3u);
  EXPECT_EQ(call.trace().steps[0].exit, ExitKind::kError);
  EXPECT_EQ(call.trace().steps[1].note, "the audio could not be played: the text is too long");
  EXPECT_EQ(call.trace().result_code, "reached-the-end");
}

}  // namespace
}  // namespace callflow
