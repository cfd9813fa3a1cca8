#!/usr/bin/env python3
"""`callflow serve --sip` under the two public SIP torture corpora of ../shared/corpora/
(see its README.md): the 50 RFC 4475 torture messages, and the PROTOS c07-sip INVITE suite.

Usage: torture_test.py PATH_TO_callflow REPO_ROOT [--all]

The server runs on 127.0.0.1 (free ports, a temporary SQLite database, --max-calls 50) with the
flow tests/sip/torture/short_call.json: "Hello", a digit capture that times out after 2 s, Hangup.
A liveness probe is a valid OPTIONS over UDP that must get a 200 within 2 s x SLOW.

RFC 4475: each .dat file goes to the server as one UDP datagram, bytes exactly as stored. The
server answers a UDP request at the source address and the port of the top Via (default 5060;
the source port only with ;rport), so the test also listens on 127.0.0.1 at those ports (5060,
5050) to see the answers; each answer is matched to its file by Call-ID. Final answers to an
INVITE are acknowledged (and a call that was answered with a 2xx is ended with a BYE), so that
nothing is retransmitted into the next file's window. After each file the server must be alive.
What the server answered is printed for every file with what RFC 4475 expects; only what must
hold is asserted (no answer to a response, no 2xx to a request that must be rejected, 405/501 and
never 400 to the unknown method); an answer that differs from the RFC's but is harmless is a
"note" line, not a failure.

PROTOS c07-sip: the tarball is unpacked into a temporary folder; by default a deterministic
sample runs (case 0 and every 15th case, about 300), with --all the 4,527 cases. Each case: the
placeholders are filled (To = the server, From/From-Address/From-IP/Local-Port = a fresh UDP
socket of ours, a fresh Branch-ID and Call-ID, CSeq 1, Content-Length computed after filling),
the INVITE is sent, its answers are collected for up to 150 ms x SLOW (less once a final answer
came), then the case's teardown: CANCEL when no final answer came, else ACK then BYE (the
teardown template with the From, To and Call-ID of the final answer, so that the ACK and the BYE
reach the dialog the server made; a new branch for the ACK of a 2xx and for the BYE), then the
liveness probe. The server must be alive after every case (one check per group, naming the first
failing case; the input of a case after which the server died or hung is saved under /tmp and
the server restarted). At the end, once the calls had time to end, `callflow calls list --db`
must show no call record still "open" (/metrics has no gauge of the calls in progress).

Finally the server must still be running and its stderr must hold no sanitizer report.

When ../shared/corpora (or $CALLFLOW_CORPORA) is missing, the test says so and exits 0.

Python 3 standard library only. Every check prints "ok"/"FAIL" and its name, the end prints
"N passed, M failed", and the exit status is non-zero when any check failed. Every wait is
bounded and scaled by SLOW (CALLFLOW_TEST_SLOWDOWN, else 4 for a sanitizer build). The server is
always killed at the end.
"""
import collections
import glob
import json
import os
import random
import re
import select
import socket
import sys
import tarfile
import tempfile
import time
import traceback

ARGS = [a for a in sys.argv[1:] if a != "--all"]
ALL = "--all" in sys.argv[1:]
if len(ARGS) != 2:
    sys.exit("usage: torture_test.py PATH_TO_callflow REPO_ROOT [--all]")
CALLFLOW = os.path.abspath(ARGS[0])
ROOT = os.path.abspath(ARGS[1])
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, os.path.join(ROOT, "tests", "sip"))
sys.path.insert(0, os.path.join(ROOT, "tests", "hostile"))
import harness  # noqa: E402
import sipkit  # noqa: E402
from sipwire import first, ok_to_request, parse, status_of  # noqa: E402

FLOW = os.path.join(ROOT, "tests", "sip", "torture", "short_call.json")
CORPORA = os.path.abspath(os.environ.get("CALLFLOW_CORPORA")
                          or os.path.join(ROOT, "..", "shared", "corpora"))
RFC4475_DIR = os.path.join(CORPORA, "rfc4475")
PROTOS_TARBALL = os.path.join(CORPORA, "protos-c07-sip.tar.gz")
CRASH_DIR = "/tmp"

# Every wait is scaled by this (CALLFLOW_TEST_SLOWDOWN, else 4 for a sanitizer build).
SLOW = harness.slowdown(CALLFLOW)
# Any line naming a sanitizer counts here, not only the first line of a report.
SANITIZER_MARKS = harness.SANITIZER_MARKS + ("AddressSanitizer", "UndefinedBehaviorSanitizer")

RFC_WINDOW = 0.3          # seconds to collect the answers to one RFC 4475 file (x SLOW)
PROTOS_WINDOW = 0.15      # seconds to collect the answers to one PROTOS INVITE (x SLOW)
PROBE_TIMEOUT = 2.0       # the liveness OPTIONS must be answered within this (x SLOW)
MAX_RESTARTS = 5          # server restarts after a crash or hang before giving up

t = harness.Checks()


# --- the server ----------------------------------------------------------------------------------

class Server(harness.Serve):
    """One `callflow serve --sip` process on the torture flow, ready once it answers an OPTIONS;
    stderr goes to a file that the checks read. A restart (after a crash) is a new Server, with
    NUMBER one higher: a new database, new ports, its own stderr file."""

    def __init__(self, work, number):
        # Below the ephemeral range (32768-) and above sip_test.py's ports (20000-24599).
        base = 25000 + 500 * (os.getpid() % 15)
        super().__init__(CALLFLOW, work, sip=True, slow=SLOW, name="serve-%d" % number, args=[
            "--flow", FLOW, "--max-calls", "50", "--rtp-ports", "%d-%d" % (base, base + 399)])

    def start(self):
        super().start(wait=False)
        return self.wait_ready(10)

    def ready(self):
        return sipkit.sip_options(self.sip_port, timeout=0.2) == 200

    def probe(self, timeout=PROBE_TIMEOUT):
        """The liveness probe: a valid OPTIONS (own Call-ID and branch) answered 200 in time."""
        return sipkit.sip_options(self.sip_port, timeout=timeout * SLOW)

    def db_queue(self):
        """The writes /healthz says are waiting for the database, or None."""
        status, body = self.healthz()
        try:
            return int(body.get("dbQueue")) if status == 200 else None
        except (AttributeError, ValueError, TypeError):
            return None


# --- SIP messages --------------------------------------------------------------------------------

def cseq_of(headers):
    """(number, METHOD) of the CSeq header; (None, the raw value) when it has no number, (None,
    None) when there is none. Unlike sipwire.cseq_of, an odd CSeq still names its method."""
    value = first(headers, "cseq") or ""
    m = re.match(r"(\d+)\s+(\S+)", value)
    return (int(m.group(1)), m.group(2).upper()) if m else (None, value.upper() or None)


def contact_uri(headers, fallback):
    value = first(headers, "contact") or ""
    m = re.search(r"<([^>]*)>", value)
    if m:
        return m.group(1)
    value = value.split(";", 1)[0].strip()
    return value or fallback


def new_branch():
    return "z9hG4bK-tort-%016x" % random.getrandbits(64)


def ack_for_final(response_headers, request_uri):
    """The ACK of a non-2xx final answer to an INVITE (RFC 3261 17.1.1.3): the INVITE's top Via
    (echoed first in the answer), From, Call-ID and CSeq number, the answer's To."""
    via = first(response_headers, "via") or ""
    number, _ = cseq_of(response_headers)
    lines = ["ACK %s SIP/2.0" % request_uri, "Via: %s" % via, "Max-Forwards: 70"]
    for name, label in (("from", "From"), ("to", "To"), ("call-id", "Call-ID")):
        value = first(response_headers, name)
        if value is not None:
            lines.append("%s: %s" % (label, value))
    lines += ["CSeq: %s ACK" % (number if number is not None else 1), "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def in_dialog(method, response_headers, target, local_port, cseq):
    """An ACK of a 2xx or a BYE: a new transaction of ours in the dialog the answer made."""
    lines = ["%s %s SIP/2.0" % (method, target),
             "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport" % (local_port, new_branch()),
             "Max-Forwards: 70"]
    for name, label in (("from", "From"), ("to", "To"), ("call-id", "Call-ID")):
        value = first(response_headers, name)
        if value is not None:
            lines.append("%s: %s" % (label, value))
    lines += ["CSeq: %d %s" % (cseq, method), "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# --- RFC 4475 ------------------------------------------------------------------------------------

# What RFC 4475 (and the corpus README, for an endpoint) expects of each file, and what the test
# asserts. "ideal": the answers that match the RFC (status codes; None = no answer, "2xx" = any
# 2xx); an answer outside it is a note. "must": what is asserted besides liveness:
#   "silent"  - no answer at all (a response that matches no transaction)
#   "no2xx"   - a request the RFC says to reject: never a 2xx
#   "405/501" - an unknown method: 405 or 501, never 400
#   "exact"   - an answer in "ideal", and nothing else
#   "nocall"  - no 2xx that opens a dialog (a Contact or an SDP body): mismatch01, an OPTIONS
#               with CSeq INVITE, gets the capabilities 200 of an OPTIONS (a note), which
#               starts nothing; a 2xx that answered it as an INVITE would fail
RFC_CASES = {
    # 3.1.1 valid messages
    "wsinv": ("3.1.1.1", "valid INVITE, To has a tag: in-dialog for an unknown dialog -> 481",
              {481}, None),
    "intmeth": ("3.1.1.2", "valid, unknown method -> 405/501, never 400", {405, 501}, "405/501"),
    "esc01": ("3.1.1.3", "valid INVITE -> handled (call answered, or rejected on its SDP)",
              {"2xx", 488, 415, 486}, None),
    "escnull": ("3.1.1.4", "valid REGISTER -> handled (405/501 from a non-registrar)",
                {405, 501, "2xx"}, None),
    "esc02": ("3.1.1.5", "valid, unknown method RE%47IST%45R -> 405/501", {405, 501}, "405/501"),
    "lwsdisp": ("3.1.1.6", "valid OPTIONS -> 200", {"2xx"}, None),
    "longreq": ("3.1.1.7", "valid INVITE (long values) -> handled", {"2xx", 481, 488, 415}, None),
    "dblreq": ("3.1.1.8", "valid REGISTER, trailing octets ignored -> 405/501, INVITE unanswered",
               {405, 501, "2xx"}, None),
    "semiuri": ("3.1.1.9", "valid OPTIONS -> 200 (or 404 for the user)", {"2xx", 404}, None),
    "transports": ("3.1.1.10", "valid OPTIONS -> 200", {"2xx"}, None),
    "mpart01": ("3.1.1.11", "valid MESSAGE -> handled (405/501 when MESSAGE is not supported)",
                {405, 501, 415, "2xx"}, None),
    "unreason": ("3.1.1.12", "response matching no transaction -> dropped", {None}, "silent"),
    "noreason": ("3.1.1.13", "response matching no transaction -> dropped", {None}, "silent"),
    # 3.1.2 invalid messages
    "badinv01": ("3.1.2.1", "invalid -> 400 (or a silent drop)", {400}, "no2xx"),
    "clerr": ("3.1.2.2", "invalid over UDP -> 400 (or a silent drop)", {400}, "no2xx"),
    "ncl": ("3.1.2.3", "invalid -> an error, 400 (or a silent drop)", {400}, "no2xx"),
    "scalar02": ("3.1.2.4", "invalid (CSeq overflow) -> 400", {400}, "no2xx"),
    "scalarlg": ("3.1.2.5", "invalid response -> dropped", {None}, "silent"),
    "quotbal": ("3.1.2.6", "invalid -> 400, or accepted inferring the quote",
                {400, None, "2xx"}, None),
    "ltgtruri": ("3.1.2.7", "invalid -> 400 (or ignore the <>)", {400}, "no2xx"),
    "lwsruri": ("3.1.2.8", "invalid -> 400", {400}, "no2xx"),
    "lwsstart": ("3.1.2.9", "invalid -> 400, or accepted ignoring the extra SP",
                 {400, "2xx"}, None),
    "trws": ("3.1.2.10", "invalid -> 400, or accepted ignoring the trailing SP", {400, "2xx"},
             None),
    "escruri": ("3.1.2.11", "invalid -> 400, or accepted ignoring the escaped headers",
                {400, "2xx"}, None),
    "baddate": ("3.1.2.12", "invalid Date -> 400, or accepted ignoring the Date",
                {400, "2xx"}, None),
    "regbadct": ("3.1.2.13", "invalid REGISTER -> 400 (405/501 from a non-registrar)",
                 {400, 405, 501}, None),
    "badaspec": ("3.1.2.14", "invalid -> 400, or accepted ignoring the spaces", {400, "2xx"},
                 None),
    "baddn": ("3.1.2.15", "invalid -> 400, or accepted inferring the quotes", {400, "2xx"}, None),
    "badvers": ("3.1.2.16", "SIP/7.0 -> 505", {505}, "no2xx"),
    "mismatch01": ("3.1.2.17", "OPTIONS with CSeq INVITE -> 400", {400}, "exact"),
    "mismatch02": ("3.1.2.18", "unknown method and CSeq mismatch -> 501 (or 400)", {501, 400},
                   "no2xx"),
    "bigcode": ("3.1.2.19", "invalid response -> dropped", {None}, "silent"),
    # 3.2 transaction layer
    "badbranch": ("3.2.1", "branch is only the magic cookie -> 400, or handled (200)",
                  {400, "2xx"}, None),
    # 3.3 application layer
    "insuf": ("3.3.1", "no Call-ID, From, To -> 400", {400}, "no2xx"),
    "unkscm": ("3.3.2", "unknown Request-URI scheme -> 416", {416}, "exact"),
    "novelsc": ("3.3.3", "soap.beep Request-URI -> 416 (unless supported)", {416}, "exact"),
    "unksm2": ("3.3.4", "REGISTER, unknown schemes in To/From/Contact: well formed -> handled "
               "(405/501 from a non-registrar, 400/416 acceptable)", {400, 405, 416, 501}, None),
    "bext01": ("3.3.5", "Require: nothingSupported -> 420 with Unsupported", {420}, "exact"),
    "invut": ("3.3.6", "unknown Content-Type -> 415 with Accept", {415}, "exact"),
    "regaut01": ("3.3.7", "REGISTER, unknown auth scheme -> 405 from a non-registrar",
                 {405, 501, 401}, None),
    "multi01": ("3.3.8", "several values in single-value fields -> 400", {400}, "no2xx"),
    "mcl01": ("3.3.9", "conflicting Content-Length values -> an error (400)", {400}, None),
    "bcast": ("3.3.10", "200 OK matching no transaction -> dropped", {None}, "silent"),
    "zeromf": ("3.3.11", "Max-Forwards: 0 at an endpoint -> processed, 200", {"2xx"}, None),
    "cparam01": ("3.3.12", "valid REGISTER -> 405/501 from a non-registrar", {405, 501, "2xx"},
                 None),
    "cparam02": ("3.3.13", "valid REGISTER -> 405/501 from a non-registrar", {405, 501, "2xx"},
                 None),
    "regescrt": ("3.3.14", "valid REGISTER -> 405/501 from a non-registrar", {405, 501, "2xx"},
                 None),
    "sdp01": ("3.3.15", "Accept without application/sdp -> 406 or 400", {406, 400}, "no2xx"),
    # 3.4 backward compatibility
    "inv2543": ("3.4.1", "RFC 2543 INVITE (no branch, no From tag) -> handled normally",
                {"2xx", 488, 415, 400}, None),
    "test": ("-", "in no section: request line without SIP-Version -> 400 or a silent drop",
             {400, None}, "no2xx"),
}

VIA_PORT = re.compile(rb"(?im)^(?:via|v)[ \t]*:[ \t]*SIP[ \t]*/[ \t]*[^/\r\n]+/[ \t]*[A-Za-z]+"
                      rb"[ \t]+\[?[^\s;:,\]]+\]?(?::[ \t]*(\d+))?")
CALL_ID = re.compile(rb"(?im)^(?:call-id|i)[ \t]*:[ \t]*(\S[^\r\n]*?)[ \t]*\r?$")


def reply_ports(data):
    """Where the server answers a UDP request with no rport: the top Via's port, else 5060."""
    m = VIA_PORT.search(data)
    if m and m.group(1):
        port = int(m.group(1))
        return [port] if 0 < port < 65536 else [5060]
    return [5060]


def matches(code, ideal):
    if code is None:
        return None in ideal
    return code in ideal or (200 <= code < 300 and "2xx" in ideal)


def describe(answers):
    if not answers:
        return "nothing"
    return ", ".join("%s %s" % (code, method or "?") for code, method in answers)


class Listener:
    """UDP sockets on 127.0.0.1 where the answers to the torture messages arrive."""

    def __init__(self, ports):
        self.socks = []
        self.failed = []
        for port in sorted(set(ports)):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.bind(("127.0.0.1", port))
                self.socks.append(s)
            except OSError:
                s.close()
                self.failed.append(port)

    def close(self):
        for s in self.socks:
            s.close()


def rfc4475(c):
    files = sorted(glob.glob(os.path.join(RFC4475_DIR, "*.dat")))
    if not files:
        t.skip("RFC 4475", "no .dat file in %s" % RFC4475_DIR)
        return
    messages = {}
    owner = {}            # Call-ID -> file name
    for path in files:
        name = os.path.splitext(os.path.basename(path))[0]
        with open(path, "rb") as f:
            messages[name] = f.read()
        for m in CALL_ID.finditer(messages[name]):
            owner.setdefault(m.group(1).decode("latin-1"), name)
    ports = set()
    for data in messages.values():
        if not re.match(rb"SIP/", data):
            ports.update(reply_ports(data))
    listener = Listener(ports)
    if listener.failed:
        t.note("RFC 4475: cannot listen on 127.0.0.1:%s (in use): answers sent there are not seen"
               % ",".join(map(str, listener.failed)))
    server = c.server
    results = {}
    dialogs = set()       # files answered with a 2xx that opened a dialog
    logs = {}             # file -> what the server wrote on stderr while it was handled
    rows = []
    try:
        for name, data in messages.items():
            sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sender.bind(("127.0.0.1", 0))
            local_port = sender.getsockname()[1]
            request_line = data.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            request_uri = (request_line[1] if len(request_line) > 1 and request_line[1]
                           else "sip:ivr@127.0.0.1:%d" % server.sip_port)
            answers = []
            stray = []
            acked = set()
            target = ("127.0.0.1", server.sip_port)

            def handle(datagram):
                start, headers = parse(datagram)
                code = status_of(start)
                if code is None:
                    stray.append("request " + start[:60])
                    return
                callid = first(headers, "call-id")
                belongs = owner.get(callid, name if callid is None else None)
                number, method = cseq_of(headers)
                if belongs is None:
                    stray.append("%d %s (Call-ID %s)" % (code, method, callid))
                    return
                results.setdefault(belongs, [])
                entry = (code, method)
                if 200 <= code < 300 and (first(headers, "contact") is not None
                                          or b"\r\n\r\nv=" in datagram):
                    dialogs.add(belongs)
                if belongs == name and entry not in answers:
                    answers.append(entry)
                elif belongs != name and entry not in results[belongs]:
                    results[belongs].append(entry)
                # Acknowledge final answers to an INVITE, once per (Call-ID, code).
                if method == "INVITE" and code >= 200 and (callid, code) not in acked:
                    acked.add((callid, code))
                    if code < 300 and first(headers, "contact") is not None:
                        contact = contact_uri(headers, request_uri)
                        sender.sendto(in_dialog("ACK", headers, contact, local_port,
                                                number or 1), target)
                        sender.sendto(in_dialog("BYE", headers, contact, local_port,
                                                (number or 1) + 1), target)
                    elif code >= 300:
                        sender.sendto(ack_for_final(headers, request_uri), target)

            log_start = os.path.getsize(server.err_path)
            sender.sendto(data, target)
            deadline = time.monotonic() + RFC_WINDOW * SLOW
            socks = listener.socks + [sender]
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                ready, _, _ = select.select(socks, [], [], left)
                for s in ready:
                    try:
                        datagram, _ = s.recvfrom(65535)
                    except OSError:
                        continue
                    handle(datagram)
            results.setdefault(name, [])
            results[name][:0] = answers
            running = server.running()
            probe = server.probe() if running else None
            sender.close()
            with open(server.err_path, "rb") as f:
                f.seek(log_start)
                logs[name] = [line for line in f.read().decode("utf-8", "replace").splitlines()
                              if line.strip()]
            section, expect, ideal, must = RFC_CASES.get(name, ("?", "(not in the table)",
                                                                {None}, None))
            alive = running and probe == 200
            t.check("rfc4475 %-10s (%s): server alive after it (OPTIONS %s, running %s)"
                    % (name, section, probe, running), alive, server.stderr()[-3000:])
            if stray:
                t.info("rfc4475 %s: also received %s" % (name, "; ".join(stray[:5])))
            if not alive:
                save = os.path.join(CRASH_DIR, "callflow-torture-rfc4475-%s.dat" % name)
                with open(save, "wb") as f:
                    f.write(data)
                t.info("the input is saved as %s" % save)
                if not c.restart("rfc4475 " + name):
                    return
                server = c.server
            rows.append((name, section, expect, ideal, must))
        c.answered += len(dialogs)
        # Late answers (retransmissions) were attributed too; judge once all are in.
        print("     RFC 4475: file, section, what the server answered (status and CSeq method of "
              "each distinct answer), what RFC 4475 expects", flush=True)
        for name, section, expect, ideal, must in rows:
            answers = results.get(name, [])
            finals = [code for code, method in answers if code >= 200] or [None]
            conform = all(matches(code, ideal) for code in finals)
            line = "%-10s %-8s answered %-34s expected: %s" % (name, section, describe(answers),
                                                                expect)
            if must == "silent":
                t.check("rfc4475 %s: no answer to a response" % name, not answers, line)
            elif must == "no2xx":
                t.check("rfc4475 %s: no 2xx to an invalid request (%s)" % (name,
                        describe(answers)), not any(200 <= code < 300 for code, _ in answers),
                        line)
            elif must == "nocall":
                t.check("rfc4475 %s: no 2xx that opens a dialog (%s)" % (name, describe(answers)),
                        name not in dialogs, line)
            elif must == "exact":
                t.check("rfc4475 %s: answered as RFC 4475 says (%s)" % (name, describe(answers)),
                        finals != [None] and conform, line)
            elif must == "405/501":
                t.check("rfc4475 %s: the unknown method gets 405 or 501, never 400 (%s)"
                        % (name, describe(answers)),
                        finals != [None] and all(code in (405, 501) for code in finals), line)
            if conform:
                t.info("pass " + line)
            else:
                t.note("rfc4475 " + line)
            if logs.get(name) and (not conform or not answers):
                t.info("           server stderr meanwhile: " + " | ".join(logs[name][:3])[:300])
    finally:
        listener.close()


# --- PROTOS c07-sip ------------------------------------------------------------------------------

PROTOS_GROUPS = [
    ("valid", 0, 0), ("sip-method", 1, 193), ("sip-request-uri", 194, 254),
    ("sip-version", 255, 329), ("sip-via-host", 330, 435), ("sip-via-hostcolon", 436, 451),
    ("sip-via-hostport", 452, 497), ("sip-via-version", 498, 572), ("sip-via-tag", 573, 629),
    ("sip-from-displayname", 630, 822), ("sip-from-tag", 823, 879),
    ("sip-from-colon", 880, 895), ("sip-from-uri", 896, 956),
    ("sip-contact-displayname", 957, 1149), ("sip-contact-uri", 1150, 1210),
    ("sip-contact-left-paranthesis", 1211, 1226), ("sip-contact-right-paranthesis", 1227, 1242),
    ("sip-to", 1243, 1435), ("sip-to-left-paranthesis", 1436, 1451),
    ("sip-to-right-paranthesis", 1452, 1467), ("sip-call-id-value", 1468, 1660),
    ("sip-call-id-at", 1661, 1676), ("sip-call-id-ip", 1677, 1782), ("sip-expires", 1783, 1828),
    ("sip-max-forwards", 1829, 1874), ("sip-cseq-integer", 1875, 1920),
    ("sip-cseq-string", 1921, 2113), ("sip-content-type", 2114, 2360),
    ("sip-content-length", 2361, 2406), ("sip-request-crlf", 2407, 2416),
    ("crlf-request", 2417, 2426), ("sdp-attribute-crlf", 2427, 2436),
    ("sdp-proto-v-identifier", 2437, 2629), ("sdp-proto-v-equal", 2630, 2645),
    ("sdp-proto-v-integer", 2646, 2691), ("sdp-origin-username", 2692, 2884),
    ("sdp-origin-sessionid", 2885, 2930), ("sdp-origin-networktype", 2931, 3123),
    ("sdp-origin-ip", 3124, 3229), ("sdp-session", 3230, 3422),
    ("sdp-connection-networktype", 3423, 3610), ("sdp-connection-ip", 3611, 3716),
    ("sdp-time-start", 3717, 3762), ("sdp-time-stop", 3763, 3763),
    ("sdp-media-media", 3764, 3956), ("sdp-media-port", 3957, 4002),
    ("sdp-media-transport", 4003, 4120), ("sdp-media-type", 4121, 4166),
    ("sdp-attribute-rtpmap", 4167, 4284), ("sdp-attribute-colon", 4285, 4300),
    ("sdp-attribute-payloadtype", 4301, 4346), ("sdp-attribute-encodingname", 4347, 4464),
    ("sdp-attribute-slash", 4465, 4480), ("sdp-attribute-clockrate", 4481, 4526),
]


def group_of(number):
    for name, low, high in PROTOS_GROUPS:
        if low <= number <= high:
            return name
    return "?"


def split_case(raw):
    """A case file: "LENGTH SP BYTES" twice (the INVITE, the teardown)."""
    out = []
    i = 0
    while i < len(raw):
        while i < len(raw) and raw[i:i + 1] in (b"\r", b"\n", b" "):
            i += 1
        m = re.match(rb"(\d+) ", raw[i:i + 12])
        if not m:
            break
        n = int(m.group(1))
        start = i + m.end()
        out.append(raw[start:start + n])
        i = start + n
    return out


def fill(template, values):
    """The placeholders replaced; Content-Length is the body's length after filling."""
    out = template
    for key, value in values.items():
        out = out.replace(b"<" + key.encode() + b">", value.encode())
    body = out.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in out else b""
    return out.replace(b"<Content-Length>", str(len(body)).encode())


def replace_header(message, name, value):
    """MESSAGE with the first header NAME's line (full name) replaced by NAME: VALUE."""
    if value is None:
        return message
    pattern = re.compile(rb"(?im)^" + re.escape(name.encode()) + rb"[ \t]*:[^\r\n]*")
    return pattern.sub(lambda _m: name.encode() + b": " + value.encode("latin-1"), message,
                       count=1)


class ProtosStats:
    def __init__(self):
        self.run = 0
        self.first_fail = None
        self.failures = []
        self.answers = collections.Counter()
        self.server_errors = []
        self.no_tag = []
        self.busy = 0


def run_protos_case(c, number, invite_t, teardown_t, nonce):
    """One PROTOS case: the INVITE, its answers, the teardown, the liveness probe. Returns
    (alive, the final answer's status or None, whether that answer is a 2xx without a To tag,
    every (status, CSeq method) received, the messages sent, (running, probe status))."""
    server = c.server
    target = ("127.0.0.1", server.sip_port)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    local_port = sock.getsockname()[1]
    branch = "%s%07d" % (nonce, number)
    values = {"To": "ivr@127.0.0.1:%d" % server.sip_port,
              "From": "protos@127.0.0.1:%d" % local_port,
              "From-Address": "127.0.0.1", "From-IP": "127.0.0.1",
              "Local-Port": str(local_port), "Branch-ID": branch,
              "Call-ID": "protos-%s-%07d" % (nonce, number), "CSeq": "1"}
    invite = fill(invite_t, values)
    sent = [invite]
    answers = []
    final = [None]          # the first final answer to the INVITE: (code, headers)
    phase = ["invite"]

    def collect(window, until):
        deadline = time.monotonic() + window * SLOW
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                return
            try:
                datagram, _ = sock.recvfrom(65535)
            except OSError:
                return
            start, headers = parse(datagram)
            code = status_of(start)
            if code is None:
                # The server's own request (a BYE when its flow hangs up): answer it.
                reply = ok_to_request(start, headers)
                if reply is not None:
                    sock.sendto(reply, target)
                continue
            number, method = cseq_of(headers)
            answers.append((code, method))
            # The INVITE's CSeq may be the damaged element: any final answer before the
            # teardown, or one that names INVITE, is the INVITE's.
            if code >= 200 and final[0] is None and (phase[0] == "invite" or method == "INVITE"):
                final[0] = (code, headers)
            if until(code, method, number):
                return

    try:
        sock.sendto(invite, target)
        collect(PROTOS_WINDOW, lambda code, method, number: code >= 200)
        phase[0] = "teardown"
        if final[0] is None:
            cancel = fill(teardown_t, dict(values, **{"Teardown-Method": "CANCEL"}))
            sent.append(cancel)
            sock.sendto(cancel, target)
            collect(PROTOS_WINDOW,
                    lambda code, method, number: final[0] is not None and method != "CANCEL")
        if final[0] is not None:
            code, headers = final[0]
            two = 200 <= code < 300
            ack_values = dict(values, **{"Teardown-Method": "ACK"})
            bye_values = dict(values, **{"Teardown-Method": "BYE", "CSeq": "2",
                                         "Branch-ID": branch + "b"})
            if two:
                ack_values["Branch-ID"] = branch + "a"
            messages = []
            for v in (ack_values, bye_values):
                m = fill(teardown_t, v)
                for name in ("From", "To", "Call-ID"):
                    m = replace_header(m, name, first(headers, name.lower()))
                messages.append(m)
            for m in messages:
                sent.append(m)
                sock.sendto(m, target)
            collect(PROTOS_WINDOW, lambda code, method, number: method == "BYE" or number == 2)
    except OSError as e:
        answers.append(("error", str(e)))
    finally:
        sock.close()
    running = server.running()
    probe = server.probe() if running else None
    no_tag = bool(final[0]) and 200 <= final[0][0] < 300 and "tag=" not in (
        first(final[0][1], "to") or "").lower()
    return (running and probe == 200, final[0][0] if final[0] else None, no_tag, answers, sent,
            (running, probe))


def protos(c):
    if not os.path.exists(PROTOS_TARBALL):
        t.skip("PROTOS c07-sip", "%s is missing" % PROTOS_TARBALL)
        return
    unpack = os.path.join(c.work, "protos")
    os.makedirs(unpack)
    with tarfile.open(PROTOS_TARBALL, "r:gz") as tar:
        members = [m for m in tar.getmembers() if m.isfile() and not m.name.startswith("/")
                   and ".." not in m.name.split("/")]
        safe_filter = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(unpack, members=members, **safe_filter)
    case_files = {}
    for path in glob.glob(os.path.join(unpack, "**", "cases", "*"), recursive=True):
        base = os.path.basename(path)
        if base.isdigit():
            case_files[int(base)] = path
    t.check("protos: the tarball holds the 4527 cases", len(case_files) == 4527,
            "%d case files" % len(case_files))
    numbers = sorted(case_files) if ALL else sorted(
        n for n in case_files if n == 0 or n % 15 == 0)
    t.info("PROTOS c07-sip: %d of %d cases (%s)" % (len(numbers), len(case_files),
                                                   "--all" if ALL else "case 0 and every 15th"))
    nonce = "%06x" % random.getrandbits(24)
    stats = collections.OrderedDict((name, ProtosStats()) for name, _, _ in PROTOS_GROUPS)
    recent = collections.deque(maxlen=3)
    started = time.monotonic()
    unparsed = []
    for number in numbers:
        with open(case_files[number], "rb") as f:
            parts = split_case(f.read())
        if len(parts) != 2:
            unparsed.append(number)
            continue
        group = group_of(number)
        st = stats[group]
        alive, final, no_tag, answers, sent, how = run_protos_case(c, number, parts[0],
                                                                   parts[1], nonce)
        if alive and final == 503:
            # --max-calls is reached: earlier cases hold calls we could not end (their 2xx has
            # no To tag to address an ACK or a BYE to), until their flow hangs up. Wait as
            # Retry-After says, then run the case again.
            st.busy += 1
            time.sleep(5)
            alive, final, no_tag, answers, sent, how = run_protos_case(c, number, parts[0],
                                                                       parts[1], nonce + "r")
        recent.append((number, sent))
        if no_tag:
            st.no_tag.append("%07d" % number)
        st.run += 1
        st.answers[str(final) if final else "none"] += 1
        if final is not None and 200 <= final < 300:
            c.answered += 1
        # 501 is the answer to a method we do not know (a damaged "INVITE"): RFC 3261 21.5.2.
        if final is not None and final >= 500 and final != 501:
            st.server_errors.append("%07d: %d" % (number, final))
        if not alive:
            # A second, longer look: a slow server is not a dead one.
            running = c.server.running()
            late = c.server.probe(PROBE_TIMEOUT * 3) if running else None
            if running and late == 200:
                t.note("protos case %07d (%s): the probe was answered only late" % (number, group))
                continue
            if st.first_fail is None:
                st.first_fail = number
            st.failures.append(number)
            save = os.path.join(CRASH_DIR, "callflow-torture-protos-%07d.txt" % number)
            with open(save, "wb") as f:
                for n, messages in recent:
                    f.write(b"===== PROTOS c07-sip case %07d (cases/%07d of %s, filled; each "
                            b"message as sent)\n" % (n, n, PROTOS_TARBALL.encode()))
                    for m in messages:
                        f.write(b"----- %d bytes\n" % len(m) + m + b"\n")
            state = ("dead (exit status %s)" % c.server.process.returncode if not running
                     else "not answering")
            print("     protos case %07d (%s): server %s after it (OPTIONS %s); input saved as %s"
                  % (number, group, state, late, save), flush=True)
            t.info("stderr: " + c.server.stderr()[-1500:].replace("\n", " | "))
            if not c.restart("protos case %07d" % number):
                break
    elapsed = time.monotonic() - started
    t.check("protos: every case file splits into an INVITE and a teardown", not unparsed,
            "cases %s" % unparsed[:20])
    for group, st in stats.items():
        if not st.run:
            continue
        answered = ", ".join("%s x%d" % (k, v) for k, v in sorted(st.answers.items()))
        t.check("protos %-30s server alive after each of %3d cases%s (INVITE answered: %s)"
                % (group + ":", st.run, "" if st.first_fail is None else
                   ", first failing case %07d" % st.first_fail, answered),
                st.first_fail is None, "failing cases: %s" % st.failures)
        # An INVITE with no usable To header cannot open a dialog: 400, never a 2xx (RFC 3261
        # 8.1.1), and never 500 (From without a tag included).
        t.check("protos %-30s no 2xx without a To tag, no 5xx but 503 and 501" % (group + ":"),
                not st.no_tag and not st.server_errors,
                "2xx without To tag: %s; 5xx: %s" % (st.no_tag[:10], st.server_errors[:10]))
        if st.busy:
            t.info("protos %s: %d case(s) got 503 at --max-calls 50 and were run again 5 s later"
                   % (group, st.busy))
        if st.no_tag:
            t.note("protos %s: a 2xx without a To tag (a dialog no ACK or BYE can reach; it ends "
                   "when the flow hangs up) in %d case(s): %s" % (group, len(st.no_tag),
                                                                 ", ".join(st.no_tag[:10])))
        if st.server_errors:
            t.note("protos %s: a 5xx answer to a malformed INVITE (400 or acceptance expected): "
                   "%s" % (group, ", ".join(st.server_errors[:10])))
    t.info("PROTOS: %d cases in %.1f s" % (sum(st.run for st in stats.values()), elapsed))


def no_open_calls(c):
    """After the calls had time to end (the flow hangs up within a few seconds) and the
    database queue is empty (/healthz dbQueue 0), no record is still open, and every call we
    saw answered with a 2xx left a record. After a restart, the databases of the servers that
    died are only reported: a call cut by a crash stays open there."""
    deadline = time.monotonic() + 45 * SLOW
    started = time.monotonic()
    settled = 0
    while True:
        queue = c.server.db_queue() if c.server.running() else 0
        if queue != 0 and time.monotonic() < deadline:
            settled = 0
            time.sleep(0.5)
            continue
        open_records = []
        counts = collections.Counter()
        unreadable = []
        dead_open = 0
        for server in c.servers:
            records = server.records()
            if records is None:
                unreadable.append(server.db)
                continue
            for r in records:
                counts[r.get("status")] += 1
                if r.get("status") == "open":
                    if server is c.server:
                        open_records.append(r)
                    else:
                        dead_open += 1
        if not open_records and not unreadable:
            settled += 1
            if settled >= 2:    # twice in a row, 0.5 s apart: nothing was still on its way
                break
        else:
            settled = 0
        if time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    t.info("call records: %s (after %.1f s); %d INVITEs were answered 2xx"
           % (dict(counts), time.monotonic() - started, c.answered))
    if dead_open:
        t.info("%d record(s) left open by a server that died" % dead_open)
    t.check("`callflow calls list --db` reads the records while serve runs", not unreadable,
            unreadable)
    t.check("no call record is left open (%d open)" % len(open_records), not open_records,
            json.dumps(open_records[:5], indent=1)[:3000])
    if c.restarts == 0:
        total = sum(counts.values())
        t.check("every INVITE answered 2xx left a call record (%d records, %d answered)"
                % (total, c.answered), total >= c.answered)


class Context:
    pass


def main():
    if not os.path.isdir(CORPORA) or not (os.path.isdir(RFC4475_DIR)
                                          or os.path.exists(PROTOS_TARBALL)):
        t.skip("SIP torture corpora", "they are not there (%s)" % CORPORA)
        return t.finish()
    if not os.access(CALLFLOW, os.X_OK):
        sys.exit("torture_test.py: %s is not an executable" % CALLFLOW)
    t.info("SLOW=%g, corpora in %s" % (SLOW, CORPORA))
    with tempfile.TemporaryDirectory(prefix="callflow-torture-") as work:
        c = Context()
        c.work = work
        c.server = Server(work, 1)
        c.servers = [c.server]  # every server started, the current one last
        c.restarts = 0
        c.answered = 0          # INVITEs answered with a 2xx: calls that must leave a record

        def restart(why):
            c.restarts += 1
            if c.restarts > MAX_RESTARTS:
                t.check("fewer than %d server restarts" % MAX_RESTARTS, False, why)
                return False
            c.server.stop()
            c.server = Server(work, len(c.servers) + 1)
            c.servers.append(c.server)
            ok = c.server.start()
            t.info("server restarted after %s: %s" % (why, "up" if ok else "did not start"))
            return ok

        c.restart = restart
        try:
            status, out, err = harness.run_cli(CALLFLOW, "check", FLOW, timeout=30, slow=SLOW)
            t.check("callflow check tests/sip/torture/short_call.json", status == 0, out + err)
            up = c.server.start()
            t.check("serve --sip answers OPTIONS within %.0f s" % (10 * SLOW), up,
                    (" ".join(c.server.argv) + "\n" + c.server.stderr())[-3000:])
            if up:
                t.check("liveness probe: a valid OPTIONS gets 200 within %.1f s"
                        % (PROBE_TIMEOUT * SLOW), c.server.probe() == 200)
                if os.path.isdir(RFC4475_DIR):
                    t0 = time.monotonic()
                    t.safe("rfc4475", rfc4475, c)
                    t.info("RFC 4475: %.1f s" % (time.monotonic() - t0))
                else:
                    t.skip("RFC 4475", "%s is missing" % RFC4475_DIR)
                t.safe("protos", protos, c)
                t.safe("no open calls", no_open_calls, c)
                t.check("serve is still running at the end (%d restart(s))" % c.restarts,
                        c.server.running() and c.server.probe() == 200,
                        c.server.stderr()[-3000:])
        except Exception:  # noqa: BLE001 - reported as a failure
            t.check("the run completed without an exception", False, traceback.format_exc())
        finally:
            c.server.stop()
        text = "".join(server.stderr() for server in c.servers)
        t.no_sanitizer_report("no sanitizer report on the server's stderr", text,
                              marks=SANITIZER_MARKS)
        decode_errors = len(re.findall(r"msg decode err", text))
        t.info("server stderr: %d lines, %d libre 'msg decode err' lines"
               % (len(text.splitlines()), decode_errors))
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
