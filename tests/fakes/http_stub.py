#!/usr/bin/env python3
"""A CRM stand-in for tests: a real HTTP/1.1 server on 127.0.0.1, port chosen by the kernel.

Prints its port on the first line of stdout, then serves until stdin closes or it is killed.
Endpoints:
  /ok                      200 {"Value": "Gold", "account": {"balance": 42.5}, "orders": [{"id": 7}]}
  /echo                    200 the request as JSON: method, path (raw), headers, body
  /status/N                status N with a small JSON body
  /delay?ms=N              200 after N ms
  /reset                   closes the connection with a TCP reset mid-response
  /garbage                 200 with a body that is not JSON
  /huge?kb=N               200 with N KiB of JSON
  /text                    200 text/plain "hello there"
  /redirect?to=U&status=N  status N (302) with Location U
  /headers?n=N&len=L       200 {"ok": true} with X-Stub: yes, two Set-Cookie and N more X-Extra-i
                           of L bytes each
"""
import json
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def handle_any(self):
        length = int(self.headers.get("Content-Length", 0) or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/ok":
            return self.reply(200, json.dumps(
                {"Value": "Gold", "account": {"balance": 42.5}, "orders": [{"id": 7}, {"id": 9}]}))
        if url.path == "/echo":
            return self.reply(200, json.dumps({"method": self.command, "path": self.path,
                                               "headers": dict(self.headers.items()),
                                               "body": body}))
        if url.path.startswith("/status/"):
            code = int(url.path.split("/")[2])
            return self.reply(code, json.dumps({"status": code}))
        if url.path == "/delay":
            time.sleep(int(query.get("ms", ["1000"])[0]) / 1000)
            return self.reply(200, "{}")
        if url.path == "/reset":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"partial": ')
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if url.path == "/garbage":
            return self.reply(200, "<html>not json", "text/html")
        if url.path == "/huge":
            kb = int(query.get("kb", ["2048"])[0])
            return self.reply(200, '{"pad": "' + "x" * (kb * 1024) + '"}')
        if url.path == "/redirect":
            self.send_response(int(query.get("status", ["302"])[0]))
            self.send_header("Location", query.get("to", ["/ok"])[0])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if url.path == "/headers":
            data = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Stub", "yes")
            self.send_header("Set-Cookie", "a=1")
            self.send_header("Set-Cookie", "b=2")
            for i in range(int(query.get("n", ["0"])[0])):
                self.send_header("X-Extra-%d" % i, "v" * int(query.get("len", ["100"])[0]))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
            return
        if url.path == "/text":
            return self.reply(200, "hello there", "text/plain")
        return self.reply(404, json.dumps({"error": "no such path"}))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        pass  # clients that give up early (size caps, timeouts) are expected here


def main():
    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # the test closes our stdin (or dies) to stop us
    server.shutdown()


if __name__ == "__main__":
    main()
