#!/usr/bin/env python3
"""Bad inputs that are not SIP (RELIABILITY.md section 5.5): flow documents (F1-F23) through
`callflow check` and the admin API's upload, hostile fillpoint values at run time (V1-V11) through
`callflow run` against the test stub's /echo, and hostile requests to the admin API (A1-A7).

Usage: input_test.py PATH_TO_callflow REPO_ROOT

Each check is named after its row ("F3 ...", "V7 ...", "A5 ..."). The bad flow files are in
tests/hostile/inputs/; the large ones (F3, F4, F22) are made here at run time. Python 3 standard
library only; everything listens on 127.0.0.1, on free ports, and every child is killed by PID.
"""
import base64
import http.client
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

if len(sys.argv) != 3:
    sys.exit("usage: input_test.py PATH_TO_callflow REPO_ROOT")
CALLFLOW = os.path.abspath(sys.argv[1])
ROOT = os.path.abspath(sys.argv[2])
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
try:
    import harness  # noqa: E402 - after sys.path
except AttributeError:
    # harness.py as first written: in class Serve, `def stop(self, sig=signal.SIGKILL)` follows
    # the method `signal`, so the default names the method, not the module. Load it with the
    # number instead until harness.py is mended.
    import types
    with open(os.path.join(ROOT, "tests", "support", "harness.py")) as _f:
        _source = _f.read().replace("sig=signal.SIGKILL", "sig=9")
    harness = types.ModuleType("harness")
    harness.__file__ = os.path.join(ROOT, "tests", "support", "harness.py")
    exec(compile(_source, harness.__file__, "exec"), harness.__dict__)
    sys.modules["harness"] = harness

INPUTS = os.path.join(ROOT, "tests", "hostile", "inputs")
SLOW = harness.slowdown(CALLFLOW)
ENV = harness.clean_env()
t = harness.Checks()
ADMIN = ("boss", "boss-hostile-pw1")
SECRET_VALUE = "s3cr3t-VALUE-never-shown"
CONTROL = "".join(chr(c) for c in range(0x20) if c not in (0x09,)) + "\x7f"


def read_input(name):
    with open(os.path.join(INPUTS, name), "rb") as f:
        return f.read()


def cli(*args, timeout=30, env=None):
    return harness.run_cli(CALLFLOW, *args, timeout=timeout, env=env or ENV, slow=SLOW)


def has_raw_control(text):
    """Control characters other than the line breaks that end log lines."""
    return any(c in text for c in CONTROL if c != "\n")


# --- stubs ---------------------------------------------------------------------------------------

class EchoStub:
    """tests/fakes/http_stub.py as a child process: its port, stopped by closing its stdin."""

    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests", "fakes", "http_stub.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port = int(self.process.stdout.readline())

    def stop(self):
        try:
            self.process.stdin.close()
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait(timeout=5)


class Recorder:
    """A stub in this process: /canned/KEY answers CANNED[KEY] (JSON text); any path is recorded
    (method, raw target, headers, body), so a test can see whether anything arrived."""

    def __init__(self, canned):
        recorder = self
        self.requests = []
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_any(self):
                length = int(self.headers.get("Content-Length", 0) or 0)
                body = self.rfile.read(length) if length else b""
                with recorder.lock:
                    recorder.requests.append({"method": self.command, "target": self.path,
                                              "headers": dict(self.headers.items()),
                                              "body": body})
                key = self.path.split("?")[0]
                data = canned.get(key[len("/canned/"):], '{"ok": true}').encode() \
                    if key.startswith("/canned/") else b'{"recorded": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self):
        with self.lock:
            return len(self.requests)

    def since(self, n):
        with self.lock:
            return list(self.requests[n:])

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# --- HTTP to callflow serve -------------------------------------------------------------------

def request(port, method, path, body=None, headers=None, source="127.0.0.1", timeout=10):
    """(status, headers, body bytes); status 0 when the connection failed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout * SLOW,
                                      source_address=(source, 0))
    try:
        data = body.encode() if isinstance(body, str) else body
        conn.request(method, path, body=data, headers=headers or {})
        reply = conn.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    except (OSError, http.client.HTTPException):
        return 0, {}, b""
    finally:
        conn.close()


def as_json(data):
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, AttributeError):
        return None


def problem_text(data):
    """The messages of an error answer: every problem's text and the error message, joined."""
    j = as_json(data) or {}
    parts = []
    for p in j.get("problems", []) if isinstance(j, dict) else []:
        parts.append(p.get("text") or p.get("message") or "")
        parts.append(json.dumps(p))
    if isinstance(j, dict) and isinstance(j.get("error"), dict):
        parts.append(str(j["error"].get("message", "")))
    return "\n".join(parts) or data.decode("utf-8", "replace")[:2000]


def raw_exchange(port, data, read_timeout=10):
    """Sends raw bytes, returns what came back before the server closed (or the timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout * SLOW) as s:
        s.sendall(data)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except OSError:
            pass
        return out


class Server:
    """One `callflow serve` with an admin user and its token."""

    def __init__(self, work, name, args=()):
        self.serve = harness.Serve(CALLFLOW, work, args=list(args), env=ENV, slow=SLOW, name=name)
        status, out, err = cli("users", "add", ADMIN[0], "--role", "admin", "--password", ADMIN[1],
                               "--db", self.serve.db)
        if status != 0:
            raise RuntimeError("users add: " + out + err)
        if not self.serve.start():
            raise RuntimeError("serve did not start: " + self.serve.stderr())
        self.port = self.serve.http_port
        status, _, body = request(self.port, "POST", "/api/v1/auth/token",
                                  json.dumps({"username": ADMIN[0], "password": ADMIN[1]}),
                                  {"Content-Type": "application/json"})
        token = (as_json(body) or {}).get("token")
        if status != 200 or not token:
            raise RuntimeError("sign-in failed: %d %r" % (status, body[:300]))
        self.auth = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

    def api(self, method, path, body=None, headers=None):
        all_headers = dict(self.auth)
        all_headers.update(headers or {})
        return request(self.port, method, "/api/v1" + path, body, all_headers)

    def stop(self):
        self.serve.stop()


# --- F rows ------------------------------------------------------------------------------------

# File stem prefix -> (row, what the message must name). Every one of these must be refused.
REJECTED = [
    ("f01_not_json", "F1 not JSON", ["line 1, column 1"]),
    ("f01_truncated", "F1 truncated", ["line ", "column "]),
    ("f02_empty_file", "F2 empty file", ["line 1, column 1"]),
    ("f02_empty_object", "F2 {}", ['"start"', '"elements"']),
    ("f02_empty_list", "F2 []", ['"start"', '"elements"']),
    ("f05_duplicate_key", "F5 duplicate key", ['duplicate key "name"', "line 2"]),
    ("f06_exit_to_missing_element", "F6 exit to a missing element",
     ['element "A"', '"next.output"', '"Nowhere"']),
    ("f09_unknown_type", "F9 unknown type", ['element "A"', '"Teleport"']),
    ("f09_unknown_setting", "F9 unknown setting", ['element "A"', '"txet"']),
    ("f10_timeout_string", 'F10 timeout "10"', ['element "A"', 'key "timeout"']),
    ("f10_timeout_negative", "F10 timeout -1", ['element "A"', 'key "timeout"']),
    ("f10_timeout_zero", "F10 timeout 0", ['element "A"', 'key "timeout"']),
    ("f10_timeout_121", "F10 timeout 121", ['element "A"', 'key "timeout"', "120"]),
    ("f10_timeout_1e309", "F10 timeout 1e309", ['key "timeout"']),
    ("f10_timeout_null", "F10 timeout null", ['element "A"', 'key "timeout"']),
    ("f11_invalid_utf8", "F11 invalid UTF-8", ["line 9, column"]),
    ("f11_overlong_utf8", "F11 overlong UTF-8", ["line 9, column"]),
    ("f11_nul_in_string", "F11 NUL in a string", ["line 9, column", "NUL"]),
    ("f12_method_trace", "F12 method TRACE", ['element "A"', 'key "action"']),
    ("f12_method_connect", "F12 method CONNECT", ['element "A"', 'key "action"']),
    ("f12_method_get_space", 'F12 method "get "', ['element "A"', 'key "action"']),
    ("f12_method_empty", "F12 method empty", ['element "A"', 'key "action"']),
    ("f13_scheme_file", "F13 file://", ['element "A"', 'key "url"']),
    ("f13_scheme_gopher", "F13 gopher://", ['element "A"', 'key "url"']),
    ("f13_scheme_dict", "F13 dict://", ['element "A"', 'key "url"']),
    ("f13_scheme_ftp", "F13 ftp://", ['element "A"', 'key "url"']),
    ("f13_scheme_ldap", "F13 ldap://", ['element "A"', 'key "url"']),
    ("f13_scheme_scp", "F13 scp://", ['element "A"', 'key "url"']),
    ("f13_scheme_none", "F13 no scheme", ['element "A"', 'key "url"']),
    ("f14_userinfo", "F14 user:password in the URL", ['element "A"', 'key "url"']),
    ("f16_fillpoint_in_host", "F16 fillpoint in the host", ['element "A"', 'key "url"']),
    ("f16_fillpoint_in_port", "F16 fillpoint in the port", ['element "A"', 'key "url"']),
    ("f17_header_name_space", "F17 header name with a space", ['element "A"', 'key "header"']),
    ("f17_header_name_colon", "F17 header name empty before ':'", ['element "A"', 'key "header"']),
    ("f17_header_name_crlf", "F17 header name with CR/LF", ['element "A"', 'key "header"']),
    ("f17_header_name_non_ascii", "F17 non-ASCII header name", ['element "A"', 'key "header"']),
    ("f18_header_value_crlf", "F18 literal header value with CR/LF",
     ['element "A"', 'key "header"', '"X-A"']),
    ("f18_header_value_lf_in_string_form", "F18 header value with LF (string form)",
     ['element "A"', 'key "header"', '"X-A"']),
    ("f20_fillpoint_open", "F20 fillpoint '{{'", ['key "text"', "at character"]),
    ("f20_fillpoint_empty", "F20 fillpoint '{{}}'", ['key "text"', "at character"]),
    ("f20_fillpoint_unclosed_path", "F20 fillpoint '{{ a.b'", ['key "text"', "at character"]),
    ("f20_fillpoint_double_dot", "F20 fillpoint '{{a..b}}'", ['key "text"', "at character"]),
    ("f20_fillpoint_nested", "F20 fillpoint '{{{{x}}}}'", ['key "text"', "at character"]),
    ("f20_fillpoint_long_path", "F20 fillpoint with a 10 kB path", ['key "text"', "at character"]),
]


def check_rejected(row, path, expect, stderr_limit=4000):
    status, out, err = cli("check", path)
    t.check("%s: check exits 2 naming the place (%s)" % (row, ", ".join(expect)),
            status == 2 and all(e in err for e in expect), (status, out[-500:], err[-stderr_limit:]))
    return err


def upload_rejected(server, row, body, expect, good, name="Hostile"):
    status, _, reply = server.api("PUT", "/flows/" + name, body)
    text = problem_text(reply)
    t.check("%s: upload answers 4xx naming the place" % row,
            400 <= status < 500 and all(e in text for e in expect), (status, text[:1500]))
    still_good(server, row, good)
    if 200 <= status < 300 and name == "Hostile":
        redeploy(server, good)  # so that the next rows start from the good flow again


def redeploy(server, good):
    status, _, reply = server.api("PUT", "/flows/Hostile", json.dumps(good["flow"]))
    good["version"] = (as_json(reply) or {}).get("version", -1)
    return status == 200


def still_good(server, row, good):
    status, _, reply = server.api("GET", "/flows/Hostile")
    j = as_json(reply) or {}
    t.check("%s: the running flow is unchanged (version %d)" % (row, good["version"]),
            status == 200 and j.get("version") == good["version"]
            and j.get("liveVersion") == good["version"] and j.get("flow") == good["flow"],
            (status, reply[:300]))


def f_rows(server, work, echo, recorder):
    good_text = read_input("good.json")
    good_flow = json.loads(good_text)
    status, _, reply = server.api("PUT", "/flows/Hostile", good_text)
    good = {"version": (as_json(reply) or {}).get("version", -1), "flow": good_flow}
    t.check("F: the good flow is deployed first", status == 200 and good["version"] >= 1, reply)

    files = sorted(os.listdir(INPUTS))
    for stem, row, expect in REJECTED:
        name = stem + ".json"
        if name not in files:
            t.check(row + ": input file present", False, name)
            continue
        path = os.path.join(INPUTS, name)
        err = check_rejected(row, path, expect)
        if stem == "f17_header_name_crlf":
            # The flow's own bytes appear in the message: a raw CR/LF there forges log lines.
            message = [line for line in err.splitlines() if "X-A" in line or "X-B" in line]
            t.check("F17 header name with CR/LF: check's message shows the line break escaped "
                    "(no forged line \"X-B: v\" on stderr, CWE-117)",
                    not any(line.lstrip().startswith("X-B") for line in err.splitlines())
                    and "\r" not in err, repr(err[-600:]))
        upload_rejected(server, row, read_input(name), expect, good)

    # F3: 100,000 nested '[', made here.
    deep = "[" * 100000
    path = os.path.join(work, "f03_deep.json")
    with open(path, "w") as f:
        f.write(deep)
    check_rejected("F3 100,000 nested '['", path, ["line 1, column 65", "deeper than 64"])
    upload_rejected(server, "F3 100,000 nested '['", deep, ["deeper than 64"], good)

    # F4: a 50 MB flow (a real flow with a huge description).
    big = json.loads(good_text)
    big["description"] = "x" * (50 << 20)
    big_text = json.dumps(big)
    path = os.path.join(work, "f04_big.json")
    with open(path, "w") as f:
        f.write(big_text)
    started = time.monotonic()
    check_rejected("F4 50 MB flow", path, ["larger than 16 MiB"])
    t.info("F4 check took %.2f s" % (time.monotonic() - started))
    f4_upload(server, len(big_text), good)
    os.unlink(path)
    del big_text

    # F7: a loop of instant elements: check warns; at run time the 1,000-visit guard ends it.
    path = os.path.join(INPUTS, "f07_instant_loop.json")
    status, out, err = cli("check", path)
    t.check("F7 instant loop: check warns, naming the loop A -> B -> A",
            "warning" in err and "A -> B -> A" in err, (status, out, err))
    started = time.monotonic()
    status, out, err = cli("run", "--json", path, timeout=60)
    took = time.monotonic() - started
    trace = as_json(out.encode()) or {}
    steps = len(trace.get("path", []))
    t.check("F7 instant loop: `callflow run` ends the call by the 1,000-visit guard "
            "(exit 0, about 1,000 steps, an error said)",
            status == 0 and 990 <= steps <= 1010 and "1000" in json.dumps(trace),
            (status, steps, err[-500:], out[-800:]))
    t.check("F7 instant loop: ended within 30 s (no CPU spin)", took < 30 * SLOW, took)
    status, _, reply = server.api("PUT", "/flows/HostileLoop", read_input("f07_instant_loop.json"))
    t.check("F7 instant loop: upload accepted with the loop warning, or refused",
            (status == 200 and "A -> B -> A" in problem_text(reply)) or status == 422,
            (status, reply[:500]))

    # F8: unreachable elements: a warning, the flow stays valid.
    path = os.path.join(INPUTS, "f08_unreachable.json")
    status, out, err = cli("check", path)
    t.check("F8 unreachable element: check exits 0 with a warning naming \"Orphan\"",
            status == 0 and "warning" in err and '"Orphan"' in err, (status, out, err))
    status, _, reply = server.api("PUT", "/flows/HostileWarn", read_input("f08_unreachable.json"))
    t.check("F8 unreachable element: upload 200 with the warning",
            status == 200 and "Orphan" in problem_text(reply), (status, reply[:500]))

    f13_runtime(echo)
    f15_rows(server, echo, recorder)
    f19_rows(server, work, good)

    # F21: a fillpoint reading an element that cannot have run before: an error (the loader's
    # choice), naming both elements.
    path = os.path.join(INPUTS, "f21_forward_reference.json")
    status, out, err = cli("check", path)
    t.check("F21 forward reference: check reports it naming \"Later\" and element \"A\" "
            "(error or warning)",
            '"Later"' in err and 'element "A"' in err and (status == 2 or "warning" in err),
            (status, err))
    if status == 2:
        upload_rejected(server, "F21 forward reference", read_input("f21_forward_reference.json"),
                        ['"Later"'], good)

    # F22: a TextToSpeech text of 1 MB; and one of 5,000 characters (under the body limit).
    for size, label in ((1 << 20, "1 MB"), (5000, "5,000 characters")):
        doc = json.loads(good_text)
        doc["elements"][0]["text"] = "a" * size
        text = json.dumps(doc)
        path = os.path.join(work, "f22.json")
        with open(path, "w") as f:
            f.write(text)
        row = "F22 TextToSpeech text of " + label
        check_rejected(row, path, ['element "A"', 'key "text"', "longer than"])
        expect = [] if size > (1 << 20) - 1000 else ['element "A"', 'key "text"']
        upload_rejected(server, row, text, expect, good)

    f23_rows(server)


def f4_upload(server, size, good):
    """PUT of 50 MB: 413 once the header is read, while most of the body is still unsent."""
    header = ("PUT /api/v1/flows/Hostile HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              "Authorization: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
              % (server.auth["Authorization"], size)).encode()
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10 * SLOW) as s:
        s.sendall(header)
        s.settimeout(0.2)
        chunk = b"x" * 65536
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline and b"\r\n\r\n" not in answer:
            try:
                answer += s.recv(65536)
                continue
            except socket.timeout:
                pass
            except OSError:
                break
            if sent < (4 << 20):
                try:
                    s.sendall(chunk)
                    sent += len(chunk)
                except OSError:
                    break
    t.check("F4 50 MB flow: upload answered 413 before the body was read (%d of %d bytes sent)"
            % (sent, size), answer.startswith(b"HTTP/1.1 413") and sent < (4 << 20),
            answer[:300])
    still_good(server, "F4 50 MB flow", good)


def api_flow(name, url, extra=None, say="{{A.Result}}|{{A.StatusCode}}|{{A.Error}}"):
    element = {"name": "A", "type": "ApiRequest", "action": "GET", "timeout": 3, "url": url,
               "next": {"output": "Say", "error": "Say", "timeout": "Say"}}
    element.update(extra or {})
    return {"format": 1, "name": name, "start": "A", "elements": [
        element,
        {"name": "Say", "type": "TextToSpeech", "text": say, "next": {"output": "Bye"}},
        {"name": "Bye", "type": "Hangup"}]}


def run_flow(doc, *args, work=None, timeout=30):
    """`callflow run --json` of a document; (exit status, trace or None, stdout, stderr)."""
    fd, path = tempfile.mkstemp(suffix=".json", dir=work)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f)
    try:
        status, out, err = cli("run", "--json", path, *args, timeout=timeout)
    finally:
        os.unlink(path)
    return status, as_json(out.encode()), out, err


def f13_runtime(echo):
    # A redirect to another scheme, with redirects allowed: refused by the protocol list.
    for target in ("file:///etc/passwd", "gopher://127.0.0.1:%d/1" % echo.port,
                   "dict://127.0.0.1:%d/d:x" % echo.port):
        url = "http://127.0.0.1:%d/redirect?to=%s" % (echo.port, urllib.parse.quote(target, ""))
        status, trace, out, err = run_flow(api_flow("Redir", url, {"followRedirects": True}),
                                           "--allow", "127.0.0.1:%d" % echo.port)
        steps = (trace or {}).get("steps", [])
        exit_a = steps[0].get("exit") if steps else None
        t.check("F13 run time: a redirect to %s is refused (error exit, nothing read)"
                % target.split(":")[0],
                status == 0 and exit_a == "error" and "root:" not in out, (status, out[-800:], err))


# F15: the host forms and whether they name 127.0.0.1 (then a stub there would be reached).
F15_HOSTS = [("127.1", True), ("2130706433", True), ("0x7f000001", True), ("0177.0.0.1", True),
             ("[::1]", False), ("[::ffff:127.0.0.1]", True), ("0.0.0.0", True),
             ("169.254.169.254", False), ("localhost.", True), ("[fe80::1%25lo]", False)]


def f15_rows(server, echo, recorder):
    template = read_input("f15_host_template.json").decode()
    port = recorder.port
    warned = []
    for host, _ in F15_HOSTS:
        text = template.replace("HOST", host).replace("STUBPORT", str(port))
        fd, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        status, out, err = cli("check", path)
        os.unlink(path)
        ok = status == 0 and "warning" in err and 'key "url"' in err
        warned.append(ok)
        t.check("F15 host %s: check warns (valid, with a warning on key \"url\")" % host, ok,
                (status, err[-400:]))

    # Run time: the stub on 127.0.0.1:PORT is not allowlisted (only the echo stub's port is).
    def one(host, results):
        doc = json.loads(template.replace("HOST", host).replace("STUBPORT", str(port)))
        doc["elements"].insert(1, {"name": "Say", "type": "TextToSpeech",
                                   "text": "{{A.StatusCode}} {{A.Error}}",
                                   "next": {"output": "Z"}})
        doc["elements"][0]["next"] = {"output": "Say", "error": "Say"}
        results[host] = run_flow(doc, "--allow", "127.0.0.1:%d" % echo.port)

    before = recorder.count()
    results = {}
    threads = [threading.Thread(target=one, args=(host, results)) for host, _ in F15_HOSTS]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60 * SLOW)
    arrived = recorder.since(before)
    for host, loopback in F15_HOSTS:
        status, trace, out, err = results.get(host, (None, None, "", "no result"))
        steps = (trace or {}).get("steps", [])
        exit_a = steps[0].get("exit") if steps else None
        http_entry = ((trace or {}).get("http") or [{}])[0]
        t.check("F15 host %s: at run time refused (error exit, status 0: %s)"
                % (host, http_entry.get("error")),
                status == 0 and exit_a == "error" and http_entry.get("status") == 0,
                (status, out[-600:], err[-300:]))
    t.check("F15: no request reached the stub on a loopback port that is not allowlisted",
            not arrived, [r["target"] + " Host: " + r["headers"].get("Host", "") for r in arrived])

    # Allowlisted: the same forms of 127.0.0.1 reach the stub (the check is on the address).
    for host in ("127.0.0.1", "127.1", "[::ffff:127.0.0.1]"):
        n = recorder.count()
        doc = json.loads(template.replace("HOST", host).replace("STUBPORT", str(port)))
        status, trace, out, err = run_flow(doc, "--allow", "127.0.0.1:%d" % port)
        steps = (trace or {}).get("steps", [])
        t.check("F15 host %s allowlisted as 127.0.0.1:%d: reached (output exit)" % (host, port),
                status == 0 and steps and steps[0].get("exit") == "output"
                and recorder.count() == n + 1, (status, out[-500:], err[-300:]))

    # The admin API's upload shows the same warning.
    text = template.replace("HOST", "127.1").replace("STUBPORT", str(port))
    status, _, reply = server.api("PUT", "/flows/HostileHost", text)
    t.check("F15 host 127.1: upload 200 with a warning on key \"url\"",
            status == 200 and 'key \\"url\\"' in json.dumps(problem_text(reply))
            or (status == 200 and any(p.get("key") == "url" for p in
                                      (as_json(reply) or {}).get("problems", []))),
            (status, reply[:400]))


def f19_rows(server, work, good):
    path = os.path.join(INPUTS, "f19_undefined_secret.json")
    secrets = os.path.join(work, "f19.secrets")
    with open(secrets, "w") as f:
        f.write("API_KEY=%s\n" % SECRET_VALUE)
    os.chmod(secrets, 0o600)
    status, out, err = cli("check", path, "--secrets", secrets)
    t.check("F19 {{secret.NOPE}}: check --secrets FILE exits 2 naming NOPE, never a value",
            status == 2 and "NOPE" in err and SECRET_VALUE not in err + out, (status, out, err))
    status, out, err = cli("check", path)
    if "NOPE" not in err:
        # Without a secrets source `check` cannot know which secrets a server will have.
        t.note("F19 check without --secrets accepts {{secret.NOPE}} silently (exit %d)" % status)
    upload_rejected(server, "F19 {{secret.NOPE}} (the server has no such secret)",
                    read_input("f19_undefined_secret.json"), ["NOPE"], good)


# The server's transfer allowlist (F23): the patterns the F-row server is started with.
TRANSFER_ALLOW = ["sip:+44163296????@gw.example.net", "sip:*@pbx.example.com"]


def f23_rows(server):
    row = "F23 Transfer to a fixed target outside the allowlist"
    path = os.path.join(INPUTS, "f23_transfer_premium.json")
    status, out, err = cli("check", path)
    t.check("%s: check without the server's allowlist accepts it (exit 0)" % row,
            status == 0, (status, out, err))
    allow = []
    for pattern in TRANSFER_ALLOW:
        allow += ["--transfer-allow", pattern]
    status, out, err = cli("check", path, *allow)
    t.check("%s: check --transfer-allow refuses it naming element \"A\", key \"target\"" % row,
            status == 2 and 'element "A": key "target"' in err and "allowlist" in err,
            (status, out, err))
    status, _, reply = server.api("PUT", "/flows/HostileTransfer", read_input("f23_transfer_premium.json"))
    text = problem_text(reply)
    t.check("%s: upload refused (422) naming key \"target\" and the allowlist" % row,
            status == 422 and 'key "target"' in text and "allowlist" in text, (status, text[:600]))

    row = "F23 Transfer target built from a fillpoint"
    path = os.path.join(INPUTS, "f23_transfer_fillpoint.json")
    status, out, err = cli("check", path)
    t.check("%s: check warns on key \"target\" (exit 0)" % row,
            status == 0 and 'warning: element "A": key "target"' in err, (status, out, err))
    status, _, reply = server.api("PUT", "/flows/HostileTransfer",
                                  read_input("f23_transfer_fillpoint.json"))
    t.check("%s: upload deployed with the warning" % row,
            status == 200 and 'key "target"' in problem_text(reply), (status, reply[:600]))
    # The caller's number decides the target: only the allowlisted range is dialled.
    for caller, dialled in (("+441632960001", True), ("+882100000001", False),
                            ("+44163296000", False), ("+4416329600@x", False)):
        status, _, reply = server.api("POST", "/flows/HostileTransfer/calls",
                                      json.dumps({"from": caller}))
        trace = (as_json(reply) or {}).get("trace") or {}
        transfers = trace.get("transfers")
        if dialled:
            ok = status == 200 and transfers == ["sip:%s@gw.example.net" % caller]
        else:
            ok = status == 200 and transfers == [] and "allowlist" in json.dumps(trace)
        t.check("%s: a call from %r is %s" % (row, caller, "transferred" if dialled else
                                              "not transferred (error exit)"),
                ok, (status, reply[:800]))


# --- V rows ------------------------------------------------------------------------------------

def echo_flow(echo, value, method="POST", prefix=None, digits=False):
    """Ask (digits, optional) -> Send (POST to /echo with `value` in the query, a header and the
    JSON body) -> Say the whole echo -> Bye."""
    elements = []
    if digits:
        elements.append({"name": "Ask", "type": "CaptureDigits", "prompt": {"text": "keys"},
                         "terminator": "", "maxDigits": 20, "next": {"output": "Send"}})
    elements += prefix or []
    elements += [
        {"name": "Send", "type": "ApiRequest", "action": method, "timeout": 5,
         "url": "http://127.0.0.1:%d/echo?v=%s" % (echo.port, value),
         "header": ["X-V: " + value],
         "body": '{"v": "%s"}' % value,
         "next": {"output": "Say", "error": "Oops"}},
        {"name": "Say", "type": "TextToSpeech", "text": "{{Send.Result}}", "next": {"output": "Bye"}},
        {"name": "Oops", "type": "TextToSpeech", "text": "error {{Send.Error}}",
         "next": {"output": "Bye"}},
        {"name": "Bye", "type": "Hangup"}]
    return {"format": 1, "name": "V", "start": elements[0]["name"], "elements": elements}


def echoed(trace):
    """The request the echo stub saw (from the last thing said), or None."""
    said = (trace or {}).get("said") or []
    return as_json(said[-1].encode()) if said else None


def query_value(echo_reply, name="v"):
    query = urllib.parse.urlsplit(echo_reply.get("path", "")).query
    values = urllib.parse.parse_qs(query, keep_blank_values=True).get(name)
    return values[0] if values else None


def get_element(recorder, key):
    return {"name": "Get", "type": "ApiRequest", "action": "GET", "timeout": 5,
            "url": "http://127.0.0.1:%d/canned/%s" % (recorder.port, key),
            "next": {"output": "Send", "error": "Send"}}


def v_rows(work, echo, recorder):
    allow = ["--allow", "127.0.0.1:%d" % echo.port, "--allow", "127.0.0.1:%d" % recorder.port]

    # V1: DTMF 1#2* into a query.
    status, trace, out, err = run_flow(echo_flow(echo, "{{Ask.Result}}", digits=True), *allow,
                                       "--digits", "1#2*")
    e = echoed(trace) or {}
    path = e.get("path", "")
    t.check("V1 DTMF 1#2* into a query: sent as 1%232* or 1%232%2A, no fragment, decodes back",
            status == 0 and ("v=1%232*" in path or "v=1%232%2A" in path) and "#" not in path
            and query_value(e) == "1#2*", (status, path, err[-300:]))

    # V2: a caller id that climbs paths, into a path segment (the recorder sees the raw target).
    n = recorder.count()
    value = "../../admin?x=1&y=2"
    doc = api_flow("V2", "http://127.0.0.1:%d/seg/{{call.phonenum}}/end" % recorder.port)
    status, trace, out, err = run_flow(doc, *allow, "--from", value)
    got = recorder.since(n)
    target = got[0]["target"] if got else ""
    segment = target[len("/seg/"):-len("/end")] if target.startswith("/seg/") else ""
    t.check("V2 caller id ../../admin?x=1&y=2 into a path segment: / ? & = encoded, same level, "
            "same host",
            len(got) == 1 and target.startswith("/seg/") and target.endswith("/end")
            and target.count("/") == 3 and not any(c in segment for c in "/?&=")
            and urllib.parse.unquote(segment) == value
            and got[0]["headers"].get("Host") == "127.0.0.1:%d" % recorder.port,
            (target, got[0]["headers"].get("Host") if got else None, err[-300:]))

    # V3: quotes, backslashes and NUL from an API result into a JSON body; also from the caller id.
    nasty = 'a"b\\c\u0000d'
    recorder_canned["v3"] = json.dumps({"v": nasty})
    doc = echo_flow(echo, "{{Get.Result.v}}", prefix=[get_element(recorder, "v3")])
    del doc["elements"][1]["header"]  # a NUL in a header is refused (V4's case)
    status, trace, out, err = run_flow(doc, *allow)
    e = echoed(trace) or {}
    body = as_json((e.get("body") or "").encode())
    t.check("V3 API result a\"b\\c<NUL>d into a JSON body: valid JSON, the string round-trips",
            status == 0 and body == {"v": nasty}, (status, e.get("body"), err[-300:]))
    doc = echo_flow(echo, "{{call.phonenum}}")
    status, trace, out, err = run_flow(doc, *allow, "--from", 'a"b\\c')
    body = as_json(((echoed(trace) or {}).get("body") or "").encode())
    t.check("V3 caller id a\"b\\c into a JSON body: valid JSON, round-trips",
            status == 0 and body == {"v": 'a"b\\c'}, (status, out[-500:], err[-300:]))

    # V4: a value with the text %0d%0a goes out literally; one with a real CR/LF into a header is
    # refused (error exit).
    recorder_canned["v4a"] = json.dumps({"v": "x%0d%0aX-Injected: 1"})
    doc = echo_flow(echo, "{{Get.Result.v}}", prefix=[get_element(recorder, "v4a")])
    status, trace, out, err = run_flow(doc, *allow)
    e = echoed(trace) or {}
    headers = {k.lower(): v for k, v in (e.get("headers") or {}).items()}
    t.check("V4 the text %0d%0a into a header: sent literally, no header injected",
            status == 0 and headers.get("x-v") == "x%0d%0aX-Injected: 1"
            and "x-injected" not in headers, (status, headers, err[-300:]))
    for label, value in (("CR/LF", "x\r\nX-Injected: 1"), ("LF", "x\nX-Injected: 1"),
                         ("CR", "x\rX-Injected: 1")):
        key = "v4" + label.replace("/", "")
        recorder_canned[key] = json.dumps({"v": value})
        doc = echo_flow(echo, "{{Get.Result.v}}", prefix=[get_element(recorder, key)])
        status, trace, out, err = run_flow(doc, *allow)
        path = (trace or {}).get("path", [])
        t.check("V4 a real %s from an API result into a header: refused, error exit" % label,
                status == 0 and "Oops" in path and "Say" not in path, (status, path, out[-500:]))
    status, trace, out, err = run_flow(echo_flow(echo, "{{call.phonenum}}"), *allow,
                                       "--from", "x\r\nX-Injected: 1")
    path = (trace or {}).get("path", [])
    t.check("V4 a real CR/LF in the caller id into a header: refused, error exit",
            status == 0 and "Oops" in path and "Say" not in path, (status, path, out[-500:]))

    # V5: a value that looks like a secret fillpoint is sent literally, never expanded.
    secrets = os.path.join(work, "v5.secrets")
    with open(secrets, "w") as f:
        f.write("API_KEY=%s\n" % SECRET_VALUE)
    os.chmod(secrets, 0o600)
    recorder_canned["v5"] = json.dumps({"v": "{{secret.API_KEY}}"})
    doc = echo_flow(echo, "{{Get.Result.v}}", prefix=[get_element(recorder, "v5")])
    doc["elements"][0]["header"] = ["X-Key: {{secret.API_KEY}}"]  # the flow uses the secret
    for source, args in (("API result", ()), ("caller id", ("--from", "{{secret.API_KEY}}"))):
        if source == "caller id":
            doc = echo_flow(echo, "{{call.phonenum}}")
            doc["elements"][0]["header"].append("X-Key: {{secret.API_KEY}}")
        status, trace, out, err = run_flow(doc, *allow, "--secrets", secrets, *args)
        e = echoed(trace) or {}
        headers = {k.lower(): v for k, v in (e.get("headers") or {}).items()}
        body = as_json((e.get("body") or "").encode()) or {}
        t.check("V5 {{secret.API_KEY}} from the %s: sent literally in query, header and body" % source,
                status == 0 and query_value(e) == "{{secret.API_KEY}}"
                and headers.get("x-v") == "{{secret.API_KEY}}"
                and body.get("v") == "{{secret.API_KEY}}", (status, e, err[-300:]))
        t.check("V5 {{secret.API_KEY}} from the %s: the secret's value is in none of the values "
                "sent from it" % source,
                SECRET_VALUE not in (e.get("path", "") + headers.get("x-v", "") +
                                     (e.get("body") or "")), e)

    # V6: a 10 kB caller id.
    value = "4" * 10240
    status, trace, out, err = run_flow(echo_flow(echo, "{{call.phonenum}}"), *allow, "--from", value)
    e = echoed(trace) or {}
    sent = query_value(e) or ""
    t.check("V6 10 kB caller id: no crash; sent whole or cut to a limit (%d digits sent)" % len(sent),
            status == 0 and (trace or {}).get("endedAt") == "Bye" and set(sent) <= {"4"}
            and value.startswith(sent), (status, out[-300:], err[-300:]))

    v7_v11(work, echo, recorder, allow)

    # V8: missing key, index out of range, wrong type: empty text, the flow goes on.
    recorder_canned["v8"] = json.dumps({"a": {"b": 1}, "list": [1, 2], "s": "text"})
    say = "[{{Get.Result.nope}}][{{Get.Result.list[7]}}][{{Get.Result.s.x}}][{{Get.Result.a.b.c}}]" \
          "[{{Get.Result.s[0]}}][{{Get.Result.nope | default: \"dflt\"}}]"
    doc = {"format": 1, "name": "V8", "start": "Get", "elements": [
        dict(get_element(recorder, "v8"), next={"output": "Say", "error": "Say"}),
        {"name": "Say", "type": "TextToSpeech", "text": say, "next": {"output": "Bye"}},
        {"name": "Bye", "type": "Hangup"}]}
    status, trace, out, err = run_flow(doc, *allow)
    said = (trace or {}).get("said") or []
    t.check("V8 missing key, index out of range, wrong type: empty text (or the default); the "
            "flow goes on", status == 0 and said == ["[][][][][][dflt]"]
            and (trace or {}).get("endedAt") == "Bye", (status, said, err[-300:]))

    # V9: numbers at the edges, spoken and put in a URL; the same every time.
    canned = '{"big": 1e308, "two63": 9223372036854775808, "negzero": -0, "nan": "NaN", ' \
             '"neg63": -9223372036854775808, "tiny": 5e-324, "half": 0.1}'
    recorder_canned["v9"] = canned
    keys = ["big", "two63", "negzero", "nan", "neg63", "tiny", "half"]
    value = "|".join("{{Get.Result.%s}}" % k for k in keys)
    doc = echo_flow(echo, value, prefix=[get_element(recorder, "v9")])
    doc["elements"][1]["header"] = []  # '|' is fine in a header, but keep this to query and body
    del doc["elements"][1]["header"]
    runs = []
    for _ in range(2):
        status, trace, out, err = run_flow(doc, *allow)
        e = echoed(trace) or {}
        runs.append((status, query_value(e), (as_json((e.get("body") or "").encode()) or {}).get("v")))
    status, in_url, in_body = runs[0]
    parts = (in_url or "").split("|")
    t.check("V9 1e308, 2^63, -0, \"NaN\", -2^63, 5e-324, 0.1: the same text in the URL and the "
            "body, twice (%s)" % in_url,
            status == 0 and in_url is not None and in_url == in_body and runs[0] == runs[1]
            and len(parts) == 7, runs)
    if len(parts) == 7:
        t.check("V9 each number reads back as the same number (no inf/nan, nothing lost): %s"
                % in_url,
                float(parts[0]) == 1e308 and int(float(parts[1])) == 2 ** 63
                and float(parts[2]) == 0 and parts[3] == "NaN"
                and int(float(parts[4])) == -2 ** 63 and float(parts[5]) == 5e-324
                and float(parts[6]) == 0.1 and "inf" not in in_url.lower(), parts)

    # V10: Unicode with RTL marks, emoji and combining characters.
    value = "\u05e9\u05dc\u05d5\u05dd\u200f \U0001F600 e\u0301 \u202eevil"
    doc = echo_flow(echo, "{{call.phonenum}}")
    doc["elements"][-3]["text"] = "{{Send.Result}}"
    doc["elements"].insert(2, {"name": "Speak", "type": "TextToSpeech",
                               "text": "hello {{call.phonenum}}", "next": {"output": "Say"}})
    doc["elements"][0]["next"]["output"] = "Speak"
    status, trace, out, err = run_flow(doc, *allow, "--from", value)
    e = echoed(trace) or {}
    raw_query = urllib.parse.urlsplit(e.get("path", "")).query
    body = as_json((e.get("body") or "").encode()) or {}
    t.check("V10 Unicode caller name: UTF-8 percent-encoded in the URL",
            raw_query == "v=" + urllib.parse.quote(value, safe="") and query_value(e) == value,
            (raw_query, err[-300:]))
    t.check("V10 Unicode caller name: round-trips in the JSON body; TTS said it; no crash",
            status == 0 and body.get("v") == value
            and "hello " + value in ((trace or {}).get("said") or []), (status, body, err[-300:]))


recorder_canned = {}


def v7_v11(work, echo, recorder, allow):
    """V7 (control characters and ANSI escapes from an API result) and V11 (%s%n%x) in what
    `callflow run` prints and in what `callflow serve` logs."""
    nasty = "A\x1b[2J\x1b[31mRED\r\nFAKE LOG LINE\x07\x00\x08\u009b1m%s%n%x"
    recorder_canned["v7"] = json.dumps({"v": nasty})
    doc = echo_flow(echo, "{{Get.Result.v}}", prefix=[get_element(recorder, "v7")])
    del doc["elements"][1]["header"]  # a CR/LF in a header is V4's case
    # The value itself is spoken (and so printed in the trace), not only the echo of it.
    doc["elements"][0]["next"] = {"output": "Speak", "error": "Speak"}
    doc["elements"].insert(1, {"name": "Speak", "type": "TextToSpeech",
                               "text": "value {{Get.Result.v}} end", "next": {"output": "Send"}})
    status, trace, out, err = run_flow(doc, *allow)
    e = echoed(trace) or {}
    body = as_json((e.get("body") or "").encode()) or {}
    t.check("V7 control characters and ANSI escapes from an API result: --json output is valid "
            "JSON, the value round-trips in the request body",
            status == 0 and trace is not None and body.get("v") == nasty, (status, out[-400:]))
    t.check("V7 control characters from an API result: no raw control character in --json output",
            not has_raw_control(out.rstrip("\n")) and "\n" not in out.rstrip("\n"), repr(out[-300:]))

    # The text trace (`callflow run` without --json) is what an operator reads in a terminal.
    fd, path = tempfile.mkstemp(suffix=".json", dir=work)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f)
    status, out, err = cli("run", path, *allow)
    os.unlink(path)
    t.check("V7 control characters from an API result: the text trace of `callflow run` shows "
            "them escaped (no ESC, BEL, CR, NUL, BS; no forged line, CWE-117)",
            status == 0 and not has_raw_control(out + err)
            and not any(line.startswith("FAKE LOG LINE") for line in out.splitlines()),
            repr(out[-600:]))
    t.check("V11 %s%n%x: appears literally in the request and in `callflow run`'s output",
            "%s%n%x" in (body.get("v") or "") and "%s%n%x" in out, (body, out[-300:]))


def v_serve_logs(server, echo, recorder):
    """V7/V11 through `callflow serve`: a test call whose API answer and caller id hold control
    characters and format directives; then nothing raw in its log."""
    nasty = "A\x1b[2J\x1b[31mRED\r\nFAKE LOG LINE\x07%s%n%x"
    recorder_canned["v7s"] = json.dumps({"v": nasty})
    doc = echo_flow(echo, "{{Get.Result.v}}", prefix=[get_element(recorder, "v7s")])
    del doc["elements"][1]["header"]
    doc["elements"][0]["next"] = {"output": "Speak", "error": "Speak"}
    doc["elements"].insert(1, {"name": "Speak", "type": "TextToSpeech",
                               "text": "value {{Get.Result.v}} {{call.phonenum}}",
                               "next": {"output": "Send"}})
    doc["name"] = "HostileLog"
    status, _, reply = server.api("PUT", "/flows/HostileLog", json.dumps(doc))
    t.check("V7 serve: a flow that reads a hostile API answer is deployed", status == 200, reply[:300])
    status, _, reply = server.api("POST", "/flows/HostileLog/calls",
                                  json.dumps({"from": "1\x1b[31m%s%n\r\nFAKE", "to": "2%x"}))
    trace = (as_json(reply) or {}).get("trace") or {}
    t.check("V7/V11 serve: the test call ran (200, the value round-tripped to /echo)",
            status == 200 and "%s%n%x" in json.dumps(trace), (status, reply[:500]))
    # A bad request whose path holds encoded control characters and format directives.
    request(server.port, "GET", "/api/v1/flows/%1b%5b2J%0d%0aFAKE%25s%25n", headers=server.auth)
    request(server.port, "GET", "/nope/%1b%5b31m%0aFAKE%25n")
    log = server.serve.stderr()
    t.check("V7/V11 serve: the server's log has no raw control character and no forged line",
            not has_raw_control(log) and not any(l.startswith("FAKE") for l in log.splitlines()),
            repr(log[-800:]))


# --- A rows ------------------------------------------------------------------------------------

def a_rows(server, work):
    s = server
    # A2: SQL-looking name and a phone with Arabic-Indic digits: stored literally or refused.
    name = "'); DROP TABLE leads;--"
    status, _, reply = s.api("POST", "/leads", json.dumps({"name": name, "phonenum": "+15550001"}))
    lead = as_json(reply) or {}
    lead_id = lead.get("id")
    status_get, _, got = s.api("GET", "/leads/%s" % lead_id)
    t.check("A2 lead named '); DROP TABLE leads;--: stored literally (201, read back the same)",
            status == 201 and status_get == 200 and (as_json(got) or {}).get("name") == name,
            (status, reply[:300], got[:300]))
    status, _, reply = s.api("POST", "/leads", json.dumps({"name": "Arabic digits",
                                                           "phonenum": "+1 (555) \u0661\u0662\u0663"}))
    stored = (as_json(reply) or {}).get("phonenum")
    t.check("A2 phone +1 (555) ١٢٣: refused by validation (400) or stored literally (201)",
            status == 400 or (status == 201 and stored == "+1 (555) \u0661\u0662\u0663"),
            (status, reply[:300]))
    status, _, reply = s.api("GET", "/leads?phone=" + urllib.parse.quote("' OR 1=1 --"))
    t.check("A2 search by phone ' OR 1=1 --: no lead listed (400 or an empty list)",
            status == 400 or (status == 200 and (as_json(reply) or {}).get("leads") == []),
            (status, reply[:300]))
    status, _, reply = s.api("GET", "/leads?after=0&limit=10")
    t.check("A2 the leads table is still there (GET /leads lists the lead)",
            status == 200 and any(l.get("name") == name for l in (as_json(reply) or {}).get("leads", [])),
            (status, reply[:300]))

    a3(s)

    # A4: flow names that climb paths or hold NUL.
    for label, path in (("../../etc/passwd", "/api/v1/flows/../../etc/passwd"),
                        ("..%2F..%2Fetc%2Fpasswd", "/api/v1/flows/..%2F..%2Fetc%2Fpasswd"),
                        ("%2e%2e", "/api/v1/flows/%2e%2e"),
                        ("NUL in the name", "/api/v1/flows/Hostile%00x")):
        for method in ("GET", "PUT"):
            status, _, reply = request(s.port, method, path,
                                       read_input("good.json") if method == "PUT" else None,
                                       s.auth)
            t.check("A4 %s %s: 400" % (method, label), status == 400, (status, reply[:300]))
    status, _, reply = s.api("PUT", "/flows/Host%20ile", read_input("good.json"))
    t.check("A4 PUT /flows/Host ile (space, the document's name differs): 400",
            status == 400, (status, reply[:300]))

    # A5: a 1 MB request header.
    answer = raw_exchange(s.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20)
                          + b"\r\n\r\n")
    t.check("A5 1 MB request header: 431 or 400", answer.startswith(b"HTTP/1.1 431")
            or answer.startswith(b"HTTP/1.1 400"), answer[:200])
    answer = raw_exchange(s.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                          + b"".join(b"X-H%d: v\r\n" % i for i in range(20000)) + b"\r\n")
    t.check("A5 20,000 small header fields: 431 or 400", answer.startswith(b"HTTP/1.1 431")
            or answer.startswith(b"HTTP/1.1 400"), answer[:200])
    t.check("A5 the server answers /healthz afterwards", s.serve.healthz()[0] == 200)

    # A7: secrets are never returned. The designer's test request sends the secret to /echo,
    # which answers it back: the answer must show *** in its place.
    for path in ("/api/v1/secrets", "/api/v1/secrets/API_KEY"):
        status, _, reply = request(s.port, "GET", path, headers=s.auth)
        t.check("A7 GET %s: no such endpoint (404), no value" % path,
                status == 404 and SECRET_VALUE.encode() not in reply, (status, reply[:200]))


def a7_designer(server, echo):
    s = server
    doc = api_flow("HostileSecret", "http://127.0.0.1:%d/echo?k={{secret.API_KEY}}" % echo.port,
                   {"header": ["X-Key: {{secret.API_KEY}}"], "action": "POST",
                    "body": '{"k": "{{secret.API_KEY}}"}'})
    status, _, reply = s.api("PUT", "/flows/HostileSecret", json.dumps(doc))
    t.check("A7 a flow using {{secret.API_KEY}} is deployed", status == 200, reply[:300])
    seen = [reply]
    for method, path, body in (
            ("GET", "/flows/HostileSecret", None),
            ("GET", "/flows/HostileSecret/versions/1", None),
            ("POST", "/flows/HostileSecret/calls", "{}"),
            ("POST", "/test-request", json.dumps({"flow": doc, "element": "A"})),
            ("POST", "/test-call", json.dumps({"flow": doc})),
            ("GET", "/calls?limit=10", None)):
        status, _, reply = s.api(method, path, body)
        seen.append(reply)
        t.check("A7 %s %s: answered (%d) without the secret's value" % (method, path, status),
                status in (200, 201) and SECRET_VALUE.encode() not in reply, (status, reply[:400]))
    for path in ("/healthz", "/metrics"):
        status, _, reply = request(s.port, "GET", path)
        t.check("A7 GET %s: without the secret's value" % path,
                status == 200 and SECRET_VALUE.encode() not in reply, status)
    t.check("A7 the server's log never shows the secret's value",
            SECRET_VALUE not in s.serve.stderr(), s.serve.stderr()[-500:])


def a3(s):
    """A3: 1,000,000 leads in one request: 413 at the header; a chunked one cut at the limit; the
    server answers /healthz meanwhile."""
    lead = b'{"name": "Bulk", "phonenum": "+441632960999"},'
    size = len(lead) * 1000000 + 2
    header = ("POST /api/v1/leads HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
              "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
              % (s.auth["Authorization"], size)).encode()
    answer = raw_exchange(s.port, header + b"[" + lead * 200)
    t.check("A3 1,000,000 leads (%d MB, Content-Length): 413 before the body is read"
            % (size >> 20), answer.startswith(b"HTTP/1.1 413"), answer[:200])

    # Chunked, no length: streamed in while /healthz is asked.
    health = []
    stop = threading.Event()

    def prober():
        while not stop.is_set():
            started = time.monotonic()
            status, _ = s.serve.healthz()
            health.append((status, time.monotonic() - started))
            time.sleep(0.05)

    th = threading.Thread(target=prober, daemon=True)
    th.start()
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", s.port), timeout=10 * SLOW) as sock:
        sock.sendall(("POST /api/v1/leads HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
                      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                      % s.auth["Authorization"]).encode())
        chunk_data = lead * 1000
        chunk = b"%x\r\n%s\r\n" % (len(chunk_data), chunk_data)
        sock.settimeout(0.01)
        deadline = time.monotonic() + 20 * SLOW
        while time.monotonic() < deadline and sent < size:
            try:
                sock.sendall(chunk)
                sent += len(chunk_data)
            except socket.timeout:
                pass
            except OSError:
                break
            try:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
                if b"\r\n\r\n" in answer:
                    break
            except socket.timeout:
                pass
            except OSError:
                break
        sock.settimeout(5 * SLOW)
        try:
            while b"\r\n\r\n" not in answer:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except OSError:
            pass
    time.sleep(0.3)
    stop.set()
    th.join(timeout=10 * SLOW)
    t.check("A3 1,000,000 leads chunked: cut with 413 after about 1 MiB (%d KB sent)" % (sent >> 10),
            answer.startswith(b"HTTP/1.1 413") and sent < (8 << 20), answer[:200])
    bad = [h for h in health if h[0] != 200]
    slowest = max((h[1] for h in health), default=0)
    t.check("A3 /healthz answered 200 all along (%d probes, slowest %.2f s)" % (len(health), slowest),
            health and not bad and slowest < 5 * SLOW, bad[:5])


def a6_slowloris(port, result):
    """A6: a request header sent one byte a second: closed by the header timeout (30 s)."""
    started = time.monotonic()
    line = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
    closed_at = None
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.settimeout(1.0)
            for byte in line:
                try:
                    s.sendall(bytes([byte]))
                except OSError:
                    closed_at = time.monotonic() - started
                    break
                try:
                    if s.recv(1024) == b"":
                        closed_at = time.monotonic() - started
                        break
                except socket.timeout:
                    pass
                except OSError:
                    closed_at = time.monotonic() - started
                    break
                if time.monotonic() - started > 75 * SLOW:
                    break
    except OSError as e:
        result["error"] = str(e)
    result["closed_at"] = closed_at


def a1(server):
    """A1: missing, wrong and malformed credentials; throttling, from an address of its own so the
    rest of the test is not throttled."""
    port = server.port
    src = "127.0.0.3"
    cases = [
        ("no credentials (admin API)", "GET", "/api/v1/me", {}),
        ("a wrong Bearer token", "GET", "/api/v1/me", {"Authorization": "Bearer " + "A" * 43}),
        ("Bearer with bad characters", "GET", "/api/v1/me", {"Authorization": "Bearer a b\"c"}),
        ("Basic on the admin API", "GET", "/api/v1/me",
         {"Authorization": "Basic " + base64.b64encode(b"boss:" + ADMIN[1].encode()).decode()}),
        ("no credentials (Lead Web API)", "GET", "/leadservices/api/v2/leads/1", {}),
        ("Basic that is not base64", "GET", "/leadservices/api/v2/leads/1",
         {"Authorization": "Basic !!!not-base64!!!"}),
        ("Basic without a colon", "GET", "/leadservices/api/v2/leads/1",
         {"Authorization": "Basic " + base64.b64encode(b"bossonly").decode()}),
        ("Basic without padding", "GET", "/leadservices/api/v2/leads/1",
         {"Authorization": "Basic " + base64.b64encode(b"ivr:pw").decode().rstrip("=")}),
        ("Basic with a wrong password", "GET", "/leadservices/api/v2/leads/1",
         {"Authorization": "Basic " + base64.b64encode(b"ivr:wrong-password").decode()}),
        ("Basic with a control character", "GET", "/leadservices/api/v2/leads/1",
         {"Authorization": "Basic " + base64.b64encode(b"ivr:\x01bad").decode()}),
    ]
    for label, method, path, headers in cases:
        status, h, reply = request(port, method, path, headers=headers, source=src)
        t.check("A1 %s: 401 with WWW-Authenticate" % label,
                status == 401 and "www-authenticate" in h, (status, h, reply[:200]))
    status, _, reply = request(port, "POST", "/api/v1/auth/token",
                               json.dumps({"username": "boss", "password": "wrong-pw-here"}),
                               {"Content-Type": "application/json"}, source=src)
    t.check("A1 sign-in with a wrong password: 401", status == 401, (status, reply[:200]))
    codes = []
    for i in range(25):
        status, h, _ = request(port, "GET", "/api/v1/me",
                               headers={"Authorization": "Bearer wrong%d" % i}, source=src)
        codes.append(status)
    status, h, reply = request(port, "POST", "/api/v1/auth/token",
                               json.dumps({"username": ADMIN[0], "password": ADMIN[1]}),
                               {"Content-Type": "application/json"}, source=src)
    t.check("A1 failures are rate-limited: after 20 in a minute even the right password gets 429 "
            "with Retry-After", 429 in codes and status == 429 and "retry-after" in h,
            (codes, status, h))
    status, _, _ = request(port, "GET", "/api/v1/me", headers=server.auth)
    t.check("A1 the throttle is per address: 127.0.0.1 still gets in", status == 200, status)


def main():
    work = tempfile.mkdtemp(prefix="callflow-hostile-")
    echo = recorder = server = None
    slow_result = {}
    try:
        echo = EchoStub()
        recorder = Recorder(recorder_canned)
        secrets = os.path.join(work, "serve.secrets")
        with open(secrets, "w") as f:
            f.write("API_KEY=%s\n" % SECRET_VALUE)
        os.chmod(secrets, 0o600)
        transfer_allow = []
        for pattern in TRANSFER_ALLOW:
            transfer_allow += ["--transfer-allow", pattern]
        server = Server(work, "serve", ["--secrets", secrets,
                                        "--allow", "127.0.0.1:%d" % echo.port,
                                        "--allow", "127.0.0.1:%d" % recorder.port] + transfer_allow)
        # A6 runs alongside everything else: it takes the header timeout (30 s) to end.
        slow = threading.Thread(target=a6_slowloris, args=(server.port, slow_result), daemon=True)
        slow.start()
        t.safe("F rows", f_rows, server, work, echo, recorder)
        t.safe("V rows", v_rows, work, echo, recorder)
        t.safe("V7/V11 serve", v_serve_logs, server, echo, recorder)
        t.safe("A rows", a_rows, server, work)
        t.safe("A7 designer", a7_designer, server, echo)
        t.safe("A1", a1, server)
        slow.join(timeout=90 * SLOW)
        closed = slow_result.get("closed_at")
        t.check("A6 slowloris (1 byte/s): closed by the header timeout (30 s) within 45 s "
                "(closed at %s s)" % ("%.1f" % closed if closed else "never"),
                closed is not None and 25 <= closed <= 45 * SLOW, slow_result)
        t.check("A6 the server answers /healthz after the slow client",
                server.serve.healthz()[0] == 200)
        t.no_sanitizer_report("no sanitizer report in the server's log", server.serve.stderr())
    finally:
        if server:
            alive = server.serve.running()
            server.stop()
            t.check("the server ran to the end (no crash)", alive)
        if recorder:
            recorder.stop()
        if echo:
            echo.stop()
        shutil.rmtree(work, ignore_errors=True)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
