// Fuzz target 5: libre 1.1.0's SDP decoder on the session a call builds (src/sip/sdp_media.cpp's
// addAudio: RTP/AVP with PCMU, PCMA and telephone-event 0-15), then the project's own readRemote
// on it, as sip_stack.cpp calls it: the codec chosen, the remote address, port and direction. The
// input is up to three bodies split at NUL bytes: the INVITE's offer, a re-INVITE's offer
// (onOffer) and an answer to our offer (onAnswer, offer=false), all decoded into the same session
// as a call's would be.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sip/sdp_media.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  sa local{};
  if (sa_set_str(&local, "127.0.0.1", 5060) != 0) return 0;
  sdp_session* session = nullptr;
  sdp_media* media = nullptr;
  int err = sdp_session_alloc(&session, &local);
  if (err == 0) err = callflow::sip::addAudio(session, &media);
  if (err == 0) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    for (int part = 0; part < 3 && !input.empty(); ++part) {
      std::string_view body = input.substr(0, input.find('\0'));
      input.remove_prefix(std::min(input.size(), body.size() + 1));
      mbuf* mb = mbuf_alloc(body.size() + 1);
      if (mb == nullptr) break;
      (void)mbuf_write_mem(mb, reinterpret_cast<const std::uint8_t*>(body.data()), body.size());
      mbuf_set_pos(mb, 0);
      if (sdp_decode(session, mb, part < 2) == 0) {
        callflow::sip::MediaDescription description;
        (void)callflow::sip::readRemote(media, body, description);
      }
      mem_deref(mb);
    }
  }
  mem_deref(session);
  return 0;
}
