"""What the SIP-server reliability tests (overload_test.py, process_test.py, load_test.py,
soak.py) share: a prompts folder for `callflow serve --prompts`, /metrics read as numbers, SIPp
calls that are answered and then held until the server's BYE, the call records once they are
written, a contact centre's call (a greeting, an ApiRequest to a local account API, its answer
read back, a hang-up) and a server's resident memory and open descriptors.

Python 3 standard library only; every wait is bounded and scaled by the caller's SLOW.
"""
import http.server
import json
import os
import shutil
import threading
import time

import harness
import sipkit

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
HOLD = os.path.join(HERE, "scenarios", "hold_until_bye.xml")
PROMPTS_FROM = os.path.join(ROOT, "examples", "prompts")


def prompts_dir(work):
    """WORK/prompts: the example prompts and a 200 ms beep (made once)."""
    path = os.path.join(work, "prompts")
    if not os.path.isdir(path):
        os.makedirs(path)
        for name in os.listdir(PROMPTS_FROM):
            shutil.copy(os.path.join(PROMPTS_FROM, name), path)
        sipkit.write_wav(os.path.join(path, "beep-200ms.wav"), sipkit.tone(0.2, 8000), 8000)
    return path


def metrics(server, slow=1.0):
    """(HTTP status, {series: value}) of the server's /metrics."""
    status, _, body = harness.http("GET", server.url("/metrics"), timeout=5 * slow)
    values = {}
    for line in body.decode("utf-8", "replace").splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                values[name] = float(value)
            except ValueError:
                pass
    return status, values


def hold_calls(server, work, name, calls, service, slow=1.0, wait=True):
    """Starts CALLS SIPp calls (hold_until_bye.xml: answered, no RTP, held until the server's
    BYE) in the background from a caller numbered after SERVICE. With WAIT, waits until the
    server counts them live. Returns (SIPp's handle, whether they all went live)."""
    handle = sipkit.run_sipp(HOLD, "127.0.0.1:%d" % server.sip_port,
                             local_port=harness.free_port(udp=True), service=service,
                             keys={"rtp_port": harness.free_port(udp=True),
                                   "caller": "44163296%04d" % int(service)},
                             calls=calls, rate=50, limit=calls, timeout=120 * slow,
                             recv_timeout_ms=110000 * slow, workdir=os.path.join(work, name),
                             background=True)
    if not wait:
        return handle, True
    deadline = time.monotonic() + 15 * slow
    while time.monotonic() < deadline:
        _, values = metrics(server, slow)
        if values.get("callflow_sip_calls_active", 0) >= calls:
            return handle, True
        time.sleep(0.1)
    return handle, False


def byes(result):
    """How many BYEs from the server a hold_until_bye.xml run answered."""
    return len([x for x in result.logs if x.startswith("bye")])


def wait_records(server, count, slow=1.0, status=None, wait=10):
    """The records (with STATUS, when given) once there are COUNT and none is open, or what
    there is after WAIT seconds."""
    deadline = time.monotonic() + wait * slow
    records = []
    while time.monotonic() < deadline:
        records = [r for r in (server.records() or [])
                   if status is None or r.get("status") == status]
        if len(records) >= count and all(r.get("status") != "open" for r in records):
            return records
        time.sleep(0.2)
    return records


class AccountApi:
    """A local account API: GET /account/N answers {"name": ..., "balance": ...}, new values on
    every call (so each read-back is new speech); counts the requests."""

    def __init__(self):
        api = self
        self.requests = 0
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with api.lock:
                    api.requests += 1
                number = self.path.rsplit("/", 1)[-1]
                data = json.dumps({"name": "Caller %s" % number,
                                   "balance": "%d.%02d" % (len(number) * 7, time.time_ns() % 100)})
                data = data.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def account_flow(work, api_port, name="Account"):
    """WORK/NAME.json: a greeting, an ApiRequest to the AccountApi on API_PORT, the answer read
    back, a Hangup with result code "done"; its path."""
    path = os.path.join(work, name + ".json")
    with open(path, "w") as f:
        json.dump({"format": 1, "name": name, "start": "Hello", "elements": [
            {"name": "Hello", "type": "TextToSpeech", "text": "Welcome to the account line.",
             "next": {"output": "Get"}},
            {"name": "Get", "type": "ApiRequest", "action": "GET", "timeout": 5,
             "url": "http://127.0.0.1:%d/account/{{call.phonenum}}" % api_port,
             "next": {"output": "Read", "error": "Bye"}},
            {"name": "Read", "type": "TextToSpeech",
             "text": "{{Get.Result.name}}, your balance is {{Get.Result.balance}}.",
             "next": {"output": "Bye"}},
            {"name": "Bye", "type": "Hangup", "resultCode": "done"}]}, f)
    return path


def rss_mib(pid):
    """The resident memory of process PID, in MiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def open_fds(pid):
    """How many descriptors process PID has open."""
    return len(os.listdir("/proc/%d/fd" % pid))
