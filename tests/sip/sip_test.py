#!/usr/bin/env python3
"""`callflow serve --sip` as a caller meets it: SIPp calls (and, when installed, two baresip calls)
against the server on 127.0.0.1, each case checked on the wire (SIPp's exit status and the
messages it saw), in the call record (`callflow calls list --json`: status, resultCode,
hungUpBy, path) and, for the full calls, in the RTP the server sent (payload type, sequence and
timestamp continuity, and the length of the played tone counted in 20 ms frames).

Usage: sip_test.py [--fake] PATH_TO_callflow REPO_ROOT

--fake runs every caller scenario against a SIPp UAS that imitates the server
(tests/sip/fake/*.xml) instead of `callflow serve`, with the same wire and RTP checks and no
call-record checks: it shows that the scenarios, the flows and the analysis work before the
server does. The flows are still checked with `callflow check`.

Python 3 standard library only (SIPp from the package sip-tester). Every check prints its name;
the end prints "N passed, M failed" and the exit status is non-zero when any check failed. The
server always runs on 127.0.0.1 on free ports and is killed at the end whatever happens.
No check depends on the machine's speed: waits are bounded and scaled by SLOW, durations are
counted in RTP frames.
"""
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sipkit  # noqa: E402

args = [a for a in sys.argv[1:] if a != "--fake"]
FAKE = "--fake" in sys.argv[1:]
if len(args) != 2:
    sys.exit("usage: sip_test.py [--fake] PATH_TO_callflow REPO_ROOT")
CALLFLOW = os.path.abspath(args[0])
ROOT = os.path.abspath(args[1])
SIP_DIR = os.path.join(ROOT, "tests", "sip")
SCENARIOS = os.path.join(SIP_DIR, "scenarios")
FAKES = os.path.join(SIP_DIR, "fake")
FLOWS = os.path.join(SIP_DIR, "flows")
DTMF_PCAP = "/usr/share/sip-tester/dtmf_2833_%s.pcap"


sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
import harness  # noqa: E402

SLOW = harness.slowdown(CALLFLOW)  # every wait is scaled by this
T = harness.Checks()
check, skip, info, safe = T.check, T.skip, T.info, T.safe
ENV = harness.clean_env()


def cli(*cli_args, timeout=30):
    return harness.run_cli(CALLFLOW, *cli_args, timeout=timeout, env=ENV, slow=SLOW)


# --- test material -------------------------------------------------------------------------------

TONE_SECONDS = 1.5      # tone-1500ms.wav, the Play part the full call measures
GAP_SECONDS = 1.0       # gap-1s.wav, silence before the tone
WAV_RATE = 16000        # the server resamples (prompts may have any rate)
TOLERANCE_MS = 80


BARGE_PROMPT_SECONDS = 6  # the barge-in case's Menu prompt; the caller's key comes at about 1 s


def make_prompts(directory):
    os.makedirs(directory, exist_ok=True)
    sipkit.write_wav(os.path.join(directory, "tone-1500ms.wav"),
                     sipkit.tone(TONE_SECONDS, WAV_RATE, 440.0, 8000.0), WAV_RATE)
    sipkit.write_wav(os.path.join(directory, "gap-1s.wav"),
                     sipkit.silence(GAP_SECONDS, WAV_RATE), WAV_RATE)
    sipkit.write_wav(os.path.join(directory, "beep-200ms.wav"),
                     sipkit.tone(0.2, WAV_RATE, 1000.0, 6000.0), WAV_RATE)
    sipkit.write_wav(os.path.join(directory, "tone-6s.wav"),
                     sipkit.tone(BARGE_PROMPT_SECONDS, WAV_RATE, 440.0, 8000.0), WAV_RATE)


def make_fake_audio_pcap(path, pt):
    """What the fake IVR plays for the full call: 0.8 s of speech-like bursts (the TTS), the
    1 s gap, the 1.5 s tone, 0.2 s of silence; G.711 (PT) at 8 kHz, one continuous RTP
    stream."""
    rate = 8000
    samples = (sipkit.speechlike(0.8, rate) + sipkit.silence(GAP_SECONDS, rate)
               + sipkit.tone(TONE_SECONDS, rate, 440.0, 8000.0) + sipkit.silence(0.2, rate))
    sipkit.write_rtp_pcap(path, sipkit.g711_rtp_stream(samples, pt))


class SlowApi(http.server.BaseHTTPRequestHandler):
    """GET /slow?case=NAME: noted, then answered after 8 s (or at once when the test ends)."""
    protocol_version = "HTTP/1.1"
    hits = []
    stop = threading.Event()

    def do_GET(self):  # noqa: N802 - http.server's name
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        SlowApi.hits.append(query.get("case", [""])[0])
        SlowApi.stop.wait(8)
        body = b'{"Value": "late"}'
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the server gave up on us: that is the point

    def log_message(self, *log_args):
        pass


# --- the server (or nothing, with --fake) --------------------------------------------------------

class Server:
    """One `callflow serve --sip` process; stderr goes to a file that the checks read."""

    def __init__(self, work, name, flow, routes, max_calls, prompts, allow=()):
        self.work, self.name = work, name
        self.allow = list(allow)  # ApiRequest's allowlist: the test's stubs
        self.db = os.path.join(work, name + ".db")
        self.sip_port = sipkit.free_port(udp=True, tcp=True)
        self.http_port = sipkit.free_port(udp=False, tcp=True)
        self.flow, self.routes, self.max_calls, self.prompts = flow, routes, max_calls, prompts
        self.process = None
        self.err_path = os.path.join(work, name + ".err")
        base = 20000 + 2 * (os.getpid() % 2000) + (400 if name != "main" else 0)
        self.rtp_ports = "%d-%d" % (base, base + 199)

    def argv(self):
        argv = [CALLFLOW, "serve", "--db", self.db, "--http", "127.0.0.1:%d" % self.http_port,
                "--sip", "127.0.0.1:%d" % self.sip_port, "--flow", self.flow,
                "--prompts", self.prompts, "--max-calls", str(self.max_calls),
                "--rtp-ports", self.rtp_ports]
        for rule in self.allow:
            argv += ["--allow", rule]
        # The transfer allowlist: the targets of the transfer flows, not transfer_denied's.
        for pattern in ("sip:desk@example.com", "sip:agent@example.com"):
            argv += ["--transfer-allow", pattern]
        for number, path in self.routes:
            argv += ["--route", "%s=%s" % (number, path)]
        return argv

    def start(self):
        self.err_file = open(self.err_path, "wb")
        self.process = subprocess.Popen(self.argv(), stdout=subprocess.DEVNULL,
                                        stderr=self.err_file, env=ENV)
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if sipkit.sip_options(self.sip_port, timeout=0.2) == 200:
                return True
            time.sleep(0.05)
        return False

    def stderr(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def records(self):
        status, out, err = cli("calls", "list", "--db", self.db, "--json", "--limit", "1000")
        if status != 0:
            return None
        try:
            return json.loads(out)
        except ValueError:
            return None

    def kill(self, sig=signal.SIGKILL):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15 * SLOW)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process:
            self.err_file.close()
        return self.process.returncode if self.process else None


def wait_bound(port, tcp=False, timeout=5.0):
    """Until something (the fake SIPp) holds 127.0.0.1:PORT: binding it fails."""
    deadline = time.monotonic() + timeout * SLOW
    kind = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
        finally:
            s.close()
        time.sleep(0.02)
    return False


# --- cases ---------------------------------------------------------------------------------------

class Case:
    def __init__(self, name, scenario, fake, dnis, flow=None, keys=None, sets=None, calls=1,
                 rate=None, record=None, records=1, transport="u1", fake_calls=None,
                 codec="PCMU", audio=False, digit=None, barge=False):
        self.name, self.scenario, self.fake, self.dnis = name, scenario, fake, dnis
        self.flow = flow
        self.keys = dict(keys or {})
        self.sets = dict(sets or {})
        self.calls, self.rate = calls, rate
        self.record = record          # expected fields of the call record(s)
        self.records = records        # how many records the case leaves
        self.transport = transport
        self.fake_calls = fake_calls or calls
        self.codec = codec            # the codec the IVR must choose (full calls)
        self.audio = audio            # analyse the IVR's RTP (full calls)
        self.digit = digit            # the DTMF digit the caller sends
        self.barge = barge            # the digit must cut the prompt short (barge-in)


CALLER = "441632960"   # + two digits per case: the From user part


def cases():
    out = [
        Case("full call", "full_call.xml", "answer_play_bye.xml", "7000", flow=None,
             keys={"pai": "441632960999"}, audio=True,
             record={"status": "completed", "resultCode": "completed", "hungUpBy": "flow",
                     "flow": "SipFullCall", "path": ["Greet", "Tone", "Bye"]}),
        Case("full call, PCMA only", "full_call_pcma.xml", "answer_play_bye.xml", "7010",
             flow="full_call.json", codec="PCMA", audio=True,
             record={"status": "completed", "resultCode": "completed", "hungUpBy": "flow",
                     "flow": "SipFullCall", "path": ["Greet", "Tone", "Bye"]}),
        Case("menu, DTMF 1", "menu_dtmf.xml", "answer_wait_bye.xml", "7001", flow="menu.json",
             keys={"dtmf_pcap": DTMF_PCAP % "1"}, digit="1",
             record={"status": "completed", "resultCode": "sales", "hungUpBy": "flow",
                     "flow": "SipMenu", "path": ["Main", "Sales"]}),
        Case("menu, DTMF 2", "menu_dtmf.xml", "answer_wait_bye.xml", "7002", flow="menu.json",
             keys={"dtmf_pcap": DTMF_PCAP % "2"}, digit="2",
             record={"status": "completed", "resultCode": "support", "hungUpBy": "flow",
                     "path": ["Main", "Support"]}),
        Case("menu, no key", "full_call.xml", "answer_wait_bye.xml", "7003", flow="menu.json",
             keys={"pai": CALLER + "03"},
             record={"status": "completed", "resultCode": "noinput", "hungUpBy": "flow",
                     "path": ["Main", "NoInput"]}),
        Case("caller BYE during ApiRequest", "bye_during_api.xml", "answer_await_bye.xml", "7004",
             flow="api_hangup.json",
             record={"status": "completed", "resultCode": "api", "hungUpBy": "caller",
                     "path": ["Slow"]}),
        Case("CANCEL before answer", "cancel_before_answer.xml", "ring_cancel.xml", "7005",
             flow="api_cancel.json",
             record={"status": "completed", "resultCode": "ringing", "hungUpBy": "caller",
                     "path": ["Lookup"]}),
        Case("Transfer before answer: 302", "redirect_302.xml", "redirect_302.xml", "7006",
             flow="transfer_302.json",
             keys={"target": "sip:desk@example.com"},
             record={"status": "completed", "resultCode": "redirected", "hungUpBy": "transfer",
                     "path": ["Xfer"]}),
        Case("Transfer by REFER, sipfrag 100 then 200", "refer_accepted.xml",
             "answer_refer_progress.xml", "7007",
             flow="transfer_refer.json",
             keys={"target": "sip:agent@example.com"},
             record={"status": "completed", "resultCode": "transferred", "hungUpBy": "transfer",
                     "path": ["Hello", "Xfer"]}),
        Case("Transfer by REFER, sipfrag 486", "refer_busy.xml", "answer_refer.xml", "7008",
             flow="transfer_refer.json",
             keys={"target": "sip:agent@example.com"},
             record={"status": "completed", "resultCode": "transfer-failed", "hungUpBy": "flow",
                     "path": ["Hello", "Xfer", "Failed", "FailedBye"]}),
        Case("Transfer outside the allowlist: no REFER, the error exit", "full_call.xml",
             "answer_play_bye.xml", "7017", flow="transfer_denied.json",
             record={"status": "completed", "resultCode": "transfer-failed", "hungUpBy": "flow",
                     "path": ["Hello", "Xfer", "Failed", "FailedBye"]}),
        Case("barge-in: a digit stops the Menu prompt", "menu_dtmf.xml", None, "7014",
             flow="barge_in.json", keys={"dtmf_pcap": DTMF_PCAP % "1"}, digit="1", barge=True,
             record={"status": "completed", "resultCode": "sales", "hungUpBy": "flow",
                     "path": ["Main", "Sales"]}),
        Case("hold and unhold by re-INVITE", "reinvite_hold.xml", None, "7013",
             flow="long_call.json",
             record={"status": "completed", "resultCode": "long", "hungUpBy": "caller",
                     "path": ["Hold"]}),
        Case("codec mismatch: 488", "codec_mismatch.xml", "reject_488.xml", "7009",
             flow="full_call.json", records=None),
        Case("OPTIONS over UDP", "options.xml", "options_200.xml", "ping", records=0),
        Case("OPTIONS over TCP", "options.xml", "options_200.xml", "ping", records=0,
             transport="t1"),
    ]
    for i, c in enumerate(out):
        c.keys.setdefault("caller", CALLER + "%02d" % i)
        c.keys.setdefault("pai", c.keys["caller"])
        c.keys.setdefault("target", "sip:nobody@example.com")
        c.keys.setdefault("dtmf_pcap", DTMF_PCAP % "1")
    return out


BURST_CALLS = 8
BURST_LIMIT = 3


def record_of(server, dnis, known, want, wait=8.0):
    """The records of calls to DNIS not in KNOWN (uuids), once there are WANT of them (or the
    wait is over): the record is written behind the call."""
    deadline = time.monotonic() + wait * SLOW
    found = []
    while True:
        records = server.records() or []
        found = [r for r in records if r.get("uuid") not in known
                 and dnis in str(r.get("to", ""))]
        if len(found) >= want and all(r.get("status") not in ("open", "") for r in found):
            return found
        if time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


def sdp_answer(result):
    """(payload types of m=audio, rtpmap lines, connection address, port) of the 200 OK."""
    oks = [m for m in result.received(r"^SIP/2\.0 200") if "m=audio" in m["text"]]
    if not oks:
        return None
    sdp = sipkit.body(oks[0]["text"])
    m = re.search(r"^m=audio (\d+) RTP/AVP ([\d ]+)", sdp, re.M)
    c = re.search(r"^c=IN IP4 (\S+)", sdp, re.M)
    if not m:
        return None
    return {"port": int(m.group(1)), "pts": [int(x) for x in m.group(2).split()],
            "rtpmap": re.findall(r"^a=rtpmap:(\d+) ([^\r\n]+)", sdp, re.M),
            "address": c.group(1) if c else None, "text": sdp}


def check_sdp_answer(name, result, codec=None):
    """The 200 OK's SDP: G.711 first (CODEC's PT when given), telephone-event 101 kept."""
    answer = sdp_answer(result)
    if not check(name + ": the 200 OK carries an SDP answer", answer is not None,
                 result.summary()):
        return None
    first = answer["pts"][0] if answer["pts"] else None
    if codec:
        pt = {"PCMU": 0, "PCMA": 8}[codec]
        rtpmap = {p: enc.strip().upper() for p, enc in answer["rtpmap"]}
        # a static payload type may come without its rtpmap line
        check(name + ": the answer chooses %s (%d): %s" % (codec, pt, answer["pts"]),
              first == pt and rtpmap.get(str(pt), "%s/8000" % codec) == "%s/8000" % codec,
              answer["text"])
    else:
        check(name + ": the answer chooses PCMU (0) or PCMA (8) first: %s" % answer["pts"],
              first in (0, 8), answer["text"])
    check(name + ": the answer keeps telephone-event/8000 on PT 101 (as offered)",
          ("101", "telephone-event/8000") in [(pt, enc.strip()) for pt, enc in answer["rtpmap"]]
          and 101 in answer["pts"], answer["text"])
    check(name + ": the answer's address is 127.0.0.1", answer["address"] == "127.0.0.1",
          answer["text"])
    return answer


def check_audio(name, packets, answer_pt):
    """The full call's RTP: payload type, continuity, and the tone's length in frames."""
    if not check(name + ": RTP arrived on the port of our SDP offer (%d packets)" % len(packets),
                 len(packets) > 0):
        return
    pts = sorted({p["pt"] for p in packets})
    check(name + ": every RTP packet has PT %s (the answer's codec)" % answer_pt,
          pts == [answer_pt], pts)
    ordered = sipkit.in_seq_order(packets)
    check(name + ": RTP arrives in sequence order", ordered == packets)
    problems = sipkit.continuity_problems(ordered)
    check(name + ": seq +1 and timestamp +160 per packet, one SSRC, 160-byte payloads",
          not problems, "\n".join(problems))
    levels = sipkit.frame_levels(ordered)
    segments = sipkit.voiced_segments(levels)
    described = ", ".join("%d-%d (%d ms)" % (a, b, (b - a + 1) * 20) for a, b in segments)
    info("voiced stretches in frames: " + (described or "none"))
    if not check(name + ": the tone is heard (a voiced stretch)", len(segments) >= 1):
        return
    first, last = segments[-1]
    tone_ms = (last - first + 1) * sipkit.FRAME_MS
    check(name + ": the Play's tone lasts %d ms, within %d ms of %d ms" % (
        tone_ms, TOLERANCE_MS, TONE_SECONDS * 1000),
        abs(tone_ms - TONE_SECONDS * 1000) <= TOLERANCE_MS, described)
    span, voiced = sipkit.speech_measure(levels[first:last + 1])
    check(name + ": the tone is voiced throughout (%d of %d ms)" % (voiced, span),
          voiced >= span - 2 * sipkit.FRAME_MS, described)
    if check(name + ": the TextToSpeech part is heard before the tone", len(segments) >= 2,
             described):
        gap_ms = (first - segments[-2][1] - 1) * sipkit.FRAME_MS
        check(name + ": at least %d ms of silence between speech and tone (%d ms)" % (
            GAP_SECONDS * 1000 - TOLERANCE_MS, gap_ms),
            gap_ms >= GAP_SECONDS * 1000 - TOLERANCE_MS, described)


def uri_of(value):
    """The URI in a header value: inside <...>, else up to the first ';'."""
    if value is None:
        return None
    m = re.search(r"<([^>]*)>", value)
    return (m.group(1) if m else value.split(";", 1)[0]).strip()


def check_dtmf_sent(name, packets, digit):
    """(--fake only) SIPp's pcap replay reached the address of the fake's SDP answer."""
    events = [sipkit.parse_telephone_event(p["payload"]) for p in packets if p["pt"] == 101]
    events = [e for e in events if e]
    check(name + ": the fake IVR received RFC 4733 event %s (PT 101, %d packets, end bit set)"
          % (digit, len(events)),
          events and all(e[0] == int(digit) for e in events) and any(e[1] for e in events),
          events)


class Context:
    pass


def run_case(c, case):
    name = case.name
    rtp = sipkit.RtpReceiver()
    keys = dict(case.keys)
    keys["rtp_port"] = rtp.port
    hits_before = len(SlowApi.hits)
    workdir = os.path.join(c.work, "sipp", re.sub(r"[^a-z0-9]+", "-", name.lower()))
    fake = None
    dtmf_sink = None
    if FAKE and case.fake is None:
        skip(name, "no SIPp imitation of the server for this case")
        rtp.close()
        return
    if FAKE:
        port = sipkit.free_port(udp=True, tcp=case.transport.startswith("t"))
        dtmf_sink = sipkit.RtpReceiver()
        fake_keys = {"answer_port": dtmf_sink.port, "audio_pcap": c.fake_pcap[case.codec],
                     "answer_pt": {"PCMU": 0, "PCMA": 8}[case.codec],
                     "answer_codec": case.codec, "target": case.keys["target"]}
        fake = sipkit.run_sipp(os.path.join(FAKES, case.fake), None, local_port=port, uas=True,
                               keys=fake_keys, calls=case.fake_calls, timeout=40 * SLOW,
                               transport=case.transport, workdir=workdir + "-fake",
                               background=True)
        if not check(name + ": the fake IVR is listening",
                     wait_bound(port, tcp=case.transport.startswith("t"))):
            rtp.stop()
            dtmf_sink.stop()
            fake_result = fake.finish(1)
            check(name + ": the fake IVR's scenario loads", False, fake_result.summary())
            return
        target = "127.0.0.1:%d" % port
    else:
        target = "127.0.0.1:%d" % c.server.sip_port
        known = {r.get("uuid") for r in (c.server.records() or [])}
    result = sipkit.run_sipp(os.path.join(SCENARIOS, case.scenario), target,
                             local_port=sipkit.free_port(udp=True, tcp=False),
                             service=case.dnis, keys=keys, sets=case.sets, calls=case.calls,
                             rate=case.rate, timeout=30 * SLOW, recv_timeout_ms=15000 * SLOW,
                             transport=case.transport, workdir=workdir)
    rtp.stop()
    packets = rtp.rtp()
    check(name + ": SIPp exit status 0 (the scenario ran as written)", result.rc == 0,
          result.summary())
    if fake is not None:
        fake_result = fake.finish(10 * SLOW)
        check(name + ": the fake IVR's scenario ran as written (exit 0)", fake_result.rc == 0,
              fake_result.summary())
        dtmf_sink.stop()
        dtmf_packets = dtmf_sink.rtp()
        c.last_fake = fake_result
    else:
        dtmf_packets = []

    if case.audio:
        answer = check_sdp_answer(name, result, case.codec)
        if answer:
            sources = sorted({"%s:%d" % p["source"] for p in packets})
            info("RTP from %s; the SDP answer names port %d" % (", ".join(sources) or "nowhere",
                                                                answer["port"]))
            check_audio(name, packets, answer["pts"][0])
    if case.barge:
        # The prompt is a 6 s tone and the key comes about 1 s after the answer: the tone heard
        # must stop well before its end (frames counted, not time measured).
        ordered = sipkit.in_seq_order(packets)
        segments = sipkit.voiced_segments(sipkit.frame_levels(ordered))
        heard_ms = (segments[0][1] - segments[0][0] + 1) * sipkit.FRAME_MS if segments else 0
        check(name + ": the prompt is heard, then cut: %d ms of its %d ms" % (
            heard_ms, BARGE_PROMPT_SECONDS * 1000),
            0 < heard_ms <= BARGE_PROMPT_SECONDS * 1000 - 2000, segments)
    if case.scenario == "menu_dtmf.xml":
        if FAKE:
            check_dtmf_sent(name, dtmf_packets, case.digit)
        check_sdp_answer(name, result)
    if case.scenario == "cancel_before_answer.xml":
        got = ["%s (%s)" % (m["first"], sipkit.header(m["text"], "CSeq")) for m in result.messages
               if m["dir"] == "recv"]
        check(name + ": 200 to the CANCEL, 487 to the INVITE, never 200 to the INVITE",
              any(x.startswith("SIP/2.0 200") and "CANCEL" in x for x in got)
              and any(x.startswith("SIP/2.0 487") and "INVITE" in x for x in got)
              and not any(x.startswith("SIP/2.0 200") and "INVITE" in x for x in got), got)
    if case.scenario == "redirect_302.xml":
        contacts = [sipkit.header(m["text"], "Contact") for m in result.received(r"^SIP/2\.0 302")]
        check(name + ": the 302's Contact is <%s>" % case.keys["target"],
              len(contacts) == 1 and uri_of(contacts[0]) == case.keys["target"], contacts)
    if case.scenario in ("refer_accepted.xml", "refer_busy.xml"):
        refers = result.received(r"^REFER ")
        refer_to = [sipkit.header(m["text"], "Refer-To") for m in refers]
        check(name + ": one REFER, Refer-To: <%s>" % case.keys["target"],
              len(refers) == 1 and uri_of(refer_to[0]) == case.keys["target"], refer_to)
    if case.scenario == "bye_during_api.xml" or case.scenario == "cancel_before_answer.xml":
        want = "api-hangup" if case.scenario == "bye_during_api.xml" else "cancel"
        if not FAKE:
            check(name + ": the slow API was called (the call ended during the request)",
                  want in SlowApi.hits[hits_before:], SlowApi.hits)
    if FAKE and case.scenario in ("refer_accepted.xml", "refer_busy.xml"):
        frag = [line for line in c.last_fake.logs if line.startswith("NOTIFY sipfrag")]
        want = "SIP/2.0 200 OK" if case.scenario == "refer_accepted.xml" else "SIP/2.0 486"
        check(name + ": the fake IVR got the NOTIFY with sipfrag %s" % want,
              frag and want in frag[-1], c.last_fake.logs)
    if FAKE or case.records == 0:
        return
    if case.records is None:  # whether the call leaves a record is not specified
        records = record_of(c.server, case.dnis, known, 1, wait=1.0)
        info("records after %s: %s" % (name, [(r.get("status"), r.get("resultCode"))
                                              for r in records]))
        return
    records = record_of(c.server, case.dnis, known, case.records)
    if not check(name + ": %d call record(s) for DNIS %s" % (case.records, case.dnis),
                 len(records) == case.records, records):
        return
    check_record(name, records[0], case.record, case.keys)


def check_record(name, record, expect, keys):
    for field, value in expect.items():
        check(name + ": record %s is %r" % (field, value), record.get(field) == value,
              {k: record.get(k) for k in ("uuid", "status", "from", "to", "flow", "resultCode",
                                          "hungUpBy", "path")})
    if keys.get("pai") and keys["pai"] != keys.get("caller"):
        check(name + ": record from is the P-Asserted-Identity number %s" % keys["pai"],
              keys["pai"][-9:] in str(record.get("from", "")), record.get("from"))
    elif keys.get("caller"):
        check(name + ": record from is the From user %s" % keys["caller"],
              keys["caller"][-9:] in str(record.get("from", "")), record.get("from"))


def run_burst(c):
    name = "burst over the call limit"
    if FAKE:
        port = sipkit.free_port(udp=True)
        fake = sipkit.run_sipp(os.path.join(FAKES, "limit_503.xml"), None, local_port=port,
                               uas=True, sets={"limit": BURST_LIMIT}, calls=BURST_CALLS,
                               keys={"answer_port": sipkit.free_port()},
                               timeout=40 * SLOW, workdir=os.path.join(c.work, "burst-fake"),
                               background=True)
        if not check(name + ": the fake IVR is listening", wait_bound(port)):
            check(name + ": the fake IVR's scenario loads", False, fake.finish(1).summary())
            return
        target = "127.0.0.1:%d" % port
    else:
        server = Server(c.work, "burst", c.flows["long_call.json"], [], BURST_LIMIT, c.prompts)
        c.burst_server = server
        if not check(name + ": serve --max-calls %d answers OPTIONS" % BURST_LIMIT,
                     server.start(), server.stderr()[-3000:]):
            return
        target = "127.0.0.1:%d" % server.sip_port
    rtp = sipkit.RtpReceiver()
    result = sipkit.run_sipp(os.path.join(SCENARIOS, "burst.xml"), target,
                             local_port=sipkit.free_port(), service="7100",
                             keys={"rtp_port": rtp.port, "caller": CALLER + "99"},
                             sets={"calls": BURST_CALLS, "max_polls": int(200 * SLOW)},
                             calls=BURST_CALLS, rate=200, limit=BURST_CALLS,
                             timeout=40 * SLOW, recv_timeout_ms=15000 * SLOW,
                             workdir=os.path.join(c.work, "burst"))
    rtp.stop()
    check(name + ": SIPp exit status 0 (every call took one of the two branches)",
          result.rc == 0, result.summary())
    answered = len([line for line in result.logs if line.startswith("answered")])
    rejected = len([line for line in result.logs if line.startswith("rejected")])
    counts = {k: v for k, v in result.counts.items() if v and ("Recv" in k or "Sent" in k)}
    info("burst: %d answered, %d rejected; trace_counts %s" % (answered, rejected, counts))
    check(name + ": %d of %d INVITEs answered 200 (the limit)" % (answered, BURST_CALLS),
          answered == BURST_LIMIT, result.summary())
    check(name + ": the other %d got 503" % (BURST_CALLS - BURST_LIMIT),
          rejected == BURST_CALLS - BURST_LIMIT
          and result.count(r"_503_Recv$") == BURST_CALLS - BURST_LIMIT, counts)
    if FAKE:
        fake_result = fake.finish(40 * SLOW)
        check(name + ": the fake IVR's scenario ran as written (exit 0)", fake_result.rc == 0,
              fake_result.summary())
        return
    records = record_of(server, "7100", set(), BURST_LIMIT)
    long_ones = [r for r in records if r.get("resultCode") == "long"]
    check(name + ": %d records with resultCode long, hung up by the caller" % BURST_LIMIT,
          len(long_ones) == BURST_LIMIT
          and all(r.get("hungUpBy") == "caller" for r in long_ones),
          [(r.get("status"), r.get("resultCode"), r.get("hungUpBy")) for r in records])
    info("records in the burst: %d (rejected calls leave %s)" % (
        len(records), "none" if len(records) == BURST_LIMIT else "some"))
    # The limit is about calls at once: once they are over, a new call is answered again.
    again = sipkit.run_sipp(os.path.join(SCENARIOS, "burst.xml"), target,
                            local_port=sipkit.free_port(), service="7101",
                            keys={"rtp_port": sipkit.free_port(), "caller": CALLER + "98"},
                            sets={"calls": 1, "max_polls": 1}, calls=1, timeout=20 * SLOW,
                            recv_timeout_ms=10000 * SLOW,
                            workdir=os.path.join(c.work, "burst-again"))
    check(name + ": after the burst a new call is answered again",
          again.rc == 0 and any(line.startswith("answered") for line in again.logs),
          again.summary())


def check_flows(c):
    for name in sorted(os.listdir(FLOWS)):
        if not name.endswith(".json"):
            continue
        if not os.access(CALLFLOW, os.X_OK):
            skip("callflow check %s" % name, "no callflow binary")
            continue
        status, out, err = cli("check", os.path.join(FLOWS, name))
        check("callflow check tests/sip/flows/%s" % name, status == 0, out + err)


def main():
    if not shutil.which("sipp"):
        print("skip: sipp is not installed (apt-get install sip-tester)")
        print("0 passed, 0 failed, 1 skipped")
        return 0
    if not FAKE and not os.access(CALLFLOW, os.X_OK):
        sys.exit("sip_test.py: %s is not an executable" % CALLFLOW)
    with tempfile.TemporaryDirectory(prefix="callflow-sip-") as work:
        c = Context()
        c.work = work
        c.server = None
        c.burst_server = None
        c.prompts = os.path.join(work, "prompts")
        make_prompts(c.prompts)
        c.fake_pcap = {}
        for codec, pt in (("PCMU", 0), ("PCMA", 8)):
            c.fake_pcap[codec] = os.path.join(work, "fake-ivr-audio-%s.pcap" % codec)
            make_fake_audio_pcap(c.fake_pcap[codec], pt)
        api = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowApi)
        api.daemon_threads = True
        threading.Thread(target=api.serve_forever, daemon=True).start()
        # The flows, with the slow API's placeholder address replaced by the stub's.
        c.flows = {}
        os.makedirs(os.path.join(work, "flows"))
        for name in os.listdir(FLOWS):
            if name.endswith(".json"):
                with open(os.path.join(FLOWS, name), encoding="utf-8") as f:
                    text = f.read().replace("127.0.0.1:18089", "127.0.0.1:%d" % api.server_port)
                c.flows[name] = os.path.join(work, "flows", name)
                with open(c.flows[name], "w", encoding="utf-8") as f:
                    f.write(text)
        try:
            safe("flows", check_flows, c)
            all_cases = cases()
            if not FAKE:
                routes = [(case.dnis, c.flows[case.flow]) for case in all_cases if case.flow]
                routes += [(BARESIP_MENU_DNIS, c.flows["menu.json"]),
                           (BARESIP_HANGUP_DNIS, c.flows["long_call.json"])]
                c.server = Server(work, "main", c.flows["full_call.json"], routes, 20, c.prompts,
                                  allow=["127.0.0.1:%d" % api.server_port])
                started_ok = c.server.start()
                check("serve --sip answers OPTIONS within %.0f s" % (10 * SLOW), started_ok,
                      (" ".join(c.server.argv()) + "\n" + c.server.stderr())[-3000:])
            else:
                started_ok = True
            if started_ok:
                for case in all_cases:
                    safe(case.name, run_case, c, case)
                if not FAKE:
                    check("serve is still running after the calls",
                          c.server.process.poll() is None, c.server.stderr()[-3000:])
                safe("burst", run_burst, c)
                safe("baresip", run_baresip, c)
        except Exception:  # noqa: BLE001 - reported as a failure
            check("the run completed without an exception", False, traceback.format_exc())
        finally:
            SlowApi.stop.set()
            for server in (c.server, c.burst_server):
                if server:
                    server.kill(signal.SIGKILL)
            api.shutdown()
            api.server_close()
        for server in (c.server, c.burst_server):
            if server:
                text = server.stderr()
                T.no_sanitizer_report("no sanitizer report on the %s server's stderr"
                                      % server.name, text)
    return T.finish()


BARESIP_MENU_DNIS = "7011"     # routed to menu.json: DTMF 2 -> Support, the IVR hangs up
BARESIP_HANGUP_DNIS = "7012"   # routed to long_call.json: baresip hangs up


def run_baresip(c):
    """A second SIP client: baresip dials the menu and presses 2 (RFC 4733), the IVR says
    Support and hangs up; then it calls the long flow and hangs up itself."""
    name = "baresip"
    reason = sipkit.baresip_missing()
    if reason:
        skip("baresip calls", reason)
        return
    source = os.path.join(c.work, "baresip-source.wav")
    sipkit.write_wav(source, sipkit.silence(5, 8000), 8000)
    fakes = []        # (SIPp handle, RTP sink) of the fake IVR for each call, with --fake
    targets = {}      # DNIS -> where baresip sends that call
    for dnis, fake in ((BARESIP_MENU_DNIS, "answer_wait_bye.xml"),
                       (BARESIP_HANGUP_DNIS, "answer_await_bye.xml")):
        if not FAKE:
            targets[dnis] = "127.0.0.1:%d" % c.server.sip_port
            continue
        port = sipkit.free_port()
        sink = sipkit.RtpReceiver()
        handle = sipkit.run_sipp(os.path.join(FAKES, fake), None, local_port=port, uas=True,
                                 keys={"answer_port": sink.port}, calls=1, timeout=30 * SLOW,
                                 workdir=os.path.join(c.work, "bs-" + dnis), background=True)
        fakes.append((handle, sink))
        targets[dnis] = "127.0.0.1:%d" % port
        if not check(name + ": the fake IVR for %s is listening" % dnis, wait_bound(port)):
            for handle, sink in fakes:
                handle.finish(1)
                sink.stop()
            return
    if not FAKE:
        known = {r.get("uuid") for r in (c.server.records() or [])}
    phone = sipkit.Baresip(os.path.join(c.work, "baresip"), source, lifetime=40 * SLOW)
    try:
        if not check(name + ": baresip starts with no audio device and answers on ctrl_tcp",
                     phone.ready(), phone.output()[-2000:]):
            return
        # Call 1: the menu, digit 2 one second after the answer, the IVR hangs up.
        phone.command("dial", "sip:%s@%s" % (BARESIP_MENU_DNIS, targets[BARESIP_MENU_DNIS]))
        up = phone.wait_event("CALL_ESTABLISHED", 10 * SLOW)
        check(name + ": the menu call is established", up is not None,
              phone.events[-10:] or phone.output()[-2000:])
        if up:
            time.sleep(1.0)
            phone.command("sndcode", "2")
            closed = phone.wait_event("CALL_CLOSED", 15 * SLOW)
            check(name + ": the IVR ends the menu call (CALL_CLOSED without our hangup)",
                  closed is not None, phone.events[-10:])
        # Call 2: the long flow; baresip hangs up.
        phone.command("dial", "sip:%s@%s" % (BARESIP_HANGUP_DNIS, targets[BARESIP_HANGUP_DNIS]))
        up = phone.wait_event("CALL_ESTABLISHED", 10 * SLOW)
        check(name + ": the second call is established", up is not None, phone.events[-10:])
        if up:
            time.sleep(1.0)
            phone.command("hangup")
            closed = phone.wait_event("CALL_CLOSED", 10 * SLOW)
            check(name + ": baresip hangs up (CALL_CLOSED)", closed is not None,
                  phone.events[-10:])
    finally:
        status = phone.stop()
        info("baresip exit status %s" % status)
    if FAKE:
        for (handle, sink), what in zip(fakes, ("menu", "hangup")):
            result = handle.finish(10 * SLOW)
            check(name + ": the fake IVR's %s scenario ran as written" % what, result.rc == 0,
                  result.summary())
            sink.stop()
            if what == "menu":
                check_dtmf_sent(name, sink.rtp(), "2")
        return
    records = record_of(c.server, BARESIP_MENU_DNIS, known, 1)
    if check(name + ": a record for the menu call", len(records) == 1, records):
        check_record(name + " menu call", records[0],
                     {"status": "completed", "resultCode": "support", "hungUpBy": "flow",
                      "path": ["Main", "Support"]}, {})
    records = record_of(c.server, BARESIP_HANGUP_DNIS, known, 1)
    if check(name + ": a record for the call baresip hung up", len(records) == 1, records):
        check_record(name + " hung-up call", records[0],
                     {"status": "completed", "resultCode": "long", "hungUpBy": "caller"}, {})


if __name__ == "__main__":
    sys.exit(main())
