"""What the SIP-server reliability tests (overload_test.py, process_test.py) share: a prompts
folder for `callflow serve --prompts`, /metrics read as numbers, SIPp calls that are answered and
then held until the server's BYE, and the call records once they are written.

Python 3 standard library only; every wait is bounded and scaled by the caller's SLOW.
"""
import os
import shutil
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
