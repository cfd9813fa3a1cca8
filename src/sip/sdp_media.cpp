#include "sip/sdp_media.h"

#include <strings.h>

#include <initializer_list>
#include <optional>
#include <utility>

namespace callflow::sip {
namespace {

// The direction the caller's SDP states for its audio: the audio section's attribute, else the
// session's, else sendrecv. (Read from the text: libre 1.1 keeps the first offer's direction
// across a re-INVITE's decode.)
sdp_dir offeredDirection(std::string_view sdp) {
  auto directionIn = [](std::string_view part) -> std::optional<sdp_dir> {
    for (auto [name, dir] :
         {std::pair{"a=sendonly", SDP_SENDONLY}, std::pair{"a=recvonly", SDP_RECVONLY},
          std::pair{"a=inactive", SDP_INACTIVE}, std::pair{"a=sendrecv", SDP_SENDRECV}}) {
      std::size_t at = part.find(name);
      if (at != std::string_view::npos && (at == 0 || part[at - 1] == '\n')) return dir;
    }
    return std::nullopt;
  };
  std::size_t audio = sdp.find("m=audio");
  std::string_view session = sdp.substr(0, audio);
  if (audio != std::string_view::npos) {
    std::string_view section = sdp.substr(audio);
    section = section.substr(0, section.find("\nm=", 1));
    if (auto dir = directionIn(section)) return *dir;
  }
  return directionIn(session).value_or(SDP_SENDRECV);
}

}  // namespace

std::string addressText(const sa& address) {
  char text[64] = {};
  if (sa_ntop(&address, text, sizeof text) != 0) return {};
  return text;
}

int addAudio(sdp_session* session, sdp_media** media) {
  int err = sdp_media_add(media, session, "audio", 0, "RTP/AVP");
  if (err == 0) {
    err = sdp_format_add(nullptr, *media, false, "0", "PCMU", 8000, 1, nullptr, nullptr, nullptr,
                         false, nullptr);
  }
  if (err == 0) {
    err = sdp_format_add(nullptr, *media, false, "8", "PCMA", 8000, 1, nullptr, nullptr, nullptr,
                         false, nullptr);
  }
  if (err == 0) {
    err = sdp_format_add(nullptr, *media, false, "101", "telephone-event", 8000, 1, nullptr,
                         nullptr, nullptr, false, "0-15");
  }
  return err;
}

// The media of a call as the caller's SDP (`body`, already decoded into `media`) describes
// it; false when no codec is common.
bool readRemote(sdp_media* media, std::string_view body, MediaDescription& out) {
  out = MediaDescription{};
  int chosen = -1;
  const list* formats = sdp_media_format_lst(media, false);
  for (le* e = list_head(formats); e != nullptr; e = e->next) {
    const auto* format = static_cast<const sdp_format*>(e->data);
    std::string name = format->name != nullptr ? format->name : "";
    if (name.empty() && format->pt == 0) name = "PCMU";  // static types may come bare
    if (name.empty() && format->pt == 8) name = "PCMA";
    bool narrow = format->srate == 8000 || format->srate == 0;
    if (chosen < 0 && narrow &&
        (strcasecmp(name.c_str(), "PCMU") == 0 || strcasecmp(name.c_str(), "PCMA") == 0)) {
      chosen = strcasecmp(name.c_str(), "PCMU") == 0 ? 0 : 8;
    }
    if (out.telephone_event_pt < 0 && strcasecmp(name.c_str(), "telephone-event") == 0 &&
        format->srate == 8000) {
      out.telephone_event_pt = format->pt;
    }
  }
  if (chosen < 0) return false;
  out.payload_type = chosen;
  const sa* address = sdp_media_raddr(media);
  out.remote_port = sdp_media_rport(media);
  out.remote_ip = address != nullptr ? addressText(*address) : std::string();
  sdp_dir dir = body.empty() ? sdp_media_rdir(media) : offeredDirection(body);
  bool null_address = address == nullptr || sa_is_any(address);
  out.send = !null_address && out.remote_port != 0 && (dir == SDP_SENDRECV || dir == SDP_RECVONLY);
  return true;
}

}  // namespace callflow::sip
