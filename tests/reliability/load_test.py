#!/usr/bin/env python3
"""The load tiers of RELIABILITY.md that run in CI, against `callflow serve --sip`:

L0 smoke   20 calls (2 a second, at most 10 at once) of a contact centre's call: a greeting, an
           ApiRequest to a local account API, its answer read back, a hang-up. Every call
           succeeds, has one completed record that went through the read-back, and the API saw
           exactly 20 requests. Then the DTMF matrix: one call per RFC 4733 pcap of SIPp (0-9, *
           and #) into a Menu with a branch for each key; each record names the key's branch.
L1 short   300 calls of the same kind (5 a second, at most 80 at once) on the warmed server:
           none fails; afterwards no call is active, the open descriptors are back to where they
           were before (within 5) and, outside sanitizer builds, the resident memory is within
           20 MiB of its value after the warm-up; every call has one completed record; three
           sampled calls receive RTP with no sequence gap, timestamps stepping by 160 and one
           SSRC.

Usage: load_test.py PATH_TO_callflow REPO_ROOT
A sanitizer build runs L1 with 100 calls at 2 a second. Counts decide, never speed.
"""
import json
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.abspath(sys.argv[2]) if len(sys.argv) == 3 else None
if ROOT is None:
    sys.exit("usage: load_test.py PATH_TO_callflow REPO_ROOT")
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, os.path.join(ROOT, "tests", "sip"))
import harness  # noqa: E402
import sipcalls  # noqa: E402
import sipkit  # noqa: E402

CALLFLOW = os.path.abspath(sys.argv[1])
SLOW = harness.slowdown(CALLFLOW)
SANITIZED = harness.sanitized(CALLFLOW)
MENU_DTMF = os.path.join(ROOT, "tests", "sip", "scenarios", "menu_dtmf.xml")
DTMF_PCAP = "/usr/share/sip-tester/dtmf_2833_%s.pcap"
KEYS = {"0": "0", "1": "1", "2": "2", "3": "3", "4": "4", "5": "5", "6": "6", "7": "7", "8": "8",
        "9": "9", "*": "star", "#": "pound"}  # the key, and its name in SIPp's pcap files
L1_CALLS, L1_RATE, L1_LIMIT = (100, 2, 40) if SANITIZED else (300, 5, 80)
t = harness.Checks()


def start_server(work, name, flow, *args):
    server = harness.Serve(CALLFLOW, work, sip=True, slow=SLOW, name=name, args=[
        "--flow", flow, "--prompts", sipcalls.prompts_dir(work), "--max-calls", "200",
        "--max-cps", "50", "--rtp-ports", "36000-37999", *args])
    ok = server.start()
    t.check("%s: serve --sip starts" % name, ok, server.stderr()[-3000:])
    return server if ok else None


def place_calls(server, work, name, calls, rate, limit, service, rtp_port=None, background=False):
    """SIPp calls held until the server's BYE (no RTP sent: the flows need no input)."""
    return sipkit.run_sipp(
        sipcalls.HOLD, "127.0.0.1:%d" % server.sip_port, local_port=harness.free_port(udp=True),
        service=service, calls=calls, rate=rate, limit=limit,
        keys={"rtp_port": rtp_port or harness.free_port(udp=True), "caller": "441632961234"},
        timeout=(calls / rate + 60) * SLOW, recv_timeout_ms=60000 * SLOW,
        workdir=os.path.join(work, name), background=background)


def l0_smoke(work, server, api):
    result = place_calls(server, work, "l0", 20, 2, 10, "7800")
    t.check("L0: 20 of 20 calls answered and ended by the server's BYE (%d)"
            % sipcalls.byes(result), result.rc == 0 and sipcalls.byes(result) == 20,
            result.summary())
    records = [r for r in sipcalls.wait_records(server, 20, slow=SLOW) if r.get("to") == "7800"]
    t.check("L0: 20 completed records, each through the read-back",
            len(records) == 20 and all(r.get("status") == "completed" and
                                       r.get("resultCode") == "done" and
                                       "Read" in (r.get("path") or []) for r in records),
            [(r.get("status"), r.get("resultCode"), r.get("path")) for r in records])
    t.check("L0: the API saw exactly 20 requests (%d)" % api.requests, api.requests == 20)


def l0_dtmf_matrix(work):
    """One call per key into a Menu with a branch for every key, all at once."""
    flow = os.path.join(work, "keys.json")
    elements = [{"name": "Main", "type": "Menu", "phrase": ["beep-200ms.wav"], "timeout": 4,
                 "retries": 0, "options": {key: "K" + name for key, name in KEYS.items()},
                 "next": {"noInput": "None", "noMatch": "None", "error": "None"}},
                {"name": "None", "type": "Hangup", "resultCode": "no-key"}]
    elements += [{"name": "K" + name, "type": "Hangup", "resultCode": "key-" + name}
                 for name in KEYS.values()]
    with open(flow, "w") as f:
        json.dump({"format": 1, "name": "Keys", "start": "Main", "elements": elements}, f)
    server = start_server(work, "l0-keys", flow)
    if not server:
        return
    try:
        handles = {}
        for i, name in enumerate(KEYS.values()):
            service = "78%02d" % (20 + i)
            handles[service] = (name, sipkit.run_sipp(
                MENU_DTMF, "127.0.0.1:%d" % server.sip_port,
                local_port=harness.free_port(udp=True), service=service,
                keys={"rtp_port": harness.free_port(udp=True), "caller": "441632961235",
                      "dtmf_pcap": DTMF_PCAP % name},
                timeout=30 * SLOW, workdir=os.path.join(work, "keys-" + name), background=True))
        failed = [name for name, handle in handles.values() if handle.finish().rc != 0]
        t.check("L0 DTMF: the 12 calls complete (%s)" % (", ".join(failed) or "all"), not failed)
        records = {r.get("to"): r for r in sipcalls.wait_records(server, 12, slow=SLOW)}
        wrong = [(name, (records.get(service) or {}).get("resultCode"))
                 for service, (name, _) in handles.items()
                 if (records.get(service) or {}).get("resultCode") != "key-" + name]
        t.check("L0 DTMF: each key's branch is taken (0-9, star, pound)", not wrong, wrong)
    finally:
        server.stop()
        t.no_sanitizer_report("L0 DTMF: no sanitizer report", server.stderr())


def l1_short(work, server):
    pid = server.process.pid
    fds_before = sipcalls.open_fds(pid)
    expected = L1_CALLS / L1_RATE
    handle = place_calls(server, work, "l1", L1_CALLS, L1_RATE, L1_LIMIT, "7900",
                         background=True)
    started = time.monotonic()
    samples, sampled = [], []
    while handle.process.poll() is None and time.monotonic() - started < (expected + 90) * SLOW:
        elapsed = time.monotonic() - started
        samples.append((elapsed, sipcalls.rss_mib(pid)))
        # Three calls with an RTP receiver of ours, a quarter, half and three quarters in.
        if len(sampled) < 3 and elapsed >= expected * (len(sampled) + 1) / 4:
            receiver = sipkit.RtpReceiver()
            sampled.append((receiver, place_calls(
                server, work, "l1-rtp%d" % len(sampled), 1, 1, 1, "7950",
                rtp_port=receiver.port, background=True)))
        time.sleep(1)
    result = handle.finish(60 * SLOW)
    t.check("L1: %d of %d calls answered and ended by the server's BYE, none failed"
            % (sipcalls.byes(result), L1_CALLS),
            result.rc == 0 and sipcalls.byes(result) == L1_CALLS, result.summary())
    for i, (receiver, call) in enumerate(sampled):
        call.finish(60 * SLOW)
        packets = sipkit.in_seq_order(receiver.rtp())
        receiver.stop()
        problems = sipkit.continuity_problems(packets)
        t.check("L1: sampled call %d: %d RTP packets, no sequence gap, timestamps +160, one SSRC"
                % (i + 1, len(packets)), len(packets) >= 50 and not problems,
                "\n".join(problems))
    t.check("L1: three calls sampled for RTP", len(sampled) == 3, len(sampled))

    deadline = time.monotonic() + 20 * SLOW
    active = None
    while time.monotonic() < deadline:
        active = sipcalls.metrics(server, SLOW)[1].get("callflow_sip_calls_active")
        if active == 0:
            break
        time.sleep(0.2)
    t.check("L1: no call active after the traffic (%s)" % active, active == 0)
    records = [r for r in sipcalls.wait_records(server, 20 + L1_CALLS + len(sampled), slow=SLOW)
               if r.get("to") == "7900"]
    ids = {r.get("uuid") for r in records}
    t.check("L1: one completed record per call (%d records, %d distinct)"
            % (len(records), len(ids)),
            len(records) == L1_CALLS == len(ids) and
            all(r.get("status") == "completed" and r.get("resultCode") == "done"
                for r in records),
            sorted({(r.get("status"), r.get("resultCode")) for r in records}))
    fds_after = sipcalls.open_fds(pid)
    t.check("L1: open descriptors back to where they were (%d before, %d after)"
            % (fds_before, fds_after), abs(fds_after - fds_before) <= 5)
    if SANITIZED:
        t.skip("L1: resident memory back near its warm-up value",
               "ASan's quarantine holds freed memory")
    elif samples:
        warm = next((mib for elapsed, mib in samples if elapsed >= expected / 5), samples[0][1])
        end = sipcalls.rss_mib(pid)
        t.check("L1: resident memory within 20 MiB of its value after warm-up (%.1f MiB then, "
                "%.1f at the end)" % (warm, end), end - warm <= 20)


def main():
    if not shutil.which("sipp"):
        t.skip("load tiers", "sipp is not installed (apt-get install sip-tester)")
        return t.finish()
    api = sipcalls.AccountApi()
    with tempfile.TemporaryDirectory(prefix="callflow-load-") as work:
        flow = sipcalls.account_flow(work, api.port)
        server = start_server(work, "l0-l1", flow, "--allow", "127.0.0.1:%d" % api.port)
        if server:
            try:
                t.safe("L0 smoke", l0_smoke, work, server, api)
                t.safe("L1 short", l1_short, work, server)
            finally:
                server.stop()
                t.no_sanitizer_report("L0/L1: no sanitizer report", server.stderr())
        if all(os.path.exists(DTMF_PCAP % name) for name in KEYS.values()):
            t.safe("L0 DTMF matrix", l0_dtmf_matrix, work)
        else:
            t.skip("L0 DTMF matrix", "SIPp's dtmf_2833 pcaps are missing")
    api.close()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
