"""Helpers for the SIP tests: free ports, SIPp runs (exit status, statistics, message counts, the
messages it saw), an RTP receiver, RTP and RFC 4733 parsing, G.711 (µ-law, A-law) coding, speech
measures in 20 ms frames, RTP continuity checks, WAV and pcap writers, a raw UDP OPTIONS ping,
and baresip driven through its ctrl_tcp socket.

Python 3 standard library only. Nothing here reads the wall clock to judge a result: durations
are counted in RTP frames (20 ms each), never measured between arrivals.
"""
import array
import csv
import glob
import json
import math
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import threading
import time
import wave

FRAME_SAMPLES = 160          # 20 ms at 8 kHz
FRAME_MS = 20
PT_PCMU = 0
PT_PCMA = 8


# --- ports ---------------------------------------------------------------------------------------

def _free(kind, port=0):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(("127.0.0.1", port))
        return s.getsockname()[1]
    except OSError:
        return None
    finally:
        s.close()


def free_port(udp=True, tcp=False, span=1, step=1):
    """A port on 127.0.0.1 that is free for UDP (and TCP when asked); with span N, the ports
    port, port+step, ... port+(N-1)*step are all free (SIPp's -mp takes the port and port+2)."""
    for _ in range(200):
        base = _free(socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
        if base is None or base + (span - 1) * step > 65535:
            continue
        ok = True
        for i in range(span):
            p = base + i * step
            if udp and _free(socket.SOCK_DGRAM, p) is None:
                ok = False
            if tcp and _free(socket.SOCK_STREAM, p) is None:
                ok = False
        if ok:
            return base
    raise RuntimeError("no free port found")


def free_media_port():
    """An even port P with P and P+2 free for UDP (SIPp binds both for -mp)."""
    for _ in range(200):
        p = free_port(udp=True, span=3, step=1)
        if p % 2:
            p += 1
        if all(_free(socket.SOCK_DGRAM, p + i) is not None for i in range(3)):
            return p
    raise RuntimeError("no free media port pair")


# --- SIPp ----------------------------------------------------------------------------------------

class SippResult:
    """What one SIPp run left: exit code (None after a timeout), its output, the last line of its
    statistics CSV, the summed message counts, the messages it logged and its log lines."""

    def __init__(self):
        self.rc = None
        self.timed_out = False
        self.stdout = ""
        self.stderr = ""
        self.stats = {}
        self.counts = {}
        self.messages = []
        self.logs = []
        self.errors = ""
        self.workdir = ""
        self.argv = []

    def stat(self, name):
        """A cumulative statistic such as SuccessfulCall, FailedCall, Retransmissions."""
        try:
            return int(self.stats.get(name + "(C)", "0") or 0)
        except ValueError:
            return 0

    def count(self, pattern):
        """Sum of the -trace_counts columns matching the regex, e.g. r"_503_Recv$"."""
        return sum(v for k, v in self.counts.items() if re.search(pattern, k))

    def received(self, start_line_regex):
        """Messages SIPp received whose first line matches."""
        return [m for m in self.messages if m["dir"] == "recv"
                and re.search(start_line_regex, m["first"])]

    def summary(self, limit=3000):
        parts = ["argv: " + " ".join(self.argv), "rc=%s timed_out=%s" % (self.rc, self.timed_out),
                 "stats: successful=%d failed=%d retrans=%d" % (
                     self.stat("SuccessfulCall"), self.stat("FailedCall"),
                     self.stat("Retransmissions"))]
        if self.stderr.strip():
            parts.append("stderr: " + self.stderr.strip()[-1200:])
        if self.errors.strip():
            parts.append("errors log: " + self.errors.strip()[-1200:])
        flow = ["%s %s" % ("<-" if m["dir"] == "recv" else "->", m["first"]) for m in self.messages]
        if flow:
            parts.append("messages: " + " | ".join(flow[-30:]))
        return "\n".join(parts)[-limit:]


def _parse_messages(text):
    """SIPp's -trace_msg file: blocks starting 'UDP message sent (N bytes):' or
    'UDP message received [N] bytes :' (TCP likewise), the message after a blank line."""
    out = []
    blocks = re.split(r"^-{10,}.*$", text, flags=re.M)
    for block in blocks:
        m = re.search(r"(UDP|TCP|TLS|SCTP) message (sent|received)[^\n]*\n", block)
        if not m:
            continue
        body = block[m.end():].lstrip("\r\n")
        # SIPp writes each message followed by blank lines; keep it whole.
        body = body.rstrip("\r\n") + "\n"
        first = body.split("\n", 1)[0].strip()
        out.append({"dir": "sent" if m.group(2) == "sent" else "recv",
                    "first": first, "text": body})
    return out


def header(message_text, name):
    """First value of a SIP header (compact forms not handled) in a message's text."""
    for line in message_text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            break
        if ":" in line and line.split(":", 1)[0].strip().lower() == name.lower():
            return line.split(":", 1)[1].strip()
    return None


def body(message_text):
    text = message_text.replace("\r\n", "\n")
    return text.split("\n\n", 1)[1] if "\n\n" in text else ""


def run_sipp(scenario, target, *, local_port, service="ivr", keys=None, sets=None, calls=1,
             rate=None, rate_period_ms=None, limit=None, timeout=30.0, recv_timeout_ms=None,
             transport="u1", media_port=None, extra=(), workdir, uas=False, background=False):
    """Runs SIPp on 127.0.0.1 with its own -p port in WORKDIR (where its traces go), bounded by
    -timeout and by TIMEOUT seconds of wall time; returns a SippResult (or, with background=True,
    a handle whose .finish() returns it)."""
    os.makedirs(workdir, exist_ok=True)
    argv = ["sipp", "-sf", os.path.abspath(scenario), "-i", "127.0.0.1", "-p", str(local_port),
            "-t", transport, "-m", str(calls), "-nostdin",
            "-timeout", "%ds" % max(1, int(math.ceil(timeout))), "-timeout_error",
            "-trace_msg", "-message_file", os.path.join(workdir, "messages.log"),
            "-trace_stat", "-stf", os.path.join(workdir, "stats.csv"), "-fd", "1",
            "-trace_err", "-error_file", os.path.join(workdir, "errors.log"),
            "-trace_counts", "-trace_logs", "-log_file", os.path.join(workdir, "logs.log")]
    if not uas:
        argv += ["-s", service]
    if media_port is None:
        media_port = free_media_port()
    argv += ["-mp", str(media_port), "-mi", "127.0.0.1"]
    if rate is not None:
        argv += ["-r", str(rate)]
    if rate_period_ms is not None:
        argv += ["-rp", "%dms" % rate_period_ms]
    if limit is not None:
        argv += ["-l", str(limit)]
    if recv_timeout_ms is not None:
        argv += ["-recv_timeout", "%dms" % int(recv_timeout_ms)]
    for k, v in (keys or {}).items():
        argv += ["-key", k, str(v)]
    for k, v in (sets or {}).items():
        argv += ["-set", k, str(v)]
    argv += list(extra)
    if target:
        argv.append(target)
    result = SippResult()
    result.argv = argv
    result.workdir = workdir
    out = open(os.path.join(workdir, "stdout.txt"), "wb")
    err = open(os.path.join(workdir, "stderr.txt"), "wb")
    process = subprocess.Popen(argv, cwd=workdir, stdin=subprocess.DEVNULL, stdout=out, stderr=err)

    def finish(wait=timeout + 10):
        try:
            result.rc = process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            result.timed_out = True
            process.kill()
            process.wait(timeout=10)
            result.rc = None
        out.close()
        err.close()
        _collect(result)
        return result

    if background:
        class Handle:
            pass
        handle = Handle()
        handle.process = process
        handle.finish = finish
        handle.result = result
        return handle
    return finish()


def _read(path):
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _collect(result):
    d = result.workdir
    result.stdout = _read(os.path.join(d, "stdout.txt"))
    result.stderr = _read(os.path.join(d, "stderr.txt"))
    result.errors = _read(os.path.join(d, "errors.log"))
    result.messages = _parse_messages(_read(os.path.join(d, "messages.log")))
    result.logs = [line for line in _read(os.path.join(d, "logs.log")).splitlines() if line]
    rows = list(csv.reader(_read(os.path.join(d, "stats.csv")).splitlines(), delimiter=";"))
    if len(rows) >= 2:
        result.stats = dict(zip(rows[0], rows[-1]))
    for path in glob.glob(os.path.join(d, "*_counts.csv")):
        crow = list(csv.reader(_read(path).splitlines(), delimiter=";"))
        if len(crow) >= 2:
            for k, v in zip(crow[0], crow[-1]):
                if k not in ("CurrentTime", "ElapsedTime", ""):
                    try:
                        result.counts[k] = result.counts.get(k, 0) + int(v)
                    except ValueError:
                        pass


# --- RTP -----------------------------------------------------------------------------------------

class RtpReceiver:
    """A UDP socket on 127.0.0.1:PORT read by a thread; keeps (arrival monotonic time, source,
    bytes) for every datagram until stop()."""

    def __init__(self, port=0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.packets = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                data, source = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            self.packets.append((time.monotonic(), source, data))

    def stop(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()
        return self.packets

    def rtp(self):
        """The received datagrams that parse as RTP, in arrival order."""
        out = []
        for arrival, source, data in list(self.packets):
            p = parse_rtp(data)
            if p is not None:
                p["arrival"] = arrival
                p["source"] = source
                out.append(p)
        return out


def parse_rtp(data):
    """RTP header fields and payload (RFC 3550), or None if DATA is not RTP version 2."""
    if len(data) < 12 or data[0] >> 6 != 2:
        return None
    first, second, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
    offset = 12 + 4 * (first & 0x0F)
    if first & 0x10:  # header extension
        if len(data) < offset + 4:
            return None
        ext_len = struct.unpack("!H", data[offset + 2:offset + 4])[0]
        offset += 4 + 4 * ext_len
    end = len(data)
    if first & 0x20 and end > offset:  # padding
        end -= data[-1]
    if offset > end:
        return None
    return {"pt": second & 0x7F, "marker": bool(second & 0x80), "seq": seq, "ts": ts,
            "ssrc": ssrc, "payload": data[offset:end]}


def build_rtp(pt, seq, ts, ssrc, payload, marker=False):
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF,
                       ts & 0xFFFFFFFF, ssrc) + payload


def parse_telephone_event(payload):
    """RFC 4733 event payload: (event, end, volume, duration) or None."""
    if len(payload) < 4:
        return None
    event, flags, duration = struct.unpack("!BBH", payload[:4])
    return event, bool(flags & 0x80), flags & 0x3F, duration


def continuity_problems(packets, step_ts=FRAME_SAMPLES, payload_size=FRAME_SAMPLES):
    """Problems in one RTP stream: SSRC changes, sequence numbers not advancing by 1, timestamps
    not advancing by STEP_TS per packet, payloads not PAYLOAD_SIZE bytes. Empty list: clean."""
    problems = []
    for i, p in enumerate(packets):
        if payload_size is not None and len(p["payload"]) != payload_size:
            problems.append("packet %d: payload %d bytes" % (i, len(p["payload"])))
        if i == 0:
            continue
        q = packets[i - 1]
        if p["ssrc"] != q["ssrc"]:
            problems.append("packet %d: SSRC %08x after %08x" % (i, p["ssrc"], q["ssrc"]))
        if (p["seq"] - q["seq"]) & 0xFFFF != 1:
            problems.append("packet %d: seq %d after %d" % (i, p["seq"], q["seq"]))
        if (p["ts"] - q["ts"]) & 0xFFFFFFFF != step_ts:
            problems.append("packet %d: ts %d after %d (step %d)" % (
                i, p["ts"], q["ts"], (p["ts"] - q["ts"]) & 0xFFFFFFFF))
        if len(problems) > 20:
            problems.append("...")
            break
    return problems


def in_seq_order(packets):
    """The packets sorted by extended sequence number (UDP on loopback does not reorder, but
    the analysis should not depend on it)."""
    if not packets:
        return []
    out, ext, last = [], 0, packets[0]["seq"]
    for p in packets:
        delta = (p["seq"] - last) & 0xFFFF
        if delta >= 0x8000:
            delta -= 0x10000
        ext += delta
        last = p["seq"]
        out.append((ext, p))
    return [p for _, p in sorted(out, key=lambda t: t[0])]


# --- G.711 ---------------------------------------------------------------------------------------

def _ulaw_to_linear(u):
    u = ~u & 0xFF
    t = ((u & 0x0F) << 3) + 0x84
    t <<= (u & 0x70) >> 4
    return (0x84 - t) if (u & 0x80) else (t - 0x84)


def _alaw_to_linear(a):
    a ^= 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t += 0x108
        t <<= seg - 1
    return t if (a & 0x80) else -t


ULAW_TABLE = [_ulaw_to_linear(i) for i in range(256)]
ALAW_TABLE = [_alaw_to_linear(i) for i in range(256)]


def ulaw_decode(data):
    return [ULAW_TABLE[b] for b in data]


def alaw_decode(data):
    return [ALAW_TABLE[b] for b in data]


def decode_payload(payload, pt):
    if pt == PT_PCMU:
        return ulaw_decode(payload)
    if pt == PT_PCMA:
        return alaw_decode(payload)
    raise ValueError("payload type %d is not G.711" % pt)


def ulaw_encode_sample(sample):
    """One 16-bit linear sample to µ-law (G.711, bias 0x84, clip 32635)."""
    sign = 0x80 if sample < 0 else 0
    if sample < 0:
        sample = -sample
    sample = min(sample, 32635) + 0x84
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not (sample & mask):
        exponent -= 1
        mask >>= 1
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def ulaw_encode(samples):
    return bytes(ulaw_encode_sample(int(s)) for s in samples)


def alaw_encode_sample(sample):
    """One 16-bit linear sample to A-law (G.711)."""
    sign = 0x80 if sample >= 0 else 0
    magnitude = min(abs(int(sample)), 32767) >> 3     # 13-bit magnitude
    if magnitude < 32:
        code = magnitude >> 1
    else:
        segment = magnitude.bit_length() - 5           # 1..7
        code = (segment << 4) | ((magnitude >> segment) & 0x0F)
    return (sign | code) ^ 0x55


def alaw_encode(samples):
    return bytes(alaw_encode_sample(int(s)) for s in samples)


# --- speech measures -----------------------------------------------------------------------------

def rms(samples):
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def frame_levels(packets):
    """RMS of each packet's decoded 20 ms frame, in the given (sequence) order."""
    return [rms(decode_payload(p["payload"], p["pt"])) for p in packets]


def voiced_segments(levels, threshold=300.0, min_gap_frames=25):
    """Runs of voiced frames (RMS above THRESHOLD); runs separated by fewer than MIN_GAP_FRAMES
    unvoiced frames are merged (pauses between words). Returns [(first, last)] frame indices."""
    segments = []
    for i, level in enumerate(levels):
        if level <= threshold:
            continue
        if segments and i - segments[-1][1] - 1 < min_gap_frames:
            segments[-1] = (segments[-1][0], i)
        else:
            segments.append((i, i))
    return segments


def speech_measure(levels, threshold=300.0):
    """(span_ms, voiced_ms): from the first to the last voiced frame inclusive, and the total
    time of voiced frames; both in frames of 20 ms, so independent of arrival times."""
    voiced = [i for i, level in enumerate(levels) if level > threshold]
    if not voiced:
        return 0, 0
    return (voiced[-1] - voiced[0] + 1) * FRAME_MS, len(voiced) * FRAME_MS


# --- audio files ---------------------------------------------------------------------------------

def write_wav(path, samples, rate):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(array.array("h", [max(-32768, min(32767, int(s))) for s in samples])
                      .tobytes())


def tone(seconds, rate, freq=440.0, amplitude=8000.0):
    n = int(round(seconds * rate))
    return [amplitude * math.sin(2 * math.pi * freq * i / rate) for i in range(n)]


def silence(seconds, rate):
    return [0] * int(round(seconds * rate))


def speechlike(seconds, rate, seed=7):
    """Noise bursts of 150 ms with 60 ms gaps: voiced like words, with pauses shorter than a
    segment gap."""
    rnd = random.Random(seed)
    out = []
    n = int(round(seconds * rate))
    burst, gap = int(0.15 * rate), int(0.06 * rate)
    while len(out) < n:
        out += [rnd.uniform(-6000, 6000) for _ in range(burst)]
        out += [0] * gap
    return out[:n]


# --- pcap (for the fake UAS: SIPp's play_pcap_audio replays it) ----------------------------------

def write_rtp_pcap(path, rtp_packets, interval_s=0.02, src=("127.0.0.1", 7000),
                   dst=("127.0.0.1", 7002)):
    """An Ethernet pcap of UDP datagrams carrying RTP_PACKETS, INTERVAL_S apart."""
    def checksum(data):
        if len(data) % 2:
            data += b"\0"
        s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
        while s >> 16:
            s = (s & 0xFFFF) + (s >> 16)
        return ~s & 0xFFFF

    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t0 = 1_700_000_000.0
        for i, rtp in enumerate(rtp_packets):
            udp_len = 8 + len(rtp)
            udp = struct.pack("!HHHH", src[1], dst[1], udp_len, 0) + rtp
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, i & 0xFFFF, 0, 64, 17, 0,
                             socket.inet_aton(src[0]), socket.inet_aton(dst[0]))
            ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
            ethernet = b"\x00\x11\x22\x33\x44\x55" + b"\x66\x77\x88\x99\xaa\xbb" + b"\x08\x00"
            frame = ethernet + ip + udp
            t = t0 + i * interval_s
            sec = int(t)
            usec = int(round((t - sec) * 1e6))
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
            f.write(frame)


def g711_rtp_stream(samples_8k, pt=PT_PCMU, ssrc=0x1234ABCD, seq0=1000, ts0=80000):
    """RTP packets (bytes) of G.711 20 ms frames (PT 0 µ-law, PT 8 A-law) for 8 kHz
    SAMPLES_8K."""
    encode = ulaw_encode if pt == PT_PCMU else alaw_encode
    out = []
    frames = len(samples_8k) // FRAME_SAMPLES
    for i in range(frames):
        chunk = samples_8k[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES]
        out.append(build_rtp(pt, seq0 + i, ts0 + i * FRAME_SAMPLES, ssrc,
                             encode(chunk), marker=(i == 0)))
    return out


# --- raw SIP -------------------------------------------------------------------------------------

def sip_options(port, host="127.0.0.1", timeout=0.5):
    """Sends one OPTIONS over UDP; returns the response's status code, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 0))
        s.settimeout(timeout)
        lport = s.getsockname()[1]
        tag = "%08x" % random.getrandbits(32)
        branch = "z9hG4bK-ping-%08x" % random.getrandbits(32)
        msg = ("OPTIONS sip:ping@%s:%d SIP/2.0\r\n"
               "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport\r\n"
               "Max-Forwards: 70\r\n"
               "From: <sip:probe@127.0.0.1:%d>;tag=%s\r\n"
               "To: <sip:ping@%s:%d>\r\n"
               "Call-ID: ping-%s@127.0.0.1\r\n"
               "CSeq: 1 OPTIONS\r\n"
               "Accept: application/sdp\r\n"
               "Content-Length: 0\r\n\r\n") % (host, port, lport, branch, lport, tag, host, port,
                                               tag)
        s.sendto(msg.encode(), (host, port))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data, _ = s.recvfrom(65535)
            except socket.timeout:
                return None
            m = re.match(rb"SIP/2\.0 (\d{3})", data)
            if m and int(m.group(1)) >= 200:
                return int(m.group(1))
        return None
    except OSError:
        return None
    finally:
        s.close()


# --- baresip (a second SIP client, driven through its ctrl_tcp module) ---------------------------

BARESIP_MODULES = "/usr/lib/baresip/modules"


def baresip_missing():
    """Why baresip cannot run here, or None."""
    if not shutil.which("baresip"):
        return "baresip is not installed (apt-get install baresip-core)"
    for module in ("g711.so", "aufile.so", "alsa.so", "account.so", "menu.so", "ctrl_tcp.so"):
        if not os.path.exists(os.path.join(BARESIP_MODULES, module)):
            return "baresip module %s is missing" % module
    return None


class Baresip:
    """baresip 1.0 with no audio device and no terminal UI: the audio source is a WAV file
    (aufile), the player ALSA's null device, SIP on 127.0.0.1:sip_port, and commands as JSON
    netstrings on its ctrl_tcp socket (dial, sndcode for DTMF, hangup, quit), which also
    reports the call events (CALL_ESTABLISHED, CALL_CLOSED...). Runs at most LIFETIME seconds
    (-t), whatever happens."""

    def __init__(self, workdir, source_wav, lifetime=30):
        os.makedirs(workdir, exist_ok=True)
        self.workdir = workdir
        # baresip also binds SIP over TLS on the next port: both must be free.
        self.sip_port = free_port(udp=True, tcp=True, span=2)
        self.ctrl_port = free_port(udp=False, tcp=True)
        rtp = free_port(udp=True, span=20)
        with open(os.path.join(workdir, "config"), "w") as f:
            f.write("poll_method\tepoll\n"
                    "net_interface\t127.0.0.1\n"
                    "sip_listen\t127.0.0.1:%d\n"
                    "sip_trans_def\tudp\n"
                    "audio_player\talsa,null\n"
                    "audio_alert\talsa,null\n"
                    "audio_source\taufile,%s\n"
                    "rtp_ports\t%d-%d\n"
                    "module_path\t%s\n"
                    "module\tg711.so\n"
                    "module\taufile.so\n"
                    "module\talsa.so\n"
                    "module_app\taccount.so\n"
                    "module_app\tmenu.so\n"
                    "module_app\tctrl_tcp.so\n"
                    "ctrl_tcp_listen\t127.0.0.1:%d\n"
                    % (self.sip_port, source_wav, rtp, rtp + 18, BARESIP_MODULES,
                       self.ctrl_port))
        with open(os.path.join(workdir, "accounts"), "w") as f:
            f.write("<sip:tester@127.0.0.1>;regint=0\n")
        self.log_path = os.path.join(workdir, "baresip.log")
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(["baresip", "-f", workdir, "-t", str(int(lifetime))],
                                        stdin=subprocess.DEVNULL, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        self.events = []
        self.sock = None
        self._buf = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=0.5)
                break
            except OSError:
                time.sleep(0.05)
        if self.sock:
            self.sock.settimeout(0.1)

    def ready(self):
        return self.sock is not None

    def command(self, name, params=None):
        message = {"command": name, "token": name}
        if params is not None:
            message["params"] = params
        data = json.dumps(message).encode()
        self.sock.sendall(b"%d:%s," % (len(data), data))

    def wait_event(self, kind, timeout):
        """Reads events until one of type KIND (returned) or TIMEOUT seconds (None)."""
        deadline = time.monotonic() + timeout
        while True:
            while b":" in self._buf:
                size, rest = self._buf.split(b":", 1)
                try:
                    n = int(size)
                except ValueError:
                    self._buf = b""
                    break
                if len(rest) < n + 1:
                    break
                try:
                    message = json.loads(rest[:n].decode("utf-8", "replace"))
                except ValueError:
                    message = {"raw": rest[:n].decode("utf-8", "replace")}
                self._buf = rest[n + 1:]
                self.events.append(message)
                if message.get("type") == kind:
                    return message
            if time.monotonic() >= deadline:
                return None
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return None
            if not chunk:
                return None
            self._buf += chunk

    def stop(self):
        if self.sock:
            try:
                self.command("quit")
            except OSError:
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        if self.sock:
            self.sock.close()
        self.log.close()
        return self.process.returncode

    def output(self):
        return _read(self.log_path)
