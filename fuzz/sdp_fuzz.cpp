// Fuzz target 5: libre 1.1.0's SDP decoder on the session src/sip/sip_stack.cpp builds for a
// call (onInvite: audio on RTP/AVP with PCMU, PCMA and telephone-event 0-15), then what its
// readRemote (file-static there) reads back: the formats, the remote address, port and
// direction. The input is up to three bodies split at NUL bytes: the INVITE's offer, a
// re-INVITE's offer (onOffer) and an answer to our offer (onAnswer, offer=false), all decoded
// into the same session as a call's would be.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

extern "C" {
#include <re.h>
}
#undef VERSION
#undef OS
#undef ARCH
#undef MIN
#undef MAX
#undef ARRAY_SIZE

namespace {

// What readRemote reads from the decoded media.
void readRemote(const sdp_media* media) {
  for (le* e = list_head(sdp_media_format_lst(media, false)); e != nullptr; e = e->next) {
    const auto* format = static_cast<const sdp_format*>(e->data);
    if (format->name != nullptr) (void)std::strlen(format->name);
    (void)format->pt;
    (void)format->srate;
  }
  const sa* address = sdp_media_raddr(media);
  if (address != nullptr) {
    char text[64];
    (void)sa_ntop(address, text, sizeof text);
    (void)sa_is_any(address);
  }
  (void)sdp_media_rport(media);
  (void)sdp_media_rdir(media);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  sa local{};
  if (sa_set_str(&local, "127.0.0.1", 5060) != 0) return 0;
  sdp_session* session = nullptr;
  sdp_media* media = nullptr;
  int err = sdp_session_alloc(&session, &local);
  if (err == 0) err = sdp_media_add(&media, session, "audio", 0, "RTP/AVP");
  if (err == 0) {
    err = sdp_format_add(nullptr, media, false, "0", "PCMU", 8000, 1, nullptr, nullptr, nullptr,
                         false, nullptr);
  }
  if (err == 0) {
    err = sdp_format_add(nullptr, media, false, "8", "PCMA", 8000, 1, nullptr, nullptr, nullptr,
                         false, nullptr);
  }
  if (err == 0) {
    err = sdp_format_add(nullptr, media, false, "101", "telephone-event", 8000, 1, nullptr, nullptr,
                         nullptr, false, "0-15");
  }
  if (err == 0) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    for (int part = 0; part < 3 && !input.empty(); ++part) {
      std::string_view body = input.substr(0, input.find('\0'));
      input.remove_prefix(std::min(input.size(), body.size() + 1));
      mbuf* mb = mbuf_alloc(body.size() + 1);
      if (mb == nullptr) break;
      (void)mbuf_write_mem(mb, reinterpret_cast<const std::uint8_t*>(body.data()), body.size());
      mbuf_set_pos(mb, 0);
      if (sdp_decode(session, mb, part < 2) == 0) readRemote(media);
      mem_deref(mb);
    }
  }
  mem_deref(session);
  return 0;
}
