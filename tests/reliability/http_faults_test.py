#!/usr/bin/env python3
"""Reliability rows H1-H27 (RELIABILITY.md 5.4): ApiRequest against a misbehaving API.

Usage: http_faults_test.py PATH_TO_callflow REPO_ROOT [ROW...]   (rows: h1 ... h27, sip_rows)

The fault server (fault_server.py) runs in this process. Most rows are one simulated call,
`callflow run FLOW --json --allow 127.0.0.1:<stub port>`, through a flow of tests/reliability/flows
whose ApiRequest (timeout 2 s) leaves by output, timeout or error into three different elements;
the row's check reads which one the trace went to, and what the stub saw. H24 and H25 are real
calls: SIPp against `callflow serve --sip` (skipped when SIPp is missing).
Python 3 standard library only.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse as up

BINARY = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "callflow"
ROOT = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(ROOT, "tests", "reliability")
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "sip"))
import fault_server  # noqa: E402
import harness  # noqa: E402

SLOW = harness.slowdown(BINARY)
T = harness.Checks()
FLOWS = os.path.join(HERE, "flows")
TIMEOUT_S = 2.0            # every flow's ApiRequest timeout unless a row says otherwise
CAP = 1 << 20              # ApiRequest's default response cap
TEMPLATE_HOST = "127.0.0.1:18089"
SECRET = "s3cr3t-H26-Zq7xV"


class Run:
    """One `callflow run`: exit status, output, the parsed trace, wall time, peak RSS (KiB)."""

    def __init__(self, rc, out, err, wall, maxrss):
        self.rc, self.out, self.err, self.wall, self.maxrss = rc, out, err, wall, maxrss
        try:
            self.trace = json.loads(out)
        except ValueError:
            self.trace = {}
        steps = [s for s in self.trace.get("steps") or [] if s.get("element") == "Api"]
        self.exit = steps[0].get("exit") if steps else None
        self.path = self.trace.get("path", [])
        self.said = self.trace.get("said", [])
        http = self.trace.get("http") or [{}]
        self.http = http[0]
        self.ms = self.http.get("ms", -1)
        self.error = self.http.get("error", "")
        self.status = self.http.get("status")

    def summary(self):
        return "rc=%s wall=%.2fs maxrss=%d KiB exit=%s path=%s said=%s http=%s\nstderr: %s" % (
            self.rc, self.wall, self.maxrss, self.exit, self.path, self.said,
            json.dumps(self.trace.get("http")), self.err[-1500:])


class Context:
    pass


C = Context()


def flow(name, url=None, **api):
    """The flow file NAME with the stub's port, the Api element's URL set to URL (a path on the
    stub, or an absolute URL) and its other settings to API; written to the work dir."""
    with open(os.path.join(FLOWS, name)) as f:
        text = f.read().replace(TEMPLATE_HOST, "127.0.0.1:%d" % C.server.port)
    doc = json.loads(text)
    for element in doc["elements"]:
        if element["name"] == "Api":
            if url is not None:
                element["url"] = url if not url.startswith("/") else "http://127.0.0.1:%d%s" % (
                    C.server.port, url)
            element.update(api)
    C.flows += 1
    path = os.path.join(C.work, "flow-%03d-%s" % (C.flows, name))
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    return path


# Starts the `callflow run` processes and reports each one's exit status and peak RSS (wait4).
# A separate small process, started before this one grows: Linux carries a parent's RSS high
# water mark into a forked child's ru_maxrss, and this process holds the fault server's buffers.
LAUNCHER = r"""
import json, os, subprocess, sys, time
for line in sys.stdin:
    job = json.loads(line)
    with open(job["out"], "wb") as out, open(job["err"], "wb") as err:
        child = subprocess.Popen(job["argv"], stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                 env=job["env"])
        deadline = time.monotonic() + job["timeout"]
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                child.kill()
                pid, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.005)
    print(json.dumps({"rc": os.waitstatus_to_exitcode(status), "maxrss": usage.ru_maxrss}),
          flush=True)
"""


def start_launcher():
    C.launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)


def stop_launcher():
    if C.launcher is not None:
        C.launcher.stdin.close()
        try:
            C.launcher.wait(timeout=10)
        except subprocess.TimeoutExpired:
            C.launcher.kill()
            C.launcher.wait(timeout=10)


def run(flow_path, *args, env=None, allow=None, timeout=60):
    """`callflow run FLOW --json --allow <stub>` (plus ARGS), through the launcher."""
    allow = allow if allow is not None else ["127.0.0.1:%d" % C.server.port]
    argv = [BINARY, "run", flow_path, "--json"]
    for rule in allow:
        argv += ["--allow", rule]
    argv += list(args)
    out_path = os.path.join(C.work, "run.out")
    err_path = os.path.join(C.work, "run.err")
    started = time.monotonic()
    job = {"argv": argv, "env": env if env is not None else harness.clean_env(),
           "out": out_path, "err": err_path, "timeout": timeout * SLOW}
    C.launcher.stdin.write(json.dumps(job) + "\n")
    C.launcher.stdin.flush()
    done = json.loads(C.launcher.stdout.readline())
    wall = time.monotonic() - started
    with open(out_path, "rb") as f:
        out = f.read().decode("utf-8", "replace")
    with open(err_path, "rb") as f:
        err = f.read().decode("utf-8", "replace")
    r = Run(done["rc"], out, err, wall, done["maxrss"])
    T.no_sanitizer_report("  (no sanitizer report: %s)" % os.path.basename(flow_path), err)
    return r


def counts(path, listener="main"):
    return (C.server.count(path, listener), C.server.count(path, listener, "disconnects"))


def disconnect_after(path, since):
    """Seconds from the first request to PATH after SINCE to the client's disconnect from it
    (None: no disconnect seen within a few seconds)."""
    def times():
        events = [(t, k) for t, _, p, k in C.server.events() if p == path and t >= since]
        asked = [t for t, k in events if k == "request"]
        gone = [t for t, k in events if k == "disconnect"]
        return (asked[0], gone[0]) if asked and gone else None
    found = C.server.wait_for(times, 3 * SLOW)
    return found[1] - found[0] if found else None


def took_exit(name, r, exit_name, target):
    """The call left the ApiRequest by EXIT_NAME into TARGET, and the run itself was fine."""
    at = r.path.index("Api") if "Api" in r.path else -1
    return T.check("%s: `%s` exit (path Api -> %s), callflow exit status 0" % (
        name, exit_name, target),
        r.rc == 0 and r.exit == exit_name and at >= 0 and r.path[at:at + 2] == ["Api", target],
        r.summary())


def within_deadline(name, r, limit=TIMEOUT_S + 5):
    return T.check("%s: over within %.0f s (took %.2f s)" % (name, limit * SLOW, r.wall),
                   r.wall < limit * SLOW, r.summary())


# --- rows ----------------------------------------------------------------------------------------

def h1():
    before = counts("/ok")[0]
    r = run(flow("result_fields.json", "/ok?ms=50"))
    T.check("H1 /ok after 50 ms: output exit, fields used by SetProperty, Branch and TTS",
            r.rc == 0 and r.path == ["Api", "Save", "Route", "Gold"]
            and r.said == ["Gold, balance 42.5, order 9, status 200."]
            and r.trace.get("data", {}).get("Tier") == "Gold", r.summary())
    T.check("H1 the stub got one request", counts("/ok")[0] == before + 1, C.server.all_stats())


def timeout_row(name, path_query, path):
    since = time.monotonic()
    r = run(flow("exits.json", path_query))
    took_exit(name, r, "timeout", "TimedOut")
    T.check("%s: the element waited its whole timeout (%d ms >= %d ms)" % (
        name, r.ms, TIMEOUT_S * 1000), r.ms >= TIMEOUT_S * 1000 - 5, r.summary())
    within_deadline(name, r)
    T.check("%s: the call continues on the timeout branch (said %s)" % (name, r.said),
            r.said == ["timeout 0 no complete answer within 2 s"], r.summary())
    gone = disconnect_after(path, since)
    T.check("%s: the stub saw the client disconnect (%.2f s after the request)" % (
        name, gone if gone is not None else -1), gone is not None and gone < (TIMEOUT_S + 5) * SLOW,
        C.server.all_stats()["main"])
    return r


def h2():
    timeout_row("H2 /delay?ms=5000", "/delay?ms=5000", "/delay")


def h3():
    r = timeout_row("H3 /trickle 1 byte every 200 ms", "/trickle?ms=200&n=100", "/trickle")
    T.check("H3 the total deadline ended it, not an idle timer (%d ms < 2 x timeout)" % r.ms,
            0 <= r.ms < 2 * TIMEOUT_S * 1000 * SLOW, r.summary())


def h4():
    timeout_row("H4 /blackhole", "/blackhole", "/blackhole")


def h5():
    closed = harness.free_port()
    r = run(flow("exits.json", "http://127.0.0.1:%d/ok" % closed),
            allow=["127.0.0.1:%d" % C.server.port, "127.0.0.1:%d" % closed])
    took_exit("H5 connection refused", r, "error", "Failed")
    T.check("H5 refused promptly: before the 2 s timeout (%d ms)" % r.ms,
            0 <= r.ms < TIMEOUT_S * 1000, r.summary())
    T.check("H5 no retry unless configured (no retries in the trace, status 0)",
            "retries" not in r.http and r.status == 0, r.summary())
    r = run(flow("exits.json", "http://127.0.0.1:%d/ok" % closed, retries=2),
            allow=["127.0.0.1:%d" % C.server.port, "127.0.0.1:%d" % closed])
    T.check("H5 with retries 2: error exit after exactly 2 retries, within the timeout",
            r.exit == "error" and r.http.get("retries") == 2 and r.ms < TIMEOUT_S * 1000 + 500,
            r.summary())


def simple_error(name, path_query, path, status=0, error_like=None, at_most_ms=None):
    before = counts(path)[0]
    r = run(flow("exits.json", path_query))
    took_exit(name, r, "error", "Failed")
    T.check("%s: status %d and a reason in Api.Error (%r)" % (name, status, r.error),
            r.status == status and r.error != "" and (
                error_like is None or re.search(error_like, r.error, re.I) is not None),
            r.summary())
    if at_most_ms is not None:
        T.check("%s: no waiting past the answer (%d ms < %d ms)" % (name, r.ms, at_most_ms),
                0 <= r.ms < at_most_ms, r.summary())
    T.check("%s: the stub got exactly one request" % name, counts(path)[0] == before + 1,
            C.server.all_stats()["main"])
    return r


def h6():
    simple_error("H6 /reset (RST)", "/reset", "/reset", at_most_ms=TIMEOUT_S * 1000)


def h7():
    r = simple_error("H7 /status/500 with a JSON body", "/status/500", "/status/500", status=500,
                     error_like=r"HTTP status 500")
    T.check("H7 the body is not taken as success (no output exit; said %s)" % r.said,
            r.said == ["error 500 HTTP status 500"], r.summary())


def h8():
    simple_error("H8 /status/503 Retry-After 3600", "/status/503?retry_after=3600", "/status/503",
                 status=503, at_most_ms=TIMEOUT_S * 1000)
    before = counts("/status/503")[0]
    r = run(flow("exits.json", "/status/503?retry_after=3600", retries=2))
    T.check("H8 with retries 2: 3 attempts, Retry-After not obeyed, all within the timeout "
            "(%d ms, %d requests)" % (r.ms, counts("/status/503")[0] - before),
            r.exit == "error" and counts("/status/503")[0] - before == 3
            and r.ms < TIMEOUT_S * 1000 + 500, r.summary())


def h9():
    simple_error("H9 /status/429", "/status/429", "/status/429", status=429)
    before = counts("/status/429")[0]
    r = run(flow("exits.json", "/status/429", retries=2))
    n = counts("/status/429")[0] - before
    T.check("H9 with retries 2: no tight loop, at most the 3 attempts configured (%d sent)" % n,
            r.exit == "error" and 1 <= n <= 3, r.summary())
    T.info("H9 a 429 is not retried at all: %d request(s) with retries 2" % n)


def h10():
    simple_error("H10 /garbage (not HTTP)", "/garbage", "/garbage", at_most_ms=TIMEOUT_S * 1000)


def h11():
    # FLOW_FORMAT: ApiRequest leaves by output "when the status is 2xx"; the body is parsed as
    # JSON for NAME.Result.<path>, and a path with no value renders empty. So a 2xx with a body
    # that is not JSON is output with no fields.
    for kind in ("html", "invalid", "empty"):
        r = run(flow("exits.json", "/json/" + kind))
        took_exit("H11 200 with %s body" % kind, r, "output", "Output")
        T.check("H11 200 with %s body: no JSON fields (Value empty), status 200" % kind,
                r.said and "Value=[]" in r.said[0] and r.said[0].startswith("output 200"),
                r.summary())


def h12():
    simple_error("H12 /badlen (Content-Length 100, 10 bytes, close)", "/badlen", "/badlen",
                 status=200, at_most_ms=TIMEOUT_S * 1000)


def rss_baseline():
    if C.baseline_rss is None:
        C.baseline_rss = run(flow("exits.json", "/ok?ms=0")).maxrss
    return C.baseline_rss


def rss_bounded(name, r):
    base = rss_baseline()
    limit = base + 2 * CAP // 1024 + int(16 * 1024 * SLOW)
    return T.check("%s: peak RSS %d KiB, within the /ok run's %d KiB + 2 x cap + 16 MiB" % (
        name, r.maxrss, base), 0 < r.maxrss <= limit, r.summary())


def h13():
    for query, label in (("/huge?mb=50", "Content-Length 50 MiB"),
                         ("/huge?mb=50&chunked=1", "chunked 50 MiB")):
        name = "H13 /huge %s" % label
        r = run(flow("exits.json", query))
        took_exit(name, r, "error", "Failed")
        T.check("%s: aborted at the 1 MiB cap (%r)" % (name, r.error),
                "larger than %d bytes" % CAP in r.error, r.summary())
        within_deadline(name, r)
        rss_bounded(name, r)


def h14():
    name = "H14 /chunked-forever, fast"
    r = run(flow("exits.json", "/chunked-forever"))
    took_exit(name, r, "error", "Failed")
    T.check("%s: the cap came first (%r)" % (name, r.error), "larger than" in r.error,
            r.summary())
    rss_bounded(name, r)
    name = "H14 /chunked-forever, 100 B every 50 ms"
    r = run(flow("exits.json", "/chunked-forever?ms=50&size=100"))
    took_exit(name, r, "timeout", "TimedOut")
    within_deadline(name, r)


def h15():
    name = "H15 /gzipbomb (50 MiB decoded, Content-Encoding gzip not asked for)"
    r = run(flow("exits.json", "/gzipbomb?mb=50"))
    not_decoded = r.exit == "output" and r.said and "decoded=[]" in r.said[0]
    capped = r.exit == "error" and "larger than" in r.error
    T.check("%s: not decoded (output with no JSON fields), or decoded only up to the cap" % name,
            r.rc == 0 and (not_decoded or capped), r.summary())
    req = (C.server.requests("/gzipbomb") or [None])[-1]
    accept = req.header("Accept-Encoding") if req else None
    T.check("%s: no Accept-Encoding sent (%r)" % (name, accept), req is not None and not accept,
            req.as_dict() if req else "no request")
    rss_bounded(name, r)


def h16():
    for query, label in (("/headers?n=100000&len=10", "100,000 header fields"),
                         ("/headers?n=1&len=1048576", "one 1 MiB header line")):
        name = "H16 %s" % label
        r = run(flow("exits.json", query))
        took_exit(name, r, "error", "Failed")
        within_deadline(name, r)
        rss_bounded(name, r)


def h17():
    name = "H17 redirect to a private port (the admin API stand-in)"
    other = C.server.ports["other"]
    target = "http://127.0.0.1:%d/api/leads" % other
    before = C.server.connections("other")
    r = run(flow("exits.json", "/redirect?to=" + target))
    took_exit(name, r, "error", "Failed")
    T.check("%s: not followed, 302 recorded (status %s, %r)" % (name, r.status, r.error),
            r.status == 302 and "302" in r.error, r.summary())
    T.check("%s: the other port got nothing" % name,
            C.server.connections("other") == before, C.server.all_stats()["other"])
    name = "H17 followRedirects: true, hop to a loopback port not allowlisted"
    r = run(flow("exits.json", "/redirect?to=" + target, followRedirects=True))
    T.check("%s: error exit, the hop refused by the address policy (%r)" % (name, r.error),
            r.exit == "error" and "policy" in r.error, r.summary())
    T.check("%s: the other port got no connection" % name,
            C.server.connections("other") == before, C.server.all_stats()["other"])


def h18():
    name = "H18 redirect loop"
    before = counts("/redirect")[0]
    r = run(flow("exits.json", "/redirect?loop=1"))
    took_exit(name + ", default", r, "error", "Failed")
    T.check("%s, default: not followed (1 request, status 302)" % name,
            counts("/redirect")[0] == before + 1 and r.status == 302, r.summary())
    before = counts("/redirect")[0]
    r = run(flow("exits.json", "/redirect?loop=1", followRedirects=True))
    n = counts("/redirect")[0] - before
    took_exit(name + ", followRedirects", r, "error", "Failed")
    T.check("%s, followRedirects: stops after at most 3 redirects (%d requests, %r)" % (
        name, n, r.error), 2 <= n <= 4, r.summary())


def h19():
    ca = os.path.join(C.work, "tls", "ca.pem")
    allow = ["127.0.0.1:%d" % p for p in C.server.ports.values()]
    good = C.server.ports["tls-good"]
    r = run(flow("exits.json", "https://127.0.0.1:%d/ok" % good), "--ca-file", ca, allow=allow)
    control = T.check("H19 control: HTTPS with a certificate from the given CA works (output)",
                      r.exit == "output" and "Value=[Gold]" in (r.said or [""])[0], r.summary())
    r = run(flow("exits.json", "https://127.0.0.1:%d/ok" % good), allow=allow)
    took_exit("H19 CA not given (system store only)", r, "error", "Failed")
    for listener, label in (("tls-self", "self-signed"), ("tls-expired", "expired"),
                            ("tls-wronghost", "wrong host")):
        name = "H19 HTTPS %s certificate" % label
        port = C.server.ports[listener]
        r = run(flow("exits.json", "https://127.0.0.1:%d/ok" % port), "--ca-file", ca,
                allow=allow)
        took_exit(name, r, "error", "Failed")
        T.check("%s: Api.Error names the TLS verification (%r)" % (name, r.error),
                re.search(r"SSL|TLS|certificate", r.error, re.I) is not None, r.summary())
        T.check("%s: no insecure fallback (the server got no request)" % name,
                C.server.count("/ok", listener) == 0, C.server.all_stats()[listener])
    if not control:
        T.note("H19: the control failed, so the three failures above prove less")


def h20():
    name = "H20 host does-not-exist.invalid"
    r = run(flow("exits.json", "http://does-not-exist.invalid/ok"))
    took_exit(name, r, "error", "Failed")
    within_deadline(name, r)
    T.info("H20 Api.Error: %r after %d ms" % (r.error, r.ms))


def h21():
    name = "H21 /deep?n=100000 (nested arrays)"
    r = run(flow("exits.json", "/deep?n=100000"))
    T.check("%s: no crash (exit status 0, a trace)" % name, r.rc == 0 and r.trace, r.summary())
    # 2xx is output (FLOW_FORMAT); the parser's depth limit leaves no fields.
    took_exit(name, r, "output", "Output")
    T.check("%s: the depth limit left no JSON fields (first=[])" % name,
            r.said and "first=[]" in r.said[0], r.summary())


def h22():
    seen = {}
    for kind in ("bignum", "u64plus", "negzero", "dupkeys", "surrogate"):
        name = "H22 %s" % kind
        r = run(flow("exits.json", "/json/" + kind))
        ok = T.check("%s: no exception escapes the node (exit status 0, output exit)" % name,
                     r.rc == 0 and r.exit == "output", r.summary())
        said = r.said[0] if r.said else ""
        fields = dict(re.findall(r"(\w+)=\[([^\]]*)\]", said))
        seen[kind] = {k: fields.get(k) for k in ("v", "w", "ok")}
        T.info("H22 %s -> v=%r w=%r ok=%r" % (kind, fields.get("v"), fields.get("w"),
                                             fields.get("ok")))
        if ok:
            want = H22_DEFINED[kind]
            got = {k: seen[kind][k] for k in want}
            T.check("%s: defined handling %s (got %s)" % (name, want, got), got == want,
                    r.summary())


# The handling H22 defines (Boost.JSON's, to be stated in FLOW_FORMAT): a number beyond the
# double range is infinity and renders "1e999" (a JSON number that reads back as infinity); an
# integer beyond 64 bits becomes the nearest double; -0 and -0.0 render "0"; of duplicate keys
# the last wins; a lone surrogate escape makes the whole body not JSON (every field empty, the
# output exit still taken for a 2xx).
H22_DEFINED = {
    "bignum": {"v": "1e999", "ok": "yes"},
    "u64plus": {"v": "18446744073709551616", "ok": "yes"},
    "negzero": {"v": "0", "w": "0", "ok": "yes"},
    "dupkeys": {"v": "second", "ok": "yes"},
    "surrogate": {"v": "", "ok": ""},
}


def h23():
    other = C.server.ports["other"]
    before = C.server.connections("other")
    name = "H23 loopback port not allowlisted"
    r = run(flow("exits.json", "http://127.0.0.1:%d/api/leads" % other))
    took_exit(name, r, "error", "Failed")
    T.check("%s: refused by the address policy (%r)" % (name, r.error),
            "policy" in r.error, r.summary())
    T.check("%s: refused before any byte: the port got no connection (%d)" % (
        name, C.server.connections("other") - before),
        C.server.connections("other") == before, C.server.all_stats()["other"])
    name = "H23 169.254.169.254 (cloud metadata)"
    r = run(flow("exits.json", "http://169.254.169.254/latest/meta-data/"))
    took_exit(name, r, "error", "Failed")
    T.check("%s: refused by the address policy (%r)" % (name, r.error),
            "policy" in r.error, r.summary())
    T.check("%s: refused at once (%d ms)" % (name, r.ms), 0 <= r.ms < 1000 * SLOW, r.summary())


def h26():
    secrets = os.path.join(C.work, "secrets.env")
    with open(secrets, "w") as f:
        f.write("API_KEY=%s\n" % SECRET)
    os.chmod(secrets, 0o600)
    cases = [
        ("V1 digits 1#2* into the query", "+441632960001", "1#2*"),
        ("V2 caller ID ../../admin?x=1&y=2 into the path", "../../admin?x=1&y=2", "1"),
        ("V3 quotes and backslashes into JSON", 'a"b\\c', "1"),
        ("V5 {{secret.API_KEY}} from the caller", "{{secret.API_KEY}}", "1"),
        ("V10 Unicode caller name", "\u202eabc\U0001F600e\u0301", "1"),
        ("V11 %s%n%x", "%s%n%x", "1"),
    ]
    outputs = []
    for label, caller, digits in cases:
        name = "H26 %s" % label
        before = len(C.server.requests())
        r = run(flow("injection.json"), "--from", caller, "--digits", digits, "--secrets", secrets)
        outputs.append(r.out + r.err)
        got = [q for q in C.server.requests()[before:] if q.path.startswith("/echo")]
        if not T.check("%s: output exit, one request reached /echo" % name,
                       r.exit == "output" and len(got) == 1, r.summary()):
            continue
        q = got[0]
        segments = q.path.split("/")
        T.check("%s: the path keeps its level (/echo/<one segment>/x: %s)" % (name, q.path),
                len(segments) == 4 and segments[1] == "echo" and segments[3] == "x",
                q.as_dict())
        params = dict(kv.split("=", 1) for kv in q.query.split("&") if "=" in kv)
        keys = [kv.split("=", 1)[0] for kv in q.query.split("&")]
        T.check("%s: the query has exactly d, from, k (%s)" % (name, q.query),
                keys == ["d", "from", "k"], q.as_dict())
        T.check("%s: URL values round-trip after percent-decoding" % name,
                up.unquote(params.get("from", "")) == caller
                and up.unquote(segments[2] if len(segments) > 2 else "") == caller
                and up.unquote(params.get("d", "")) == digits
                and up.unquote(params.get("k", "")) == SECRET, q.as_dict())
        T.check("%s: no raw # & ? / space in the substituted URL parts" % name,
                not re.search(r"[#&?/ \"\\]", params.get("from", "") + params.get("d", "")
                              + (segments[2] if len(segments) > 2 else "")), q.target)
        try:
            body = json.loads(q.body.decode("utf-8"))
        except ValueError:
            body = None
        T.check("%s: the JSON body is valid and its strings round-trip" % name,
                body == {"from": caller, "digits": digits, "key": SECRET},
                q.body.decode("utf-8", "replace"))
        T.check("%s: the header carries the value as is, the secret header the secret" % name,
                q.header("X-Caller") == caller.encode("utf-8").decode("latin-1")
                and q.header("X-Key") == SECRET, q.headers)
        if label.split()[0] == "V1":
            T.check("H26 V1: # sent as %23, * as * or %2A, no fragment",
                    params.get("d") in ("1%232*", "1%232%2A"), q.target)
        if label.split()[0] == "V5":
            T.check("H26 V5: a caller's {{secret.API_KEY}} is sent literally, never expanded",
                    SECRET not in up.unquote(params.get("from", "")), q.target)

    name = "H26 V4 CR/LF in a header value"
    before = len(C.server.requests())
    r = run(flow("injection.json"), "--from", "1\r\nX-Admin: yes", "--digits", "1",
            "--secrets", secrets)
    outputs.append(r.out + r.err)
    took_exit(name, r, "error", "Failed")
    T.check("%s: refused, nothing sent (%r)" % (name, r.error),
            len(C.server.requests()) == before and re.search(r"CR|LF|line", r.error),
            r.summary())
    name = "H26 V4 %0d%0a text in a header value"
    before = len(C.server.requests())
    r = run(flow("injection.json"), "--from", "1%0d%0aX-Admin: yes", "--digits", "1",
            "--secrets", secrets)
    outputs.append(r.out + r.err)
    got = C.server.requests()[before:]
    T.check("%s: sent literally" % name,
            r.exit == "output" and len(got) == 1
            and got[0].header("X-Caller") == "1%0d%0aX-Admin: yes"
            and got[0].header("X-Admin") is None, r.summary())
    leaked = [o[max(0, o.find(SECRET) - 200):o.find(SECRET) + 60] for o in outputs if SECRET in o]
    T.check("H26 the secret reached the stub but is in no stdout/stderr of callflow "
            "(%d runs)" % len(outputs), not leaked, "\n---\n".join(leaked[:3]))


def h27():
    closed = harness.free_port()
    proxy = "http://127.0.0.1:%d" % closed
    env = harness.clean_env({"http_proxy": proxy, "HTTP_PROXY": proxy, "https_proxy": proxy,
                             "HTTPS_PROXY": proxy, "ALL_PROXY": proxy, "all_proxy": proxy})
    before = counts("/ok")[0]
    r = run(flow("exits.json", "/ok?ms=0"), env=env)
    took_exit("H27 http_proxy set to a closed port", r, "output", "Output")
    T.check("H27 the request went direct (the stub got it)", counts("/ok")[0] == before + 1,
            C.server.all_stats()["main"])


# --- H24 and H25: real calls ---------------------------------------------------------------------

def sip_rows():
    if shutil.which("sipp") is None:
        T.skip("H24 and H25", "SIPp is not installed")
        return
    import sipkit
    work = os.path.join(C.work, "sip")
    prompts = os.path.join(work, "prompts")
    os.makedirs(prompts)
    sipkit.write_wav(os.path.join(prompts, "beep-200ms.wav"),
                     sipkit.tone(0.2, 16000, 1000.0, 6000.0), 16000)
    flows = {}
    for name in ("sip_blackhole.json", "sip_ok.json", "sip_bye_wait.json"):
        flows[name] = flow(name)
    rtp_base = 30000 + 2 * (os.getpid() % 2000)
    server = harness.Serve(BINARY, work, sip=True, slow=SLOW, args=[
        "--flow", flows["sip_ok.json"], "--prompts", prompts, "--max-calls", "200",
        "--rtp-ports", "%d-%d" % (rtp_base, rtp_base + 399),
        "--route", "8001=" + flows["sip_blackhole.json"], "--route", "8002=" + flows["sip_ok.json"],
        "--route", "8003=" + flows["sip_bye_wait.json"],
        "--allow", "127.0.0.1:%d" % C.server.port])
    if not T.check("H24 `callflow serve --sip` starts", server.start(), server.stderr()[-2000:]):
        server.stop()
        return
    try:
        h24(server, sipkit, work)
        h25(server, sipkit, work)
    finally:
        server.stop()
    T.no_sanitizer_report("H24/H25 no sanitizer report from serve", server.stderr())


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def h24(server, sipkit, work):
    pid = server.process.pid
    time.sleep(0.5)
    fds_before = fd_count(pid)
    bh_before = counts("/blackhole")
    ok_before = counts("/ok")[0]
    scenario = os.path.join(ROOT, "tests", "sip", "scenarios", "full_call.xml")
    target = "127.0.0.1:%d" % server.sip_port
    sink = sipkit.RtpReceiver()
    healthy = sipkit.RtpReceiver()
    stuck = sipkit.run_sipp(scenario, target, local_port=sipkit.free_port(), service="8001",
                            keys={"rtp_port": sink.port, "pai": "441632960124",
                                  "caller": "441632960124"},
                            calls=50, rate=100, limit=50, timeout=40 * SLOW,
                            recv_timeout_ms=20000 * SLOW, workdir=os.path.join(work, "stuck"),
                            background=True)
    # The 10 healthy calls start once the 50 requests wait at the stub.
    waiting = C.server.wait_for(lambda: counts("/blackhole")[0] - bh_before[0] >= 50, 10 * SLOW)
    T.check("H24 50 calls wait on /blackhole at once (%d requests)" % (
        counts("/blackhole")[0] - bh_before[0]), waiting)
    fds_peak = fd_count(pid)
    good = sipkit.run_sipp(scenario, target, local_port=sipkit.free_port(), service="8002",
                           keys={"rtp_port": healthy.port, "pai": "441632960125",
                                 "caller": "441632960125"},
                           calls=10, rate=20, limit=10, timeout=30 * SLOW,
                           recv_timeout_ms=15000 * SLOW, workdir=os.path.join(work, "healthy"))
    blackholes_left = counts("/blackhole")[0] - bh_before[0] - (
        counts("/blackhole")[1] - bh_before[1])
    stuck_result = stuck.finish(40 * SLOW)
    sink.stop()
    healthy.stop()
    T.check("H24 the 10 healthy calls finished normally (SIPp: %d successful, %d failed)" % (
        good.stat("SuccessfulCall"), good.stat("FailedCall")),
        good.rc == 0 and good.stat("SuccessfulCall") == 10, good.summary())
    T.check("H24 ... while the 50 requests still waited (%d still open when they ended)" %
            blackholes_left, blackholes_left >= 40)
    T.check("H24 the healthy calls got their answers (10 requests to /ok)",
            counts("/ok")[0] - ok_before == 10, C.server.all_stats()["main"])
    streams = {}
    for p in healthy.rtp():
        streams.setdefault((p["source"], p["ssrc"]), []).append(p)
    problems = {}
    for key, packets in streams.items():
        found = sipkit.continuity_problems(sipkit.in_seq_order(packets))
        if found:
            problems["%s:%d ssrc %08x" % (key[0][0], key[0][1], key[1])] = found[:5]
    T.check("H24 10 RTP streams from the healthy calls, each with no gap "
            "(seq +1, timestamp +160): %d streams" % len(streams),
            len(streams) == 10 and not problems, json.dumps(problems, indent=1)[:3000])
    T.check("H24 the 50 stuck calls ended too (SIPp: %d successful)" % (
        stuck_result.stat("SuccessfulCall")),
        stuck_result.rc == 0 and stuck_result.stat("SuccessfulCall") == 50, stuck_result.summary())
    T.check("H24 the stub saw 50 disconnects on /blackhole",
            C.server.wait_for(lambda: counts("/blackhole")[1] - bh_before[1] >= 50, 5 * SLOW),
            C.server.all_stats()["main"])
    records = server.records() or []
    paths = {}
    for r in records:
        key = "%s %s %s" % (r.get("flow"), r.get("status"), "/".join(r.get("path") or []))
        paths[key] = paths.get(key, 0) + 1
    T.check("H24 records: 50 stuck calls on the timeout branch, 10 healthy ones on output, all "
            "completed (%s)" % paths,
            paths == {"FaultSipBlackhole completed Api/TimedOut/Bye": 50,
                      "FaultSipOk completed Api/Say/Bye": 10}, paths)
    T.check("H24 fd count at the peak within baseline + 2 per call + 60 connections "
            "(%d -> %d)" % (fds_before, fds_peak),
            0 < fds_peak <= fds_before + 60 * 3 + 20, (fds_before, fds_peak))
    C.server.wait_for(lambda: fd_count(pid) <= fds_before + 5, 5 * SLOW)
    T.check("H24 fd count back to the baseline afterwards (%d -> %d)" % (
        fds_before, fd_count(pid)), fd_count(pid) <= fds_before + 5)


def h25(server, sipkit, work):
    scenario = os.path.join(ROOT, "tests", "sip", "scenarios", "bye_during_api.xml")
    since = time.monotonic()
    known = {r.get("uuid") for r in (server.records() or [])}
    result = sipkit.run_sipp(scenario, "127.0.0.1:%d" % server.sip_port,
                             local_port=sipkit.free_port(), service="8003",
                             keys={"rtp_port": sipkit.free_port(), "caller": "441632960126"},
                             calls=1, timeout=30 * SLOW, recv_timeout_ms=15000 * SLOW,
                             workdir=os.path.join(work, "bye"))
    T.check("H25 the caller's BYE during the request is answered 200 (SIPp exit 0)",
            result.rc == 0, result.summary())
    gone = disconnect_after("/blackhole", since)
    T.check("H25 the request is cancelled: the stub saw the disconnect %.2f s after the request "
            "(the element's timeout is 10 s)" % (gone if gone is not None else -1),
            gone is not None and gone < 6 * SLOW, C.server.events()[-5:])
    records = []
    deadline = time.monotonic() + 5 * SLOW
    while time.monotonic() < deadline:
        records = [r for r in (server.records() or []) if r.get("uuid") not in known]
        if records and records[0].get("status") != "open":
            break
        time.sleep(0.1)
    rec = records[0] if records else {}
    T.check("H25 one record, hung up by the caller, no element after the ApiRequest",
            len(records) == 1 and rec.get("hungUpBy") == "caller" and rec.get("path") == ["Api"],
            {k: rec.get(k) for k in ("status", "resultCode", "hungUpBy", "path")})


# --- main ----------------------------------------------------------------------------------------

def main():
    if not os.path.exists(BINARY):
        print("no binary at " + BINARY)
        return 1
    C.work = tempfile.mkdtemp(prefix="callflow-httpfaults-")
    C.flows = 0
    C.baseline_rss = None
    C.launcher = None
    start_launcher()
    C.server = fault_server.FaultServer(tls_dir=os.path.join(C.work, "tls"))
    try:
        C.server.start()
    except RuntimeError as error:
        T.check("the fault server starts", False, str(error))
        return T.finish()
    T.info("fault server: %s; work dir %s; slowdown %g" % (C.server.ports, C.work, SLOW))
    try:
        rows = (h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15, h16, h17,
                h18, h19, h20, h21, h22, h23, h26, h27, sip_rows)
        only = sys.argv[3:]  # optional: the rows to run, e.g. `h2 h23 sip_rows`
        for fn in rows:
            if not only or fn.__name__ in only:
                T.safe(fn.__name__.upper(), fn)
    finally:
        C.server.stop()
        stop_launcher()
    status = T.finish()
    if status == 0 and not os.environ.get("CALLFLOW_KEEP_WORK"):
        shutil.rmtree(C.work, ignore_errors=True)
    else:
        print("work dir kept: " + C.work)
    return status


if __name__ == "__main__":
    sys.exit(main())
