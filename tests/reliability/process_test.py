#!/usr/bin/env python3
"""The process rows of RELIABILITY.md that overload_test.py does not drive: P3 (SIGTERM while an
ApiRequest waits: a request that answers within the drain lets the call finish, one that does
not is cancelled at the deadline and the record says so), P5 (kill -9 during calls, then a
restart on the same ports at once: open records closed "interrupted", no stale files), P8 (file
descriptors run out: new calls 503, the live call goes on, no busy loop, recovery), P9 (the wall
clock jumps an hour either way during calls and a drain: timers and durations follow the
monotonic clock; needs libfaketime), P11 (no ACK after the 200 OK: the 200 is retransmitted, the
dialog is ended with BYE after 64*T1 and recorded) and P12 (speech or audio that cannot be
played: the element's error exit, or its output when error is not wired; never a dropped call).

Usage: process_test.py PATH_TO_callflow REPO_ROOT

SIPp or a raw UDP peer (tests/hostile/sipwire.py) places the calls; a Python HTTP server plays
the API. Timing assertions are one-sided and scaled for sanitizer builds.
"""
import contextlib
import http.server
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.abspath(sys.argv[2]) if len(sys.argv) == 3 else None
if ROOT is None:
    sys.exit("usage: process_test.py PATH_TO_callflow REPO_ROOT")
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, os.path.join(ROOT, "tests", "sip"))
sys.path.insert(0, os.path.join(ROOT, "tests", "hostile"))
import harness  # noqa: E402
import sipcalls  # noqa: E402
import sipkit  # noqa: E402
import sipwire  # noqa: E402

CALLFLOW = os.path.abspath(sys.argv[1])
SLOW = harness.slowdown(CALLFLOW)
FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
t = harness.Checks()
# CALLFLOW_TEST_ROWS=P3,P8 runs those rows only (while working on them).
ONLY = [r for r in os.environ.get("CALLFLOW_TEST_ROWS", "").split(",") if r]


# --- the API the flows call ----------------------------------------------------------------------

class Api:
    """GET /slow?s=SECONDS answers {"ok": true} after that long; GET /long answers a 12,000-byte
    text (longer than speech may be)."""

    def __init__(self):
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                api.hits.append(self.path)
                if self.path.startswith("/slow"):
                    seconds = float(self.path.partition("s=")[2] or "1")
                    deadline = time.monotonic() + seconds
                    while time.monotonic() < deadline and not api.closing:
                        time.sleep(0.05)
                    body = {"ok": True}
                else:
                    body = {"text": "word " * 2400}
                data = json.dumps(body).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the server gave up on the request (P3's cancelled one)

            def log_message(self, *args):
                pass

        self.hits = []
        self.closing = False
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.closing = True
        self.server.shutdown()
        self.server.server_close()


# --- servers and calls ---------------------------------------------------------------------------

def write_flow(work, name, elements, start):
    path = os.path.join(work, name + ".json")
    with open(path, "w") as f:
        json.dump({"format": 1, "name": name, "start": start, "elements": elements}, f)
    return path


HOLD_FLOW = [{"name": "Hold", "type": "CaptureDigits", "resultCode": "long",
              "prompt": {"text": "Hello."}, "minDigits": 1, "maxDigits": 4, "timeout": 60,
              "retries": 0, "next": {"output": "End", "noInput": "End", "error": "End"}},
             {"name": "End", "type": "Hangup", "resultCode": "long-ended"}]


@contextlib.contextmanager
def serve(work, name, flow, *args, prefix=(), env=None):
    """A `callflow serve --sip` running FLOW (a file) for the body of a `with`, which gets None
    when it did not start; killed after it."""
    rtp_base = 30000 + 400 * (os.getpid() % 10)
    server = harness.Serve(CALLFLOW, work, sip=True, slow=SLOW, name=name, env=env, args=[
        "--flow", flow, "--prompts", sipcalls.prompts_dir(work),
        "--rtp-ports", "%d-%d" % (rtp_base, rtp_base + 199), *args])
    ok = server.start(prefix=prefix)
    t.check("%s: serve starts" % name, ok, server.stderr()[-3000:])
    try:
        yield server if ok else None
    finally:
        server.stop()


def record_trace(server, uuid_):
    """The trace a call record keeps (read from the database file, read-only)."""
    try:
        with contextlib.closing(sqlite3.connect("file:%s?mode=ro" % server.db, uri=True)) as db:
            row = db.execute("SELECT trace FROM calls WHERE uuid = ?", (uuid_,)).fetchone()
        return json.loads(row[0]) if row and row[0] else {}
    except (sqlite3.Error, ValueError):
        return {}


def invite(peer, number, media_port):
    """Sends an INVITE with an offer from PEER; returns what a teardown needs."""
    call_id = uuid.uuid4().hex + "@127.0.0.1"
    branch, tag = sipwire.new_branch(), sipwire.new_tag()
    ruri = "sip:%s@127.0.0.1:%d" % (number, peer.target[1])
    body = sipwire.sdp_offer(media_port)
    from_hdr = "<sip:441632960999@127.0.0.1:%d>;tag=%s" % (peer.port, tag)
    to_hdr = "<sip:%s@127.0.0.1>" % number
    text = ("INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport\r\n"
            "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"
            "Contact: <sip:441632960999@127.0.0.1:%d>\r\nMax-Forwards: 70\r\n"
            "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s" % (
                ruri, peer.port, branch, from_hdr, to_hdr, call_id, peer.port, len(body), body))
    peer.send(text.encode())
    return {"ruri": ruri, "via_branch": branch, "from_hdr": from_hdr, "to_hdr": to_hdr,
            "call_id": call_id, "cseq": 1}


def final(answers):
    return next((a for a in answers if a.code >= 200 and a.method == "INVITE"), None)


# --- P3 ------------------------------------------------------------------------------------------

def p3(work, api):
    """SIGTERM while two calls wait in an ApiRequest: one answers within the drain, one not."""
    flows = {}
    for name, seconds in (("P3Quick", 1.5 * SLOW), ("P3Stuck", 60)):
        flows[name] = write_flow(work, name, [
            {"name": "Get", "type": "ApiRequest", "action": "GET", "timeout": 90,
             "url": "http://127.0.0.1:%d/slow?s=%g" % (api.port, seconds),
             "next": {"output": "Done", "error": "Failed"}},
            {"name": "Done", "type": "TextToSpeech", "text": "Done.", "next": {"output": "Bye"}},
            {"name": "Bye", "type": "Hangup", "resultCode": "answered"},
            {"name": "Failed", "type": "Hangup", "resultCode": "api-failed"}], "Get")
    drain = 6 * SLOW
    with serve(work, "p3", flows["P3Stuck"], "--route", "7601=" + flows["P3Quick"],
               "--drain-timeout", "%g" % drain,
               "--allow", "127.0.0.1:%d" % api.port) as server:
        if not server:
            return
        quick, _ = sipcalls.hold_calls(server, work, "p3-quick", 1, "7601", SLOW, wait=False)
        stuck, _ = sipcalls.hold_calls(server, work, "p3-stuck", 1, "7602", SLOW)
        deadline = time.monotonic() + 10 * SLOW
        while len(api.hits) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        t.check("P3: both calls wait in their ApiRequest", len(api.hits) == 2, api.hits)
        signalled = time.monotonic()
        server.send_signal(signal.SIGTERM)
        code = server.wait(drain + 20)
        elapsed = time.monotonic() - signalled
        t.check("P3: exit 0 at the drain timeout (the stuck request holds the drain)",
                code == 0 and elapsed >= drain - 0.5, (code, elapsed))
        results = {"quick": quick.finish(30 * SLOW), "stuck": stuck.finish(30 * SLOW)}
        # An ApiRequest without a phrase does not answer the call: the one still waiting at the
        # deadline was never answered, so it gets a final 503 rather than a BYE.
        t.check("P3: the finished call got BYE, the stuck (unanswered) one a final 503",
                sipcalls.byes(results["quick"]) == 1
                and any(x.startswith("rejected") for x in results["stuck"].logs),
                {k: r.logs[-6:] for k, r in results.items()})
        records = {r.get("to"): r for r in server.records() or []}
        q, s = records.get("7601") or {}, records.get("7602") or {}
        t.check("P3: the request that answered within the drain let its call finish "
                "(completed, path Get, Done, Bye)",
                q.get("status") == "completed" and q.get("path") == ["Get", "Done", "Bye"], q)
        t.check("P3: the stuck request's call ended at the deadline: record shutdown, in Get",
                s.get("status") == "shutdown" and s.get("path") == ["Get"], s)
        http_steps = record_trace(server, s.get("uuid", "none")).get("http")
        t.check("P3: the stuck call's trace says its request was cancelled",
                bool(http_steps) and "cancel" in json.dumps(http_steps).lower(), http_steps)


# --- P5 ------------------------------------------------------------------------------------------

def p5(work):
    flow = write_flow(work, "P5Hold", HOLD_FLOW, "Hold")
    with serve(work, "p5", flow) as server:
        if not server:
            return
        handle, up = sipcalls.hold_calls(server, work, "p5-calls", 3, "7651", slow=SLOW)
        t.check("P5: 3 calls live", up)
        server.process.kill()
        server.process.wait(timeout=10)
        handle.finish(5)  # the callers are left waiting: stop them
        restarted = time.monotonic()
        ok = server.start()
        t.check("P5: restarted at once on the same HTTP and SIP ports",
                ok, server.stderr()[-2000:])
        t.check("P5: the restarted server answers OPTIONS",
                ok and sipkit.sip_options(server.sip_port, timeout=2 * SLOW) == 200)
        harness.Checks.info("P5: ready %.1f s after kill -9" % (time.monotonic() - restarted))
        records = server.records() or []
        t.check("P5: the 3 open records are closed as interrupted",
                len(records) == 3 and all(r.get("status") == "interrupted" for r in records),
                [(r.get("status"), r.get("path")) for r in records])
        leftovers = sorted(f for f in os.listdir(work) if f.startswith("p5.db"))
        t.check("P5: no stale lock or journal files beside the database",
                set(leftovers) <= {"p5.db", "p5.db-wal", "p5.db-shm"}, leftovers)


# --- P6, P7 --------------------------------------------------------------------------------------

def reload_flow(version, valid=True):
    """Version VERSION of the flow "Reload": 1 holds the call (waiting for digits) until the
    media timeout; later ones say a word and hang up with result code vN."""
    if not valid:
        return '{"format": 1, "name": "Reload", "start": "Nowhere", "elements": ['
    if version == 1:
        elements = [dict(HOLD_FLOW[0]), {"name": "End", "type": "Hangup", "resultCode": "v1"}]
    else:
        elements = [{"name": "Say", "type": "TextToSpeech", "text": "Version %d." % version,
                     "next": {"output": "End"}},
                    {"name": "End", "type": "Hangup", "resultCode": "v%d" % version}]
    return json.dumps({"format": 1, "name": "Reload", "start": elements[0]["name"],
                       "elements": elements})


def admin_token(server):
    harness.run_cli(CALLFLOW, "users", "add", "ops", "--role", "admin",
                                       "--password", "reload-password", "--db", server.db,
                                       slow=SLOW)
    status, _, body = harness.http(
        "POST", server.url("/api/v1/auth/token"),
        json.dumps({"username": "ops", "password": "reload-password"}).encode(),
        {"Content-Type": "application/json"})
    try:
        return json.loads(body)["token"] if status == 200 else None
    except (ValueError, KeyError):
        return None


def wait_log(server, text, wait=10):
    deadline = time.monotonic() + wait * SLOW
    while text not in server.stderr() and time.monotonic() < deadline:
        time.sleep(0.1)
    return text in server.stderr()


def p6(work):
    """Reloads (SIGHUP and the admin API) while a call runs: it keeps its version."""
    flows = os.path.join(work, "flows")
    os.makedirs(flows)
    path = os.path.join(flows, "reload.json")
    with open(path, "w") as f:
        f.write(reload_flow(1))
    routes = []
    for number in ("7661", "7662", "7663", "7664"):
        routes += ["--route", number + "=Reload"]
    quiet = 8 * SLOW
    with serve(work, "p6", path, "--flows", flows, "--media-timeout", "%g" % quiet,
               *routes) as server:
        if not server:
            return
        first, up = sipcalls.hold_calls(server, work, "p6-a", 1, "7661", SLOW)
        t.check("P6: a call runs version 1", up)
        with open(path, "w") as f:
            f.write(reload_flow(2))
        server.send_signal(signal.SIGHUP)
        t.check("P6: SIGHUP deploys the changed file as version 2",
                wait_log(server, 'flow "Reload" version 2 is live'), server.stderr()[-1500:])
        second, _ = sipcalls.hold_calls(server, work, "p6-b", 1, "7662", SLOW, wait=False)
        second = second.finish(30 * SLOW)
        with open(path, "w") as f:
            f.write(reload_flow(3, valid=False))
        server.send_signal(signal.SIGHUP)
        t.check("P6: SIGHUP with a broken file reports it and deploys nothing",
                wait_log(server, "not deployed (it has errors)"), server.stderr()[-1500:])
        third = sipcalls.hold_calls(server, work, "p6-c", 1, "7663", SLOW,
                                    wait=False)[0].finish(30 * SLOW)
        token = admin_token(server)
        auth = {"Authorization": "Bearer %s" % token, "Content-Type": "application/json"}
        status, _, _ = harness.http("PUT", server.url("/api/v1/flows/Reload"),
                                    reload_flow(4).encode(), auth)
        t.check("P6: the admin API saves version 4 (200)", status == 200, status)
        status, _, body = harness.http("PUT", server.url("/api/v1/flows/Reload"),
                                       reload_flow(5, valid=False).encode(), auth)
        t.check("P6: an invalid version is refused (422)", status == 422, (status, body[:300]))
        fourth = sipcalls.hold_calls(server, work, "p6-d", 1, "7664", SLOW,
                                     wait=False)[0].finish(30 * SLOW)
        t.check("P6: the later calls were hung up by their flows",
                all(sipcalls.byes(r) == 1 for r in (second, third, fourth)))
        first = first.finish(quiet + 30 * SLOW)
        records = {r.get("to"): r for r in sipcalls.wait_records(server, 4, slow=SLOW)}
        got = {n: (records.get(n, {}).get("flowVersion"), records.get(n, {}).get("resultCode"))
               for n in ("7661", "7662", "7663", "7664")}
        # Stored versions: 1 and 2 from the file, 3 from the admin API (neither the broken file
        # nor the invalid save made one).
        t.check("P6: the first call kept version 1 to its end; the next ran 2, still 2 after "
                "the broken file, and 3 after the admin API's save",
                got == {"7661": (1, "long"), "7662": (2, "v2"), "7663": (2, "v2"),
                        "7664": (3, "v4")}, got)

        # P7: clients that go away mid-request or mid-response do not kill the server.
        for i in range(40):
            s = socket.create_connection(("127.0.0.1", server.http_port), timeout=2)
            if i % 2:
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            else:
                s.sendall(b"PUT /api/v1/flows/Reload HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Length: 100000\r\n\r\n" + b"{" * 5000)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()  # a reset, with the answer (if any) unread
        time.sleep(0.5)
        t.check("P7: the server is alive and answers after 40 clients reset mid-exchange",
                server.running() and server.healthz()[0] == 200)


# --- P8 ------------------------------------------------------------------------------------------

def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p8(work):
    if harness.sanitized(CALLFLOW):
        # Out of descriptors, the sanitizer runtime fails too: UBSan's vptr check opens a pipe to
        # probe memory, and reports any object as having an invalid vptr when it cannot.
        t.skip("P8 descriptors run out", "the sanitizer runtime needs descriptors of its own; "
               "P8 runs in the plain build")
        return
    limit = 96
    flow = write_flow(work, "P8Hold", HOLD_FLOW, "Hold")
    media_timeout = 12 * SLOW
    with serve(work, "p8", flow, "--media-timeout", "%g" % media_timeout,
               prefix=["prlimit", "--nofile=%d:%d" % (limit, limit), "--"]) as server:
        if not server:
            return
        pid = server.process.pid
        base = fd_count(pid)
        t.check("P8: the server starts with room under its %d descriptors (uses %d)"
                % (limit, base), 0 < base < limit - 10, base)
        live, up = sipcalls.hold_calls(server, work, "p8-live", 1, "7681", slow=SLOW)
        t.check("P8: a call is live before the descriptors run out", up)
        hogs = []
        for _ in range(limit + 20):  # each accepted HTTP connection takes one
            s = socket.create_connection(("127.0.0.1", server.http_port), timeout=2)
            hogs.append(s)
            if len(hogs) % 8 == 0:
                time.sleep(0.05)
            if fd_count(pid) >= limit:
                break
        time.sleep(0.5)
        t.check("P8: the server's descriptors are all in use", fd_count(pid) >= limit,
                (fd_count(pid), len(hogs), server.running(), server.stderr()[-1500:]))
        if not server.running():
            live.finish(5)
            return
        # A SIP connection over TCP waits in the backlog too: it must not spin the server.
        tcp = socket.create_connection(("127.0.0.1", server.sip_port), timeout=2)
        peer = sipwire.UdpPeer(server.sip_port)
        try:
            dialog = invite(peer, "7682", harness.free_port(udp=True))
            answers = peer.collect(10 * SLOW, until=lambda a: a.code >= 200)
            answer = final(answers)
            t.check("P8: a new call gets 503 while no descriptor is left",
                    answer is not None and answer.code == 503, answers)
            if answer is not None and answer.code >= 200:
                peer.send(("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=%s\r\n"
                           "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\n"
                           "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n" % (
                               dialog["ruri"], peer.port, dialog["via_branch"],
                               dialog["from_hdr"], sipwire.first(answer.headers, "to"),
                               dialog["call_id"])).encode())
            used = cpu_seconds(pid)
            time.sleep(3)
            busy = (cpu_seconds(pid) - used) / 3
            t.check("P8: no busy loop while out of descriptors (CPU %.0f%% of a core)"
                    % (100 * busy), busy < 0.5, busy)
            tcp.settimeout(5 * SLOW)
            try:
                closed = tcp.recv(1) == b""
            except OSError as e:
                closed = "reset" in str(e).lower()
            t.check("P8: the SIP connection over TCP that could not be accepted was closed",
                    closed and "SIP over TCP: out of file descriptors" in server.stderr(),
                    server.stderr()[-800:])
            result = live.finish(media_timeout + 30 * SLOW)
            t.check("P8: the live call went on to its end (BYE at the media timeout)",
                    sipcalls.byes(result) == 1, result.summary())
        finally:
            tcp.close()
            for s in hogs:
                s.close()
        recovered = False
        deadline = time.monotonic() + 15 * SLOW
        while time.monotonic() < deadline and not recovered:
            recovered = server.healthz()[0] == 200
            time.sleep(0.2)
        t.check("P8: /healthz answers again once the connections are gone", recovered)
        try:
            invite(peer, "7683", harness.free_port(udp=True))
            answer = final(peer.collect(10 * SLOW, until=lambda a: a.code >= 200))
            t.check("P8: a new call is answered again", answer is not None and answer.code == 200,
                    answer)
        finally:
            peer.close()
        records = sipcalls.wait_records(server, slow=SLOW, count=1, status="media-timeout")
        t.check("P8: the live call's record is finalised",
                any(r.get("to") == "7681" and r.get("status") == "media-timeout"
                    for r in records), [(r.get("to"), r.get("status")) for r in records])
        t.check("P8: the server said why it refused", "open files" in server.stderr().lower()
                or "descriptor" in server.stderr().lower(), server.stderr()[-1500:])


# --- P9 ------------------------------------------------------------------------------------------

# libfaketime 0.9.10 also wraps timerfd_settime and moves every absolute expiry by its offset, as
# if it were wall-clock time, even on a CLOCK_MONOTONIC timerfd (it cannot tell the clock). Asio
# arms its monotonic timerfd with an absolute 1 ns to mean "at once"; moved back an hour that is
# refused (EINVAL), and the server's Asio timers stall: a fault of the tool, not something a real
# clock step does (the kernel never moves a monotonic timerfd). This shim, preloaded before
# libfaketime, passes timerfd calls straight to the kernel, so only the wall clock is stepped.
TIMERFD_SHIM = r"""
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>
extern "C" int timerfd_settime(int fd, int flags, const itimerspec* value, itimerspec* old) {
  return static_cast<int>(syscall(SYS_timerfd_settime, fd, flags, value, old));
}
extern "C" int timerfd_gettime(int fd, itimerspec* value) {
  return static_cast<int>(syscall(SYS_timerfd_gettime, fd, value));
}
"""


def timerfd_shim(work):
    """WORK/timerfd_shim.so, built with the system's C++ compiler; None when that fails."""
    source, library = os.path.join(work, "timerfd_shim.cpp"), os.path.join(work, "timerfd_shim.so")
    with open(source, "w") as f:
        f.write(TIMERFD_SHIM)
    compiler = shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        return None
    done = subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-o", library, source],
                          capture_output=True, text=True)
    return library if done.returncode == 0 else None


def p9(work):
    if not os.path.exists(FAKETIME):
        t.skip("P9 wall-clock jumps", "libfaketime is not installed (Debian package faketime)")
        return
    if harness.sanitized(CALLFLOW):
        t.skip("P9 wall-clock jumps", "libfaketime cannot be preloaded before the sanitizer")
        return
    shim = timerfd_shim(work)
    if not t.check("P9: the timerfd shim for libfaketime builds", shim is not None):
        return
    offset = os.path.join(work, "faketime")
    with open(offset, "w") as f:
        f.write("+0\n")
    env = harness.clean_env({"LD_PRELOAD": shim + ":" + FAKETIME, "FAKETIME_TIMESTAMP_FILE": offset,
                             "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1"})
    flow = write_flow(work, "P9Hold", HOLD_FLOW, "Hold")
    quiet = 4
    with serve(work, "p9", flow, "--media-timeout", str(quiet), "--drain-timeout", "3",
               env=env) as server:
        if not server:
            return
        for jump, service in (("+3600", "7691"), ("-3600", "7692")):
            handle, up = sipcalls.hold_calls(server, work, "p9-" + service, 1, service, SLOW)
            answered = time.monotonic()
            t.check("P9 %ss: the call is live" % jump, up)
            with open(offset, "w") as f:
                f.write(jump + "\n")
            result = handle.finish(quiet + 30 * SLOW)
            lasted = time.monotonic() - answered
            with open(offset, "w") as f:
                f.write("+0\n")
            t.check("P9 %ss: the media timeout still fires on time (BYE after %.1f s, not "
                    "before %d s)" % (jump, lasted, quiet - 1),
                    sipcalls.byes(result) == 1 and lasted >= quiet - 1, result.summary())
            count = 1 + (service == "7692")
            records = [r for r in sipcalls.wait_records(server, count, slow=SLOW)
                       if r.get("to") == service]
            duration = None
            if records and records[0].get("endedAt") and records[0].get("startedAt"):
                duration = iso_seconds(records[0]["endedAt"]) - iso_seconds(
                    records[0]["startedAt"])
            t.check("P9 %ss: the record's duration is the call's (%s s), not an hour off"
                    % (jump, duration), duration is not None and 0 <= duration < 60 * SLOW,
                    records)
        # A call whose 200 OK is never acknowledged, the clock an hour on after its first 200:
        # SIP timers on the wall clock would all fire at once and end it within a second.
        peer = sipwire.UdpPeer(server.sip_port)
        try:
            sent = time.monotonic()
            invite(peer, "7694", harness.free_port(udp=True))
            peer.collect(5 * SLOW, until=lambda a: a.code == 200)
            with open(offset, "w") as f:
                f.write("+3600\n")
            deadline = time.monotonic() + 45 * SLOW
            while time.monotonic() < deadline and "BYE" not in peer.requests:
                peer.collect(0.5)
            waited = time.monotonic() - sent
            with open(offset, "w") as f:
                f.write("+0\n")
            t.check("P9 +3600s: an unacknowledged 200 is still given 64*T1 (BYE after %.0f s)"
                    % waited, "BYE" in peer.requests and waited >= 25, (peer.requests, waited))
        finally:
            peer.close()
        handle, up = sipcalls.hold_calls(server, work, "p9-drain", 1, "7693", slow=SLOW)
        t.check("P9: a call is live before the drain", up)
        with open(offset, "w") as f:
            f.write("+3600\n")
        signalled = time.monotonic()
        server.send_signal(signal.SIGTERM)
        code = server.wait(30)
        elapsed = time.monotonic() - signalled
        t.check("P9: a drain across a +1 h jump still lasts its 3 s and exits 0 (%.1f s)"
                % elapsed, code == 0 and 2.5 <= elapsed <= 15 * SLOW,
                "exit %s; the server's stderr ends:\n%s" % (code, server.stderr()[-3000:]))
        handle.finish(10 * SLOW)


def iso_seconds(text):
    """Seconds of an ISO 8601 UTC time like 2026-11-29T10:00:00.123Z."""
    import datetime
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# --- P11 -----------------------------------------------------------------------------------------

def p11(work):
    flow = write_flow(work, "P11Hold", HOLD_FLOW, "Hold")
    with serve(work, "p11", flow) as server:
        if not server:
            return
        peer = sipwire.UdpPeer(server.sip_port)
        try:
            sent = time.monotonic()
            invite(peer, "7711", harness.free_port(udp=True))
            # Never ACK: count the 200s, and wait for the server's BYE (answered by the peer).
            answers = []
            deadline = time.monotonic() + 45 * SLOW
            while time.monotonic() < deadline and "BYE" not in peer.requests:
                answers += peer.collect(1)
            bye_after = time.monotonic() - sent
            oks = [a for a in answers if a.code == 200 and a.method == "INVITE"]
            t.check("P11: the 200 OK is retransmitted while no ACK comes (%d times)" % len(oks),
                    len(oks) >= 5, answers)
            t.check("P11: the server ends the dialog with BYE after 64*T1 (%.0f s)" % bye_after,
                    "BYE" in peer.requests and bye_after >= 30, (peer.requests, bye_after))
        finally:
            peer.close()
        records = sipcalls.wait_records(server, slow=SLOW, count=1, status="completed")
        t.check("P11: the call's record is finalised",
                len(records) == 1 and records[0].get("status") == "completed",
                [(r.get("status"), r.get("hungUpBy")) for r in records])


# --- P12 -----------------------------------------------------------------------------------------

def p12(work, api):
    flow = write_flow(work, "P12", [
        {"name": "Get", "type": "ApiRequest", "action": "GET", "timeout": 10,
         "url": "http://127.0.0.1:%d/long" % api.port,
         "next": {"output": "ReadBack", "error": "ApiFailed"}},
        {"name": "ReadBack", "type": "TextToSpeech", "text": "{{Get.Result.text}}",
         "next": {"output": "Tune", "error": "Sorry"}},
        {"name": "Sorry", "type": "TextToSpeech", "text": "Sorry, I cannot read that.",
         "next": {"output": "Tune"}},
        {"name": "Tune", "type": "Play", "phrase": ["no-such-prompt.wav"],
         "next": {"output": "Bye"}},
        {"name": "Bye", "type": "Hangup", "resultCode": "went-on"},
        {"name": "ApiFailed", "type": "Hangup", "resultCode": "api-failed"}], "Get")
    with serve(work, "p12", flow, "--allow", "127.0.0.1:%d" % api.port) as server:
        if not server:
            return
        handle, up = sipcalls.hold_calls(server, work, "p12-call", 1, "7721", slow=SLOW)
        t.check("P12: the call is answered", up)
        result = handle.finish(30 * SLOW)
        t.check("P12: the flow ends the call with BYE (not dropped)", sipcalls.byes(result) == 1,
                result.summary())
        records = sipcalls.wait_records(server, slow=SLOW, count=1)
        r = records[0] if len(records) == 1 else {}
        t.check("P12: speech over the limit takes TextToSpeech's error exit; a missing prompt "
                "with no error exit goes on by output",
                r.get("status") == "completed" and r.get("resultCode") == "went-on"
                and r.get("path") == ["Get", "ReadBack", "Sorry", "Tune", "Bye"], r)
        steps = record_trace(server, r.get("uuid", "none")).get("steps", [])
        notes = " | ".join(s.get("note", "") for s in steps)
        t.check("P12: the trace says why each one failed",
                "speech could not be played" in notes and "audio could not be played" in notes,
                steps)
        log = server.stderr()
        t.check("P12: the log names the call's element and the reason",
                'element "ReadBack"' in log and 'element "Tune"' in log, log[-1500:])


def main():
    if shutil.which("sipp") is None:
        t.skip("process rows", "sipp (sip-tester) is not installed")
        return t.finish()
    api = Api()
    try:
        with tempfile.TemporaryDirectory(prefix="callflow-process-") as work:
            for name, fn, args in (("P3", p3, (api,)), ("P5", p5, ()), ("P6", p6, ()),
                                   ("P8", p8, ()),
                                   ("P9", p9, ()), ("P12", p12, (api,)), ("P11", p11, ())):
                if ONLY and name not in ONLY:
                    continue
                os.makedirs(os.path.join(work, name))
                t.safe(name, fn, os.path.join(work, name), *args)
    finally:
        api.close()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
