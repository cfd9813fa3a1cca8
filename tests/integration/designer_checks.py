"""The web designer's test endpoints of `callflow serve`, run from serve_test.py:

  POST /api/v1/test-request  one ApiRequest of an unsaved flow, sent as a live call sends it
  POST /api/v1/test-call     a scripted call through an unsaved flow, with no call record

`run(c, t)`: `c` is serve_test's context (a running server, signed-in tokens c.admin, c.sup,
c.agent), `t` the serve_test module (check, SLOW, PASSWORDS). A local HTTP stub on loopback plays
the CRM; the server's own Lead Web API is the other target.
"""
import http.server
import json
import threading
import time
import urllib.parse


class StubHandler(http.server.BaseHTTPRequestHandler):
    """/echo: 200 {"Value": "Gold", "method", "path", "headers", "body"} with X-Designer: stub-1.
    /slow: the same after 2 s."""

    protocol_version = "HTTP/1.1"

    def handle_any(self):
        length = int(self.headers.get("Content-Length", 0) or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        if urllib.parse.urlsplit(self.path).path == "/slow":
            time.sleep(2)
        data = json.dumps({"Value": "Gold", "method": self.command, "path": self.path,
                           "headers": dict(self.headers.items()), "body": body}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Designer", "stub-1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = handle_any

    def log_message(self, *args):
        pass


class StubServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # /slow's client (the element's timeout) leaves before the answer: expected


def draft_flow(stub_port, getapi):
    """A half-built flow: GETAPI reads OtherApi's result, IvrData and a dynamic property; the
    element Broken has an error of its own (a misspelt key)."""
    return {
        "format": 1,
        "name": "DesignerDraft",
        "start": "OtherApi",
        "elements": [
            {"name": "OtherApi", "type": "ApiRequest",
             "url": "http://127.0.0.1:%d/echo" % stub_port, "next": {"output": "Save"}},
            {"name": "Save", "type": "SetProperty",
             "destination": {"type": "IvrData", "name": "LeadField"},
             "source": {"type": "DataBin", "name": "OtherApi.Result.Value"},
             "next": {"output": "Dyn"}},
            {"name": "Dyn", "type": "SetProperty",
             "destination": {"type": "DynamicProperty", "name": "x"},
             "source": {"type": "FreeText", "name": "1"}, "next": {"output": "GETAPI"}},
            dict({"name": "GETAPI", "type": "ApiRequest", "next": {"output": "Broken"}}, **getapi),
            {"name": "Broken", "type": "TextToSpeech", "txet": "typo"},
        ],
    }


def run(c, t):
    s = c.server
    check = t.check
    password = t.PASSWORDS["ivr"][1]
    stub = StubServer(("127.0.0.1", c.designer_stub_port), StubHandler)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    port = stub.server_address[1]
    try:
        test_request(c, t, s, check, password, port)
        test_call(c, t, s, check, password, port)
    finally:
        stub.shutdown()


def test_request(c, t, s, check, password, port):
    url = ("http://127.0.0.1:%d/echo?phone={{call.phonenum}}&f={{LeadField}}&x={{dynamic.x}}"
           "&id={{OtherApi.Result.id}}&s={{OtherApi.StatusCode}}" % port)
    getapi = {"action": "POST", "url": url, "timeout": 5,
              "header": "X-Key: {{secret.LEAD_API_PASSWORD}}, X-Tier: {{LeadField}}",
              "body": '{"id": {{OtherApi.Result.id}}, "name": "{{LeadField}}"}'}
    flow = draft_flow(port, getapi)
    values = {"call.phonenum": "+441632960001", "LeadField": "Gold Plus", "dynamic.x": "1",
              "OtherApi.Result.id": "7", "OtherApi.StatusCode": "200"}

    r = s.request("POST", "/api/v1/validate", flow, auth=c.sup)
    check("designer: the draft flow is invalid (element Broken)",
          r.status == 200 and (r.json or {}).get("valid") is False
          and any(p.get("element") == "Broken" for p in (r.json or {}).get("problems", [])), r)

    r = s.request("POST", "/api/v1/test-request",
                  {"flow": flow, "element": "GETAPI", "values": values}, auth=c.admin, timeout=30)
    j = r.json or {}
    req, resp = j.get("request") or {}, j.get("response") or {}
    check("test-request: a flow whose other element is broken still tests -> 200",
          r.status == 200 and j.get("exit") == "output" and j.get("error") == "", r)
    check("test-request: the URL is rendered from the values, percent-encoded",
          req.get("method") == "POST" and req.get("url") == (
              "http://127.0.0.1:%d/echo?phone=%%2B441632960001&f=Gold%%20Plus&x=1&id=7&s=200"
              % port), req)
    check("test-request: the JSON body is rendered from the values",
          req.get("body") == '{"id": 7, "name": "Gold Plus"}', req)
    headers = [tuple(h) for h in req.get("headers", [])]
    check("test-request: request headers as sent, the secret shown as ***",
          headers == [("X-Key", "***"), ("X-Tier", "Gold Plus"),
                      ("Content-Type", "application/json")], headers)
    check("test-request: the stub's status, custom header and content type",
          resp.get("status") == 200 and ["x-designer", "stub-1"] in resp.get("headers", [])
          and resp.get("contentType") == "application/json", resp)
    echoed = resp.get("json") or {}
    check("test-request: the body parsed as JSON, as the flow sees it",
          echoed.get("Value") == "Gold" and echoed.get("method") == "POST"
          and echoed.get("body") == '{"id": 7, "name": "Gold Plus"}', resp)
    check("test-request: the secret the stub echoed back is *** in body and json",
          (echoed.get("headers") or {}).get("X-Key") == "***"
          and '"X-Key": "***"' in resp.get("body", ""), resp)
    check("test-request: timeMs is a number", isinstance(j.get("timeMs"), (int, float))
          and 0 <= j["timeMs"] < 10000, j.get("timeMs"))
    check("test-request: the secret is nowhere in the answer",
          password not in r.body.decode("utf-8", "replace"), r)

    # Only an admin tests unsaved documents: one could send the server's secrets, or ask any
    # address the outbound policy allows and read the answer.
    r = s.request("POST", "/api/v1/test-request",
                  {"flow": flow, "element": "GETAPI", "values": values}, auth=c.sup, timeout=30)
    check("test-request: a supervisor -> 403", r.status == 403, r)
    r = s.request("POST", "/api/v1/test-call", {"flow": flow}, auth=c.sup, timeout=30)
    check("test-call: a supervisor -> 403", r.status == 403, r)

    # The seed example's GETAPI against the server's own Lead Web API, signing in with Basic
    # auth from a secret.
    seed = json.loads(c.seed_text)
    r = s.request("POST", "/api/v1/test-request",
                  {"flow": seed, "element": "GETAPI", "values": {"call.leadid": "1002"}},
                  auth=c.admin, timeout=30)
    j = r.json or {}
    req, resp = j.get("request") or {}, j.get("response") or {}
    check("test-request: the seed's GETAPI against the Lead Web API -> Gold",
          r.status == 200 and resp.get("status") == 200 and j.get("exit") == "output"
          and resp.get("json") == {"FieldId": 158, "Value": "Gold"}
          and req.get("url", "").endswith("/leadservices/api/v2/leads/1002/fields/158"), r)
    check("test-request: Basic auth from a secret is shown as Basic ***",
          ["Authorization", "Basic ***"] in req.get("headers", [])
          and password not in r.body.decode("utf-8", "replace"), req)

    # The test request follows the server's outbound policy: a loopback port nobody allowed is
    # refused like the metadata service.
    for target, reason in (("http://127.0.0.1:1/nothing", "outbound policy denies"),
                           ("http://169.254.169.254/latest", "outbound policy denies")):
        flow = draft_flow(port, {"url": target, "timeout": 5})
        r = s.request("POST", "/api/v1/test-request", {"flow": flow, "element": "GETAPI"},
                      auth=c.admin, timeout=30)
        j = r.json or {}
        check("test-request: %s -> exit error with the reason" % target,
              r.status == 200 and j.get("exit") == "error" and reason in j.get("error", "")
              and (j.get("response") or {}).get("status") == 0, r)
    flow = draft_flow(port, {"url": "http://127.0.0.1:%d/slow" % port, "timeout": 0.3})
    r = s.request("POST", "/api/v1/test-request", {"flow": flow, "element": "GETAPI"},
                  auth=c.admin, timeout=30)
    j = r.json or {}
    check("test-request: past the element's timeout -> exit timeout",
          r.status == 200 and j.get("exit") == "timeout" and "0.3 s" in j.get("error", ""), r)

    flow = draft_flow(port, getapi)
    for element, why in (("Nope", "an unknown element"), ("Save", "a SetProperty")):
        r = s.request("POST", "/api/v1/test-request", {"flow": flow, "element": element},
                      auth=c.admin)
        check("test-request: %s -> 400 naming it" % why,
              r.status == 400 and element in r.body.decode(), r)
    bad_url = draft_flow(port, {"url": "ftp://example.com/{{call.leadid}}"})
    r = s.request("POST", "/api/v1/test-request", {"flow": bad_url, "element": "GETAPI"},
                  auth=c.admin)
    problems = (r.json or {}).get("problems", [])
    check("test-request: the element's own bad URL -> 422 naming the element and key",
          r.status == 422 and problems
          and all(p.get("element") == "GETAPI" for p in problems)
          and any(p.get("key") == "url" for p in problems), r)
    for bad, name in (({"call.phonenum": 5}, "call.phonenum"),
                      ({"a..b": "1"}, "a..b"),
                      ({"call.nosuch": "1"}, "call.nosuch"),
                      ({"Nope.Result.x": "1"}, "Nope.Result.x"),
                      ({"secret.LEAD_API_PASSWORD": "x"}, "secret.LEAD_API_PASSWORD"),
                      ({"OtherApi.StatusCode": "two hundred"}, "OtherApi.StatusCode"),
                      ({"LeadField": "x" * 5000}, "LeadField")):
        r = s.request("POST", "/api/v1/test-request",
                      {"flow": flow, "element": "GETAPI", "values": bad}, auth=c.admin)
        check("test-request: bad value %s -> 400 naming the key" % name[:30],
              r.status == 400 and name in r.body.decode(), r)
    many = {"dynamic.v%d" % i: "1" for i in range(201)}
    r = s.request("POST", "/api/v1/test-request",
                  {"flow": flow, "element": "GETAPI", "values": many}, auth=c.admin)
    check("test-request: 201 values -> 400", r.status == 400, r)
    r = s.request("POST", "/api/v1/test-request", {"flow": flow, "element": "GETAPI", "x": 1},
                  auth=c.admin)
    check("test-request: an unknown key -> 400", r.status == 400, r)
    r = s.request("POST", "/api/v1/test-request", {"flow": flow, "element": "GETAPI"},
                  auth=c.agent)
    check("test-request: as agent -> 403", r.status == 403, r)
    r = s.request("POST", "/api/v1/test-request", {"flow": flow, "element": "GETAPI"})
    check("test-request: without a token -> 401", r.status == 401, r)


def count_calls(c):
    r = c.server.request("GET", "/api/v1/calls?limit=1000", auth=c.admin)
    return len((r.json or {}).get("calls", [])) if r.status == 200 else -1


def test_call(c, t, s, check, password, port):
    flow = {
        "format": 1,
        "name": "DesignerUnsaved",
        "start": "Ask",
        "elements": [
            {"name": "Ask", "type": "CaptureDigits", "prompt": {"text": "Your code?"},
             "maxDigits": 4, "next": {"output": "Get", "noInput": "Get"}},
            {"name": "Get", "type": "ApiRequest", "action": "POST",
             "url": "http://127.0.0.1:%d/echo?code={{Ask.Result}}" % port,
             "header": "X-Key: {{secret.LEAD_API_PASSWORD}}",
             "body": '{"code": "{{Ask.Result}}"}',
             "phrase": ["please-wait.wav"], "next": {"output": "Say", "error": "Say"}},
            {"name": "Say", "type": "TextToSpeech", "text": "Status {{Get.Result.Value}}.",
             "next": {"output": "Bye"}},
            {"name": "Bye", "type": "Hangup", "resultCode": "DONE"},
        ],
    }
    # Records of earlier test calls are written behind them: let the count settle first.
    before = count_calls(c)
    for _ in range(20):
        time.sleep(0.05 * t.SLOW)
        now = count_calls(c)
        if now == before:
            break
        before = now
    r = s.request("POST", "/api/v1/test-call",
                  {"flow": flow, "from": "+441632960001", "digits": ["12#"]},
                  auth=c.admin, timeout=30)
    j = r.json or {}
    trace = j.get("trace") or {}
    check("test-call: an unsaved flow -> 200 with flowVersion 0 and its trace",
          r.status == 200 and j.get("flowVersion") == 0 and "uuid" not in j
          and trace.get("path") == ["Ask", "Get", "Say", "Bye"]
          and trace.get("resultCode") == "DONE", r)
    check("test-call: said and played",
          trace.get("said") == ["Your code?", "Status Gold."]
          and trace.get("played") == ["please-wait.wav"], trace)
    exchanges = trace.get("http") or []
    h = exchanges[0] if exchanges else {}
    check("test-call: the http entry has the request and the answer",
          len(exchanges) == 1 and h.get("status") == 200 and h.get("method") == "POST"
          and h.get("url", "").endswith("/echo?code=12")
          and ["X-Key", "***"] in h.get("requestHeaders", [])
          and h.get("requestBody") == '{"code": "12"}'
          and h.get("contentType") == "application/json"
          and '"Value": "Gold"' in h.get("responseBody", "")
          and isinstance(h.get("ms"), int) and h.get("error") == "", h)
    check("test-call: the secret is nowhere in the answer",
          password not in r.body.decode("utf-8", "replace"), r)
    time.sleep(0.3 * t.SLOW)
    after = count_calls(c)
    check("test-call: no call record is stored (GET /calls count unchanged)",
          before >= 0 and after == before, (before, after))
    r = s.request("GET", "/api/v1/flows/DesignerUnsaved", auth=c.sup)
    check("test-call: the flow is not saved by it", r.status == 404, r)

    broken = dict(flow, elements=flow["elements"][:3] + [{"name": "Bye", "type": "Hangup",
                                                          "resultCode": "not a code"}])
    r = s.request("POST", "/api/v1/test-call", {"flow": broken}, auth=c.admin)
    problems = (r.json or {}).get("problems", [])
    check("test-call: an invalid document -> 422 with its problems",
          r.status == 422 and any(p.get("element") == "Bye" for p in problems), r)
    r = s.request("POST", "/api/v1/test-call", {"flow": flow, "hangupAt": "Nowhere"}, auth=c.admin)
    check("test-call: hangupAt an unknown element -> 400", r.status == 400, r)
    r = s.request("POST", "/api/v1/test-call", {"flow": flow, "colour": "red"}, auth=c.admin)
    check("test-call: an unknown key -> 400", r.status == 400, r)
    r = s.request("POST", "/api/v1/test-call", {"from": "1"}, auth=c.admin)
    check("test-call: no flow -> 400", r.status == 400, r)
    r = s.request("POST", "/api/v1/test-call", {"flow": flow, "hangupAt": "Say"},
                  auth=c.admin, timeout=30)
    trace = (r.json or {}).get("trace") or {}
    check("test-call: hangupAt works as for saved flows",
          r.status == 200 and trace.get("hungUpBy") == "caller" and trace.get("endedAt") == "Say",
          r)
    r = s.request("POST", "/api/v1/test-call", {"flow": flow}, auth=c.agent)
    check("test-call: as agent -> 403", r.status == 403, r)

    # A live call's record keeps no headers or bodies of its exchanges (only designer tests do).
    saved = dict(flow, name="DesignerSaved")
    r = s.request("PUT", "/api/v1/flows/DesignerSaved", saved, auth=c.admin)
    check("records: the flow saves", r.status == 200, r)
    r = s.request("POST", "/api/v1/flows/DesignerSaved/calls", {"digits": ["12#"]},
                  auth=c.sup, timeout=30)
    exchanges = ((r.json or {}).get("trace") or {}).get("http") or []
    check("records: a saved flow's call trace has its exchange without headers or bodies",
          r.status == 200 and len(exchanges) == 1 and exchanges[0].get("status") == 200
          and not any(k in exchanges[0] for k in ("requestHeaders", "requestBody",
                                                   "responseBody")), r)
