// The SDP of a call on libre: the audio we offer and answer with, and what we read from the
// caller's description. Shared by sip_stack.cpp and the SDP fuzz target (fuzz/sdp_fuzz.cpp), so
// that the fuzzer runs the code calls run. Like sip/libre.h, only for files that speak to libre.
#pragma once

#include <string>
#include <string_view>

#include "sip/libre.h"
#include "sip/sip_stack.h"

namespace callflow::sip {

// An address as text ("192.0.2.1", "::1"); empty when libre cannot print it.
std::string addressText(const sa& address);

// Our audio in `session`: RTP/AVP with PCMU, PCMA and telephone-event 0-15. libre's error code.
int addAudio(sdp_session* session, sdp_media** media);

// The media of a call as the caller's SDP (`body`, already decoded into `media`) describes
// it; false when no codec is common.
bool readRemote(sdp_media* media, std::string_view body, MediaDescription& out);

}  // namespace callflow::sip
