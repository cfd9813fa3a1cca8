#!/usr/bin/env python3
"""A PROTOS-style generator of damaged INVITEs, written for Callflow (no PROTOS data used).

It starts from one valid INVITE with an SDP offer and damages one element at a time: the
method, Request-URI, version, Via host/port/branch, From and To display names, URIs and tags,
Call-ID, CSeq number and method, Contact, Max-Forwards, Expires, Content-Type, Content-Length,
the line ends of the request, and every SDP line and field. Each element gets every damage of
these kinds: empty, over-long (up to what fits in one 65,507-byte datagram, 64 KiB), format
strings, integer extremes, stray separators, line-end damage (missing CRLF, bare LF or CR, an
early empty line, an injected line break) and NUL / control / non-UTF-8 bytes.

The list is deterministic: the same seed gives the same cases in the same order. With a limit,
the cases are picked evenly over the element groups (every element gets some; within an element
the damages are spread), so a few hundred cover everything.

    protos_gen.py [--limit N | --all] [--seed S] [--dump DIR]     # count / write the cases

A case is built with build(values) where VALUES holds the addresses and fresh identifiers
(HOST, PORT, LPORT, MPORT, USER, TAG, BRANCH, CALLID); it returns the INVITE bytes.
"""
import argparse
import os
import random
import sys

MAX_DATAGRAM = 65507

# The valid INVITE, element by element: (element, text with {FIELD} markers). Each line is one
# header or SDP line; its CRLF is added when building (and is itself damaged by the line-end
# mutations).
SIP_LINES = [
    ("request-line", "{method} {ruri} {version}"),
    ("via", "Via: SIP/2.0/UDP {via_host}:{via_port};branch={via_branch};rport"),
    ("from", "From: {from_display} <{from_uri}>;tag={from_tag}"),
    ("to", "To: {to_display} <{to_uri}>"),
    ("call-id", "Call-ID: {call_id}"),
    ("cseq", "CSeq: {cseq_number} {cseq_method}"),
    ("contact", "Contact: <{contact}>"),
    ("max-forwards", "Max-Forwards: {max_forwards}"),
    ("expires", "Expires: {expires}"),
    ("content-type", "Content-Type: {content_type}"),
    ("content-length", "Content-Length: {content_length}"),
]
SDP_LINES = [
    ("sdp-v", "v={sdp_v}"),
    ("sdp-o", "o={o_user} {o_session} {o_version} {o_nettype} {o_addrtype} {o_addr}"),
    ("sdp-s", "s={sdp_s}"),
    ("sdp-c", "c={c_nettype} {c_addrtype} {c_addr}"),
    ("sdp-t", "t={t_start} {t_stop}"),
    ("sdp-m", "m={m_media} {m_port} {m_proto} {m_formats}"),
    ("sdp-rtpmap", "a=rtpmap:{rtpmap_pt} {rtpmap_name}/{rtpmap_rate}"),
    ("sdp-rtpmap-te", "a=rtpmap:101 telephone-event/8000"),
    ("sdp-fmtp", "a=fmtp:{fmtp_pt} {fmtp_value}"),
    ("sdp-ptime", "a=ptime:{ptime}"),
    ("sdp-direction", "a={direction}"),
]

# Every damaged field and its valid value ({NAME} is filled from the build values).
FIELDS = [
    ("method", "INVITE"), ("ruri", "sip:ivr@{HOST}:{PORT}"), ("version", "SIP/2.0"),
    ("via_host", "{HOST}"), ("via_port", "{LPORT}"), ("via_branch", "{BRANCH}"),
    ("from_display", '"Protos Caller"'), ("from_uri", "sip:{USER}@{HOST}:{LPORT}"),
    ("from_tag", "{TAG}"), ("to_display", '"IVR"'), ("to_uri", "sip:ivr@{HOST}:{PORT}"),
    ("call_id", "{CALLID}"), ("cseq_number", "1"), ("cseq_method", "INVITE"),
    ("contact", "sip:{USER}@{HOST}:{LPORT}"), ("max_forwards", "70"), ("expires", "120"),
    ("content_type", "application/sdp"), ("content_length", "{CL}"),
    ("sdp_v", "0"), ("o_user", "protos"), ("o_session", "2890844526"), ("o_version", "1"),
    ("o_nettype", "IN"), ("o_addrtype", "IP4"), ("o_addr", "{HOST}"), ("sdp_s", "hostile"),
    ("c_nettype", "IN"), ("c_addrtype", "IP4"), ("c_addr", "{HOST}"), ("t_start", "0"),
    ("t_stop", "0"), ("m_media", "audio"), ("m_port", "{MPORT}"), ("m_proto", "RTP/AVP"),
    ("m_formats", "0 8 101"), ("rtpmap_pt", "0"), ("rtpmap_name", "PCMU"),
    ("rtpmap_rate", "8000"), ("fmtp_pt", "101"), ("fmtp_value", "0-15"), ("ptime", "20"),
    ("direction", "sendrecv"),
]
VALID = dict(FIELDS)
LINE_OF = {}
for _line, _text in SIP_LINES + SDP_LINES:
    for _name, _ in FIELDS:
        if "{" + _name + "}" in _text:
            LINE_OF[_name] = _line

SEPARATORS = [":", ";", ",", "<", ">", "@", "=", '"', "?", "/", "\\", "[", "]", " ", "\t", "%"]
INTEGERS = ["-1", "0", "-0", "+1", "2147483647", "2147483648", "-2147483648", "-2147483649",
            "4294967295", "4294967296", "18446744073709551615", "18446744073709551616",
            "99999999999999999999999999999999", "0x7fffffff", "1e309", "000000000000000000001"]
FORMATS = ["%s%s%s%s%s%s%s%s", "%n%n%n%n%n%n%n%n", "%x%x%x%x%x%x%x%x", "%s" * 512,
           "%.1024d", "%99999999s", "%p%p%p%p", "{0}{1}{{x}}${PATH}"]
LENGTHS = [128, 512, 2048, 8192, 32768, "max"]


class Case:
    """One damaged INVITE: its number, element group, damage, and how to build it."""

    def __init__(self, number, group, field, kind, value=None, eol=None, line=None):
        self.number, self.group, self.field, self.kind = number, group, field, kind
        self.value, self.eol, self.line = value, eol, line

    @property
    def name(self):
        return "%04d %s/%s" % (self.number, self.group, self.kind)

    def build(self, values):
        return build(values, self)


def _damages(field, seed):
    """The (kind, value or None, eol or None) list for one field, in a fixed order."""
    rnd = random.Random("%s/%s" % (seed, field))
    out = [("empty", "", None)]
    for n in LENGTHS:
        out.append(("overlong-A-%s" % n, ("A", n), None))
    valid = VALID[field]
    out.append(("overlong-repeat-2048", (valid, 2048), None))
    out.append(("overlong-repeat-max", (valid, "max"), None))
    for i, f in enumerate(FORMATS):
        out.append(("format-%d" % i, f, None))
    for i, n in enumerate(INTEGERS):
        out.append(("integer-%d" % i, n, None))
    for sep in SEPARATORS:
        code = "%02x" % ord(sep)
        out.append(("sep-after-%s" % code, ("+", sep), None))
        out.append(("sep-run-%s" % code, sep * 128, None))
    out += [("crlf-missing", None, ""), ("crlf-bare-lf", None, "\n"), ("crlf-bare-cr", None, "\r"),
            ("crlf-early-end", None, "\r\n\r\n"), ("crlf-injected", ("+", "\r\n"), None),
            ("crlf-folded", ("+", "\r\n \r\n"), None)]
    out += [("nul", "\0", None), ("nul-inside", ("mid", "\0"), None), ("nul-run", "\0" * 256, None),
            ("bytes-fffe", "\xff\xfe\xfd", None), ("utf8-overlong", "\xc0\x80\xc0\xaf", None),
            ("utf8-surrogate", "\xed\xa0\x80", None), ("utf8-beyond", "\xf4\x90\x80\x80", None),
            ("ansi-escape", "\x1b[31mred\x1b[0m", None), ("del-run", "\x7f" * 32, None),
            ("random-bytes", "".join(chr(rnd.randrange(256)) for _ in range(64)), None)]
    return out


def all_cases(seed=1):
    """Every case: case 0 is the valid INVITE, then every field with every damage."""
    cases = [Case(0, "valid", None, "valid")]
    number = 1
    for field, _ in FIELDS:
        for kind, value, eol in _damages(field, seed):
            cases.append(Case(number, field, field, kind, value, eol, LINE_OF[field]))
            number += 1
    return cases


def select(limit=300, seed=1):
    """LIMIT cases (None: all) spread evenly over the fields, always with case 0."""
    cases = all_cases(seed)
    if limit is None or limit >= len(cases):
        return cases
    groups = {}
    for c in cases[1:]:
        groups.setdefault(c.group, []).append(c)
    base, extra = divmod(max(len(groups), limit - 1), len(groups))
    picked = [cases[0]]
    for i, (_, members) in enumerate(groups.items()):
        per = base + (1 if i < extra else 0)
        step = len(members) / per
        offset = (i * 7) % max(1, int(step)) if step >= 1 else 0
        chosen = sorted({int(offset + k * step) % len(members) for k in range(per)})
        picked += [members[j] for j in chosen]
    return picked


def _fill(text, values):
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


def build(values, case):
    """The INVITE of CASE as bytes (latin-1: one char, one byte), every line CRLF-ended except
    where the case damages a line end. Content-Length is the body's length unless the damaged
    field is Content-Length itself."""
    fields = {name: _fill(valid, values) for name, valid in FIELDS}
    if case.field is not None and case.value is not None:
        valid = fields[case.field]
        v = case.value
        if isinstance(v, tuple):
            what, arg = v
            if what == "+":
                v = valid + arg
            elif what == "mid":
                v = valid[:len(valid) // 2] + arg + valid[len(valid) // 2:]
            else:
                v = (what, arg)
        if isinstance(v, tuple):
            unit, n = v
            if n == "max":
                fields[case.field] = "\1"  # measured below
            else:
                fields[case.field] = (unit * (n // len(unit) + 1))[:n]
        else:
            fields[case.field] = v

    def assemble(flds):
        head, body = [], []
        for line, text in SDP_LINES:
            end = case.eol if (case.eol is not None and line == case.line) else "\r\n"
            body.append(_fill(text, flds) + end)
        body_text = "".join(body)
        if "content_length" not in flds or flds["content_length"] == "{CL}" or (
                case.field != "content_length"):
            flds = dict(flds, content_length=str(len(body_text.encode("latin-1"))))
        for line, text in SIP_LINES:
            end = case.eol if (case.eol is not None and line == case.line) else "\r\n"
            head.append(_fill(text, flds) + end)
        return "".join(head) + "\r\n" + body_text

    if case.field is not None and fields.get(case.field) == "\1":
        unit, _ = case.value
        room = MAX_DATAGRAM - len(assemble(dict(fields, **{case.field: ""})).encode("latin-1"))
        if case.field in [f for f, _ in FIELDS if LINE_OF[f].startswith("sdp")]:
            room = max(0, room - 6)  # Content-Length grows by up to 5 digits
        fields[case.field] = (unit * (room // len(unit) + 1))[:max(0, room)]
    return assemble(fields).encode("latin-1")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dump", help="write each case's INVITE into this folder")
    args = parser.parse_args()
    cases = select(None if args.all else args.limit, args.seed)
    values = {"HOST": "127.0.0.1", "PORT": 5060, "LPORT": 5062, "MPORT": 40000, "USER": "1000",
              "TAG": "t1", "BRANCH": "z9hG4bK-b1", "CALLID": "c1@127.0.0.1"}
    groups = {}
    for c in cases:
        groups[c.group] = groups.get(c.group, 0) + 1
        data = c.build(values)
        assert len(data) <= MAX_DATAGRAM, (c.name, len(data))
        if args.dump:
            os.makedirs(args.dump, exist_ok=True)
            with open(os.path.join(args.dump, "%04d.sip" % c.number), "wb") as f:
                f.write(data)
    print("%d cases (of %d), %d element groups" % (len(cases), len(all_cases(args.seed)),
                                                  len(groups)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
