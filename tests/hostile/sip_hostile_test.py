#!/usr/bin/env python3
"""Hostile SIP input against `callflow serve --sip` (RELIABILITY.md section 5.5, rows S1-S22;
S23, the per-source limit, is tested elsewhere).

Usage: sip_hostile_test.py PATH_TO_callflow REPO_ROOT [--all]

One server on 127.0.0.1 (free ports, a temporary database, --max-calls 300) runs
tests/hostile/flows/hangup.json ("Goodbye.", then Hangup). Then:

- S1-S4: our own torture corpus, tests/hostile/sip/NAME.sip with NAME.expect beside it (the
  acceptable answers, e.g. `100|180|183|200`, `400|drop`; `drop` = no answer). Cases are grouped
  by prefix: valid- (S1, RFC 4475 3.1.1), invalid- (S2, 3.1.2), txn-/app-/compat- (S3, 3.2-3.4),
  ipv6- (S4, RFC 5118). Placeholders ({{PORT}}, {{TAG}}, {{SDP}}...) are filled by
  sipwire.fill. Each message goes as one UDP datagram; its answers (same Call-ID) are collected;
  an INVITE is then torn down (CANCEL, or ACK and BYE after a 2xx); then the liveness probe.
- S5: protos_gen.py's damaged INVITEs (350 spread over every element; --all: all of them), each
  followed by a CANCEL (and ACK/BYE as needed), then the liveness probe. Per element: the server
  alive after each, and no 5xx but 501 (unknown method) and 503 (busy).
- S6-S22 as named checks (S13, S14 and S16 read the corpus cases that exercise them).

The liveness probe is an OPTIONS that must get 200 within 2 s x SLOW. When the server is dead
or does not answer, the input is saved under /tmp, the crash (or hang) counted and the server
restarted; the target is no crash. At the end: the server alive, no sanitizer report in its
stderr, RSS and open descriptors back near the baseline (generous margins), no call record left
open, and the number of distinct hostile inputs sent, printed as "hostile inputs: N".

Waits scale with SLOW (harness.slowdown: CALLFLOW_TEST_SLOWDOWN, else 4 under a sanitizer).
"""
import collections
import glob
import hashlib
import json
import os
import random
import re
import socket
import sqlite3
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ARGS = [a for a in sys.argv[1:] if a != "--all"]
ALL = "--all" in sys.argv[1:]
if len(ARGS) != 2:
    sys.exit("usage: sip_hostile_test.py PATH_TO_callflow REPO_ROOT [--all]")
CALLFLOW = os.path.abspath(ARGS[0])
ROOT = os.path.abspath(ARGS[1])
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, os.path.join(ROOT, "tests", "sip"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import protos_gen  # noqa: E402
import sipkit  # noqa: E402
import sipwire  # noqa: E402
from sipwire import HOST  # noqa: E402

SLOW = harness.slowdown(CALLFLOW)
FLOW = os.path.join(ROOT, "tests", "hostile", "flows", "hangup.json")
CORPUS = os.path.join(ROOT, "tests", "hostile", "sip")
CRASH_DIR = "/tmp"
WINDOW = 0.3           # seconds to collect the answers to one corpus message (x SLOW)
PROTOS_WINDOW = 0.1    # ... to one generated INVITE, and to its CANCEL (x SLOW)
PROBE_TIMEOUT = 2.0    # the liveness OPTIONS must get 200 within this (x SLOW)
PROTOS_LIMIT = 350
MAX_RESTARTS = 8
CALL = {100, 180, 183, 200}

t = harness.Checks()


class Target:
    """The server under test; restarted (new ports, new database) when it dies or hangs."""

    def __init__(self, work):
        self.work = work
        self.serve = None
        self.starts = 0
        self.crashes = 0
        self.hangs = 0
        self.err_paths = []
        self.dbs = []
        self.inputs = set()        # digests of the distinct hostile inputs sent
        self.last_input = b""
        self.media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)   # RTP sink
        self.media.bind((HOST, 0))
        self.media.setblocking(False)
        self.media_port = self.media.getsockname()[1]

    def start(self):
        self.starts += 1
        base = 30000 + 400 * (os.getpid() % 10)
        self.serve = harness.Serve(CALLFLOW, self.work, sip=True, slow=SLOW,
                                   name="serve-%d" % self.starts,
                                   args=["--flow", FLOW, "--max-calls", "300",
                                         "--rtp-ports", "%d-%d" % (base, base + 399)])
        self.err_paths.append(self.serve.err_path)
        self.dbs.append(self.serve.db)
        if not self.serve.start():
            return False
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline:
            if sipkit.sip_options(self.port, timeout=0.3) == 200:
                return True
            time.sleep(0.05)
        return False

    @property
    def port(self):
        return self.serve.sip_port

    @property
    def pid(self):
        return self.serve.process.pid

    def drain_media(self):
        try:
            while True:
                self.media.recv(4096)
        except OSError:
            pass

    def sent(self, label, data):
        """Counts one hostile input (by its bytes and label)."""
        self.last_input = data
        self.inputs.add(hashlib.sha1(label.encode() + b"\0" + data).hexdigest())

    def probe(self, timeout=PROBE_TIMEOUT):
        return sipkit.sip_options(self.port, timeout=timeout * SLOW)

    def alive_after(self, label):
        """The liveness probe after one input; on failure the input is saved, the crash or hang
        counted, and the server restarted. True when the server answered."""
        self.drain_media()
        running = self.serve.running()
        if running and self.probe() == 200:
            return True
        running = self.serve.running()
        if running and self.probe(PROBE_TIMEOUT * 3) == 200:
            t.note("%s: the probe was answered only late" % label)
            return True
        safe_label = re.sub(r"[^A-Za-z0-9_.-]+", "_", label)[:80]
        path = os.path.join(CRASH_DIR, "callflow-hostile-%s.bin" % safe_label)
        with open(path, "wb") as f:
            f.write(self.last_input)
        if running:
            self.hangs += 1
        else:
            self.crashes += 1
        t.info("%s: server %s; input saved as %s; stderr: %s" % (
            label, "not answering" if running else "dead (exit %s)" % self.serve.process.returncode,
            path, self.serve.stderr()[-1500:].replace("\n", " | ")))
        if self.crashes + self.hangs > MAX_RESTARTS:
            raise RuntimeError("too many server restarts")
        self.serve.stop()
        ok = self.start()
        t.info("server restarted: %s" % ("up" if ok else "did not start"))
        return False

    def rss_kib(self):
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return None

    def fd_count(self):
        try:
            return len(os.listdir("/proc/%d/fd" % self.pid))
        except OSError:
            return None

    def stderr_all(self):
        out = b""
        for p in self.err_paths:
            try:
                with open(p, "rb") as f:
                    out += f.read()
            except OSError:
                pass
        return out

    def records(self):
        """Every call record of the current database (read with sqlite3, the trace too)."""
        try:
            db = sqlite3.connect("file:%s?mode=ro" % self.serve.db, uri=True, timeout=10)
            try:
                rows = db.execute("SELECT uuid, status, caller, dnis, result_code, hung_up_by "
                                  "FROM calls").fetchall()
            finally:
                db.close()
        except sqlite3.Error:
            return None
        return [dict(zip(("uuid", "status", "from", "to", "resultCode", "hungUpBy"), r))
                for r in rows]

    def db_queue(self):
        status, health = self.serve.healthz()
        try:
            return int(health.get("dbQueue")) if status == 200 else None
        except (AttributeError, TypeError, ValueError):
            return None


_user = [0]


def new_user():
    """A caller number of its own for each input, so its call record can be found."""
    _user[0] += 1
    return "4416329%05d" % _user[0]


def values_for(target, peer):
    return {"HOST": HOST, "PORT": target.port, "LPORT": peer.port, "MPORT": target.media_port,
            "USER": new_user(), "TAG": sipwire.new_tag(), "BRANCH": sipwire.new_branch(),
            "CALLID": "hostile-%016x@%s" % (random.getrandbits(64), HOST)}


class Outcome:
    """What one input got: every answer to its Call-ID, the final ones, strays."""

    def __init__(self):
        self.answers = []
        self.strays = []
        self.alive = True
        self.user = None

    def codes(self):
        finals = [a.code for a in self.answers if a.code >= 200]
        return finals or [a.code for a in self.answers]

    def text(self):
        if not self.answers:
            return "nothing"
        return ", ".join("%d %s" % (a.code, a.method) for a in self.answers)

    def matches(self, expect):
        codes = self.codes()
        if not codes:
            return "drop" in expect
        return all(c in expect for c in codes)


def exchange(target, data, label, call_id=None, window=WINDOW, teardown=True, user=None,
             values=None, peer=None):
    """Sends DATA (one datagram) and collects the answers with its Call-ID; an INVITE is torn
    down after; then the liveness probe. Returns an Outcome."""
    own = peer is None
    peer = peer or sipwire.UdpPeer(target.port)
    out = Outcome()
    out.user = user
    try:
        target.sent(label, data)
        start = data.split(b"\r\n", 1)[0].decode("latin-1")
        is_request = not start.startswith("SIP/")
        method = start.split(" ", 1)[0] if is_request else None
        peer.send(data)

        def ours(a):
            cid = sipwire.first(a.headers, "call-id")
            return call_id is None or cid is None or cid == call_id

        def final(a):
            return ours(a) and a.code >= 200 and (a.method == method or a.method is None)

        got = peer.collect(window * SLOW, final)
        out.answers = [a for a in got if ours(a)]
        out.strays = [a for a in got if not ours(a)]
        if teardown and method == "INVITE" and values is not None:
            finals = [a for a in out.answers if a.code >= 200 and a.method == "INVITE"]
            any_answer = out.answers[-1] if out.answers else None
            from_hdr = (sipwire.first(any_answer.headers, "from") if any_answer else None) or \
                "<sip:%s@%s:%d>;tag=%s" % (values["USER"], HOST, peer.port, values["TAG"])
            to_hdr = (sipwire.first(any_answer.headers, "to") if any_answer else None) or \
                "<sip:ivr@%s:%d>" % (HOST, target.port)
            if any_answer is not None and not finals:
                to_hdr = re.sub(r";\s*tag=[^;]*", "", to_hdr)
            via = (sipwire.first(any_answer.headers, "via") if any_answer else "") or ""
            m = re.search(r"branch=([^;,\s]+)", via)
            branch = m.group(1) if m else values["BRANCH"]
            ruri = start.split(" ")[1] if len(start.split(" ")) > 1 else \
                "sip:ivr@%s:%d" % (HOST, target.port)
            late = sipwire.teardown_invite(peer, ruri, branch, from_hdr, to_hdr,
                                           call_id or values["CALLID"], 1,
                                           finals[0] if finals else None, window * SLOW)
            out.answers += [a for a in late if ours(a) and a.method == "INVITE"
                            and a.code != 487 and a not in out.answers]
    finally:
        if own:
            peer.close()
    out.alive = target.alive_after(label)
    return out


# --- S1-S4: our corpus ---------------------------------------------------------------------------

ROW_OF = (("valid-", "S1"), ("invalid-", "S2"), ("txn-", "S3"), ("app-", "S3"),
          ("compat-", "S3"), ("ipv6-", "S4"))


def read_expect(path):
    why, expect = "", set()
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("#"):
                why = why or line.lstrip("# ")
            elif line and not expect:
                expect = {int(x) if x.isdigit() else x for x in line.split("|")}
    return why, expect


def corpus(target, results):
    files = sorted(glob.glob(os.path.join(CORPUS, "*.sip")))
    t.check("the corpus has cases for every row S1-S4 (%d files)" % len(files),
            all(any(os.path.basename(p).startswith(pre) for p in files) for pre, _ in ROW_OF))
    dead = collections.defaultdict(list)
    counts = collections.Counter()
    for path in files:
        name = os.path.basename(path)[:-4]
        row = next((r for pre, r in ROW_OF if name.startswith(pre)), "S?")
        expect_path = path[:-4] + ".expect"
        if not os.path.exists(expect_path):
            t.check("%s %s: has an .expect file" % (row, name), False)
            continue
        why, expect = read_expect(expect_path)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        peer = sipwire.UdpPeer(target.port)
        values = values_for(target, peer)
        data = sipwire.fill(text, values)
        out = exchange(target, data, "corpus-" + name, call_id=values["CALLID"], values=values,
                       user=values["USER"], peer=peer)
        peer.close()
        results[name] = out
        counts[row] += 1
        if not out.alive:
            dead[row].append(name)
        label = "%s %-22s answered %-28s expected %s  (%s)" % (
            row, name, out.text(), "|".join(str(x) for x in sorted(expect, key=str)), why)
        if name in KNOWN and not out.matches(expect):
            t.note("known divergence, %s: %s" % (KNOWN[name], label))
        else:
            t.check(label, out.matches(expect),
                    "strays: %s" % out.strays if out.strays else "")
        if out.strays:
            t.info("%s: also answered for another Call-ID: %s" % (name, out.strays))
    for row in ("S1", "S2", "S3", "S4"):
        t.check("%s server alive after each of its %d corpus cases" % (row, counts[row]),
                not dead[row], "died or hung after: %s" % dead[row])


# --- S5: the generator ---------------------------------------------------------------------------

def protos(target):
    cases = protos_gen.select(None if ALL else PROTOS_LIMIT, seed=1)
    t.info("S5: %d generated cases of %d (%s)" % (len(cases), len(protos_gen.all_cases(1)),
                                                 "--all" if ALL else "spread sample"))
    stats = collections.OrderedDict()
    started = time.monotonic()
    control = None
    for case in cases:
        st = stats.setdefault(case.group, {"run": 0, "dead": [], "answers": collections.Counter(),
                                           "errors": []})
        peer = sipwire.UdpPeer(target.port)
        values = values_for(target, peer)
        data = case.build(values)
        target.sent("protos-%d" % case.number, data)
        peer.send(data)
        got = peer.collect(PROTOS_WINDOW * SLOW,
                           lambda a: a.code >= 200 and a.method in ("INVITE", None))
        finals = [a for a in got if a.code >= 200]
        final = finals[0] if finals else None
        from_hdr = "\"Protos Caller\" <sip:%s@%s:%d>;tag=%s" % (values["USER"], HOST, peer.port,
                                                              values["TAG"])
        to_hdr = "\"IVR\" <sip:ivr@%s:%d>" % (HOST, target.port)
        if final is not None and final.method != "INVITE":
            final = None
        sipwire.teardown_invite(peer, "sip:ivr@%s:%d" % (HOST, target.port), values["BRANCH"],
                                from_hdr, to_hdr, values["CALLID"], 1, final,
                                PROTOS_WINDOW * SLOW, always_cancel=True)
        peer.close()
        st["run"] += 1
        code = finals[0].code if finals else (got[-1].code if got else None)
        st["answers"][str(code) if code else "none"] += 1
        # 503 is --max-calls; 501 answers a method we do not know (a damaged "INVITE", RFC 3261
        # 21.5.2). Any other 5xx is a damaged request taken for our own failure (400 is right).
        if code and code >= 500 and code not in (501, 503):
            st["errors"].append("%d:%d" % (case.number, code))
        if case.number == 0:
            control = code
        if not target.alive_after("protos-%04d-%s-%s" % (case.number, case.group, case.kind)):
            st["dead"].append(case.name)
    elapsed = time.monotonic() - started
    t.check("S5 control: the undamaged INVITE is answered 2xx (got %s)" % control,
            control is not None and 200 <= control < 300)
    for group, st in stats.items():
        answered = ", ".join("%s x%d" % kv for kv in sorted(st["answers"].items()))
        t.check("S5 %-14s server alive after each of %3d cases (final answers: %s)"
                % (group, st["run"], answered), not st["dead"], "died or hung: %s" % st["dead"])
        t.check("S5 %-14s no 5xx but 501 and 503 to a damaged INVITE (400 when it cannot be "
                "read; e.g. a Contact that is no address)" % group, not st["errors"],
                "case:answer %s" % ", ".join(st["errors"][:10]))
    t.info("S5: %d cases in %.1f s" % (len(cases), elapsed))


# --- S6-S22 --------------------------------------------------------------------------------------

def request(method, values, extra="", body="", ctype=None, cseq=1, to_tag=None, ruri=None,
            from_value=None, max_forwards="70", clen=None):
    """A request written by hand (str; latin-1 bytes when sent)."""
    ruri = ruri or "sip:ivr@%s:%d" % (HOST, values["PORT"])
    lines = ["%s %s SIP/2.0" % (method, ruri),
             "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (HOST, values["LPORT"], values["BRANCH"]),
             "Max-Forwards: %s" % max_forwards,
             "From: %s;tag=%s" % (from_value or "<sip:%s@%s:%d>" % (values["USER"], HOST,
                                                                   values["LPORT"]),
                                  values["TAG"]),
             "To: <sip:ivr@%s:%d>%s" % (HOST, values["PORT"], ";tag=" + to_tag if to_tag else ""),
             "Call-ID: %s" % values["CALLID"], "CSeq: %d %s" % (cseq, method),
             "Contact: <sip:%s@%s:%d>" % (values["USER"], HOST, values["LPORT"])]
    head = "\r\n".join(lines) + "\r\n" + extra
    if ctype:
        head += "Content-Type: %s\r\n" % ctype
    head += "Content-Length: %s\r\n\r\n" % (clen if clen is not None else
                                            len(body.encode("latin-1")))
    return (head + body).encode("latin-1")


def send_one(target, label, build, window=WINDOW, teardown=True):
    """BUILD(values) → bytes; sent with exchange(). Returns (outcome, values)."""
    peer = sipwire.UdpPeer(target.port)
    values = values_for(target, peer)
    data = build(values)
    out = exchange(target, data, label, call_id=values["CALLID"], window=window,
                   teardown=teardown, values=values, user=values["USER"], peer=peer)
    peer.close()
    return out, values


def sdp(values, media=None, conn="c=IN IP4 %s" % HOST, extra="", port=None):
    port = values["MPORT"] if port is None else port
    media = media if media is not None else "m=audio %s RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n" \
        "a=rtpmap:101 telephone-event/8000\r\n" % port
    return ("v=0\r\no=h 1 1 IN IP4 %s\r\ns=-\r\n%st=0 0\r\n%s%s"
            % (HOST, conn + "\r\n" if conn else "", media, extra))


def expect_row(row, label, out, allowed, extra=""):
    text = "%s %s: answered %s, allowed %s%s" % (
        row, label, out.text(), "|".join(str(a) for a in sorted(allowed, key=str)), extra)
    known = next((why for key, why in KNOWN.items()
                  if key.startswith(row + " ") and key[len(row) + 1:] in label), None)
    if known and out.alive and not out.matches(allowed):
        t.note("known divergence, %s: %s" % (known, text))
        return True
    return t.check(text, out.matches(allowed) and out.alive)


def s6(target):
    rss0 = target.rss_kib()
    for kind in ("OPTIONS", "INVITE"):
        for i in range(10):
            def build(v, kind=kind):
                if kind == "OPTIONS":
                    base = request("OPTIONS", v, extra="X-Pad: {PAD}\r\n")
                else:
                    base = request("INVITE", v, body=sdp(v) + "a=x-pad:{PAD}\r\n",
                                   ctype="application/sdp", clen="{CLEN}")
                room = 65507 - len(base) + len("{PAD}") + len("{CLEN}") - 5
                data = base.replace(b"{PAD}", b"p" * room)
                if kind == "INVITE":
                    body_len = len(data.split(b"\r\n\r\n", 1)[1])
                    data = data.replace(b"{CLEN}", b"%05d" % body_len)
                return data
            out, _ = send_one(target, "S6-%s-%d" % (kind, i), build)
            if i == 0:
                expect_row("S6", "a 65,507-byte UDP %s" % kind, out, {"drop", 400, 413, 513},
                           " (an acceptable 200 would be a note)")
    rss1 = target.rss_kib()
    t.check("S6 memory flat after 20 datagrams of 65,507 bytes (RSS %s -> %s KiB)" % (rss0, rss1),
            rss0 is not None and rss1 is not None and rss1 - rss0 < 16384 * SLOW)


def s7_s8(target):
    def tcp_case(row, label, head, filler, limit=1 << 20, chunk=16384):
        chunks = [head] + [filler * (chunk // len(filler))] * (limit // chunk)
        target.sent(label, head + filler)
        rss0 = target.rss_kib()
        try:
            sent, closed, received = sipwire.tcp_exchange(target.port, chunks,
                                                          read_window=1.0 * SLOW)
        except OSError as e:
            sent, closed, received = 0, True, ("connect failed: %s" % e).encode()
        rss1 = target.rss_kib()
        alive = target.alive_after(label)
        first = received.split(b"\r\n", 1)[0].decode("latin-1")
        t.check("%s %s: connection closed by the server after %d of %d bytes (%s)" % (
            row, label, sent, sum(map(len, chunks)), first or "no answer"),
            closed and sent < sum(map(len, chunks)))
        t.check("%s %s: no large allocation (RSS %s -> %s KiB), server alive" % (
            row, label, rss0, rss1), alive and rss0 is not None and rss1 is not None
            and rss1 - rss0 < 32768 * SLOW)

    v = {"PORT": target.port, "LPORT": 5060, "USER": new_user(), "TAG": sipwire.new_tag(),
         "BRANCH": sipwire.new_branch(), "CALLID": "tcp-%x@h" % random.getrandbits(40)}
    head = request("INVITE", v, ctype="application/sdp", clen="999999999").replace(
        b"SIP/2.0/UDP", b"SIP/2.0/TCP")
    tcp_case("S7", "TCP Content-Length 999999999, body streamed", head, b"a=x\r\n")
    # Content-Length 999999999 and nothing more: the connection may wait, the server must not.
    target.sent("S7-nobody", head)
    s = socket.create_connection((HOST, target.port), timeout=5)
    try:
        s.sendall(head)
        time.sleep(0.5 * SLOW)
        alive = target.alive_after("S7-nobody")
    finally:
        s.close()
    t.check("S7 TCP Content-Length 999999999 and no body: the server keeps answering others",
            alive)
    v["CALLID"] = "tcp-%x@h" % random.getrandbits(40)
    start = request("OPTIONS", v).split(b"\r\n")[0] + b"\r\nSubject: "
    tcp_case("S8", "TCP header line of 1 MB", start, b"y")
    start = b"\r\n".join(request("OPTIONS", v).split(b"\r\n")[:6]) + b"\r\n"
    tcp_case("S8", "TCP headers without end (1 MB of header lines)", start, b"X-H: v\r\n")


def s9_to_s12(target):
    g729 = "m=audio {p} RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"
    opus = "m=audio {p} RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n"
    for label, media in (("G.729 only", g729), ("Opus only", opus)):
        out, _ = send_one(target, "S9-" + label, lambda v, m=media: request(
            "INVITE", v, body=sdp(v, m.format(p=v["MPORT"])), ctype="application/sdp"))
        expect_row("S9", "SDP offering %s" % label, out, {488})
    handled = CALL | {488, 400}
    s10 = [
        ("c=IN IP4 0.0.0.0", lambda v: sdp(v, conn="c=IN IP4 0.0.0.0"), handled),
        ("c=IN IP6 ::", lambda v: sdp(v, conn="c=IN IP6 ::"), handled),
        ("no m= line", lambda v: sdp(v, media=""), {488, 400}),
        ("media port 0", lambda v: sdp(v, port=0), handled),
        ("media port 70000", lambda v: sdp(v, port=70000), {488}),
        ("20 m= lines", lambda v: sdp(v, media="".join(
            "m=audio %d RTP/AVP 0\r\n" % (v["MPORT"] + 2 * i) for i in range(20))), handled),
        ("a=sendonly", lambda v: sdp(v, extra="a=sendonly\r\n"), handled),
        ("m= with no formats", lambda v: sdp(v, media="m=audio %d RTP/AVP\r\n" % v["MPORT"]),
         {488, 400}),
        ("valid and invalid address mixed", lambda v: sdp(
            v, conn="c=IN IP4 999.1.2.3", extra="m=audio 4000 RTP/AVP 0\r\nc=IN IP4 %s\r\n"
            % HOST), handled),
    ]
    for label, body, allowed in s10:
        out, _ = send_one(target, "S10-" + label, lambda v, b=body: request(
            "INVITE", v, body=b(v), ctype="application/sdp"))
        expect_row("S10", "SDP %s" % label, out, allowed)
        if label == "a=sendonly":
            ok = [a for a in out.answers if a.code == 200]
            if ok:
                t.check("S10 a=sendonly: the 200's SDP answers recvonly (RFC 3264)",
                        b"a=recvonly" in ok[0].raw, ok[0].raw[-300:])
    # S11: no SDP in the INVITE; our ACK carries the answer, or none at all.
    for with_answer in (True, False):
        label = "S11-late-offer-%s" % ("ack-sdp" if with_answer else "ack-empty")
        peer = sipwire.UdpPeer(target.port)
        v = values_for(target, peer)
        data = request("INVITE", v)
        target.sent(label, data)
        peer.send(data)
        got = peer.collect(WINDOW * 3 * SLOW, lambda a: a.code >= 200 and a.method == "INVITE")
        finals = [a for a in got if a.code >= 200 and a.method == "INVITE"]
        code = finals[0].code if finals else None
        offer = finals[0].raw.split(b"\r\n\r\n", 1)[1] if finals else b""
        if code == 200:
            to_value = sipwire.first(finals[0].headers, "to")
            body = sdp(v) if with_answer else ""
            ack = request("ACK", v, body=body, ctype="application/sdp" if body else None,
                          to_tag=None).replace(b"To: <sip:ivr@%s:%d>" % (HOST.encode(), v["PORT"]),
                                               b"To: " + to_value.encode("latin-1"))
            ack = ack.replace(v["BRANCH"].encode(), sipwire.new_branch().encode())
            peer.send(ack)
            time.sleep(0.2 * SLOW)
            bye = request("BYE", v, cseq=2).replace(
                b"To: <sip:ivr@%s:%d>" % (HOST.encode(), v["PORT"]),
                b"To: " + to_value.encode("latin-1"))
            bye = bye.replace(v["BRANCH"].encode(), sipwire.new_branch().encode())
            peer.send(bye)
            peer.collect(WINDOW * SLOW, lambda a: a.method == "BYE")
        elif finals:
            sipwire.teardown_invite(peer, "sip:ivr@%s:%d" % (HOST, v["PORT"]), v["BRANCH"],
                                    "<sip:%s@%s:%d>;tag=%s" % (v["USER"], HOST, peer.port,
                                                               v["TAG"]),
                                    "<sip:ivr@%s:%d>" % (HOST, v["PORT"]), v["CALLID"], 1,
                                    finals[0], WINDOW * SLOW)
        peer.close()
        alive = target.alive_after(label)
        t.check("S11 INVITE without SDP, ACK %s: 200 with an SDP offer or 488 (got %s%s), "
                "server alive" % ("with the answer" if with_answer else "without SDP", code,
                                  ", offer has m=audio" if b"m=audio" in offer else ""),
                alive and (code == 488 or (code == 200 and b"m=audio" in offer)))
    broken = [
        ("boundary never used", 'multipart/mixed;boundary=nowhere',
         "--elsewhere\r\nContent-Type: application/sdp\r\n\r\n{sdp}\r\n--elsewhere--\r\n"),
        ("no boundary parameter", "multipart/mixed",
         "--b\r\nContent-Type: application/sdp\r\n\r\n{sdp}\r\n--b--\r\n"),
        ("part cut inside its headers", 'multipart/mixed;boundary="b1"',
         "--b1\r\nContent-Type: applic"),
        ("boundary at the very end with no CRLF", 'multipart/mixed;boundary=b2', "--b2"),
        ("200-character boundary and a truncated closing one", 'multipart/mixed;boundary=' +
         "q" * 200, "--" + "q" * 200 + "\r\n\r\n{sdp}\r\n--" + "q" * 199),
        ("empty boundary", 'multipart/mixed;boundary=""', "--\r\n\r\n--\r\n--"),
    ]
    for label, ctype, body in broken:
        out, _ = send_one(target, "S12-" + label, lambda v, c=ctype, b=body: request(
            "INVITE", v, body=b.replace("{sdp}", sdp(v)), ctype=c))
        expect_row("S12", "multipart/mixed, %s" % label, out, {400, 415})


def s13_s14_s16(target, results):
    def corpus_row(row, what, name):
        out = results.get(name)
        if out is None:
            t.check("%s %s (corpus case %s ran)" % (row, what, name), False)
            return
        _, expect = read_expect(os.path.join(CORPUS, name + ".expect"))
        t.check("%s %s: answered %s, expected %s (corpus %s)" % (
            row, what, out.text(), "|".join(map(str, sorted(expect, key=str))), name),
            out.matches(expect) and out.alive)

    corpus_row("S13", "BYE for an unknown dialog", "txn-byeunknown")
    out, _ = send_one(target, "S13-reinvite", lambda v: request(
        "INVITE", v, body=sdp(v), ctype="application/sdp", cseq=5, to_tag="nodialog" + v["TAG"]))
    expect_row("S13", "re-INVITE for an unknown dialog", out, {481})
    corpus_row("S14", "CANCEL for an unknown transaction", "txn-cancelunknown")
    corpus_row("S16", "Max-Forwards 0 on an INVITE to us", "app-zeromf")
    corpus_row("S16", "Max-Forwards -1", "invalid-maxfwd-neg")
    corpus_row("S16", "Max-Forwards 256", "invalid-maxfwd-256")


def s15(target):
    """The same INVITE, byte for byte, 1,000 times: one call."""
    peer = sipwire.UdpPeer(target.port)
    v = values_for(target, peer)
    data = request("INVITE", v, body=sdp(v), ctype="application/sdp")
    target.sent("S15", data)
    got = []
    for i in range(1000):
        peer.send(data)
        if i % 50 == 49:
            got += peer.collect(0.005)
    got += peer.collect(WINDOW * SLOW, lambda a: a.code >= 200 and a.method == "INVITE")
    finals = [a for a in got if a.code >= 200 and a.method == "INVITE"]
    tags = {re.sub(r".*tag=", "", sipwire.first(a.headers, "to") or "") for a in finals}
    sipwire.teardown_invite(peer, "sip:ivr@%s:%d" % (HOST, v["PORT"]), v["BRANCH"],
                            "<sip:%s@%s:%d>;tag=%s" % (v["USER"], HOST, peer.port, v["TAG"]),
                            "<sip:ivr@%s:%d>" % (HOST, v["PORT"]), v["CALLID"], 1,
                            finals[0] if finals else None, WINDOW * SLOW)
    peer.close()
    alive = target.alive_after("S15")
    t.check("S15 1,000 copies of one INVITE: answered, one dialog (To tags %s), server alive"
            % sorted(tags), alive and finals and len(tags) == 1)
    return v["USER"]


def s17(target):
    """Methods we do not serve, out of dialog: 405/501, and nothing runs (no call record)."""
    users = []
    cases = [
        ("REGISTER", "Contact: <sip:{u}@127.0.0.1>\r\nExpires: 3600\r\n", "", None),
        ("SUBSCRIBE", "Event: presence\r\nExpires: 600\r\nAccept: application/pidf+xml\r\n", "",
         None),
        ("MESSAGE", "", "api reload; shutdown now %s%n {{secret.X}}", "text/plain"),
        ("PUBLISH", "Event: presence\r\nExpires: 60\r\n",
         "<?xml version=\"1.0\"?><presence entity=\"sip:x@y\"/>", "application/pidf+xml"),
        ("NOTIFY", "Event: refer\r\nSubscription-State: active;expires=60\r\n",
         "SIP/2.0 200 OK\r\n", "message/sipfrag"),
    ]
    for method, extra, body, ctype in cases:
        out, v = send_one(target, "S17-" + method, lambda v, m=method, e=extra, b=body, c=ctype:
                          request(m, v, extra=e.replace("{u}", v["USER"]), body=b, ctype=c))
        users.append(v["USER"])
        # We send REFER and take its NOTIFYs (Allow lists NOTIFY): one that matches no
        # subscription is 481 by RFC 6665 4.1.3, which also runs nothing.
        expect_row("S17", "%s out of dialog" % method, out,
                   {405, 501, 481} if method == "NOTIFY" else {405, 501})
    return users


def s18(target):
    """1,000 Via / 1,000 Record-Route headers, over TCP (about 55 kB: more than libre takes in
    one UDP datagram, less than its 64 KiB TCP buffer), so the parser sees them all."""
    vias = "".join("Via: SIP/2.0/TCP 192.0.2.%d:%d;branch=z9hG4bK-%04d\r\n"
                   % (i % 250 + 1, 5060 + i % 7, i) for i in range(1000))
    rrs = "".join("Record-Route: <sip:p%04d.example;lr>\r\n" % i for i in range(1000))
    for label, method, extra in (("1,000 Via headers (OPTIONS)", "OPTIONS", vias),
                                 ("1,000 Record-Route headers (INVITE)", "INVITE", rrs)):
        v = {"PORT": target.port, "LPORT": 5060, "USER": new_user(), "TAG": sipwire.new_tag(),
             "BRANCH": sipwire.new_branch(), "CALLID": "s18-%x@h" % random.getrandbits(40)}
        body = sdp(dict(v, MPORT=target.media_port)) if method == "INVITE" else ""
        data = request(method, v, extra=extra, body=body,
                       ctype="application/sdp" if body else None).replace(
            b"SIP/2.0/UDP", b"SIP/2.0/TCP", 1)
        target.sent("S18-" + method, data)
        try:
            sock, got = sipwire.tcp_request(target.port, data, WINDOW * 2 * SLOW,
                                            lambda a: a.code >= 200)
        except OSError as e:
            t.check("S18 %s: connected (%s)" % (label, e), False)
            continue
        try:
            finals = [a for a in got if a.code >= 200]
            if method == "INVITE" and finals and 200 <= finals[0].code < 300:
                to_value = sipwire.first(finals[0].headers, "to")
                for m, n in (("ACK", 1), ("BYE", 2)):
                    msg = request(m, v, cseq=n).replace(b"SIP/2.0/UDP", b"SIP/2.0/TCP", 1)
                    msg = msg.replace(v["BRANCH"].encode(), sipwire.new_branch().encode())
                    msg = re.sub(rb"(?m)^To: [^\r]*", b"To: " + to_value.encode("latin-1"), msg)
                    sock.sendall(msg)
                sipwire.tcp_read(sock, WINDOW * SLOW, lambda a: a.method == "BYE")
            elif method == "INVITE" and not finals:
                cancel = request("CANCEL", v).replace(b"SIP/2.0/UDP", b"SIP/2.0/TCP", 1)
                sock.sendall(cancel)
                sipwire.tcp_read(sock, WINDOW * SLOW)
        except OSError:
            pass
        finally:
            sock.close()
        out = Outcome()
        out.answers = got
        out.alive = target.alive_after("S18-" + method)
        expect_row("S18", label + " over TCP", out,
                   ({200} if method == "OPTIONS" else CALL) | {400, 413, 513, "drop"})


# Cases whose RFC answer Callflow does not give yet, with why: each is printed as a note (and
# listed in docs/SECURITY.md's known limits) instead of failing, until it is fixed.
LIBRE_UDP = "libre 1.1.0 drops UDP datagrams over 8 KiB (use TCP for large messages)"
KNOWN = {
    "valid-longvalues": LIBRE_UDP,
    "compat-rfc2543inv": "libre 1.1.0 drops requests without an RFC 3261 branch",
    "compat-rfc2543opt": "libre 1.1.0 drops requests without an RFC 3261 branch",
    "S19 10 kB nonce": LIBRE_UDP,
}


def s19(target):
    auths = [
        ("missing quotes", 'Digest username=bob, realm=x, nonce=abc, uri=sip:ivr, response=123'),
        ("10 kB nonce", 'Digest username="bob", realm="x", nonce="%s", uri="sip:ivr", '
         'response="0"' % ("n" * 10240)),
        ("duplicate parameters", 'Digest username="a", username="b", realm="x", realm="y", '
         'nonce="1", nonce="2", response="", response=""'),
        ("unterminated quote", 'Digest username="bob, realm="x'),
        ("only commas", "Digest ,,,,,,,,,,,,,,,,"),
    ]
    for label, value in auths:
        out, _ = send_one(target, "S19-" + label, lambda v, a=value: request(
            "INVITE", v, extra="Authorization: %s\r\n" % a, body=sdp(v), ctype="application/sdp"))
        expect_row("S19", "Authorization with %s (no digest configured)" % label, out,
                   CALL | {400, 401})


def s20(target):
    err0 = len(target.stderr_all())
    cases = [
        ("NUL in Subject", lambda v: request("INVITE", v, extra="Subject: a\0b\0\r\n",
                                             body=sdp(v), ctype="application/sdp")),
        ("NUL in the From display name", lambda v: request(
            "INVITE", v, from_value='"nul\0name" <sip:%s@%s:%d>' % (v["USER"], HOST, v["LPORT"]),
            body=sdp(v), ctype="application/sdp")),
        ("non-UTF-8 display name", lambda v: request(
            "INVITE", v, from_value='"\xff\xfe\xc0\x80\x1b[2J" <sip:%s@%s:%d>'
            % (v["USER"], HOST, v["LPORT"]), body=sdp(v), ctype="application/sdp")),
        ("non-UTF-8 user part", lambda v: request(
            "INVITE", v, from_value='<sip:%s\xff\xfe@%s:%d>' % (v["USER"], HOST, v["LPORT"]),
            body=sdp(v), ctype="application/sdp")),
    ]
    for label, build in cases:
        out, _ = send_one(target, "S20-" + label, build)
        expect_row("S20", label, out, CALL | {400})
    log = target.stderr_all()[err0:]
    bad = [b for b in (b"\0", b"\xff\xfe", b"\x1b[2J") if b in log]
    try:
        log.decode("utf-8")
        utf8 = True
    except UnicodeDecodeError:
        utf8 = False
    t.check("S20 the server's log holds no raw NUL, ESC or invalid UTF-8 from these inputs",
            not bad and utf8, "found %r in %r" % (bad, log[-600:]))


def s21(target):
    """Whitespace before the colon must not change what a header means."""
    def with_space(data, names):
        for n in names:
            data = re.sub(rb"(?m)^" + n + rb":", n + b" \t :", data, count=1)
        return data
    pairs = [
        ("Require", lambda v: request("INVITE", v, extra="Require: nosuchthing\r\n", body=sdp(v),
                                      ctype="application/sdp"), [b"Require"], {420}),
        ("Content-Type", lambda v: request("INVITE", v, body="hello", ctype="text/plain"),
         [b"Content-Type"], {415}),
        ("Max-Forwards", lambda v: request("INVITE", v, body=sdp(v), ctype="application/sdp",
                                           max_forwards="-1"), [b"Max-Forwards"], None),
        ("Via, From, To, Call-ID, CSeq", lambda v: request("INVITE", v, body=sdp(v),
                                                           ctype="application/sdp"),
         [b"Via", b"From", b"To", b"Call-ID", b"CSeq"], CALL),
    ]
    for label, build, names, allowed in pairs:
        plain, _ = send_one(target, "S21-plain-" + label, build)
        spaced, _ = send_one(target, "S21-spaced-" + label, lambda v: with_space(build(v), names))
        same = sorted(set(plain.codes())) == sorted(set(spaced.codes()))
        t.check("S21 '%s :' with whitespace before the colon: answered %s, as without it (%s); "
                "allowed %s" % (label, spaced.text(), plain.text(),
                                "|".join(map(str, sorted(allowed, key=str)))
                                if allowed else "as without"),
                same and (allowed is None or spaced.matches(allowed)) and spaced.alive)


def s22(target):
    for where in ("Request-URI", "From"):
        for ending in ("%", "%0", "%zz", "%%", "%0%"):
            def build(v, where=where, ending=ending):
                if where == "Request-URI":
                    return request("INVITE", v, ruri="sip:ivr%s@%s:%d" % (ending, HOST, v["PORT"]),
                                   body=sdp(v), ctype="application/sdp")
                return request("INVITE", v, from_value="<sip:%s%s@%s:%d>" % (
                    v["USER"], ending, HOST, v["LPORT"]), body=sdp(v), ctype="application/sdp")
            out, _ = send_one(target, "S22-%s-%s" % (where, ending), build)
            expect_row("S22", "%s user ending in %s" % (where, ending), out,
                       CALL | {400, 404, 416, "drop"})
    for ending in ("%", "%0", "%zz"):
        out, _ = send_one(target, "S22-host-" + ending, lambda v, e=ending: request(
            "OPTIONS", v, ruri="sip:ivr@%s:%d;x=%s" % (HOST, v["PORT"], e)))
        expect_row("S22", "Request-URI parameter ending in %s" % ending, out, {200, 400, "drop"})


# --- after the run -------------------------------------------------------------------------------

def settle_records(target, s15_user, s17_users, restarted):
    deadline = time.monotonic() + 45 * SLOW
    records = None
    while time.monotonic() < deadline:
        if target.db_queue() not in (None, 0):
            time.sleep(0.5)
            continue
        records = target.records()
        if records is not None and not [r for r in records if r["status"] == "open"]:
            break
        time.sleep(0.5)
    if records is None:
        t.check("the call records can be read", False)
        return
    counts = collections.Counter(r["status"] for r in records)
    t.info("call records: %s" % dict(counts))
    open_records = [r for r in records if r["status"] == "open"]
    t.check("no call record left open (%d open of %d)" % (len(open_records), len(records)),
            not open_records, json.dumps(open_records[:5]))
    if s15_user and not restarted:
        mine = [r for r in records if r["from"] == s15_user]
        t.check("S15 1,000 copies of one INVITE left exactly one call record (%d)" % len(mine),
                len(mine) == 1, json.dumps(mine[:3]))
    if s17_users and not restarted:
        ran = [r for r in records if r["from"] in s17_users]
        t.check("S17 nothing ran for REGISTER/SUBSCRIBE/MESSAGE/PUBLISH/NOTIFY (no call record)",
                not ran, json.dumps(ran[:5]))


def main():
    if not os.access(CALLFLOW, os.X_OK):
        sys.exit("sip_hostile_test.py: %s is not an executable" % CALLFLOW)
    started = time.monotonic()
    t.info("SLOW=%g" % SLOW)
    with tempfile.TemporaryDirectory(prefix="callflow-hostile-sip-") as work:
        target = Target(work)
        try:
            status, out, err = harness.run_cli(CALLFLOW, "check", FLOW, slow=SLOW)
            t.check("callflow check tests/hostile/flows/hangup.json", status == 0, out + err)
            if not t.check("serve --sip answers OPTIONS", target.start(),
                           target.serve.stderr()[-3000:] if target.serve else ""):
                return t.finish()
            # Warm-up: one valid call, so the baseline includes what a first call allocates.
            send_one(target, "warm-up", lambda v: request("INVITE", v, body=sdp(v),
                                                          ctype="application/sdp"))
            time.sleep(1.5 * SLOW)
            rss0, fd0 = target.rss_kib(), target.fd_count()
            t.info("baseline: RSS %s KiB, %s descriptors" % (rss0, fd0))
            target.inputs.clear()
            results = {}
            parts = [("corpus", lambda: corpus(target, results)),
                     ("protos", lambda: protos(target)),
                     ("S6", lambda: s6(target)), ("S7/S8", lambda: s7_s8(target)),
                     ("S9-S12", lambda: s9_to_s12(target)),
                     ("S13/S14/S16", lambda: s13_s14_s16(target, results)),
                     ("S17", lambda: S17_USERS.extend(s17(target) or [])),
                     ("S18", lambda: s18(target)),
                     ("S19", lambda: s19(target)), ("S20", lambda: s20(target)),
                     ("S21", lambda: s21(target)), ("S22", lambda: s22(target))]
            s15_user = None
            for name, fn in parts:
                t0 = time.monotonic()
                t.safe(name, fn)
                t.info("%s: %.1f s" % (name, time.monotonic() - t0))
                if name == "S13/S14/S16":
                    s15_user = t.safe("S15", s15, target)
            restarted = target.starts > 1
            settle_records(target, s15_user, S17_USERS, restarted)
            time.sleep(0.5 * SLOW)
            rss1, fd1 = target.rss_kib(), target.fd_count()
            t.check("RSS back near the baseline (%s -> %s KiB, margin %d MiB)" % (
                rss0, rss1, 64 * SLOW), rss0 and rss1 and rss1 - rss0 < 65536 * SLOW)
            t.check("open descriptors back near the baseline (%s -> %s, margin 16)" % (fd0, fd1),
                    fd0 is not None and fd1 is not None and fd1 - fd0 <= 16)
            t.check("server alive at the end", target.serve.running() and target.probe() == 200)
        except Exception:  # noqa: BLE001 - reported as a failure
            t.check("the run completed without an exception", False, traceback.format_exc())
        finally:
            if target.serve:
                target.serve.stop()
        text = target.stderr_all().decode("utf-8", "replace")
        t.no_sanitizer_report("no sanitizer report on the server's stderr", text)
        t.check("no server crash (%d crashes, %d hangs, %d starts)" % (
            target.crashes, target.hangs, target.starts), target.crashes == 0 and target.hangs == 0)
        print("hostile inputs: %d" % len(target.inputs), flush=True)
        t.info("run time %.1f s" % (time.monotonic() - started))
    return t.finish()


S17_USERS = []

if __name__ == "__main__":
    sys.exit(main())
