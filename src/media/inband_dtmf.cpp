#include "media/inband_dtmf.h"

#include <new>

extern "C" {
#include <spandsp.h>
}

namespace callflow::media {

struct InbandDtmf::State {
  dtmf_rx_state_t* rx = nullptr;
  std::string* out = nullptr;  // where the callback appends, during feed()
};

InbandDtmf::InbandDtmf() : state_(std::make_unique<State>()) {
  auto on_digits = [](void* user, const char* digits, int count) {
    auto* state = static_cast<State*>(user);
    if (state->out != nullptr && count > 0) {
      state->out->append(digits, static_cast<std::size_t>(count));
    }
  };
  state_->rx = dtmf_rx_init(nullptr, on_digits, state_.get());
  if (state_->rx == nullptr) throw std::bad_alloc();
}

InbandDtmf::~InbandDtmf() {
  if (state_->rx != nullptr) dtmf_rx_free(state_->rx);
}

void InbandDtmf::feed(std::span<const std::int16_t> samples, std::string& digits) {
  state_->out = &digits;
  dtmf_rx(state_->rx, samples.data(), static_cast<int>(samples.size()));
  state_->out = nullptr;
}

}  // namespace callflow::media
