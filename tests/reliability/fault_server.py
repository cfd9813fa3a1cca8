#!/usr/bin/env python3
"""A fault-injecting HTTP server for the reliability tests (RELIABILITY.md 5.2 "HTTP fault stub",
rows H1-H27): an API that answers late, slowly, wrongly, hugely, or not at all.

Python 3 standard library only (asyncio; `openssl` for the TLS certificates). Listens on
127.0.0.1 only, ports chosen by the kernel. Two ways to use it:

  As a module (the tests do this): the loop runs in a thread of the test process.
      server = fault_server.FaultServer(tls_dir=WORK)   # tls_dir: also the HTTPS listeners
      server.start()
      server.port, server.ports["tls-expired"], server.stats(), server.events(), server.stop()

  As a program: `fault_server.py [--tls DIR]` prints the plain port on the first line of stdout,
  then one line "NAME PORT" per further listener, and serves until stdin closes.

Listeners: "main" (plain HTTP), "other" (plain HTTP, a port for tests that must see nothing,
like a private service the outbound policy must keep closed) and, with a TLS directory, HTTPS
on "tls-good" (CA-signed for 127.0.0.1; the CA is ca.pem), "tls-self" (self-signed),
"tls-expired" (CA-signed, expired in 2020) and "tls-wronghost" (CA-signed for wrong.invalid).

Endpoints (every listener serves them all):
  /ok[?ms=50]              200 after MS milliseconds (default 50) with
                           {"Value":"Gold","account":{"balance":42.5},"orders":[{"id":7},{"id":9}]}
  /echo[/...]              200 the request as JSON: method, target (raw path and query), path,
                           query, headers (list of [name, value] in order), body (text)
  /delay?ms=N              200 {"delayed": N} after N ms
  /trickle?ms=200&n=100    200 with Content-Length N at once, then the body one byte every MS ms
  /status/N[?retry_after=S]  status N, body {"status": N}, and Retry-After: S when given
  /reset                   reads the request, then SO_LINGER 0 and close: a TCP reset
  /blackhole               reads the request, never answers; waits for the client to go
  /garbage                 bytes that are not HTTP, then close
  /huge?mb=N[&chunked=1]   200 with N MiB of JSON-ish bytes, Content-Length (or chunked)
  /chunked-forever[?ms=0&size=1024]  chunked 200 that never ends, a chunk every MS ms
  /gzipbomb?mb=N           200, Content-Encoding: gzip (not asked for), N MiB when decoded:
                           {"decoded":"yes","pad":"   ..."}
  /deep?n=N                200 with N nested arrays: [[[...]]]
  /headers?n=N&len=L       200 {"ok":true} after N extra header fields of L bytes each
  /redirect?to=URL[&status=302]  redirect to URL; /redirect?loop=1 redirects to itself
  /badlen                  Content-Length 100, 10 bytes of body, close
  /json/KIND               200 with a chosen body: html, invalid, empty, bignum (1e400),
                           u64plus (2^64+1), negzero (-0), dupkeys, surrogate (lone \\ud800)
  /_stats                  the counters below as JSON (not counted themselves)

Counted per listener: connections accepted, requests per path, and client disconnects per path
(the client closed or reset the connection before the answer was complete). The module API
also keeps every request (raw bytes included) and timed events.
"""
import asyncio
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import zlib

OK_BODY = {"Value": "Gold", "account": {"balance": 42.5}, "orders": [{"id": 7}, {"id": 9}]}
JSON_KINDS = {
    "html": ("text/html", b"<!doctype html><html><body><h1>Gateway</h1></body></html>"),
    "invalid": ("application/json", b'{"Value": "Gold", "broken": '),
    "empty": ("application/json", b""),
    "bignum": ("application/json", b'{"v": 1e400, "ok": "yes"}'),
    "u64plus": ("application/json", b'{"v": 18446744073709551617, "ok": "yes"}'),
    "negzero": ("application/json", b'{"v": -0, "w": -0.0, "ok": "yes"}'),
    "dupkeys": ("application/json", b'{"v": "first", "v": "second", "ok": "yes"}'),
    "surrogate": ("application/json", b'{"v": "a\\ud800b", "ok": "yes"}'),
}
MAX_HEAD = 64 * 1024
MAX_BODY = 4 * 1024 * 1024


class Stats:
    """Counters of one listener."""

    def __init__(self):
        self.connections = 0
        self.requests = {}
        self.disconnects = {}

    def as_dict(self):
        return {"connections": self.connections, "requests": dict(self.requests),
                "disconnects": dict(self.disconnects)}


class Request:
    def __init__(self, listener, method, target, version, headers, body, raw_head):
        self.listener, self.method, self.target, self.version = listener, method, target, version
        self.headers, self.body, self.raw_head = headers, body, raw_head
        split = urllib.parse.urlsplit(target)
        self.path, self.query = split.path, split.query
        self.params = {k: v[0] for k, v in urllib.parse.parse_qs(split.query).items()}
        self.arrived = time.monotonic()

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def as_dict(self):
        return {"listener": self.listener, "method": self.method, "target": self.target,
                "path": self.path, "query": self.query, "headers": self.headers,
                "body": self.body.decode("utf-8", "replace")}


class Disconnected(Exception):
    pass


class FaultServer:
    def __init__(self, tls_dir=None, host="127.0.0.1"):
        self.host = host
        self.tls_dir = tls_dir
        self.ports = {}
        self._stats = {}
        self._requests = []
        self._events = []
        self._lock = threading.Lock()
        self._loop = None
        self._thread = None
        self._servers = []
        self._ready = threading.Event()
        self._gzip_cache = {}
        self.error = None

    # --- module API ----------------------------------------------------------------------------

    @property
    def port(self):
        return self.ports["main"]

    def start(self, timeout=10):
        self._thread = threading.Thread(target=self._run, name="fault-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self.error:
            raise RuntimeError("the fault server did not start: %s" % self.error)
        return self

    def stop(self):
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def stats(self, listener="main"):
        with self._lock:
            return self._stats[listener].as_dict()

    def all_stats(self):
        with self._lock:
            return {name: s.as_dict() for name, s in self._stats.items()}

    def requests(self, path=None, listener=None):
        with self._lock:
            return [r for r in self._requests if (path is None or r.path == path)
                    and (listener is None or r.listener == listener)]

    def events(self):
        """(monotonic time, listener, path, "request" | "disconnect" | "done")."""
        with self._lock:
            return list(self._events)

    def count(self, path, listener="main", kind="requests"):
        with self._lock:
            return self._stats[listener].as_dict()[kind].get(path, 0)

    def connections(self, listener="main"):
        with self._lock:
            return self._stats[listener].connections

    def wait_for(self, predicate, timeout):
        """Polls PREDICATE (no arguments) until true or TIMEOUT seconds; returns its last value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value or time.monotonic() >= deadline:
                return value
            time.sleep(0.02)

    # --- the loop --------------------------------------------------------------------------------

    def _run(self):
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._listen())
        except Exception as exc:  # noqa: BLE001 - reported to start()
            self.error = repr(exc)
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            for server in self._servers:
                server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    async def _listen(self):
        listeners = [("main", None), ("other", None)]
        if self.tls_dir:
            certs = make_certs(self.tls_dir)
            for name in ("tls-good", "tls-self", "tls-expired", "tls-wronghost"):
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(certs[name + ".pem"], certs[name + ".key"])
                listeners.append((name, context))
        for name, context in listeners:
            self._stats[name] = Stats()
            server = await asyncio.start_server(
                lambda r, w, n=name: self._connection(n, r, w), self.host, 0, ssl=context,
                backlog=512, ssl_handshake_timeout=10 if context else None)
            self._servers.append(server)
            self.ports[name] = server.sockets[0].getsockname()[1]

    def _note(self, listener, path, kind, request=None):
        with self._lock:
            stats = self._stats[listener]
            if kind == "request":
                stats.requests[path] = stats.requests.get(path, 0) + 1
                self._requests.append(request)
            elif kind == "disconnect":
                stats.disconnects[path] = stats.disconnects.get(path, 0) + 1
            self._events.append((time.monotonic(), listener, path, kind))

    async def _connection(self, listener, reader, writer):
        with self._lock:
            self._stats[listener].connections += 1
        try:
            while True:
                request = await self._read_request(listener, reader)
                if request is None:
                    break
                if request.path == "/_stats":
                    await self._send(writer, 200, json.dumps(self.all_stats()).encode())
                    continue
                self._note(listener, request.path, "request", request)
                try:
                    keep = await self._handle(request, reader, writer)
                    self._note(listener, request.path, "done")
                except (Disconnected, ConnectionError, ssl.SSLError):
                    self._note(listener, request.path, "disconnect")
                    break
                if not keep:
                    break
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, ValueError):
            pass
        except asyncio.CancelledError:
            raise
        finally:
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - already gone
                pass

    async def _read_request(self, listener, reader):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        except asyncio.LimitOverrunError:
            return None
        if len(head) > MAX_HEAD:
            return None
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return None
        headers = []
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            headers.append([name.strip(), value.strip()])
        length = 0
        for name, value in headers:
            if name.lower() == "content-length":
                length = int(value)
        if length > MAX_BODY:
            return None
        body = await reader.readexactly(length) if length else b""
        return Request(listener, parts[0], parts[1], parts[2], headers, body, head)

    # --- answers ---------------------------------------------------------------------------------

    @staticmethod
    async def _send(writer, status, body, content_type="application/json", extra=(), close=False):
        head = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Status")),
                "Content-Type: " + content_type, "Content-Length: %d" % len(body)]
        head += ["%s: %s" % kv for kv in extra]
        if close:
            head.append("Connection: close")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        return not close

    @staticmethod
    async def _until_gone(reader, seconds=None):
        """Waits SECONDS (None: for ever) while watching the connection; raises Disconnected
        when the client closes or resets it first."""
        try:
            data = await asyncio.wait_for(reader.read(65536), seconds) if seconds is not None \
                else await reader.read(65536)
        except asyncio.TimeoutError:
            return
        except (ConnectionError, ssl.SSLError):
            raise Disconnected()
        if not data:
            raise Disconnected()
        # Bytes after the request (a pipelined request): not expected from these clients.
        if seconds is not None:
            await asyncio.sleep(0)

    async def _sleep_watching(self, reader, seconds):
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            await self._until_gone(reader, left)

    async def _handle(self, req, reader, writer):
        p, q = req.path, req.params
        if p == "/ok":
            await self._sleep_watching(reader, int(q.get("ms", "50")) / 1000)
            return await self._send(writer, 200, json.dumps(OK_BODY).encode())
        if p == "/echo" or p.startswith("/echo/"):
            return await self._send(writer, 200, json.dumps(req.as_dict()).encode())
        if p == "/delay":
            ms = int(q.get("ms", "1000"))
            await self._sleep_watching(reader, ms / 1000)
            return await self._send(writer, 200, json.dumps({"delayed": ms}).encode())
        if p == "/trickle":
            ms, n = int(q.get("ms", "200")), int(q.get("n", "100"))
            writer.write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          "Content-Length: %d\r\n\r\n" % n).encode())
            await writer.drain()
            for _ in range(n):
                await self._sleep_watching(reader, ms / 1000)
                writer.write(b" ")
                await writer.drain()
            return False
        if p.startswith("/status/"):
            code = int(p.split("/")[2])
            extra = [("Retry-After", q["retry_after"])] if "retry_after" in q else []
            return await self._send(writer, code, json.dumps({"status": code}).encode(),
                                    extra=extra)
        if p == "/reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        if p == "/blackhole":
            await self._until_gone(reader)
            return False
        if p == "/garbage":
            writer.write(b"\x00\xff\xfeNOT-HTTP \x1b[31m garbage\r\n\x00\x01\x02" * 8)
            await writer.drain()
            return False
        if p == "/huge":
            size = int(float(q.get("mb", "50")) * (1 << 20))
            chunked = q.get("chunked") == "1"
            head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else \
                "Content-Length: %d\r\n\r\n" % size
            writer.write(head.encode())
            block = b'{"x":"' + b"y" * 65520 + b'"}\n'
            sent = 0
            while sent < size:
                piece = block[:min(len(block), size - sent)]
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                await writer.drain()
                sent += len(piece)
            if chunked:
                writer.write(b"0\r\n\r\n")
                await writer.drain()
            return False
        if p == "/chunked-forever":
            ms, size = int(q.get("ms", "0")), int(q.get("size", "1024"))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
            piece = b"%x\r\n%s\r\n" % (size, b"z" * size)
            end = time.monotonic() + 600  # bounded: ten minutes at most
            while time.monotonic() < end:
                writer.write(piece)
                await writer.drain()
                if ms:
                    await self._sleep_watching(reader, ms / 1000)
                elif writer.transport.is_closing():
                    raise Disconnected()
                else:
                    await asyncio.sleep(0)
            return False
        if p == "/gzipbomb":
            mb = int(q.get("mb", "50"))
            if mb not in self._gzip_cache:  # made off the loop: 50 MiB take a few tenths of a s
                self._gzip_cache[mb] = await asyncio.get_running_loop().run_in_executor(
                    None, gzip_bomb, mb)
            return await self._send(writer, 200, self._gzip_cache[mb],
                                    extra=[("Content-Encoding", "gzip")], close=True)
        if p == "/deep":
            n = int(q.get("n", "100000"))
            return await self._send(writer, 200, b"[" * n + b"]" * n, close=True)
        if p == "/headers":
            n, length = int(q.get("n", "100000")), int(q.get("len", "10"))
            value = "h" * length
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 11\r\nConnection: close\r\n")
            batch = []
            for i in range(n):
                batch.append(("X-Extra-%d: %s\r\n" % (i, value)).encode())
                if len(batch) >= 256:
                    writer.write(b"".join(batch))
                    batch = []
                    await writer.drain()
            writer.write(b"".join(batch) + b'\r\n{"ok":true}')
            await writer.drain()
            return False
        if p == "/redirect":
            status = int(q.get("status", "302"))
            to = req.target if q.get("loop") == "1" else q.get("to", "/ok")
            return await self._send(writer, status, b'{"moved":true}', extra=[("Location", to)])
        if p == "/badlen":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100\r\n\r\n" + b'{"a":"bcd"')
            await writer.drain()
            return False
        if p.startswith("/json/"):
            kind = p[len("/json/"):]
            if kind in JSON_KINDS:
                content_type, body = JSON_KINDS[kind]
                return await self._send(writer, 200, body, content_type=content_type)
        return await self._send(writer, 404, b'{"error":"no such endpoint"}')


def gzip_bomb(mb):
    """A gzip member that decodes to {"decoded":"yes","pad":"<MB MiB of spaces>"}, made a
    MiB at a time (about 50 KiB for 50 MiB)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: gzip framing
    parts = [packer.compress(b'{"decoded":"yes","pad":"')]
    block = b" " * (1 << 20)
    for _ in range(mb):
        parts.append(packer.compress(block))
    parts += [packer.compress(b'"}'), packer.flush()]
    return b"".join(parts)


REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 303: "See Other",
           307: "Temporary Redirect", 308: "Permanent Redirect", 404: "Not Found",
           429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


def make_certs(directory):
    """Writes ca.pem and the four server certificates (NAME.pem, NAME.key) into DIRECTORY with
    the `openssl` command; returns {file name: path}."""
    os.makedirs(directory, exist_ok=True)
    out = {}

    def path(name):
        out[name] = os.path.join(directory, name)
        return out[name]

    def openssl(*args):
        done = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60,
                              cwd=directory)
        if done.returncode != 0:
            raise RuntimeError("openssl %s: %s" % (" ".join(args), done.stderr[-800:]))

    KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]

    def write(name, text):
        with open(path(name), "w") as f:
            f.write(text)
        return out[name]

    openssl("req", "-x509", *KEY, "-nodes", "-keyout", path("ca.key"),
            "-out", path("ca.pem"), "-days", "2", "-subj", "/CN=callflow fault test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-x509", *KEY, "-nodes", "-keyout", path("tls-self.key"),
            "-out", path("tls-self.pem"), "-days", "2", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost")
    # `openssl ca` sets any validity period, past ones included (x509 -req cannot in 3.0).
    for name in ("index.txt",):
        write(name, "")
    write("serial", "1000\n")
    config = write("ca.cnf", "\n".join([
        "[ca]", "default_ca = test", "[test]", "dir = " + directory,
        "database = $dir/index.txt", "serial = $dir/serial", "new_certs_dir = $dir",
        "certificate = $dir/ca.pem", "private_key = $dir/ca.key", "default_md = sha256",
        "policy = anything", "unique_subject = no", "copy_extensions = copy",
        "[anything]", "commonName = supplied", ""]))
    leaves = {"tls-good": ("127.0.0.1", "IP:127.0.0.1,DNS:localhost", None),
              "tls-expired": ("127.0.0.1", "IP:127.0.0.1,DNS:localhost",
                              ("20200101000000Z", "20200102000000Z")),
              "tls-wronghost": ("wrong.invalid", "DNS:wrong.invalid", None)}
    for name, (cn, san, period) in leaves.items():
        openssl("req", "-new", *KEY, "-nodes", "-keyout", path(name + ".key"),
                "-out", path(name + ".csr"), "-subj", "/CN=" + cn,
                "-addext", "subjectAltName=" + san)
        dates = ["-startdate", period[0], "-enddate", period[1]] if period else ["-days", "2"]
        openssl("ca", "-batch", "-config", config, "-notext", "-in", out[name + ".csr"],
                "-out", path(name + ".pem"), *dates)
    return out


def main(argv):
    tls_dir = None
    if len(argv) >= 2 and argv[0] == "--tls":
        tls_dir = os.path.abspath(argv[1])
    server = FaultServer(tls_dir=tls_dir).start()
    print(server.port, flush=True)
    for name, port in server.ports.items():
        if name != "main":
            print(name, port, flush=True)
    try:
        sys.stdin.read()  # serve until stdin closes
    except KeyboardInterrupt:
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
