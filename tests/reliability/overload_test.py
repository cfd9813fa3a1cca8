#!/usr/bin/env python3
"""Admission control and graceful shutdown of `callflow serve --sip`, as RELIABILITY.md names the
rows: L4 (an overload burst against max_concurrent_calls and max_cps: 503 with Retry-After, the
admitted calls unharmed, /metrics counting why), L5 (short: legitimate calls during an INVITE
flood from another source), S23 (a source past the per-source limit is
banned and dropped silently while another source is served), S17 (out-of-dialog methods we do
not serve: 405/501 and nothing run), P1 (SIGTERM: new calls 503 and /healthz "draining" at once,
live calls BYE'd at the drain timeout, records "shutdown", exit 0), P2 (SIGTERM when the calls end
by themselves: exit as soon as none is left), P4 (a second SIGTERM ends the drain at once) and
P10 (a caller that sends no RTP is hung up after the media timeout).

Usage: overload_test.py PATH_TO_callflow REPO_ROOT

SIPp (sip-tester) places the calls; a raw UDP socket bound to 127.0.0.2 or 127.0.0.3 plays the
legitimate and the hostile source. Timing assertions are one-sided and scaled for sanitizer
builds; counts decide, never speed.
"""
import contextlib
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid

ROOT = os.path.abspath(sys.argv[2]) if len(sys.argv) == 3 else None
if ROOT is None:
    sys.exit("usage: overload_test.py PATH_TO_callflow REPO_ROOT")
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, os.path.join(ROOT, "tests", "sip"))
import harness  # noqa: E402
import sipcalls  # noqa: E402
import sipkit  # noqa: E402

CALLFLOW = os.path.abspath(sys.argv[1])
SLOW = harness.slowdown(CALLFLOW)
HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(ROOT, "tests", "sip", "scenarios")
HOLD = sipcalls.HOLD
LONG_FLOW = os.path.join(ROOT, "tests", "sip", "flows", "long_call.json")
t = harness.Checks()


@contextlib.contextmanager
def serve(work, name, *args, report=False):
    """A `callflow serve --sip` on the long-call flow with these extra options, started (a
    check) for the body of a `with`, which gets None when it did not start. Stopped after the
    body; with REPORT, its stderr is then checked for a sanitizer report."""
    rtp_base = 26000 + 400 * (os.getpid() % 10)  # one server at a time
    server = harness.Serve(CALLFLOW, work, sip=True, slow=SLOW, name=name, args=[
        "--flow", LONG_FLOW, "--prompts", sipcalls.prompts_dir(work),
        "--rtp-ports", "%d-%d" % (rtp_base, rtp_base + 199), *args])
    ok = server.start()
    t.check("%s: serve %s starts" % (name, " ".join(args)), ok, server.stderr()[-3000:])
    try:
        yield server if ok else None
    finally:
        server.stop()
        if ok and report:
            t.no_sanitizer_report("%s: no sanitizer report" % name.upper(), server.stderr())


# --- raw SIP from a chosen source address ----------------------------------------------------

def request(method, port, source, number="7300", extra="", sdp=False):
    branch = "z9hG4bK" + uuid.uuid4().hex[:16]
    call_id = uuid.uuid4().hex + "@" + source
    body = ""
    if sdp:
        body = ("v=0\r\no=x 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n" % (source, source))
    text = ("%s sip:%s@127.0.0.1:%d SIP/2.0\r\n"
            "Via: SIP/2.0/UDP %s:%%d;branch=%s;rport\r\n"
            "From: <sip:caller@%s>;tag=%s\r\nTo: <sip:%s@127.0.0.1>\r\n"
            "Call-ID: %s\r\nCSeq: 1 %s\r\nContact: <sip:caller@%s:%%d>\r\nMax-Forwards: 70\r\n"
            "%s%sContent-Length: %d\r\n\r\n%s" % (
                method, number, port, source, branch, source, uuid.uuid4().hex[:8], number,
                call_id, method, source, extra,
                "Content-Type: application/sdp\r\n" if sdp else "", len(body), body))
    return text


class Source:
    """A UDP socket on SOURCE (an address of 127/8) that sends requests and collects answers."""

    def __init__(self, address):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, 0))
        self.address, self.port = self.sock.getsockname()

    def send(self, text, port):
        self.sock.sendto((text % (self.port, self.port)).encode(), ("127.0.0.1", port))

    def answers(self, wait):
        """Status codes of the final answers that arrive within WAIT seconds."""
        codes = []
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return codes
            self.sock.settimeout(left)
            try:
                data, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                return codes
            m = re.match(rb"SIP/2.0 (\d{3})", data)
            if m and int(m.group(1)) >= 200:
                codes.append((int(m.group(1)), data.decode("latin-1")))

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --- the rows --------------------------------------------------------------------------------

def overload_burst(work):
    """L4: max_concurrent_calls 10 (from --config), max-cps 5 (the flag wins over the file's 50);
    40 calls at 200/s."""
    # The call limit from a configuration file (the key names), the rate from a flag.
    config = os.path.join(work, "callflow.toml")
    with open(config, "w") as f:
        f.write("max_concurrent_calls = 10\nmax_cps = 50\n")
    with serve(work, "l4", "--config", config, "--max-cps", "5", report=True) as server:
        if not server:
            return
        calls = 40
        rtp = sipkit.RtpReceiver()
        result = sipkit.run_sipp(os.path.join(SCENARIOS, "burst.xml"),
                                 "127.0.0.1:%d" % server.sip_port,
                                 local_port=harness.free_port(udp=True), service="7400",
                                 keys={"rtp_port": rtp.port, "caller": "441632960400"},
                                 sets={"calls": calls, "max_polls": int(200 * SLOW)},
                                 calls=calls, rate=200, limit=calls, timeout=60 * SLOW,
                                 recv_timeout_ms=20000 * SLOW, workdir=os.path.join(work, "l4"))
        rtp.stop()
        answered = len([x for x in result.logs if x.startswith("answered")])
        rejected = len([x for x in result.logs if x.startswith("rejected")])
        t.info("L4: %d answered, %d refused of %d" % (answered, rejected, calls))
        t.check("L4 overload burst: SIPp ends cleanly (every call answered or refused)",
                result.rc == 0 and answered + rejected == calls, result.summary())
        t.check("L4: at most max-calls (10) answered, at least one", 1 <= answered <= 10,
                answered)
        t.check("L4: the rest refused with 503", result.count(r"_503_Recv$") == rejected
                and rejected >= calls - 10, result.counts)
        retry_after = [m for m in result.received(r"^SIP/2.0 503")
                       if sipkit.header(m["text"], "Retry-After")]
        t.check("L4: every 503 carries Retry-After", len(retry_after) >= rejected > 0,
                len(retry_after))
        status, values = sipcalls.metrics(server, SLOW)
        counted = sum(values.get('callflow_sip_calls_rejected_total{reason="%s"}' % r, 0)
                      for r in ("max_calls", "max_cps"))
        t.check("L4: /metrics counts each refusal by reason (max_calls + max_cps)",
                status == 200 and counted == rejected
                and values.get("callflow_sip_max_concurrent_calls") == 10
                and values.get("callflow_sip_max_cps") == 5, values)
        records = sipcalls.wait_records(server, slow=SLOW, count=answered)
        t.check("L4: every admitted call has a completed record, hung up by the caller",
                len(records) == answered and all(
                    r.get("status") == "completed" and r.get("hungUpBy") == "caller"
                    for r in records), records)
        # Idle again: a new call after the burst is answered.
        time.sleep(1.2)
        again = sipkit.run_sipp(os.path.join(SCENARIOS, "burst.xml"),
                                "127.0.0.1:%d" % server.sip_port,
                                local_port=harness.free_port(udp=True), service="7401",
                                keys={"rtp_port": harness.free_port(udp=True),
                                      "caller": "441632960401"},
                                sets={"calls": 1, "max_polls": 1}, calls=1, timeout=20 * SLOW,
                                recv_timeout_ms=10000 * SLOW,
                                workdir=os.path.join(work, "l4-again"))
        t.check("L4: after the burst a new call is answered",
                again.rc == 0 and any(x.startswith("answered") for x in again.logs),
                again.summary())
        t.check("L4: the server is alive and its stderr clean", server.running()
                and sipkit.sip_options(server.sip_port, timeout=2 * SLOW) == 200,
                server.stderr()[-2000:])


def per_source(work):
    """S23: --per-source 5/2; 127.0.0.3 floods, 127.0.0.2 is served. The ban outlasts every
    wait below (10 s, scaled for sanitizer builds), then the test waits it out."""
    ban = 10 * SLOW
    with (serve(work, "s23", "--per-source", "5/2", "--ban-seconds", "%g" % ban,
                "--trusted", "127.0.0.4", report=True) as server,
          Source("127.0.0.3") as attacker, Source("127.0.0.2") as legit,
          Source("127.0.0.4") as trusted):
        if not server:
            return
        for _ in range(20):
            attacker.send(request("OPTIONS", server.sip_port, "127.0.0.3"), server.sip_port)
        banned_at = time.monotonic()
        answered = attacker.answers(1.0 * SLOW)
        t.check("S23: a source sending 20 OPTIONS gets 5 answers, then nothing (banned)",
                len(answered) == 5, [a[0] for a in answered])
        attacker.send(request("INVITE", server.sip_port, "127.0.0.3", sdp=True), server.sip_port)
        t.check("S23: an INVITE from the banned source gets no answer at all",
                attacker.answers(1.0 * SLOW) == [], "answered")
        legit.send(request("OPTIONS", server.sip_port, "127.0.0.2"), server.sip_port)
        got = legit.answers(2.0 * SLOW)
        t.check("S23: another source is served meanwhile", [a[0] for a in got] == [200], got)
        for _ in range(20):
            trusted.send(request("OPTIONS", server.sip_port, "127.0.0.4"), server.sip_port)
        got = trusted.answers(1.5 * SLOW)
        t.check("S23: a --trusted source is never limited (20 of 20 answered)", len(got) == 20,
                len(got))
        _, values = sipcalls.metrics(server, SLOW)
        t.check("S23: /metrics: one ban, the dropped requests counted",
                values.get("callflow_sip_source_bans_total") == 1
                and values.get("callflow_sip_requests_dropped_total", 0) >= 16
                and values.get("callflow_sip_per_source_limit") == 5, values)
        time.sleep(max(0.0, banned_at + ban + 0.5 - time.monotonic()))
        attacker.send(request("OPTIONS", server.sip_port, "127.0.0.3"), server.sip_port)
        got = attacker.answers(2.0 * SLOW)
        t.check("S23: after the ban the source is answered again", [a[0] for a in got] == [200],
                got)
        records = server.records() or []
        t.check("S23: nothing from the banned source ran a flow (no record)", records == [],
                records)


def methods(work):
    """S17: REGISTER, SUBSCRIBE, MESSAGE, PUBLISH, NOTIFY and an unknown method."""
    with serve(work, "s17") as server, Source("127.0.0.2") as caller:
        if not server:
            return
        # NOTIFY is ours for REFER's subscriptions: one that matches none is 481, and one
        # without Subscription-State is malformed (400); the others we do not serve.
        for method, want in (("REGISTER", {405}), ("SUBSCRIBE", {405}), ("MESSAGE", {405}),
                             ("PUBLISH", {405}), ("NOTIFY", {400, 481}),
                             ("FROBNICATE", {501})):
            extra = "Event: presence\r\n" if method in ("SUBSCRIBE", "NOTIFY", "PUBLISH") else ""
            caller.send(request(method, server.sip_port, "127.0.0.2", extra=extra),
                        server.sip_port)
            got = caller.answers(1.0 * SLOW)
            t.check("S17: %s out of dialog -> %s" % (method, "/".join(map(str, sorted(want)))),
                    len(got) == 1 and got[0][0] in want
                    and (got[0][0] not in (405, 501)
                         or re.search(r"(?im)^Allow: .*INVITE", got[0][1])), got)
        t.check("S17: nothing ran (no call record)", (server.records() or []) == [],
                server.records())


def hold_then_signal(server, work, name, calls, service, live):
    """The start of a drain row: CALLS long calls held (the check LIVE: all answered), then
    SIGTERM to the server. Returns SIPp's handle and when the signal was sent."""
    handle, up = sipcalls.hold_calls(server, work, name + "-calls", calls, service, slow=SLOW)
    t.check(live, up)
    signalled = time.monotonic()
    server.send_signal(signal.SIGTERM)
    return handle, signalled


def drain_timeout(work):
    """P1: SIGTERM with 5 live calls and --drain-timeout 3."""
    with serve(work, "p1", "--drain-timeout", "3", report=True) as server:
        if not server:
            return
        handle, signalled = hold_then_signal(server, work, "p1", 5, "7500",
                                             "P1: 5 calls live before SIGTERM")
        time.sleep(0.3)
        status, body = server.healthz()
        t.check("P1: /healthz says draining (503) at once",
                status == 503 and (body or {}).get("status") == "draining", (status, body))
        refused = sipkit.run_sipp(HOLD, "127.0.0.1:%d" % server.sip_port,
                                  local_port=harness.free_port(udp=True), service="7501",
                                  keys={"rtp_port": harness.free_port(udp=True),
                                        "caller": "441632967501"},
                                  calls=1, timeout=20 * SLOW, recv_timeout_ms=10000 * SLOW,
                                  workdir=os.path.join(work, "p1-new"))
        t.check("P1: a new INVITE while draining gets 503 with Retry-After",
                any(x.startswith("rejected") for x in refused.logs)
                and any(sipkit.header(m["text"], "Retry-After")
                        for m in refused.received(r"^SIP/2.0 503")), refused.summary())
        code = server.wait(20)
        elapsed = time.monotonic() - signalled
        t.check("P1: exit 0 after the drain timeout (3 s), within drain + 10 s",
                code == 0 and 2.5 <= elapsed <= (13 * SLOW), (code, elapsed))
        result = handle.finish(30 * SLOW)
        t.check("P1: the 5 live calls got BYE from the server", sipcalls.byes(result) == 5,
                result.summary())
        records = server.records() or []
        t.check("P1: 5 records finalised with status shutdown",
                len(records) == 5 and all(r.get("status") == "shutdown" for r in records),
                [(r.get("status"), r.get("resultCode")) for r in records])
        t.check("P1: stderr says why it stopped", "drain timeout" in server.stderr(),
                server.stderr()[-1500:])


def drain_natural(work):
    """P2: SIGTERM while calls end by themselves: exit as soon as none is left."""
    with serve(work, "p2", "--drain-timeout", "60") as server:
        if not server:
            return
        # burst.xml answers, holds until all 3 are answered, then the caller hangs up.
        rtp = sipkit.RtpReceiver()
        handle = sipkit.run_sipp(os.path.join(SCENARIOS, "burst.xml"),
                                 "127.0.0.1:%d" % server.sip_port,
                                 local_port=harness.free_port(udp=True), service="7600",
                                 keys={"rtp_port": rtp.port, "caller": "441632967600"},
                                 sets={"calls": 3, "max_polls": int(40 * SLOW)}, calls=3,
                                 rate=10, limit=3, timeout=40 * SLOW,
                                 recv_timeout_ms=20000 * SLOW,
                                 workdir=os.path.join(work, "p2-calls"), background=True)
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline and sipcalls.metrics(server, SLOW)[1].get(
                "callflow_sip_calls_active", 0) < 1:
            time.sleep(0.05)
        signalled = time.monotonic()
        server.send_signal(signal.SIGTERM)
        code = server.wait(30)
        elapsed = time.monotonic() - signalled
        result = handle.finish(30 * SLOW)
        rtp.stop()
        t.check("P2: exit 0 once the calls ended by themselves, long before the 60 s drain",
                code == 0 and elapsed < 20 * SLOW, (code, elapsed, server.stderr()[-800:]))
        records = server.records() or []
        t.check("P2: the calls' records are completed, not shutdown",
                records and all(r.get("status") == "completed" for r in records),
                [(r.get("status"), r.get("hungUpBy")) for r in records])
        t.check("P2: stderr says no calls were left", "no calls left" in server.stderr(),
                server.stderr()[-800:])


def second_signal(work):
    """P4: a second SIGTERM during the drain ends it at once."""
    with serve(work, "p4", "--drain-timeout", "120") as server:
        if not server:
            return
        handle, _ = hold_then_signal(server, work, "p4", 3, "7700", "P4: 3 calls live")
        time.sleep(0.5)
        t.check("P4: still draining after the first signal", server.running())
        signalled = time.monotonic()
        server.send_signal(signal.SIGTERM)
        code = server.wait(20)
        elapsed = time.monotonic() - signalled
        t.check("P4: the second SIGTERM stops at once: exit 0 well before the 120 s drain",
                code == 0 and elapsed < 15 * SLOW, (code, elapsed))
        result = handle.finish(30 * SLOW)
        t.check("P4: the live calls got BYE",
                len([x for x in result.logs if x.startswith("bye")]) == 3, result.summary())
        records = server.records() or []
        t.check("P4: their records say shutdown",
                len(records) == 3 and all(r.get("status") == "shutdown" for r in records),
                [(r.get("status")) for r in records])


def flood(work):
    """L5 (short): 127.0.0.3 floods INVITEs that never ACK while 127.0.0.2 places 20 real calls;
    the flooder is banned by --per-source, the legitimate calls all complete."""
    with (serve(work, "l5", "--per-source", "16/2", "--ban-seconds", "60",
                report=True) as server, Source("127.0.0.3") as attacker):
        if not server:
            return
        rtp = sipkit.RtpReceiver()
        legit = sipkit.run_sipp(os.path.join(SCENARIOS, "burst.xml"),
                                "127.0.0.1:%d" % server.sip_port,
                                local_port=harness.free_port(udp=True), service="7900",
                                keys={"rtp_port": rtp.port, "caller": "441632967900"},
                                sets={"calls": 1, "max_polls": 1}, calls=20, rate=5, limit=5,
                                timeout=60 * SLOW, recv_timeout_ms=20000 * SLOW,
                                extra=("-i", "127.0.0.2"),
                                workdir=os.path.join(work, "l5-legit"), background=True)
        sent = 0
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline and sent < 2000:
            attacker.send(request("INVITE", server.sip_port, "127.0.0.3", sdp=True),
                          server.sip_port)
            sent += 1
            if sent % 50 == 0:
                time.sleep(0.05)
        answered_flood = attacker.answers(1.0)
        result = legit.finish(60 * SLOW)
        rtp.stop()
        completed = len([x for x in result.logs if x.startswith("answered")])
        t.info("L5: flood of %d INVITEs from 127.0.0.3 (%d answered); legitimate calls "
               "completed %d of 20" % (sent, len(answered_flood), completed))
        t.check("L5: at least 99%% of the legitimate calls complete during the flood (%d/20)"
                % completed, completed >= 20 * 0.99 and result.rc == 0, result.summary())
        # Distinct calls answered (the 200s are retransmitted: the flood never ACKs).
        calls_answered = {re.search(r"(?im)^Call-ID: *(\S+)", a[1]).group(1)
                          for a in answered_flood if re.search(r"(?im)^Call-ID:", a[1])}
        t.check("L5: the flooder got answers to no more than its first 16 INVITEs",
                len(calls_answered) <= 16, (len(calls_answered), len(answered_flood)))
        _, values = sipcalls.metrics(server, SLOW)
        t.check("L5: the flooder is banned and its requests dropped",
                values.get("callflow_sip_source_bans_total", 0) >= 1
                and values.get("callflow_sip_requests_dropped_total", 0) >= sent - 16, values)
        t.check("L5: the server is alive afterwards",
                sipkit.sip_options(server.sip_port, timeout=2 * SLOW) == 200)


def media_timeout(work):
    """P10: an answered caller that sends no RTP is hung up after --media-timeout."""
    with serve(work, "p10", "--media-timeout", "2") as server:
        if not server:
            return
        # The caller sends no RTP at all.
        handle, up = sipcalls.hold_calls(server, work, "p10-call", 1, "7800", slow=SLOW)
        t.check("P10: the silent call is answered", up)
        result = handle.finish(30 * SLOW)
        t.check("P10: the server sends BYE once the caller has been silent 2 s",
                len([x for x in result.logs if x.startswith("bye")]) == 1, result.summary())
        records = sipcalls.wait_records(server, slow=SLOW, count=1)
        t.check("P10: the record says media-timeout",
                len(records) == 1 and records[0].get("status") == "media-timeout",
                [(r.get("status"), r.get("resultCode")) for r in records])
        _, values = sipcalls.metrics(server, SLOW)
        t.check("P10: /metrics counts it", values.get("callflow_sip_media_timeouts_total") == 1,
                values)
        t.check("P10: stderr says why", "no audio from the caller for 2 s" in server.stderr(),
                server.stderr()[-800:])


def main():
    if shutil.which("sipp") is None:
        t.skip("SIP overload and drain", "sipp (sip-tester) is not installed")
        return t.finish()
    with tempfile.TemporaryDirectory(prefix="callflow-overload-") as work:
        for name, fn in (("L4", overload_burst), ("L5", flood), ("S23", per_source),
                         ("S17", methods),
                         ("P1", drain_timeout), ("P2", drain_natural), ("P4", second_signal),
                         ("P10", media_timeout)):
            os.makedirs(os.path.join(work, name))
            t.safe(name, fn, os.path.join(work, name))
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
