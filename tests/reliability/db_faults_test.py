#!/usr/bin/env python3
"""Reliability rows D1-D6 and D11 (RELIABILITY.md 5.4): `callflow serve` and its SQLite file
under kill -9, a full disk, a lock held by another process, a read-only file and a damaged -wal.

Usage: db_faults_test.py PATH_TO_callflow REPO_ROOT [--cycles N] [--only D1,D3,...]

  D1   leads created through the admin API as fast as a few clients can, kill -9 at a random
       moment (0.5-3 s), restart; N cycles: every acknowledged lead is there exactly once, rows
       there but never acknowledged are at most the requests in flight, integrity_check is ok.
  D2   the same with SIPp calls (`serve --sip`): every call that got 200 has a record, and the
       records open at the kill are "interrupted" after the restart.
  D3   the database on a small tmpfs filled up (a real ENOSPC: SQLITE_FULL): a lead insert gets a
       5xx with an error body, calls go on, their records wait in the spool (log, /metrics when
       the server exports it) and are written once space is freed. Needs root (mount); skipped
       otherwise.
  D4   another process holds BEGIN EXCLUSIVE for 10 s: a lead insert waits busy_timeout, then
       fails cleanly; SIP keeps answering, a live call's RTP has no gap and no break in
       sequence; the calls' records are written after the lock goes.
  D5   database file, folder or file system read-only at start: serve exits non-zero, and says
       what is wrong.
  D6   -wal deleted, replaced by garbage, or cut short while the server is stopped: the next
       start works and reports SQLite's quick_check; the data left is consistent.
  D11  the start-up log shows journal_mode=wal, synchronous=FULL, foreign_keys=on, busy_timeout.

N is 10 unless --cycles or CALLFLOW_DB_FAULT_CYCLES says otherwise (50 for the figures table).
The last lines before the summary are "D2 kill -9 cycles: N, answered calls without a record: M"
and (D1) "kill -9 cycles: N, acknowledged rows lost: M". Python 3 standard library only; SIPp
(sip-tester) for D2-D4; every process started here is stopped by PID, every mount made here is
unmounted.
"""
import http.client
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

ARGS = [a for a in sys.argv[1:]]


def _option(name, default=None):
    if name in ARGS:
        i = ARGS.index(name)
        value = ARGS[i + 1] if i + 1 < len(ARGS) else default
        del ARGS[i:i + 2]
        return value
    return default


CYCLES = int(_option("--cycles") or os.environ.get("CALLFLOW_DB_FAULT_CYCLES") or 10)
ONLY = set(filter(None, (_option("--only") or "").upper().split(",")))
if len(ARGS) != 2:
    sys.exit("usage: db_faults_test.py PATH_TO_callflow REPO_ROOT [--cycles N] [--only D1,...]")
BINARY = os.path.abspath(ARGS[0])
ROOT = os.path.abspath(ARGS[1])
HERE = os.path.join(ROOT, "tests", "reliability", "db_faults")
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, os.path.join(ROOT, "tests", "sip"))
import harness  # noqa: E402
import sipkit  # noqa: E402

SLOW = harness.slowdown(BINARY)
T = harness.Checks()
PASSWORD = "db-faults-password-1"
FLOW = os.path.join(HERE, "hold.json")
SCENARIO = os.path.join(HERE, "hold_call.xml")
SEED = int(os.environ.get("CALLFLOW_TEST_SEED") or random.randrange(1 << 30))
RANDOM = random.Random(SEED)
SIPP = shutil.which("sipp") is not None
IS_ROOT = os.geteuid() == 0
SETTINGS_RE = re.compile(r"callflow serve: database .*: (journal_mode=\S+ .*)")
FIGURES = {}  # row: (kill -9 cycles, acknowledged rows lost)


def wanted(row):
    return not ONLY or row in ONLY


# --- the server ----------------------------------------------------------------------------------

class Server(harness.Serve):
    """`callflow serve` on 127.0.0.1 (with --sip and the hold flow when sip=True), started again
    on the same ports and file after a kill; stderr appended to one file, each start marked."""

    def __init__(self, work, name, db=None, sip=False, extra=()):
        args = []
        if sip:
            base = 36000 + 2 * (os.getpid() % 1500)
            args = ["--flow", FLOW, "--rtp-ports", "%d-%d" % (base, base + 399)]
        super().__init__(BINARY, work, args=args + list(extra), sip=sip, slow=SLOW, name=name,
                         db=db)
        self.sip = sip
        self.token = None
        self.starts = 0

    def start(self, prefix=()):
        """Whether it is ready within 20 s (x SLOW); PREFIX runs it under another command."""
        self.starts += 1
        with open(self.err_path, "ab") as err:
            err.write(b"=== start %d\n" % self.starts)
        super().start(wait=False, prefix=prefix)
        return self.wait_ready(20)

    def ready(self):
        """/healthz answers 200 and, with --sip, so does an OPTIONS."""
        return super().ready() and (
            not self.sip or sipkit.sip_options(self.sip_port, timeout=0.3) == 200)

    def kill(self, sig=signal.SIGKILL):
        return self.stop(sig, timeout=20)

    def last_start_log(self):
        text = self.stderr()
        return text[text.rfind("=== start "):]

    def add_admin(self):
        status, out, err = harness.run_cli(BINARY, "users", "add", "boss", "--role", "admin",
                                           "--password", PASSWORD, "--db", self.db, slow=SLOW)
        return status == 0, out + err

    def sign_in(self):
        status, _, body = harness.http("POST", self.url("/api/v1/auth/token"),
                                       json.dumps({"username": "boss", "password": PASSWORD}),
                                       {"Content-Type": "application/json"}, timeout=20 * SLOW)
        try:
            self.token = json.loads(body)["token"] if status == 200 else None
        except (ValueError, KeyError):
            self.token = None
        return self.token is not None

    def post_lead(self, lead, timeout=30):
        """(status, parsed JSON body or None, seconds taken)."""
        started = time.monotonic()
        status, _, body = harness.http("POST", self.url("/api/v1/leads"), json.dumps(lead),
                                       {"Content-Type": "application/json",
                                        "Authorization": "Bearer %s" % self.token},
                                       timeout=timeout * SLOW)
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        return status, parsed, time.monotonic() - started

    def metrics(self):
        status, _, body = harness.http("GET", self.url("/metrics"), timeout=5 * SLOW)
        return body.decode("utf-8", "replace") if status == 200 else ""


def read_db(path, sql, params=()):
    """Rows of a query on a read-only connection (never checkpoints, never recovers into the
    file: what the server finds at its next start is what the kill left)."""
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def integrity(path):
    rows = read_db(path, "PRAGMA integrity_check")
    return "\n".join(r[0] for r in rows)


def sipp_calls(server, workdir, caller, calls, rate, hold_ms, background=False, rtp_port=None,
               limit=None):
    keys = {"caller": caller, "rtp_port": rtp_port or sipkit.free_port()}
    return sipkit.run_sipp(SCENARIO, "127.0.0.1:%d" % server.sip_port,
                           local_port=sipkit.free_port(udp=True), service="7000", keys=keys,
                           extra=("-d", str(hold_ms)), calls=calls, rate=rate, limit=limit,
                           recv_timeout_ms=3000 * SLOW, timeout=(calls / rate + hold_ms / 1000.0
                                                                + 20) * SLOW,
                           workdir=workdir, background=background)


def logged(result, word):
    """The caller numbers of SIPp's log lines "WORD NUMBER"."""
    return [line.split()[1] for line in result.logs
            if line.startswith(word + " ") and len(line.split()) > 1]


def records_by_caller(path, prefix):
    rows = read_db(path, "SELECT uuid, caller, status FROM calls WHERE caller LIKE ?",
                   (prefix + "%",))
    by = {}
    for uuid, caller, status in rows:
        by.setdefault(caller, []).append((uuid, status))
    return by


# --- D1: kill -9 during lead writes --------------------------------------------------------------

class LeadDriver:
    """THREADS clients, each posting leads one after another on a kept-alive connection until the
    server goes; every 201's id and reference is kept (this process outlives the kill, so memory
    is as good as an fsync'd log here)."""

    THREADS = 3

    def __init__(self, server, cycle):
        self.server, self.cycle = server, cycle
        self.acked = []          # (id, referenceid)
        self.refused = []        # (status, body) of answers other than 201
        self.unanswered = 0      # requests sent whose answer never came (in flight at the kill)
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(self.THREADS)]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        for t in self.threads:
            t.join(timeout=30 * SLOW)

    def run(self, index):
        headers = {"Content-Type": "application/json",
                   "Authorization": "Bearer %s" % self.server.token}
        connection = None
        for n in range(100000):
            reference = "d1-c%d-t%d-%d" % (self.cycle, index, n)
            body = json.dumps({"referenceid": reference, "name": "Lead %d/%d" % (self.cycle, n),
                               "phonenum": "+44 7700 9%05d" % (n % 100000)})
            try:
                if connection is None:
                    connection = http.client.HTTPConnection("127.0.0.1", self.server.http_port,
                                                            timeout=30 * SLOW)
                connection.request("POST", "/api/v1/leads", body, headers)
            except OSError:
                return  # not sent: the server is gone
            try:
                reply = connection.getresponse()
                data = reply.read()
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.unanswered += 1
                return
            if reply.status == 201:
                try:
                    lead_id = json.loads(data)["id"]
                except (ValueError, KeyError):
                    lead_id = None
                with self.lock:
                    self.acked.append((lead_id, reference))
            else:
                with self.lock:
                    self.refused.append((reply.status, data[:200]))
                return


def run_d1(work):
    server = Server(work, "d1")
    ok, text = server.add_admin()
    if not T.check("D1 setup: users add boss", ok, text):
        return
    if not T.check("D1 setup: the server starts", server.start(), server.stderr()):
        return
    if not T.check("D1 setup: sign in", server.sign_in(), server.stderr()):
        server.kill()
        return
    all_acked, lost, extra_rows, refused, integrity_bad = [], [], 0, [], []
    try:
        for cycle in range(CYCLES):
            driver = LeadDriver(server, cycle)
            driver.start()
            time.sleep(RANDOM.uniform(0.5, 3.0))
            server.kill(signal.SIGKILL)
            driver.join()
            refused += driver.refused
            all_acked += driver.acked
            # Before the restart, on the file as the kill left it.
            rows = read_db(server.db, "SELECT id, referenceid FROM leads WHERE referenceid LIKE ?",
                           ("d1-c%d-%%" % cycle,))
            present = {}
            for lead_id, reference in rows:
                present.setdefault(reference, []).append(lead_id)
            for lead_id, reference in driver.acked:
                if present.get(reference) != [lead_id]:
                    lost.append((cycle, lead_id, reference, present.get(reference)))
            acked_refs = {r for _, r in driver.acked}
            unacked = [r for r in present if r not in acked_refs]
            extra_rows += len(unacked)
            if len(unacked) > driver.unanswered:
                T.check("D1 cycle %d: rows present but unacknowledged (%d) <= requests in flight "
                        "(%d)" % (cycle, len(unacked), driver.unanswered), False, unacked)
            T.info("D1 cycle %d: %d acknowledged, %d in flight at the kill, %d of those stored"
                   % (cycle, len(driver.acked), driver.unanswered, len(unacked)))
            if not server.start():
                T.check("D1 cycle %d: the server starts again after kill -9" % cycle, False,
                        server.last_start_log())
                return
            report = integrity(server.db)
            if report != "ok":
                integrity_bad.append((cycle, report))
        # All cycles at once, on the restarted server's file: nothing acknowledged went later.
        everything = read_db(server.db, "SELECT id, referenceid FROM leads WHERE referenceid "
                                        "LIKE 'd1-%'")
        by_ref = {}
        for lead_id, reference in everything:
            by_ref.setdefault(reference, []).append(lead_id)
        lost_at_end = [(i, r) for i, r in all_acked if by_ref.get(r) != [i]]
    finally:
        server.kill(signal.SIGTERM)
    final = integrity(server.db)
    FIGURES["D1"] = (CYCLES, len(lost))
    T.info("D1: %d cycles, %d leads acknowledged, %d lost, %d unacknowledged rows stored "
           "(seed %d)" % (CYCLES, len(all_acked), len(lost), extra_rows, SEED))
    T.check("D1: every acknowledged lead is there exactly once after each kill -9 (%d cycles, "
            "%d leads)" % (CYCLES, len(all_acked)), not lost and all_acked, lost[:10])
    T.check("D1: and still there at the end, once each", not lost_at_end, lost_at_end[:10])
    T.check("D1: no lead write was refused while the server ran", not refused, refused[:5])
    T.check("D1: PRAGMA integrity_check is ok after every restart and at the end",
            not integrity_bad and final == "ok", (integrity_bad[:3], final))
    starts = server.stderr().count("quick_check=ok")
    T.check("D1: every start reports quick_check=ok", starts == server.starts,
            "%d of %d starts" % (starts, server.starts))


# --- D2: kill -9 during calls --------------------------------------------------------------------

def run_d2(work):
    if not SIPP:
        T.skip("D2", "SIPp (sip-tester) is not installed")
        return
    server = Server(work, "d2", sip=True)
    if not T.check("D2 setup: the server starts with --sip", server.start(), server.stderr()):
        return
    answered_total, missing, not_interrupted, still_open, closed_logged = 0, [], [], [], []
    try:
        for cycle in range(CYCLES):
            prefix = "55%03d" % cycle
            calls = sipp_calls(server, os.path.join(work, "d2-sipp-%d" % cycle), prefix,
                               calls=200, rate=15, hold_ms=1500, limit=30, background=True)
            time.sleep(RANDOM.uniform(0.5, 3.0))
            server.kill(signal.SIGKILL)
            open_at_kill = {u for u, in read_db(server.db, "SELECT uuid FROM calls WHERE "
                                                "status = 'open' AND caller LIKE ?",
                                                (prefix + "%",))}
            # SIPp stops at SIGINT and writes its logs; its live calls have no server any more.
            time.sleep(0.2)
            calls.process.send_signal(signal.SIGINT)
            result = calls.finish()
            answered = logged(result, "answered")
            answered_total += len(answered)
            if not server.start():
                T.check("D2 cycle %d: the server starts again after kill -9" % cycle, False,
                        server.last_start_log())
                return
            records = records_by_caller(server.db, prefix)
            for number in answered:
                if len(records.get(number, [])) != 1:
                    missing.append((cycle, number, records.get(number)))
            by_uuid = {u: s for rs in records.values() for u, s in rs}
            for uuid in open_at_kill:
                if by_uuid.get(uuid) != "interrupted":
                    not_interrupted.append((cycle, uuid, by_uuid.get(uuid)))
            still_open += [(cycle, u) for u, s in by_uuid.items() if s == "open"]
            match = re.search(r"(\d+) call record\(s\) left open .* closed as interrupted",
                              server.last_start_log())
            closed_logged.append((len(open_at_kill), int(match.group(1)) if match else 0))
            T.info("D2 cycle %d: %d calls answered, %d records open at the kill" % (
                cycle, len(answered), len(open_at_kill)))
    finally:
        server.kill(signal.SIGTERM)
    FIGURES["D2"] = (CYCLES, len(missing))
    T.check("D2: some calls were answered in every run", answered_total >= CYCLES,
            answered_total)
    T.check("D2: every call that got 200 has exactly one record after kill -9 and restart "
            "(%d calls, %d cycles)" % (answered_total, CYCLES), not missing, missing[:10])
    T.check("D2: every record open at the kill is \"interrupted\" after the restart",
            not not_interrupted, not_interrupted[:10])
    T.check("D2: no record stays open", not still_open, still_open[:10])
    T.check("D2: the start-up log counts the records it closed as interrupted",
            all(logged_n == n for n, logged_n in closed_logged), closed_logged)
    T.check("D2: PRAGMA integrity_check is ok", integrity(server.db) == "ok")


# --- D3: the disk fills up -----------------------------------------------------------------------

def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size, "tmpfs",
                           path], capture_output=True, text=True)
    return done.returncode == 0, done.stderr


def umount(path):
    for _ in range(20):
        if subprocess.run(["umount", path], capture_output=True).returncode == 0:
            return True
        if not os.path.ismount(path):
            return True
        time.sleep(0.2)
    return False


def fill(path):
    """Writes zeros into PATH until the file system is full; the bytes written."""
    written = 0
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                n = f.write(chunk)
            except OSError:
                break
            if not n:
                break
            written += n
        for size in (4096, 512, 1):  # the last partial blocks too
            while True:
                try:
                    if not f.write(b"\0" * size):
                        break
                    written += size
                except OSError:
                    break
    return written


def spool_metrics(text):
    return {m.group(1): float(m.group(2)) for m in re.finditer(
        r"^(callflow_\w*(?:spool|record)\w*)(?:\{[^}]*\})? ([0-9.e+-]+)$", text, re.M)}


def run_d3(work):
    if not IS_ROOT:
        T.skip("D3", "mounting a small tmpfs needs root")
        return
    if not SIPP:
        T.skip("D3", "SIPp (sip-tester) is not installed")
        return
    mnt = os.path.join(work, "d3-tmpfs")
    ok, why = mount_tmpfs(mnt, "3m")
    if not ok:
        T.skip("D3", "mount -t tmpfs failed: " + why.strip())
        return
    server = Server(work, "d3", db=os.path.join(mnt, "d3.db"), sip=True)
    ballast = os.path.join(mnt, "ballast")
    try:
        ok, text = server.add_admin()
        T.check("D3 setup: users add boss", ok, text)
        if not T.check("D3 setup: the server starts", server.start(), server.stderr()):
            return
        T.check("D3 setup: sign in", server.sign_in(), server.stderr())
        status, _, _ = server.post_lead({"referenceid": "d3-before", "name": "Before"})
        T.check("D3: a lead is stored before the disk fills (201)", status == 201, status)
        T.info("D3: %d KiB of ballast fill the tmpfs" % (fill(ballast) // 1024))
        statuses = []
        refused = None
        for n in range(400):
            status, body, _ = server.post_lead({"referenceid": "d3-full-%d" % n,
                                                "name": "x" * 4000, "address": "y" * 4000})
            statuses.append(status)
            if status != 201:
                refused = (status, body)
                break
        T.info("D3: lead inserts on the full disk: %d accepted, then %s" % (
            statuses.count(201), refused))
        message = json.dumps(refused[1]) if refused and refused[1] else ""
        T.check("D3: a lead insert on the full disk gets a 5xx (503/507) with an error body "
                "naming the database", refused is not None and refused[0] in (503, 507)
                and "database" in message and "full" in message.lower(), (refused, statuses[-5:]))
        T.check("D3: nothing after the refusal was acknowledged", statuses[-1] != 201, statuses)
        # Calls go on while the file is full; their records wait in the spool.
        result = sipp_calls(server, os.path.join(work, "d3-sipp"), "56000", calls=4, rate=4,
                            hold_ms=500)
        answered, ended = logged(result, "answered"), logged(result, "ended")
        T.check("D3: calls on the full disk are answered and end normally (4 of 4)",
                len(answered) == 4 and len(ended) == 4 and result.rc == 0, result.summary())
        time.sleep(0.5 * SLOW)  # the final records are posted when the calls end
        err = server.stderr()
        T.check("D3: the log says call records are kept in memory (spooled)",
                "call records: the database cannot take them" in err, err[-3000:])
        metrics = spool_metrics(server.metrics())
        if any("spool" in name for name in metrics):
            T.check("D3: /metrics shows records waiting in the spool",
                    any("spool" in k and v > 0 for k, v in metrics.items()), metrics)
        else:
            T.note("D3: /metrics has no call-record spool series yet (the lead wires "
                   "DbWorker::recordSpool()); checked through the log instead")
        os.remove(ballast)
        deadline = time.monotonic() + 30 * SLOW
        records = {}
        while time.monotonic() < deadline:
            records = records_by_caller(server.db, "56000")
            if len(records) == 4 and all(s == "completed" for rs in records.values()
                                         for _, s in rs):
                break
            time.sleep(0.2)
        T.check("D3: once space is freed the spool drains: 4 records, one each, completed",
                len(records) == 4 and all(len(rs) == 1 and rs[0][1] == "completed"
                                          for rs in records.values()), records)
        err = server.stderr()
        T.check("D3: the log says the spooled records were written, none lost",
                re.search(r"call records: the database takes them again; \d+ spooled record\(s\) "
                          r"written, 0 lost", err) is not None, err[-3000:])
        status, _, _ = server.post_lead({"referenceid": "d3-after", "name": "After"})
        T.check("D3: lead inserts work again (201)", status == 201, status)
        metrics = spool_metrics(server.metrics())
        if any("spool" in name for name in metrics):
            T.check("D3: /metrics shows the spool empty again",
                    all(v == 0 for k, v in metrics.items() if k.endswith("spooled")), metrics)
        server.kill(signal.SIGTERM)
        T.check("D3: PRAGMA integrity_check is ok", integrity(server.db) == "ok")
    finally:
        server.kill()
        if os.path.exists(ballast):
            os.remove(ballast)
        if not umount(mnt):
            T.check("D3: the tmpfs is unmounted", False, mnt)


# --- D4: another process holds the write lock ---------------------------------------------------

LOCKER = r"""
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("ROLLBACK")
print("released", flush=True)
"""


def run_d4(work):
    if not SIPP:
        T.skip("D4", "SIPp (sip-tester) is not installed")
        return
    server = Server(work, "d4", sip=True)
    ok, text = server.add_admin()
    T.check("D4 setup: users add boss", ok, text)
    if not T.check("D4 setup: the server starts", server.start(), server.stderr()):
        return
    locker = None
    rtp = sipkit.RtpReceiver()
    try:
        T.check("D4 setup: sign in", server.sign_in(), server.stderr())
        busy_ms = 5000
        match = re.search(r"busy_timeout=(\d+)", server.stderr())
        if match:
            busy_ms = int(match.group(1))
        lock_s = 10.0
        # One call that lasts through the whole lock, its RTP received here.
        held = sipp_calls(server, os.path.join(work, "d4-held"), "57000", calls=1, rate=1,
                          hold_ms=int((lock_s + 4) * 1000), rtp_port=rtp.port, background=True)
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline and not rtp.rtp():
            time.sleep(0.05)
        locker = subprocess.Popen([sys.executable, "-c", LOCKER, server.db, str(lock_s)],
                                  stdout=subprocess.PIPE, text=True)
        T.check("D4 setup: another process holds BEGIN EXCLUSIVE",
                locker.stdout.readline().strip() == "locked")
        locked_at = time.monotonic()
        # While it holds: a lead insert waits busy_timeout, then fails cleanly (the writer
        # connection is free again after it); SIP answers; new calls are answered and end.
        status, body, seconds = server.post_lead({"referenceid": "d4-locked", "name": "Locked"})
        T.info("D4: lead insert under the lock: %s after %.1f s (busy_timeout %d ms)" % (
            status, seconds, busy_ms))
        T.check("D4: a lead insert under the lock fails cleanly with 503 and an error body",
                status == 503 and isinstance(body, dict) and "error" in body, (status, body))
        T.check("D4: it waited busy_timeout first (at least %.1f s)" % (busy_ms / 1000 * 0.9),
                seconds >= busy_ms / 1000 * 0.9, seconds)
        options = sipkit.sip_options(server.sip_port, timeout=2 * SLOW)
        T.check("D4: OPTIONS is answered 200 while the file is locked", options == 200, options)
        during = sipp_calls(server, os.path.join(work, "d4-during"), "57100", calls=2, rate=4,
                            hold_ms=500)
        during_end = time.monotonic() - locked_at
        T.check("D4: calls made during the lock are answered and end normally (2 of 2)",
                len(logged(during, "answered")) == 2 and len(logged(during, "ended")) == 2
                and during.rc == 0, during.summary())
        T.info("D4: the calls made during the lock ended %.1f s into it" % during_end)
        T.check("D4: the lock was still held when they ended (else lengthen the lock)",
                locker.poll() is None and during_end < lock_s, during_end)
        locker.wait(timeout=(lock_s + 10) * SLOW)
        result = held.finish()
        T.check("D4: the call held through the lock ends normally",
                len(logged(result, "ended")) == 1 and result.rc == 0, result.summary())
        rtp.stop()
        packets = rtp.rtp()
        times = [p["arrival"] for p in packets]
        gaps = [b - a for a, b in zip(times, times[1:])]
        problems = sipkit.continuity_problems(sipkit.in_seq_order(packets))
        T.info("D4: held call: %d RTP packets, longest gap between two %.0f ms" % (
            len(packets), 1000 * max(gaps or [0])))
        T.check("D4: the held call's RTP covers the lock (at least %d packets, 20 ms each)"
                % int(lock_s * 50 * 0.8), len(packets) >= lock_s * 50 * 0.8, len(packets))
        T.check("D4: its RTP sequence and timestamps run on without a break", not problems,
                problems)
        T.check("D4: no gap in its RTP longer than %d ms (a stalled loop would leave ~%d ms)"
                % (500 * SLOW, busy_ms), gaps and max(gaps) < 0.5 * SLOW, max(gaps or [0]))
        deadline = time.monotonic() + 30 * SLOW
        records = {}
        while time.monotonic() < deadline:
            records = records_by_caller(server.db, "571")
            records.update(records_by_caller(server.db, "57000"))
            if len(records) == 3 and all(s == "completed" for rs in records.values()
                                         for _, s in rs):
                break
            time.sleep(0.2)
        T.check("D4: after the lock every call has its completed record (3)",
                len(records) == 3 and all(len(rs) == 1 and rs[0][1] == "completed"
                                          for rs in records.values()), records)
        err = server.stderr()
        T.check("D4: no call record was lost (none logged as lost)", "record is lost" not in err
                and "could not be written" not in err, err[-3000:])
        if "call records: the database cannot take them" in err:
            T.info("D4: records went through the spool while the file was locked")
        status, _, _ = server.post_lead({"referenceid": "d4-after", "name": "After"})
        T.check("D4: lead inserts work again after the lock (201)", status == 201, status)
        # A second lock with calls first: their records wait busy_timeout once, then go to the
        # spool (the calls do not wait for that), and are written after the lock goes.
        locker = subprocess.Popen([sys.executable, "-c", LOCKER, server.db, str(lock_s)],
                                  stdout=subprocess.PIPE, text=True)
        T.check("D4 records: another process holds BEGIN EXCLUSIVE again",
                locker.stdout.readline().strip() == "locked")
        locked_at = time.monotonic()
        spooled = sipp_calls(server, os.path.join(work, "d4-spooled"), "57200", calls=3, rate=6,
                             hold_ms=300)
        ended_at = time.monotonic() - locked_at
        T.check("D4 records: calls made under the lock are answered and end (3 of 3), %.1f s "
                "into it" % ended_at, len(logged(spooled, "ended")) == 3 and spooled.rc == 0
                and locker.poll() is None, spooled.summary())
        locker.wait(timeout=(lock_s + 10) * SLOW)
        deadline = time.monotonic() + 30 * SLOW
        records = {}
        while time.monotonic() < deadline:
            records = records_by_caller(server.db, "57200")
            if len(records) == 3 and all(s == "completed" for rs in records.values()
                                         for _, s in rs):
                break
            time.sleep(0.2)
        T.check("D4 records: after the lock their 3 records are there, completed, once each",
                len(records) == 3 and all(len(rs) == 1 and rs[0][1] == "completed"
                                          for rs in records.values()), records)
        err = server.stderr()
        T.check("D4 records: they went through the spool: kept while locked, written after, "
                "none lost", "call records: the database cannot take them" in err
                and re.search(r"call records: the database takes them again; \d+ spooled "
                              r"record\(s\) written, 0 lost", err) is not None, err[-3000:])
        metrics = spool_metrics(server.metrics())
        if any("spool" in name for name in metrics):
            T.check("D4 records: /metrics counts the spooled records",
                    any(k.endswith("spooled_total") and v >= 6 for k, v in metrics.items()),
                    metrics)
    finally:
        if locker is not None and locker.poll() is None:
            locker.kill()
            locker.wait(timeout=10)
        rtp.stop()
        server.kill(signal.SIGTERM)


# --- D5: read-only at start ----------------------------------------------------------------------

def start_fails(server, name, words, prefix=()):
    """Starts SERVER, which must exit non-zero within a bounded time, naming WORDS in stderr."""
    before = len(server.stderr())
    started = server.start(prefix=prefix)
    if started:
        server.kill()
    rc = server.process.returncode
    err = server.stderr()[before:]
    T.check("D5 %s: serve exits non-zero (exit %s)" % (name, rc),
            not started and rc not in (None, 0) and rc > 0, err[-2000:])
    T.check("D5 %s: and says why (%s)" % (name, " / ".join(words)),
            any(w in err for w in words), err[-2000:])


def run_d5(work):
    # A file that exists, made with a working server first.
    server = Server(work, "d5")
    if not T.check("D5 setup: the server starts", server.start(), server.stderr()):
        return
    server.kill(signal.SIGTERM)
    words = ("read-only", "readonly")  # the reason, not only "unable to open database file"
    # The file read-only (0444). Root writes it anyway unless it gives up CAP_DAC_OVERRIDE:
    # run the server without it, as a service user would be.
    prefix = ()
    if IS_ROOT:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            T.skip("D5 file 0444", "root, and no setpriv to drop CAP_DAC_OVERRIDE")
        else:
            prefix = (setpriv, "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search,"
                      "-fowner", "--")
    os.chmod(server.db, 0o444)
    if not IS_ROOT or prefix:
        start_fails(server, "file 0444", words, prefix)
    os.chmod(server.db, 0o600)
    # The folder read-only (0555) with no -wal/-shm yet: they cannot be made.
    folder = os.path.join(work, "d5-dir")
    os.makedirs(folder)
    inner = Server(work, "d5-dir", db=os.path.join(folder, "d5.db"))
    if T.check("D5 setup: a server in the folder starts", inner.start(), inner.stderr()):
        inner.kill(signal.SIGTERM)
        os.chmod(folder, 0o555)
        if not IS_ROOT or prefix:
            start_fails(inner, "folder 0555", words, prefix)
        os.chmod(folder, 0o755)
    # The whole file system read-only: a tmpfs remounted ro (root only). No capability helps.
    if IS_ROOT:
        mnt = os.path.join(work, "d5-tmpfs")
        ok, why = mount_tmpfs(mnt, "4m")
        if not ok:
            T.skip("D5 read-only file system", why.strip())
            return
        try:
            ro = Server(work, "d5-ro", db=os.path.join(mnt, "d5.db"))
            if T.check("D5 setup: a server on the tmpfs starts", ro.start(), ro.stderr()):
                ro.kill(signal.SIGTERM)
                done = subprocess.run(["mount", "-o", "remount,ro", mnt], capture_output=True,
                                      text=True)
                if T.check("D5 setup: remount the tmpfs read-only", done.returncode == 0,
                           done.stderr):
                    start_fails(ro, "read-only file system", words)
                    fresh = Server(work, "d5-ro-new", db=os.path.join(mnt, "new.db"))
                    start_fails(fresh, "new file on a read-only file system", words)
        finally:
            umount(mnt)
    else:
        T.skip("D5 read-only file system", "needs root (mount)")


# --- D6: the -wal deleted or replaced while stopped ---------------------------------------------

def run_d6(work):
    cases = (("deleted", lambda wal: os.remove(wal)),
             ("replaced by garbage", lambda wal: _overwrite(wal, os.urandom(os.path.getsize(wal)))),
             ("cut short", lambda wal: _truncate(wal, os.path.getsize(wal) // 2 + 100)))
    for name, damage in cases:
        server = Server(work, "d6-" + name.split()[0])
        ok, text = server.add_admin()
        if not (ok and server.start() and server.sign_in()):
            T.check("D6 %s setup: the server starts" % name, False, text + server.stderr())
            server.kill()
            continue
        acked = []
        for n in range(20):
            status, body, _ = server.post_lead({"referenceid": "d6-%d" % n, "name": "W%d" % n})
            if status == 201:
                acked.append(body["id"])
        server.kill(signal.SIGKILL)  # leaves the -wal unmerged
        wal = server.db + "-wal"
        if not T.check("D6 %s setup: a -wal is left after kill -9" % name,
                       os.path.exists(wal) and os.path.getsize(wal) > 0):
            continue
        damage(wal)
        started = server.start()
        log = server.last_start_log()
        T.check("D6 -wal %s: the next start works" % name, started, log[-2000:])
        match = re.search(r"quick_check=(.*)", log)
        T.check("D6 -wal %s: the start-up log reports the integrity check (quick_check=...)"
                % name, match is not None, log[-2000:])
        if started:
            server.sign_in()  # the token may have gone with the -wal
            status, _, _ = server.post_lead({"referenceid": "d6-after", "name": "After"})
            T.check("D6 -wal %s: writes work after it (201)" % name, status == 201, status)
        server.kill(signal.SIGTERM)
        report = integrity(server.db)
        present = {r[0] for r in read_db(server.db, "SELECT id FROM leads")}
        kept = len([i for i in acked if i in present])
        T.check("D6 -wal %s: PRAGMA integrity_check is ok" % name, report == "ok", report)
        T.info("D6 -wal %s: %d of %d leads acknowledged before the kill are there (%s)" % (
            name, kept, len(acked), "a -wal removed by hand takes its commits with it"
            if kept < len(acked) else "nothing lost"))


def _overwrite(path, data):
    with open(path, "r+b") as f:
        f.write(data)


def _truncate(path, size):
    with open(path, "r+b") as f:
        f.truncate(size)


# --- D11: the settings at start ------------------------------------------------------------------

def run_d11(work):
    server = Server(work, "d11")
    started = server.start()
    server.kill(signal.SIGTERM)
    match = SETTINGS_RE.search(server.stderr())
    line = match.group(1) if match else ""
    T.check("D11: serve starts and logs the database settings", started and match is not None,
            server.stderr()[-2000:])
    for word in ("journal_mode=wal", "synchronous=FULL", "foreign_keys=on"):
        T.check("D11: the start-up log shows %s" % word, re.search(r"\b%s\b" % word, line)
                is not None, line)
    busy = re.search(r"\bbusy_timeout=(\d+)", line)
    T.check("D11: the start-up log shows busy_timeout > 0", busy and int(busy.group(1)) > 0, line)
    T.check("D11: and the integrity check (quick_check=ok)", "quick_check=ok" in line, line)
    # What it says is what the file has: WAL is a property of the file.
    mode = read_db(server.db, "PRAGMA journal_mode")[0][0]
    T.check("D11: the file is in WAL mode", mode == "wal", mode)


def main():
    work = tempfile.mkdtemp(prefix="callflow-dbfaults-")
    T.info("work folder %s, %d cycles, seed %d, slowdown %g" % (work, CYCLES, SEED, SLOW))
    rows = (("D11", run_d11), ("D5", run_d5), ("D6", run_d6), ("D1", run_d1), ("D2", run_d2),
            ("D3", run_d3), ("D4", run_d4))
    try:
        for row, run in rows:
            if wanted(row):
                started = time.monotonic()
                T.safe(row, run, work)
                T.info("%s took %.1f s" % (row, time.monotonic() - started))
    finally:
        for path in (os.path.join(work, "d3-tmpfs"), os.path.join(work, "d5-tmpfs")):
            if os.path.ismount(path):
                umount(path)
        if T.failed == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            T.info("kept %s for a look" % work)
    if "D2" in FIGURES:
        print("D2 kill -9 cycles: %d, answered calls without a record: %d" % FIGURES["D2"],
              flush=True)
    if "D1" in FIGURES:
        print("kill -9 cycles: %d, acknowledged rows lost: %d" % FIGURES["D1"], flush=True)
    return T.finish()


if __name__ == "__main__":
    sys.exit(main())
