#!/usr/bin/env python3
"""`make soak`: calls through `callflow serve --sip` for a long time, and the slope of the
server's resident memory (RSS) over it (RELIABILITY.md: "RSS slope over a one-hour soak, ~0
after warm-up").

Each call is what a contact centre's is: a greeting, an ApiRequest to a local API (its answer
read back with fillpoints, a new value each call so the speech cache keeps growing until its
cap), then a Hangup. SIPp places CALLS_PER_SECOND new calls, at most CONCURRENT at once, for
SECONDS; the server's VmRSS is sampled every 5 s. The slope is a least-squares line through the
samples after the warm-up (the first fifth), in MiB per hour.

Usage: soak.py PATH_TO_callflow REPO_ROOT [SECONDS] [CALLS_PER_SECOND] [CONCURRENT]
Exit status 0 when every call made completed, SIPp saw no failure and the slope is under
2 MiB/hour, else 1. Not in CI.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

if len(sys.argv) < 3:
    sys.exit("usage: soak.py PATH_TO_callflow REPO_ROOT [SECONDS] [CALLS_PER_SECOND] "
             "[CONCURRENT]")
ROOT = os.path.abspath(sys.argv[2])
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, os.path.join(ROOT, "tests", "sip"))
import harness  # noqa: E402
import sipcalls  # noqa: E402
import sipkit  # noqa: E402

CALLFLOW = os.path.abspath(sys.argv[1])
SECONDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3600
RATE = float(sys.argv[4]) if len(sys.argv) > 4 else 5
CONCURRENT = int(sys.argv[5]) if len(sys.argv) > 5 else 40
SAMPLE_EVERY = 5
LIMIT_MIB_PER_HOUR = 2.0


def slope_per_hour(samples):
    """Least-squares slope of (seconds, MiB) samples, in MiB per hour."""
    n = len(samples)
    if n < 2:
        return 0.0
    mean_t = sum(s[0] for s in samples) / n
    mean_m = sum(s[1] for s in samples) / n
    var = sum((s[0] - mean_t) ** 2 for s in samples)
    cov = sum((s[0] - mean_t) * (s[1] - mean_m) for s in samples)
    return cov / var * 3600 if var else 0.0


def main():
    if shutil.which("sipp") is None:
        sys.exit("soak: needs sipp (sip-tester)")
    api = sipcalls.AccountApi()
    with tempfile.TemporaryDirectory(prefix="callflow-soak-") as work:
        flow = sipcalls.account_flow(work, api.port, "Soak")
        server = harness.Serve(CALLFLOW, work, sip=True, name="soak", args=[
            "--flow", flow, "--prompts", sipcalls.prompts_dir(work),
            "--allow", "127.0.0.1:%d" % api.port, "--max-calls", str(CONCURRENT * 2),
            "--rtp-ports", "34000-35999"])
        if not server.start():
            sys.exit("soak: the server did not start:\n" + server.stderr()[-2000:])
        pid = server.process.pid
        calls = int(RATE * SECONDS)
        print("soak: %d s, %.1f calls/s, at most %d at once (%d calls); RSS every %d s"
              % (SECONDS, RATE, CONCURRENT, calls, SAMPLE_EVERY), flush=True)
        # SIPp without message traces (an hour of them is hundreds of megabytes).
        sipp_dir = os.path.join(work, "sipp")
        os.makedirs(sipp_dir)
        sipp = subprocess.Popen(
            ["sipp", "-sf", sipcalls.HOLD, "-i", "127.0.0.1",
             "-p", str(harness.free_port(udp=True)), "-t", "u1", "-s", "7900",
             "-m", str(calls), "-r", "%g" % RATE, "-l", str(CONCURRENT), "-nostdin",
             "-timeout", "%ds" % (SECONDS + 120), "-recv_timeout", "60000ms",
             "-mp", str(sipkit.free_media_port()), "-mi", "127.0.0.1",
             "-key", "rtp_port", str(harness.free_port(udp=True)),
             "-key", "caller", "441632960000",
             "127.0.0.1:%d" % server.sip_port],
            cwd=sipp_dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        started = time.monotonic()
        samples = []
        while time.monotonic() - started < SECONDS + 60 and server.running():
            samples.append((time.monotonic() - started, sipcalls.rss_mib(pid)))
            if len(samples) % 60 == 1:
                print("soak: %5.0f s  RSS %.1f MiB" % samples[-1], flush=True)
            if sipp.poll() is not None:
                break
            time.sleep(SAMPLE_EVERY)
        try:
            sipp_status = sipp.wait(timeout=180)
        except subprocess.TimeoutExpired:
            sipp.kill()
            sipp_status = sipp.wait(timeout=10)
        alive = server.running()
        records = server.records() or []
        server.stop()
    api.close()
    warm = [s for s in samples if s[0] >= samples[-1][0] / 5] if samples else []
    slope = slope_per_hour(warm)
    completed = len([r for r in records if r.get("status") == "completed"])
    # SIPp may place fewer than asked when the machine is busy (its -timeout ends the run).
    print("soak: %d calls asked for, %d made (records), %d completed, server %s"
          % (calls, len(records), completed, "alive" if alive else "DEAD"))
    if samples:
        print("soak: RSS %.1f MiB at start, %.1f MiB after warm-up, %.1f MiB at the end, "
              "peak %.1f MiB" % (samples[0][1], warm[0][1] if warm else 0, samples[-1][1],
                                 max(s[1] for s in samples)))
    print("soak: RSS slope after warm-up: %+.2f MiB/hour (limit %.1f)" % (slope,
                                                                        LIMIT_MIB_PER_HOUR))
    print("soak: SIPp exit status %s (0: every call succeeded)" % sipp_status)
    ok = (alive and records and completed == len(records) and sipp_status == 0
          and abs(slope) < LIMIT_MIB_PER_HOUR)
    print("soak: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
