"""Raw SIP over UDP and TCP for the hostile-input tests: placeholders filled into our own
messages, answers read back and matched, the teardown of an INVITE (CANCEL, ACK, BYE), and the
server's own requests (its BYE when a flow hangs up) answered so nothing is retransmitted into
the next case. tests/sip/torture_test.py reads and answers the server with these too.

Python 3 standard library only; every wait is bounded by the caller's window.
"""
import collections
import random
import re
import select
import socket
import time

HOST = "127.0.0.1"

COMPACT = {"i": "call-id", "f": "from", "t": "to", "v": "via", "m": "contact",
           "l": "content-length", "c": "content-type", "k": "supported", "s": "subject",
           "e": "content-encoding"}


def sdp_offer(media_port, host=HOST, te=True):
    """A plain offer: PCMU, PCMA and (with TE) telephone-event/8000 as payload type 101."""
    fmts = "0 8 101" if te else "0 8"
    lines = ["v=0", "o=hostile 2890844526 1 IN IP4 %s" % host, "s=hostile", "c=IN IP4 %s" % host,
             "t=0 0", "m=audio %d RTP/AVP %s" % (media_port, fmts), "a=rtpmap:0 PCMU/8000",
             "a=rtpmap:8 PCMA/8000"]
    if te:
        lines += ["a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15"]
    lines += ["a=ptime:20", "a=sendrecv"]
    return "\r\n".join(lines) + "\r\n"


PLACEHOLDER = re.compile(r"\{\{([A-Z0-9]+)(?::(\d+):([^}]*))?\}\}")


def fill(text, values):
    """A case file's text as the bytes to send. Every line end becomes CRLF; then {{NAME}} is
    replaced from VALUES, {{SP}} {{TAB}} {{CR}} {{LF}} {{NUL}} by those characters, {{REP:N:s}}
    by s repeated to N characters, {{SDP}} / {{SDPINNER}} by an offer (the inner one without its
    last CRLF), and finally {{CL}} by the length of the body (what follows the first empty
    line)."""
    text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    specials = {"SP": " ", "TAB": "\t", "CR": "\r", "LF": "\n", "NUL": "\0"}
    sdp = sdp_offer(values["MPORT"])

    def one(m):
        name, count, unit = m.group(1), m.group(2), m.group(3)
        if name == "REP":
            unit = unit or "x"
            return (unit * (int(count) // len(unit) + 1))[:int(count)]
        if name == "SDP":
            return sdp
        if name == "SDPINNER":
            return sdp[:-2]
        if name in specials:
            return specials[name]
        if name == "CL":
            return m.group(0)
        return str(values[name])

    text = PLACEHOLDER.sub(one, text)
    data = text.encode("utf-8")
    head, sep, body = data.partition(b"\r\n\r\n")
    return data.replace(b"{{CL}}", str(len(body) if sep else 0).encode())


def parse(data):
    """(start line, {lower-case name: [values]}) of a message; folded lines joined, compact
    names expanded. Never fails."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    headers = collections.OrderedDict()
    last = None
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and last is not None:
            headers[last][-1] += " " + line.strip()
            continue
        if ":" not in line:
            last = None
            continue
        name, value = line.split(":", 1)
        name = COMPACT.get(name.strip().lower(), name.strip().lower())
        headers.setdefault(name, []).append(value.strip())
        last = name
    return (lines[0] if lines else ""), headers


def first(headers, name):
    values = headers.get(name)
    return values[0] if values else None


def status_of(start):
    m = re.match(r"SIP/2\.0 (\d{3})( |$)", start)
    return int(m.group(1)) if m else None


def cseq_of(headers):
    m = re.match(r"(\d+)\s+(\S+)", first(headers, "cseq") or "")
    return (int(m.group(1)), m.group(2).upper()) if m else (None, None)


def ok_to_request(start, headers):
    """The 200 OK that answers a request the server sent us (its BYE when a flow hangs up, a
    NOTIFY...): its Vias, From, To, Call-ID and CSeq echoed. None for an ACK, a line that is no
    request, or a request without a Via (nothing to answer)."""
    method = start.split(" ", 1)[0]
    if method in ("ACK", "") or not headers.get("via"):
        return None
    lines = ["SIP/2.0 200 OK"] + ["Via: %s" % v for v in headers["via"]]
    for name, label in (("from", "From"), ("to", "To"), ("call-id", "Call-ID"),
                        ("cseq", "CSeq")):
        if first(headers, name) is not None:
            lines.append("%s: %s" % (label, first(headers, name)))
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def new_tag():
    return "%012x" % random.getrandbits(48)


def new_branch():
    return "z9hG4bK-h-%016x" % random.getrandbits(64)


class Answer:
    """One response: status, CSeq method, headers, raw bytes."""

    def __init__(self, code, method, headers, raw):
        self.code, self.method, self.headers, self.raw = code, method, headers, raw

    def __repr__(self):
        return "%d %s" % (self.code, self.method)


class UdpPeer:
    """A UDP socket of ours on 127.0.0.1 that talks to the server: collects answers, answers
    the server's requests (BYE, NOTIFY...) with 200, and counts them."""

    def __init__(self, server_port):
        self.target = (HOST, server_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((HOST, 0))
        self.port = self.sock.getsockname()[1]
        self.answers = []
        self.requests = []

    def close(self):
        self.sock.close()

    def send(self, data):
        try:
            self.sock.sendto(data, self.target)
            return True
        except OSError:
            return False

    def _answer_request(self, start, headers):
        self.requests.append(start.split(" ", 1)[0])
        reply = ok_to_request(start, headers)
        if reply is not None:
            self.send(reply)

    def collect(self, window, until=None):
        """Reads for up to WINDOW seconds, or until UNTIL(answer) is true; returns the answers
        that came in this call."""
        got = []
        deadline = time.monotonic() + window
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return got
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                return got
            try:
                data, _ = self.sock.recvfrom(65535)
            except OSError:
                return got
            start, headers = parse(data)
            code = status_of(start)
            if code is None:
                self._answer_request(start, headers)
                continue
            _, method = cseq_of(headers)
            answer = Answer(code, method, headers, data)
            got.append(answer)
            self.answers.append(answer)
            if until is not None and until(answer):
                return got


def teardown_invite(peer, ruri, via_branch, from_hdr, to_hdr, call_id, cseq, final, window,
                    always_cancel=False):
    """Ends what an INVITE may have started. No final answer (or ALWAYS_CANCEL): CANCEL with
    the INVITE's branch, then the 487 is acknowledged. A 2xx: ACK and BYE in the dialog (the
    answer's To tag). Another final answer: ACK. Returns the answers that came meanwhile."""
    got = []
    via = "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (HOST, peer.port, via_branch)

    def message(method, number, to_value, branch_via=None, target=None):
        lines = ["%s %s SIP/2.0" % (method, target or ruri), branch_via or via,
                 "Max-Forwards: 70", "From: %s" % from_hdr, "To: %s" % to_value,
                 "Call-ID: %s" % call_id, "CSeq: %d %s" % (number, method),
                 "Content-Length: 0"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    if final is None or always_cancel:
        peer.send(message("CANCEL", cseq, to_hdr))
        got += peer.collect(window, lambda a: a.method == "INVITE" and a.code >= 200)
        for a in got:
            if a.method == "INVITE" and a.code >= 200 and final is None:
                final = a
    if final is None:
        return got
    to_value = first(final.headers, "to") or to_hdr
    if 200 <= final.code < 300:
        contact = first(final.headers, "contact") or ""
        m = re.search(r"<([^>]*)>", contact)
        target = m.group(1) if m else (contact.split(";", 1)[0].strip() or ruri)
        fresh = "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (HOST, peer.port, new_branch())
        peer.send(message("ACK", cseq, to_value, fresh, target))
        fresh = "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (HOST, peer.port, new_branch())
        peer.send(message("BYE", cseq + 1, to_value, fresh, target))
        got += peer.collect(window, lambda a: a.method == "BYE")
    else:
        peer.send(message("ACK", cseq, to_value))
    return got


def tcp_exchange(port, chunks, read_window=0.5, send_timeout=5.0, pace=0.002):
    """Sends CHUNKS (bytes) on one TCP connection to the server with a small send buffer and a
    short pause between chunks (so the server reads as we write), stopping when the server
    closes it. Returns (bytes sent, closed_by_server, what the server sent)."""
    sent = 0
    closed = False
    received = b""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
    s.settimeout(send_timeout)
    s.connect((HOST, port))

    def read(wait):
        nonlocal received
        ready, _, _ = select.select([s], [], [], wait)
        if not ready:
            return True
        try:
            data = s.recv(65536)
        except OSError:
            return False
        received += data
        return bool(data)

    try:
        for chunk in chunks:
            try:
                s.sendall(chunk)
                sent += len(chunk)
            except (OSError, socket.timeout):
                closed = True
                break
            if not read(pace):
                closed = True
                break
        deadline = time.monotonic() + read_window
        while not closed and time.monotonic() < deadline:
            if not read(max(0.0, deadline - time.monotonic())):
                closed = True
    finally:
        s.close()
    return sent, closed, received


def tcp_request(port, data, window, until=None):
    """One message over a new TCP connection; returns (answers, the socket, still open?). The
    caller closes the socket (it may send more on it: an ACK, a BYE)."""
    s = socket.create_connection((HOST, port), timeout=5)
    s.sendall(data)
    return s, tcp_read(s, window, until)


def tcp_read(s, window, until=None):
    """Answers read from a TCP connection for up to WINDOW seconds (or until UNTIL(answer))."""
    got = []
    buf = b""
    deadline = time.monotonic() + window
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return got
        ready, _, _ = select.select([s], [], [], left)
        if not ready:
            return got
        try:
            data = s.recv(65536)
        except OSError:
            return got
        if not data:
            return got
        buf += data
        while b"\r\n\r\n" in buf:
            head, rest = buf.split(b"\r\n\r\n", 1)
            m = re.search(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)", head)
            n = int(m.group(1)) if m else 0
            if len(rest) < n:
                break
            message, buf = head + b"\r\n\r\n" + rest[:n], rest[n:]
            start, headers = parse(message)
            code = status_of(start)
            if code is None:
                continue
            answer = Answer(code, cseq_of(headers)[1], headers, message)
            got.append(answer)
            if until is not None and until(answer):
                return got
