// Fuzz target 4: libre 1.1.0's SIP message decoder (sip_msg_decode on an mbuf, as its UDP and
// TCP transports call it on what arrives), then what the stack and src/sip/sip_stack.cpp read
// from a message: each header through its own decoder (Via, From/To/Contact/P-Asserted-Identity,
// CSeq, Event, Subscription-State), the Content-Type, Require, the body, and for an INVITE the
// dialog sipsess_accept builds (sip_dialog_accept), compared and updated from the same message.
// Nobody fuzzes libre upstream (RELIABILITY.md 3.3). No invariant of ours: ASan and UBSan
// watch libre, which is instrumented when built from source (fuzz/CMakeLists.txt).
#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "sip/libre.h"

namespace {

bool decodeHeader(const sip_hdr* hdr, const sip_msg*, void*) {
  switch (hdr->id) {
    case SIP_HDR_VIA: {
      sip_via via{};
      (void)sip_via_decode(&via, &hdr->val);
      break;
    }
    case SIP_HDR_FROM:
    case SIP_HDR_TO:
    case SIP_HDR_CONTACT:
    case SIP_HDR_RECORD_ROUTE:
    case SIP_HDR_REFER_TO: {
      sip_addr addr{};
      (void)sip_addr_decode(&addr, &hdr->val);
      break;
    }
    case SIP_HDR_CSEQ: {
      sip_cseq cseq{};
      (void)sip_cseq_decode(&cseq, &hdr->val);
      break;
    }
    case SIP_HDR_EVENT: {
      sipevent_event event{};
      (void)sipevent_event_decode(&event, &hdr->val);
      break;
    }
    case SIP_HDR_SUBSCRIPTION_STATE: {
      sipevent_substate state{};
      (void)sipevent_substate_decode(&state, &hdr->val);
      break;
    }
    default:
      break;
  }
  return false;  // every header
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  mbuf* mb = mbuf_alloc(size);
  if (mb == nullptr) return 0;
  (void)mbuf_write_mem(mb, data, size);
  mbuf_set_pos(mb, 0);

  sip_msg* msg = nullptr;
  if (sip_msg_decode(&msg, mb) == 0) {
    (void)sip_msg_hdr_apply(msg, true, SIP_HDR_VIA, nullptr, nullptr);
    for (sip_hdrid id :
         {SIP_HDR_VIA, SIP_HDR_FROM, SIP_HDR_TO, SIP_HDR_CONTACT, SIP_HDR_RECORD_ROUTE,
          SIP_HDR_REFER_TO, SIP_HDR_CSEQ, SIP_HDR_EVENT, SIP_HDR_SUBSCRIPTION_STATE}) {
      (void)sip_msg_hdr_apply(msg, true, id, decodeHeader, nullptr);
    }
    (void)sip_msg_xhdr_apply(
        msg, true, "P-Asserted-Identity",
        [](const sip_hdr* hdr, const sip_msg*, void*) {
          sip_addr addr{};
          (void)sip_addr_decode(&addr, &hdr->val);
          return false;
        },
        nullptr);
    (void)sip_msg_hdr(msg, SIP_HDR_REQUIRE);
    (void)sip_msg_hdr_has_value(msg, SIP_HDR_SUPPORTED, "100rel");
    (void)sip_msg_hdr_count(msg, SIP_HDR_VIA);
    (void)msg_ctype_cmp(&msg->ctyp, "application", "sdp");
    (void)pl_cmp(&msg->cseq.met, &msg->met);
    (void)pl_strcasecmp(&msg->uri.scheme, "sip");
    if (msg->req && pl_strcmp(&msg->met, "INVITE") == 0) {
      sip_dialog* dialog = nullptr;
      if (sip_dialog_accept(&dialog, msg) == 0) {
        (void)sip_dialog_cmp(dialog, msg);
        (void)sip_dialog_rseq_valid(dialog, msg);
        (void)sip_dialog_update(dialog, msg);
        mem_deref(dialog);
      }
    }
    mem_deref(msg);
  }
  mem_deref(mb);
  return 0;
}
