"""The prompts folder, text-to-speech and the designer's built files of `callflow serve`, run
from serve_test.py:

  GET/PUT/DELETE /api/v1/prompts[/{name}]   the --prompts folder (uploads converted to 8 kHz)
  POST /api/v1/tts                          a text as the caller hears it, audio/wav
  GET /, /assets/..., any page path         the --web folder (index.html for the SPA's routes)

`make_dirs(work)` makes the prompts folder and a tiny fake web/dist before the server starts;
`run(c, t)`: `c` is serve_test's context (a running server started with both, signed-in tokens
c.admin, c.sup, c.agent), `t` the serve_test module (check, cli, Server, free_port, SLOW).
"""
import io
import json
import math
import os
import socket
import struct
import wave

INDEX_HTML = b"<!doctype html><html><body><div id=app>callflow designer index</div></body></html>"
APP_JS = b"console.log('callflow designer app');\n"
SECRET = b"outside-the-web-folder-secret"


def make_dirs(work):
    """The --prompts and --web folders of the test server, and a file beside the web folder
    that no request may read."""
    prompts = os.path.join(work, "prompts")
    web = os.path.join(work, "dist")
    os.makedirs(prompts)
    os.makedirs(os.path.join(web, "assets"))
    with open(os.path.join(web, "index.html"), "wb") as f:
        f.write(INDEX_HTML)
    with open(os.path.join(web, "assets", "app-abc.js"), "wb") as f:
        f.write(APP_JS)
    with open(os.path.join(work, "secret.txt"), "wb") as f:
        f.write(SECRET)
    return prompts, web


def sine_wav(rate, channels, width, seconds, frequency=440.0):
    """A WAV file (bytes) of a sine at half scale, `width` bytes a sample."""
    frames = int(round(rate * seconds))
    full = (1 << (8 * width - 1)) - 1
    out = bytearray()
    for i in range(frames):
        value = int(full * 0.5 * math.sin(2 * math.pi * frequency * i / rate))
        sample = value.to_bytes(width, "little", signed=True) if width > 1 else \
            bytes([(value + 128) & 0xFF])
        out += sample * channels
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(bytes(out))
    return buffer.getvalue()


def wav_format(body):
    """(channels, width, rate, frames) of a WAV file's bytes, or None."""
    try:
        with wave.open(io.BytesIO(body), "rb") as w:
            return w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
    except (wave.Error, EOFError, struct.error):
        return None


def raw_request(port, head, body_prefix, timeout):
    """Sends `head` and part of a body on a plain socket; returns the status line's code."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head + body_prefix)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        parts = data.split(b" ", 2)
        return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0


def run(c, t):
    prompts_checks(c, t)
    tts_checks(c, t)
    static_checks(c, t)
    bare_server_checks(c, t)


def prompts_checks(c, t):
    s, check = c.server, t.check
    audio = {"Content-Type": "audio/wav"}
    listing = s.request("GET", "/api/v1/prompts", auth=c.agent)
    check("prompts: an agent lists the empty folder -> 200 {\"prompts\": []}",
          listing.status == 200 and listing.json == {"prompts": []}, listing)

    # 4 s of 44.1 kHz stereo 24-bit: over 1 MiB, which only this route accepts.
    upload = sine_wav(44100, 2, 3, 4.0)
    check("prompts: the test upload is over 1 MiB", len(upload) > (1 << 20), len(upload))
    r = s.request("PUT", "/api/v1/prompts/hello.wav", upload, auth=c.admin, headers=audio)
    j = r.json or {}
    check("prompts: PUT a 44.1 kHz stereo 24-bit WAV -> 201 {name, seconds 4.0, bytes}",
          r.status == 201 and j.get("name") == "hello.wav"
          and abs(j.get("seconds", 0) - 4.0) < 0.02 and j.get("bytes") == 44 + 32000 * 2, r)
    stored = os.path.join(c.prompts_dir, "hello.wav")
    fmt = wav_format(open(stored, "rb").read()) if os.path.exists(stored) else None
    check("prompts: the file stored is 8 kHz mono 16-bit", fmt == (1, 2, 8000, 32000), fmt)

    listing = s.request("GET", "/api/v1/prompts", auth=c.sup)
    items = (listing.json or {}).get("prompts", [])
    check("prompts: the list shows it with its seconds and bytes",
          listing.status == 200 and len(items) == 1 and items[0].get("name") == "hello.wav"
          and abs(items[0].get("seconds", 0) - 4.0) < 0.02
          and items[0].get("bytes") == 44 + 32000 * 2, listing)

    r = s.request("GET", "/api/v1/prompts/hello.wav", auth=c.agent)
    fmt = wav_format(r.body)
    check("prompts: GET returns RIFF 8 kHz mono 16-bit as audio/wav",
          r.status == 200 and r.headers.get("content-type") == "audio/wav"
          and r.body[:4] == b"RIFF" and fmt is not None and fmt[:3] == (1, 2, 8000), (r, fmt))
    r = s.request("GET", "/api/v1/prompts/hello.wav")
    check("prompts: GET without a token -> 401", r.status == 401, r)

    # Replace, then a second prompt; the list is sorted by name.
    r = s.request("PUT", "/api/v1/prompts/hello.wav", sine_wav(16000, 1, 2, 0.5), auth=c.admin)
    check("prompts: PUT again replaces it (0.5 s now)",
          r.status == 201 and abs((r.json or {}).get("seconds", 0) - 0.5) < 0.02, r)
    r = s.request("PUT", "/api/v1/prompts/Alpha-1_b.WAV", sine_wav(8000, 1, 1, 0.25),
                  auth=c.admin)
    check("prompts: an 8-bit 8 kHz WAV named Alpha-1_b.WAV -> 201", r.status == 201, r)
    listing = s.request("GET", "/api/v1/prompts", auth=c.admin)
    items = (listing.json or {}).get("prompts", [])
    check("prompts: the list is sorted by name and shows the replaced length",
          [i.get("name") for i in items] == ["Alpha-1_b.WAV", "hello.wav"]
          and abs(items[1].get("seconds", 0) - 0.5) < 0.02, listing)
    leftovers = [n for n in os.listdir(c.prompts_dir) if n.startswith(".")]
    check("prompts: no temporary file is left in the folder", not leftovers, leftovers)

    # A file put in the folder by hand that is not audio is listed with its problem.
    with open(os.path.join(c.prompts_dir, "junk.wav"), "wb") as f:
        f.write(b"not audio")
    items = (s.request("GET", "/api/v1/prompts", auth=c.admin).json or {}).get("prompts", [])
    junk = [i for i in items if i.get("name") == "junk.wav"]
    check("prompts: a file that is not audio is listed with seconds 0 and a problem",
          len(junk) == 1 and junk[0].get("seconds") == 0 and junk[0].get("problem")
          and junk[0].get("bytes") == 9, items)
    r = s.request("DELETE", "/api/v1/prompts/junk.wav", auth=c.admin)
    check("prompts: DELETE of it -> 204", r.status == 204, r)

    # Roles.
    for who, token in (("an agent", c.agent), ("a supervisor", c.sup)):
        r = s.request("PUT", "/api/v1/prompts/x.wav", sine_wav(8000, 1, 2, 0.1), auth=token)
        check("prompts: %s cannot PUT -> 403" % who, r.status == 403, r)
    r = s.request("DELETE", "/api/v1/prompts/hello.wav", auth=c.agent)
    check("prompts: an agent cannot DELETE -> 403", r.status == 403, r)

    # Names.
    for path, statuses in (("..%2Fx.wav", (400,)), ("x.mp3", (400,)), (".x.wav", (400,)),
                           ("a%20b.wav", (400,)), ("x.wav.txt", (400,)), ("%2E%2E", (400,)),
                           ("a" * 61 + ".wav", (400,)), ("..", (400, 404))):
        r = s.request("PUT", "/api/v1/prompts/" + path, sine_wav(8000, 1, 2, 0.1), auth=c.admin)
        check("prompts: PUT name %r -> %s" % (path[:20], "/".join(map(str, statuses))),
              r.status in statuses, r)
    check("prompts: no file was written outside the folder",
          not os.path.exists(os.path.join(c.work, "x.wav")))
    r = s.request("GET", "/api/v1/prompts/nothing.wav", auth=c.admin)
    check("prompts: GET of a prompt that is not there -> 404", r.status == 404, r)

    # Bodies.
    r = s.request("PUT", "/api/v1/prompts/text.wav", b"this is not audio at all", auth=c.admin)
    msg = ((r.json or {}).get("error") or {}).get("message", "")
    check("prompts: a body that is not a WAV -> 415 saying so",
          r.status == 415 and "WAV" in msg, r)
    aiff = b"FORM" + struct.pack(">I", 4) + b"AIFF"
    r = s.request("PUT", "/api/v1/prompts/text.wav", aiff, auth=c.admin)
    check("prompts: an AIFF header -> 415", r.status == 415, r)
    check("prompts: refused uploads leave no file",
          not os.path.exists(os.path.join(c.prompts_dir, "text.wav")))
    size = 17 << 20
    head = ("PUT /api/v1/prompts/big.wav HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
            "Content-Type: audio/wav\r\nContent-Length: %d\r\n\r\n" % (c.admin, size)).encode()
    status = raw_request(c.port, head, b"RIFF" + b"\0" * 65536, 15 * t.SLOW)
    check("prompts: a 17 MiB body -> 413", status == 413, status)
    big_json = b'{"x": "' + b"a" * ((1 << 20) + 10) + b'"}'
    r = s.request("POST", "/api/v1/validate", big_json, auth=c.admin)
    check("prompts: other routes keep the 1 MiB limit (413)", r.status == 413, r)

    # Delete.
    r = s.request("DELETE", "/api/v1/prompts/hello.wav", auth=c.admin)
    check("prompts: DELETE -> 204", r.status == 204 and not r.body, r)
    check("prompts: the file is gone", not os.path.exists(stored))
    r = s.request("DELETE", "/api/v1/prompts/hello.wav", auth=c.admin)
    check("prompts: DELETE again -> 404", r.status == 404, r)
    r = s.request("GET", "/api/v1/prompts/hello.wav", auth=c.admin)
    check("prompts: GET after DELETE -> 404", r.status == 404, r)


def tts_checks(c, t):
    s, check = c.server, t.check
    r = s.request("POST", "/api/v1/tts", {"text": "Your value is Gold"}, auth=c.admin)
    fmt = wav_format(r.body)
    seconds = fmt[3] / 8000.0 if fmt else 0
    check("tts: admin -> 200 audio/wav, RIFF 8 kHz mono 16-bit, 0.8-3 s",
          r.status == 200 and r.headers.get("content-type") == "audio/wav"
          and r.body[:4] == b"RIFF" and fmt is not None and fmt[:3] == (1, 2, 8000)
          and 0.8 <= seconds <= 3.0, (r.status, r.headers, fmt))
    r = s.request("POST", "/api/v1/tts", {"text": "Press one.", "voice": "kal"}, auth=c.sup)
    check("tts: a supervisor, voice kal -> 200", r.status == 200 and r.body[:4] == b"RIFF", r)
    r = s.request("POST", "/api/v1/tts", {"text": "Hello"}, auth=c.agent)
    check("tts: an agent -> 403", r.status == 403, r)
    for body, why in (({"text": ""}, "empty text"), ({"text": "  "}, "blank text"),
                      ({"text": "a" * 2001}, "2,001 characters"), ({}, "no text"),
                      ({"text": "Hi", "voice": "bob"}, "an unknown voice"),
                      ({"text": "Hi", "speed": 2}, "an unknown key"), ({"text": 5}, "text 5"),
                      ([1], "not an object")):
        r = s.request("POST", "/api/v1/tts", body, auth=c.admin)
        check("tts: %s -> 400" % why, r.status == 400 and (r.json or {}).get("error"), r)
    r = s.request("POST", "/api/v1/tts", {"text": "é" * 2000}, auth=c.admin)
    check("tts: 2,000 characters (4,000 bytes) are accepted", r.status == 200, r.status)


def static_checks(c, t):
    s, check = c.server, t.check
    r = s.request("GET", "/")
    h = r.headers
    check("web: / is index.html, text/html, no-cache",
          r.status == 200 and r.body == INDEX_HTML and h.get("content-type", "").startswith(
              "text/html") and h.get("cache-control") == "no-cache", r)
    csp = h.get("content-security-policy", "")
    check("web: / has the CSP and the security headers",
          "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
          and h.get("x-content-type-options") == "nosniff" and h.get("x-frame-options") == "DENY"
          and h.get("referrer-policy") == "no-referrer", h)
    etag = h.get("etag", "")
    r = s.request("GET", "/", headers={"If-None-Match": etag})
    check("web: If-None-Match with the ETag -> 304, no body",
          etag and r.status == 304 and not r.body, (etag, r))
    r = s.request("GET", "/index.html")
    check("web: /index.html is the same page", r.status == 200 and r.body == INDEX_HTML, r)

    r = s.request("GET", "/assets/app-abc.js")
    check("web: /assets/app-abc.js is JavaScript, cached as immutable",
          r.status == 200 and r.body == APP_JS
          and r.headers.get("content-type", "").startswith("text/javascript")
          and "immutable" in r.headers.get("cache-control", "")
          and r.headers.get("x-content-type-options") == "nosniff", r)
    r = s.request("HEAD", "/assets/app-abc.js")
    check("web: HEAD -> 200 with the GET's Content-Length and no body",
          r.status == 200 and r.headers.get("content-length") == str(len(APP_JS)) and not r.body,
          (r, r.headers))

    html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    r = s.request("GET", "/flows/x", headers=html)
    check("web: /flows/x accepting text/html -> index.html (the SPA routes it)",
          r.status == 200 and r.body == INDEX_HTML and "content-security-policy" in r.headers, r)
    r = s.request("GET", "/flows/x", headers={"Accept": "application/json"})
    check("web: /flows/x accepting JSON only -> 404", r.status == 404, r)
    r = s.request("GET", "/assets/missing.js", headers={"Accept": "*/*"})
    check("web: a missing asset -> 404", r.status == 404, r)
    r = s.request("GET", "/api/v1/nope", headers=html)
    check("web: /api/v1/nope stays a JSON 404, even accepting HTML",
          r.status == 404 and ((r.json or {}).get("error") or {}).get("status") == 404, r)
    r = s.request("GET", "/healthz/x", headers=html)
    check("web: /healthz/x -> 404, not the page", r.status == 404 and r.body != INDEX_HTML, r)
    r = s.request("GET", "/healthz", headers=html)
    check("web: API routes win over files (/healthz is JSON)",
          r.status == 200 and (r.json or {}).get("status") == "ok", r)
    r = s.request("POST", "/assets/app-abc.js", b"x")
    check("web: POST of a file -> 405", r.status == 405, r)

    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2F..%2Fsecret.txt",
                 "/assets/%2e%2e/%2e%2e/secret.txt", "/..%5csecret.txt", "/assets\\..\\..\\secret.txt",
                 "/%00index.html", "//secret.txt", "/./index.html"):
        for headers in ({}, html):
            r = s.request("GET", path, headers=headers)
            check("web: GET %r (%s) -> 400/404 or the page, never the file outside"
                  % (path, "html" if headers else "any"),
                  SECRET not in r.body and (r.status in (400, 404) or r.body == INDEX_HTML), r)


def bare_server_checks(c, t):
    """A second server without --prompts and --web."""
    check = t.check
    db = os.path.join(c.work, "bare.db")
    status, out, err = t.cli("users", "add", "root", "--role", "admin", "--password",
                             "bare-secret-pw9", "--db", db)
    check("bare server: users add -> 0", status == 0, out + err)
    flows = os.path.join(c.work, "bare-flows")
    os.makedirs(flows, exist_ok=True)
    bare = t.Server(c.work, db, t.free_port(), flows, c.secrets)
    try:
        check("bare server: starts", bare.start(), bare.stderr())
        r = bare.request("GET", "/")
        check("bare server: / is a page saying the designer is not built (make web)",
              r.status == 200 and r.headers.get("content-type", "").startswith("text/html")
              and b"make web" in r.body and "content-security-policy" in r.headers, r)
        r = bare.request("GET", "/flows/x", headers={"Accept": "text/html"})
        check("bare server: other pages -> 404", r.status == 404, r)
        r = bare.request("POST", "/api/v1/auth/token",
                         {"username": "root", "password": "bare-secret-pw9"})
        token = "Bearer " + ((r.json or {}).get("token") or "none")
        r = bare.request("GET", "/api/v1/prompts", auth=token)
        msg = ((r.json or {}).get("error") or {}).get("message", "")
        check("bare server: prompts without --prompts -> 404 naming --prompts",
              r.status == 404 and "--prompts" in msg, r)
        r = bare.request("PUT", "/api/v1/prompts/x.wav", sine_wav(8000, 1, 2, 0.1), auth=token)
        check("bare server: PUT without --prompts -> 404", r.status == 404, r)
        r = bare.request("POST", "/api/v1/tts", {"text": "Hello"}, auth=token)
        check("bare server: tts works without --prompts", r.status == 200, r)
    finally:
        bare.kill()

    # --web refused at start: a link leaving the folder, no index.html.
    bad = os.path.join(c.work, "bad-dist")
    os.makedirs(bad)
    with open(os.path.join(bad, "index.html"), "wb") as f:
        f.write(INDEX_HTML)
    os.symlink(os.path.join(c.work, "secret.txt"), os.path.join(bad, "leak.txt"))
    status, out, err = t.cli("serve", "--db", db, "--http", "127.0.0.1:%d" % t.free_port(),
                             "--web", bad, timeout=20)
    check("web: --web with a link leaving the folder -> start-up fails naming it",
          status != 0 and "leak.txt" in err and "leaves" in err, (status, err))
    empty = os.path.join(c.work, "empty-dist")
    os.makedirs(empty)
    status, out, err = t.cli("serve", "--db", db, "--http", "127.0.0.1:%d" % t.free_port(),
                             "--web", empty, timeout=20)
    check("web: --web without index.html -> start-up fails naming it",
          status != 0 and "index.html" in err, (status, err))
