"""What every Python test of Callflow needs: named checks with a summary and an exit status,
skips and notes, the slow-down factor of a sanitizer build, `callflow` commands, free loopback
ports, and one `callflow serve` process that is started, probed and stopped by PID.

Python 3 standard library only. Use:

    sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
    import harness
    t = harness.Checks()
    t.check("name", condition, detail)
    ...
    sys.exit(t.finish())
"""
import json
import os
import signal
import socket
import subprocess
import time
import traceback
import urllib.error
import urllib.request

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")


def sanitized(path):
    """Whether the binary was built with a sanitizer (such builds are several times slower)."""
    try:
        with open(path, "rb") as f:
            return any(mark in chunk for chunk in iter(lambda: f.read(1 << 24), b"")
                       for mark in (b"__asan_init", b"__ubsan_handle", b"__tsan_init"))
    except OSError:
        return False


def slowdown(binary):
    """Every wait is scaled by this: CALLFLOW_TEST_SLOWDOWN, else 4 for a sanitizer build."""
    return float(os.environ.get("CALLFLOW_TEST_SLOWDOWN") or (4 if sanitized(binary) else 1))


def clean_env(extra=None):
    """The environment for a `callflow` child: no secrets, passwords, allowlist or proxies from
    the caller's environment, only what the test gives."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CALLFLOW_SECRET_") and k not in (
               "CALLFLOW_PASSWORD", "CALLFLOW_ALLOW", "http_proxy", "https_proxy",
               "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy")}
    env.update(extra or {})
    return env


class Checks:
    """Counts checks; prints each one's name, and what went wrong when it failed."""

    def __init__(self):
        self.passed = self.failed = self.skipped = self.notes = 0
        self.started = time.monotonic()

    def check(self, name, condition, detail=""):
        if condition:
            self.passed += 1
            print("ok   " + name, flush=True)
        else:
            self.failed += 1
            print("FAIL " + name, flush=True)
            if detail:
                text = detail if isinstance(detail, str) else repr(detail)
                for line in text.splitlines()[:40]:
                    print("       " + line[:400], flush=True)
        return bool(condition)

    def skip(self, name, reason):
        self.skipped += 1
        print("skip %s (%s)" % (name, reason), flush=True)

    def note(self, text):
        """Something worth reading that is not a failure."""
        self.notes += 1
        print("note " + text, flush=True)

    @staticmethod
    def info(text):
        print("     " + text, flush=True)

    def safe(self, name, fn, *args, **kwargs):
        """Runs one part; an exception there is a failed check, not the end of the run."""
        try:
            return fn(*args, **kwargs)
        except Exception:  # noqa: BLE001 - reported as a failure
            self.check(name + " (ran without an exception)", False, traceback.format_exc())
            return None

    def no_sanitizer_report(self, name, text, marks=SANITIZER_MARKS):
        """A check that no line of TEXT holds one of MARKS (a sanitizer's report)."""
        hits = [line for line in text.splitlines() if any(m in line for m in marks)]
        return self.check(name, not hits, "\n".join(hits[:20]) + "\n" + text[-4000:]
                          if hits else "")

    def finish(self):
        """Prints the summary; returns the exit status (1 when a check failed)."""
        print("%d passed, %d failed, %d skipped, %d notes (%.1f s)" % (
            self.passed, self.failed, self.skipped, self.notes,
            time.monotonic() - self.started), flush=True)
        return 1 if self.failed else 0


def free_port(udp=False, tcp=True):
    """A loopback port free for TCP (and UDP when asked) right now."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if udp:
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                    u.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port")


def run_cli(binary, *args, timeout=60, stdin=None, env=None, slow=1.0):
    """Runs `callflow ARGS`; returns (exit status, stdout, stderr)."""
    done = subprocess.run([binary, *args], capture_output=True, text=True,
                          env=env if env is not None else clean_env(),
                          timeout=timeout * slow, input=stdin)
    return done.returncode, done.stdout, done.stderr


def http(method, url, body=None, headers=None, timeout=10):
    """One HTTP exchange: (status, {lower-case header: value}, body bytes); status 0 when the
    connection failed."""
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()
    except OSError:
        return 0, {}, b""


class Serve:
    """One `callflow serve` process on 127.0.0.1: its database, HTTP port and (with sip=True)
    SIP port; stderr kept in a file; stopped by PID. DB names another database file than
    WORK/NAME.db. A subclass may override ready() (what wait_ready waits for)."""

    def __init__(self, binary, work, args=(), sip=False, env=None, slow=1.0, name="serve",
                 db=None):
        self.binary, self.work, self.slow = binary, work, slow
        self.db = db or os.path.join(work, name + ".db")
        self.http_port = free_port()
        self.sip_port = free_port(udp=True) if sip else 0
        self.err_path = os.path.join(work, name + ".err")
        self.argv = [binary, "serve", "--db", self.db, "--http", "127.0.0.1:%d" % self.http_port]
        if sip:
            self.argv += ["--sip", "127.0.0.1:%d" % self.sip_port]
        self.argv += list(args)
        self.env = env if env is not None else clean_env()
        self.process = None
        self.err_file = None

    def start(self, wait=True, prefix=()):
        """Starts the server (run under the command PREFIX when one is given, e.g. setpriv);
        with WAIT, whether it became ready. It may be started again once stopped."""
        if self.err_file:
            self.err_file.close()
        self.err_file = open(self.err_path, "ab")
        self.process = subprocess.Popen(list(prefix) + self.argv, stdout=subprocess.DEVNULL,
                                        stderr=self.err_file, env=self.env)
        return self.wait_ready() if wait else True

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.http_port, path)

    def healthz(self):
        status, _, body = http("GET", self.url("/healthz"), timeout=2 * self.slow)
        try:
            return status, json.loads(body.decode() or "null")
        except ValueError:
            return status, None

    def wait_ready(self, timeout=15):
        deadline = time.monotonic() + timeout * self.slow
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if self.ready():
                return True
            time.sleep(0.05)
        return False

    def ready(self):
        """Whether the running server is ready: /healthz answers 200."""
        return self.healthz()[0] == 200

    def running(self):
        return self.process is not None and self.process.poll() is None

    def send_signal(self, sig):
        if self.running():
            self.process.send_signal(sig)

    def wait(self, timeout):
        """Waits for the process to exit; its exit status, or None if it still runs."""
        try:
            return self.process.wait(timeout=timeout * self.slow)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig=signal.SIGKILL, timeout=15):
        """Sends SIG, waits up to TIMEOUT (scaled) for the exit, else kills; the exit status."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            if self.wait(timeout) is None:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.err_file:
            self.err_file.close()
            self.err_file = None
        return self.process.returncode if self.process else None

    def stderr(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def records(self):
        """The call records in the database (`callflow calls list --json`), or None."""
        status, out, _ = run_cli(self.binary, "calls", "list", "--db", self.db, "--json",
                                 "--limit", "100000", env=self.env, slow=self.slow)
        if status != 0:
            return None
        try:
            return json.loads(out)
        except ValueError:
            return None
