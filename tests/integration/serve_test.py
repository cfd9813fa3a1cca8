#!/usr/bin/env python3
"""`callflow serve` as a user meets it: the database commands that set it up, the Lead Web API
(HTTP Basic), the admin API (Bearer tokens), the seed example end to end through the server's own
Lead Web API, /healthz and /metrics, a restart after kill -9, and a bulk import cut short by
SIGKILL.

Usage: serve_test.py PATH_TO_callflow REPO_ROOT

Python 3 standard library only. Every check prints its name; the end prints "N passed, M failed"
and the exit status is non-zero when any check failed. The server always runs on 127.0.0.1 on a
free port and is killed at the end whatever happens.
"""
import base64
import http.client
import http.server
import json
import os
import re
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import designer_checks  # noqa: E402 - the designer's test endpoints, after sys.path
import media_api_checks  # noqa: E402 - prompts, text-to-speech and the designer's files

if len(sys.argv) != 3:
    sys.exit("usage: serve_test.py PATH_TO_callflow REPO_ROOT")
CALLFLOW = os.path.abspath(sys.argv[1])
ROOT = os.path.abspath(sys.argv[2])


sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
import harness  # noqa: E402

SLOW = harness.slowdown(CALLFLOW)  # every wait is scaled by this
T = harness.Checks()
check, safe = T.check, T.safe

PASSWORDS = {
    "ivr": ("api", "ivr-secret-pw1"),
    "boss": ("admin", "boss-secret-pw2"),
    "sue": ("supervisor", "sue-secret-pw3"),
    "andy": ("agent", "andy-secret-pw4"),
}

# Secrets, passwords and the outbound allowlist only come from where this test puts them.
ENV = harness.clean_env()


def cli(*args, timeout=60, stdin=None):
    """Runs `callflow ARGS`; returns (exit status, stdout, stderr)."""
    return harness.run_cli(CALLFLOW, *args, timeout=timeout, stdin=stdin, env=ENV, slow=SLOW)


def parse_json(text):
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return None


free_port = harness.free_port


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body
        self.json = parse_json(body.decode("utf-8", "replace")) if body else None

    def __repr__(self):
        return "HTTP %d %s" % (self.status, self.body[:600].decode("utf-8", "replace"))


def basic(user, password=None):
    if password is None:
        password = PASSWORDS[user][1]
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def bearer(token):
    return "Bearer " + token


class Server:
    """One `callflow serve` process; stderr goes to a file that the checks read."""

    def __init__(self, work, db, port, flows_dir, secrets, extra_args=()):
        self.work, self.db, self.port = work, db, port
        self.flows_dir, self.secrets = flows_dir, secrets
        self.extra_args = list(extra_args)  # e.g. --prompts DIR --web DIR
        self.process = None
        self.starts = 0
        self.err_path = None

    def start(self):
        self.starts += 1
        self.err_path = os.path.join(self.work, "serve-%d.err" % self.starts)
        self.err_file = open(self.err_path, "wb")
        self.process = subprocess.Popen(
            [CALLFLOW, "serve", "--db", self.db, "--http", "127.0.0.1:%d" % self.port,
             "--flows", self.flows_dir, "--secrets", self.secrets, *self.extra_args],
            stdout=subprocess.DEVNULL, stderr=self.err_file, env=ENV)
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                reply = self.request("GET", "/healthz", timeout=1)
                if reply.status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def request(self, method, path, body=None, auth=None, headers=None, timeout=15):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout * SLOW)
        try:
            all_headers = dict(headers or {})
            if auth:
                all_headers["Authorization"] = auth
            if body is not None and not isinstance(body, (bytes, str)):
                body = json.dumps(body)
                all_headers.setdefault("Content-Type", "application/json")
            if isinstance(body, str):
                body = body.encode("utf-8")
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            data = response.read()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
        finally:
            connection.close()

    def kill(self, sig=signal.SIGKILL):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15 * SLOW)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process:
            self.err_file.close()
        return self.process.returncode if self.process else None


# --- files ---------------------------------------------------------------------------------------

LEADS_CSV = (
    "referenceid,name,phonenum,city,field:158\n"
    "R1,Ada Lovelace,+44 1632 960001,London,Silver\n"          # line 2 -> 1001
    'R2,"Grace, Hopper",+44 1632 960002,Leeds,Gold\n'          # line 3 -> 1002
    "R3,Broken Row,+44 1632 960003\n"                          # line 4: 3 fields
    "R4,No Digits,n/a,York,Bronze\n"                           # line 5: phonenum has no digits
    "R5,Alan Turing,+44 1632 960005,Bath,\n"                   # line 6 -> 1003, no field 158
)

TARGETS_FLOW = {
    "format": 1,
    "name": "Targets",
    "description": "Transfer targets",
    "start": "Welcome",
    "elements": [
        {"name": "Welcome", "type": "TextToSpeech", "text": "Hello.",
         "next": {"output": "AgentDesk"}},
        {"name": "AgentDesk", "type": "Transfer", "description": "Agents' desk",
         "agentsCanSee": True, "target": "sip:desk@example.com",
         "next": {"error": "SupervisorDesk"}},
        {"name": "SupervisorDesk", "type": "Transfer", "description": "Supervisors only",
         "supervisorCanSee": True, "target": "sip:sup@example.com"},
    ],
}

BROKEN_FLOW = {
    "format": 1,
    "name": "Broken",
    "start": "A",
    "elements": [
        {"name": "A", "type": "ApiRequest", "url": "https://crm.example.com/x", "timout": 5},
    ],
}

CREATE_FLOW = {
    "format": 1,
    "name": "Enrol",
    "start": "Find",
    "elements": [
        {"name": "Find", "type": "LookupLead", "match": "phone",
         "next": {"output": "Known", "noMatch": "Create", "error": "Oops"}},
        {"name": "Create", "type": "CreateLead",
         "fields": {"name": "Caller {{call.phonenum}}", "campaignid": "IVR"},
         "next": {"output": "Welcome", "error": "Oops"}},
        {"name": "Welcome", "type": "TextToSpeech", "text": "Welcome, new caller.",
         "next": {"output": "NewBye"}},
        {"name": "NewBye", "type": "Hangup", "resultCode": "NEW"},
        {"name": "Known", "type": "TextToSpeech", "text": "Welcome back.",
         "next": {"output": "KnownBye"}},
        {"name": "KnownBye", "type": "Hangup", "resultCode": "KNOWN"},
        {"name": "Oops", "type": "Hangup", "resultCode": "FAILED"},
    ],
}


def write(path, text, mode=None):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    if mode is not None:
        os.chmod(path, mode)


# --- the checks ----------------------------------------------------------------------------------

class Context:
    pass


def setup(c):
    csv_path = os.path.join(c.work, "leads.csv")
    write(csv_path, LEADS_CSV)
    status, out, err = cli("leads", "import", csv_path, "--db", c.db, "--json")
    report = parse_json(out)
    check("leads import: exit 0", status == 0, err)
    check("leads import: --json reports 3 imported",
          report is not None and report.get("imported") == 3, out + err)
    lines = [r.get("line") for r in (report or {}).get("rejected", [])]
    check("leads import: rejected rows are lines 4 and 5", lines == [4, 5], out)
    reasons = [r.get("reason", "") for r in (report or {}).get("rejected", [])]
    check("leads import: reasons name the field count and the phone",
          len(reasons) == 2 and "3 fields" in reasons[0] and "n/a" in reasons[1], reasons)
    status, out, err = cli("leads", "find", "--phone", "01632 960002", "--db", c.db, "--json")
    found = parse_json(out) or []
    check("leads find: the quoted name with a comma is kept whole",
          status == 0 and len(found) == 1 and found[0].get("name") == "Grace, Hopper"
          and found[0].get("id") == 1002 and found[0].get("field:158") == "Gold", out + err)

    for name, (role, password) in PASSWORDS.items():
        status, out, err = cli("users", "add", name, "--role", role, "--password", password,
                               "--db", c.db)
        check("users add %s (%s): exit 0" % (name, role), status == 0, out + err)
    status, out, err = cli("users", "add", "mallory", "--role", "wizard", "--password",
                           "long-enough-1", "--db", c.db)
    check("users add with a bad role: exit 2, names the role",
          status == 2 and "wizard" in err, (status, out, err))
    status, out, err = cli("users", "add", "ivr", "--role", "api", "--password",
                           "another-pw-99", "--db", c.db)
    check("users add of an existing name: exit 2", status == 2 and "ivr" in err,
          (status, out, err))
    status, out, err = cli("users", "add", "shorty", "--role", "agent", "--password", "short",
                           "--db", c.db)
    check("users add with a 5-character password: exit 2", status == 2, (status, out, err))

    # Flows: the seed example pointed at this server, transfer targets, one invalid flow.
    os.makedirs(c.flows_dir)
    with open(os.path.join(ROOT, "examples", "flows", "lead_field.json"), encoding="utf-8") as f:
        seed = f.read()
    check("the seed example calls 127.0.0.1:8080 (to be rewritten)", "127.0.0.1:8080" in seed)
    check("the seed example signs in with {{secret.LEAD_API_PASSWORD}}",
          "{{secret.LEAD_API_PASSWORD}}" in seed and '"username": "ivr"' in seed)
    c.seed_text = seed.replace("127.0.0.1:8080", "127.0.0.1:%d" % c.port)
    c.seed_path = os.path.join(c.flows_dir, "lead_field.json")
    write(c.seed_path, c.seed_text)
    write(os.path.join(c.flows_dir, "targets.json"), json.dumps(TARGETS_FLOW, indent=2))
    write(os.path.join(c.flows_dir, "broken.json"), json.dumps(BROKEN_FLOW, indent=2))
    c.create_path = os.path.join(c.work, "enrol.json")
    write(c.create_path, json.dumps(CREATE_FLOW, indent=2))
    write(c.secrets, "LEAD_API_PASSWORD=%s\n" % PASSWORDS["ivr"][1], 0o600)


def start_checks(c):
    started = time.monotonic()
    ok = c.server.start()
    check("serve: /healthz answers within 10 s", ok, c.server.stderr())
    check("serve: ready in %.1f s" % (time.monotonic() - started), ok)
    err = c.server.stderr()
    check("serve: stderr names the invalid flow's problem and says it is not deployed",
          "broken.json" in err and "timout" in err and "not deployed" in err, err)
    check("serve: stderr says LeadField and Targets are live",
          'flow "LeadField" version 1 is live' in err and 'flow "Targets" version 1 is live' in err,
          err)
    check("serve: stderr says it listens on the port", "127.0.0.1:%d" % c.port in err, err)
    return ok


def lead_api(c):
    s = c.server
    base = "/leadservices/api/v2/leads"
    ivr = basic("ivr")
    r = s.request("GET", base + "/1001/fields/158", auth=ivr)
    check("lead api: GET field 158 of 1001 -> 200 {FieldId: 158, Value: Silver}",
          r.status == 200 and r.json == {"FieldId": 158, "Value": "Silver"}, r)
    check("lead api: Content-Type is JSON",
          r.headers.get("content-type", "").startswith("application/json"), r.headers)
    r = s.request("GET", base + "/1002", auth=ivr)
    j = r.json or {}
    check("lead api: GET lead 1002 -> 200 with LeadId, Name and Fields",
          r.status == 200 and j.get("LeadId") == 1002 and j.get("Name") == "Grace, Hopper"
          and j.get("Fields") == [{"FieldId": 158, "Value": "Gold"}]
          and j.get("PhoneNum") == "+44 1632 960002", r)
    r = s.request("GET", base + "/1001/fields/158")
    check("lead api: no credentials -> 401 with WWW-Authenticate: Basic",
          r.status == 401 and r.headers.get("www-authenticate", "").startswith("Basic"), r)
    r = s.request("GET", base + "/1001/fields/158", auth=basic("ivr", "wrong-password"))
    check("lead api: wrong password -> 401", r.status == 401, r)
    r = s.request("GET", base + "/1001/fields/158", auth="Basic !!notbase64!!")
    check("lead api: a malformed Basic header -> 401", r.status == 401, r)
    r = s.request("GET", base + "/1001/fields/158", auth=basic("boss"))
    check("lead api: the admin user (not the api role) -> 403", r.status == 403, r)
    r = s.request("GET", base + "/999999/fields/158", auth=ivr)
    check("lead api: unknown lead -> 404", r.status == 404 and "999999" in r.body.decode(), r)
    r = s.request("GET", base + "/999999", auth=ivr)
    check("lead api: GET unknown lead -> 404", r.status == 404, r)
    r = s.request("GET", base + "/1003/fields/158", auth=ivr)
    check("lead api: lead without field 158 -> 404 naming the field",
          r.status == 404 and "158" in r.body.decode(), r)
    r = s.request("GET", base + "/abc/fields/158", auth=ivr)
    check("lead api: non-numeric lead id -> 400", r.status == 400, r)
    r = s.request("GET", base + "/1001/fields/x1", auth=ivr)
    check("lead api: non-numeric field id -> 400", r.status == 400, r)
    r = s.request("GET", base + "/-5/fields/158", auth=ivr)
    check("lead api: negative lead id -> 400", r.status == 400, r)

    r = s.request("PUT", base + "/1001/fields/158", {"FieldId": 158, "Value": "Platinum"},
                  auth=ivr)
    check("lead api: PUT field 158 = Platinum -> 200",
          r.status == 200 and r.json == {"FieldId": 158, "Value": "Platinum"}, r)
    r = s.request("GET", base + "/1001/fields/158", auth=ivr)
    check("lead api: GET after PUT shows Platinum",
          r.status == 200 and (r.json or {}).get("Value") == "Platinum", r)
    r = s.request("PUT", base + "/1001/fields/158", {"FieldId": 159, "Value": "X"}, auth=ivr)
    check("lead api: PUT with mismatched FieldId -> 400", r.status == 400, r)
    r = s.request("PUT", base + "/1001/fields/158", '{"FieldId": 158, "Value": ', auth=ivr,
                  headers={"Content-Type": "application/json"})
    check("lead api: PUT invalid JSON -> 400", r.status == 400, r)
    r = s.request("PUT", base + "/1001/fields/158", {"FieldId": 158, "Value": "X", "Colour": "red"},
                  auth=ivr)
    check("lead api: PUT with an unknown key -> 400 naming it",
          r.status == 400 and "Colour" in r.body.decode(), r)
    r = s.request("PUT", base + "/1001/fields/158", {"FieldId": 158, "Value": 7}, auth=ivr)
    check("lead api: PUT with a number as Value -> 400", r.status == 400, r)
    r = s.request("PUT", base + "/1001/fields/158", {"FieldId": 158}, auth=ivr)
    check("lead api: PUT without Value -> 400", r.status == 400, r)
    r = s.request("PUT", base + "/999999/fields/158", {"FieldId": 158, "Value": "X"}, auth=ivr)
    check("lead api: PUT on an unknown lead -> 404", r.status == 404, r)
    r = s.request("GET", base + "/1001/fields/158", auth=ivr)
    check("lead api: the refused PUTs left Platinum",
          r.status == 200 and (r.json or {}).get("Value") == "Platinum", r)

    new_lead = {"ReferenceId": "W1", "Name": "Web Lead", "PhoneNum": "+44 1632 960010",
                "City": "Cardiff", "Fields": [{"FieldId": 158, "Value": "Gold"},
                                              {"FieldId": 200, "Value": "x"}]}
    r = s.request("POST", base, new_lead, auth=ivr)
    j = r.json or {}
    location = r.headers.get("location", "")
    check("lead api: POST a lead -> 201 with Location and LeadId",
          r.status == 201 and isinstance(j.get("LeadId"), int)
          and location == "%s/%s" % (base, j.get("LeadId")), (r, r.headers))
    if r.status == 201 and location:
        c.web_lead_id = j["LeadId"]
        r = s.request("GET", location, auth=ivr)
        g = r.json or {}
        check("lead api: GET the created lead shows what was posted",
              r.status == 200 and g.get("Name") == "Web Lead" and g.get("City") == "Cardiff"
              and g.get("Fields") == new_lead["Fields"], r)
    r = s.request("POST", base, {"Name": "X", "Nickname": "Y"}, auth=ivr)
    check("lead api: POST with an unknown field -> 400 naming it",
          r.status == 400 and "Nickname" in r.body.decode(), r)
    r = s.request("POST", base, {"Name": 42}, auth=ivr)
    check("lead api: POST with a number where text is expected -> 400", r.status == 400, r)
    r = s.request("POST", base, {"Name": "X", "Fields": [{"FieldId": "158", "Value": "x"}]},
                  auth=ivr)
    check("lead api: POST with a text FieldId -> 400", r.status == 400, r)
    r = s.request("POST", base, "[1, 2]", auth=ivr, headers={"Content-Type": "application/json"})
    check("lead api: POST a JSON list -> 400", r.status == 400, r)
    r = s.request("POST", base, {"Name": "Anon"})
    check("lead api: POST without credentials -> 401", r.status == 401, r)

    big = b'{"Name": "' + b"a" * (1 << 20) + b'"}'
    try:
        r = s.request("POST", base, big, auth=ivr, headers={"Content-Type": "application/json"})
        check("lead api: a body over 1 MiB -> 413", r.status == 413, r)
    except OSError as e:
        check("lead api: a body over 1 MiB -> 413", False, "no answer: %r" % e)
    r = s.request("POST", base, {"Name": "a" * 5000}, auth=ivr)
    check("lead api: a 5000-byte Name -> 400", r.status == 400, r)

    nasty = {
        "Name": "Robert'); DROP TABLE leads;--",
        "City": "Zürich \u260e 東京 \U0001F600",
        "Address": "1 \"Quoted\" Road, O'Brien's \\ back\\slash",
        "PhoneNum": "+44 1632 960011",
        "Fields": [{"FieldId": 158, "Value": "' OR '1'='1"},
                   {"FieldId": 300, "Value": "line1\nline2\ttab"}],
    }
    r = s.request("POST", base, nasty, auth=ivr)
    nasty_id = (r.json or {}).get("LeadId")
    check("lead api: POST a lead with SQL-looking, unicode and quoted text -> 201",
          r.status == 201 and isinstance(nasty_id, int), r)
    if isinstance(nasty_id, int):
        c.nasty_id = nasty_id
        c.nasty = nasty
        r = s.request("GET", "%s/%d" % (base, nasty_id), auth=ivr)
        g = r.json or {}
        check("lead api: those strings read back verbatim",
              r.status == 200 and all(g.get(k) == nasty[k] for k in
                                      ("Name", "City", "Address", "PhoneNum"))
              and g.get("Fields") == nasty["Fields"], r)
        tricky = "Robert'); DELETE FROM lead_fields;-- \u00e9\u00e8 \"x\""
        r = s.request("PUT", "%s/%d/fields/158" % (base, nasty_id),
                      {"FieldId": 158, "Value": tricky}, auth=ivr)
        r2 = s.request("GET", "%s/%d/fields/158" % (base, nasty_id), auth=ivr)
        check("lead api: a SQL-looking field value PUT and read back verbatim",
              r.status == 200 and r2.status == 200 and (r2.json or {}).get("Value") == tricky,
              (r, r2))
        c.nasty["Fields"][0]["Value"] = tricky
    r = s.request("GET", base + "/1002/fields/158", auth=ivr)
    check("lead api: other leads untouched (1002 still Gold)",
          r.status == 200 and (r.json or {}).get("Value") == "Gold", r)

    r = s.request("DELETE", base + "/1001", auth=ivr)
    check("lead api: DELETE on a lead -> 405 with Allow",
          r.status == 405 and "GET" in r.headers.get("allow", ""), r)
    r = s.request("GET", "/leadservices/api/v2/nothing", auth=ivr)
    check("lead api: an unknown path -> 404", r.status == 404, r)
    r = s.request("GET", base + "/1001/fields/158", auth=ivr, headers={"X-Big": "b" * 20000})
    check("lead api: a header block over 16 KiB -> 431", r.status == 431, r)


def concurrency(c):
    s = c.server
    ivr = basic("ivr")
    # The server remembers a good Basic header for a minute: warm it so 200 connections do not
    # each wait for an Argon2 check.
    r = s.request("GET", "/leadservices/api/v2/leads/1002/fields/158", auth=ivr)
    check("concurrency: warm-up request -> 200", r.status == 200, r)
    threads_n, per_connection = 200, 5
    errors = []
    counts = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(threads_n)

    def worker(index):
        lead, expected = (1002, "Gold") if index % 2 == 0 else (1001, "Platinum")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", c.port, timeout=30 * SLOW)
            connection.connect()
            try:
                barrier.wait(timeout=30 * SLOW)
            except threading.BrokenBarrierError:
                pass
            for _ in range(per_connection):
                connection.request("GET", "/leadservices/api/v2/leads/%d/fields/158" % lead,
                                   headers={"Authorization": ivr})
                response = connection.getresponse()
                body = response.read()
                value = parse_json(body.decode("utf-8", "replace"))
                if response.status != 200 or value != {"FieldId": 158, "Value": expected}:
                    with lock:
                        errors.append("connection %d: %d %r" % (index, response.status, body[:200]))
                    break
                if response.getheader("Connection", "").lower() == "close":
                    with lock:
                        errors.append("connection %d: server closed a keep-alive connection"
                                      % index)
                    break
                with lock:
                    counts[0] += 1
            connection.close()
        except Exception as e:  # noqa: BLE001 - collected as a failure
            with lock:
                errors.append("connection %d: %r" % (index, e))

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60 * SLOW)
    alive = sum(t.is_alive() for t in threads)
    elapsed = time.monotonic() - started
    check("concurrency: %d keep-alive connections x %d requests all 200 with the right value "
          "(%.1f s)" % (threads_n, per_connection, elapsed),
          not errors and alive == 0 and counts[0] == threads_n * per_connection,
          "%d ok, %d hung, errors: %s" % (counts[0], alive, "\n".join(errors[:10])))
    r = s.request("GET", "/healthz")
    check("concurrency: the server is healthy afterwards", r.status == 200, r)


def sign_in(c, user):
    r = c.server.request("POST", "/api/v1/auth/token",
                         {"username": user, "password": PASSWORDS[user][1]})
    j = r.json or {}
    ok = r.status == 200 and isinstance(j.get("token"), str) and len(j["token"]) >= 16
    check("admin api: sign in as %s -> 200 with a token and role %s" % (user, PASSWORDS[user][0]),
          ok and (j.get("user") or {}).get("role") == PASSWORDS[user][0], r)
    return bearer(j["token"]) if ok else "Bearer none"


def admin_api(c):
    s = c.server
    c.admin = sign_in(c, "boss")
    c.sup = sign_in(c, "sue")
    c.agent = sign_in(c, "andy")
    r = s.request("POST", "/api/v1/auth/token", {"username": "boss", "password": "not-it-at-all"})
    check("admin api: sign in with a wrong password -> 401", r.status == 401, r)
    r = s.request("POST", "/api/v1/auth/token", {"username": "nobody", "password": "whatever1"})
    check("admin api: sign in as an unknown user -> 401", r.status == 401, r)
    r = s.request("POST", "/api/v1/auth/token", {"username": "boss"})
    check("admin api: sign in without a password -> 400", r.status == 400, r)
    r = s.request("GET", "/api/v1/me", auth=c.admin)
    check("admin api: GET /me -> name and role",
          r.status == 200 and r.json == {"name": "boss", "role": "admin"}, r)
    r = s.request("GET", "/api/v1/me")
    check("admin api: no token -> 401 with WWW-Authenticate: Bearer",
          r.status == 401 and r.headers.get("www-authenticate", "").startswith("Bearer"), r)
    r = s.request("GET", "/api/v1/me", auth="Bearer 0123456789abcdef0123456789abcdef")
    check("admin api: a bad token -> 401", r.status == 401, r)
    r = s.request("GET", "/api/v1/me", auth=basic("boss"))
    check("admin api: Basic instead of Bearer -> 401", r.status == 401, r)

    # Flows.
    r = s.request("GET", "/api/v1/flows", auth=c.agent)
    names = sorted(f.get("name") for f in (r.json or {}).get("flows", []))
    check("admin api: GET /flows lists LeadField and Targets, not the invalid flow",
          r.status == 200 and names == ["LeadField", "Targets"], r)
    r = s.request("GET", "/api/v1/flows/LeadField", auth=c.agent)
    j = r.json or {}
    check("admin api: GET /flows/LeadField returns the document and version 1",
          r.status == 200 and j.get("version") == 1
          and (j.get("flow") or {}).get("name") == "LeadField"
          and (j.get("flow") or {}) == json.loads(c.seed_text), r)
    r = s.request("GET", "/api/v1/flows/Broken", auth=c.admin)
    check("admin api: GET /flows/Broken (never deployed) -> 404", r.status == 404, r)

    changed = json.loads(json.dumps(TARGETS_FLOW))
    changed["description"] = "Transfer targets, edited in the designer"
    r = s.request("PUT", "/api/v1/flows/Targets", changed, auth=c.admin)
    check("admin api: PUT a changed Targets as admin -> 200 version 2",
          r.status == 200 and (r.json or {}).get("version") == 2, r)
    r = s.request("GET", "/api/v1/flows/Targets/versions", auth=c.sup)
    versions = (r.json or {}).get("versions", [])
    check("admin api: GET versions lists 2 then 1 with savedBy",
          r.status == 200 and [v.get("version") for v in versions] == [2, 1]
          and versions[0].get("savedBy") == "boss"
          and versions[1].get("savedBy") == "callflow serve --flows", r)
    r = s.request("GET", "/api/v1/flows/Targets/versions/1", auth=c.sup)
    check("admin api: GET versions/1 returns the old document",
          r.status == 200 and (r.json or {}).get("version") == 1
          and ((r.json or {}).get("flow") or {}).get("description") == "Transfer targets", r)
    r = s.request("GET", "/api/v1/flows/Targets", auth=c.sup)
    check("admin api: GET the flow now returns version 2",
          r.status == 200 and (r.json or {}).get("version") == 2
          and ((r.json or {}).get("flow") or {}).get("description") == changed["description"], r)
    r = s.request("GET", "/api/v1/flows/Targets/versions/9", auth=c.sup)
    check("admin api: GET a version that does not exist -> 404", r.status == 404, r)
    r = s.request("GET", "/api/v1/flows/Targets/versions/x", auth=c.sup)
    check("admin api: GET version x -> 400", r.status == 400, r)

    bad = dict(BROKEN_FLOW, name="Targets")
    r = s.request("PUT", "/api/v1/flows/Targets", bad, auth=c.admin)
    problems = (r.json or {}).get("problems", [])
    check("admin api: PUT a flow with errors -> 422 with problems naming element and key",
          r.status == 422 and any(p.get("element") == "A" and p.get("key") == "timout"
                                  for p in problems), r)
    r = s.request("PUT", "/api/v1/flows/Targets", dict(TARGETS_FLOW, name="Other"),
                  auth=c.admin)
    check("admin api: PUT where the document's name differs from the URL -> 400",
          r.status == 400 and "Other" in r.body.decode(), r)
    r = s.request("PUT", "/api/v1/flows/Targets", TARGETS_FLOW, auth=c.agent)
    check("admin api: PUT as agent -> 403", r.status == 403, r)
    r = s.request("PUT", "/api/v1/flows/Targets", TARGETS_FLOW, auth=c.sup)
    check("admin api: PUT as supervisor -> 403", r.status == 403, r)
    scratch = dict(TARGETS_FLOW, name="Scratch")
    r = s.request("PUT", "/api/v1/flows/Scratch", scratch, auth=c.admin)
    check("admin api: PUT a new flow -> version 1",
          r.status == 200 and (r.json or {}).get("version") == 1, r)
    r = s.request("GET", "/api/v1/transfer-targets", auth=c.agent)
    check("admin api: the new flow's targets are offered at once",
          r.status == 200 and any(t.get("flow") == "Scratch"
                                  for t in (r.json or {}).get("targets", [])), r)
    r = s.request("DELETE", "/api/v1/flows/Scratch", auth=c.sup)
    check("admin api: DELETE a flow as supervisor -> 403", r.status == 403, r)
    r = s.request("DELETE", "/api/v1/flows/Scratch", auth=c.admin)
    check("admin api: DELETE a flow as admin -> 204", r.status == 204, r)
    r = s.request("GET", "/api/v1/flows/Scratch", auth=c.admin)
    r2 = s.request("POST", "/api/v1/flows/Scratch/calls", {}, auth=c.admin)
    check("admin api: the deleted flow is gone (GET 404, test call 404)",
          r.status == 404 and r2.status == 404, (r, r2))
    r = s.request("GET", "/api/v1/flows/Targets/versions", auth=c.admin)
    check("admin api: refused PUTs saved no version",
          r.status == 200 and len((r.json or {}).get("versions", [])) == 2, r)
    r = s.request("POST", "/api/v1/validate", BROKEN_FLOW, auth=c.sup)
    j = r.json or {}
    check("admin api: POST /validate returns valid=false and the problems",
          r.status == 200 and j.get("valid") is False
          and any(p.get("key") == "timout" and p.get("element") == "A"
                  for p in j.get("problems", [])), r)
    r = s.request("POST", "/api/v1/validate", TARGETS_FLOW, auth=c.sup)
    check("admin api: POST /validate of a good flow -> valid=true",
          r.status == 200 and (r.json or {}).get("valid") is True, r)
    r = s.request("POST", "/api/v1/validate", TARGETS_FLOW, auth=c.agent)
    check("admin api: POST /validate as agent -> 403", r.status == 403, r)

    # Transfer targets.
    r = s.request("GET", "/api/v1/transfer-targets", auth=c.agent)
    agent_targets = sorted(t.get("element") for t in (r.json or {}).get("targets", []))
    check("admin api: transfer targets as agent: only the agentsCanSee element",
          r.status == 200 and agent_targets == ["AgentDesk"], r)
    r = s.request("GET", "/api/v1/transfer-targets", auth=c.sup)
    sup_targets = sorted(t.get("element") for t in (r.json or {}).get("targets", []))
    check("admin api: transfer targets as supervisor: both",
          r.status == 200 and sup_targets == ["AgentDesk", "SupervisorDesk"], r)

    # Limits.
    for query in ("limit=0", "limit=abc", "limit=1001", "limit=-1"):
        r = s.request("GET", "/api/v1/calls?" + query, auth=c.admin)
        check("admin api: GET /calls?%s -> 400" % query, r.status == 400, r)
    r = s.request("GET", "/api/v1/leads?limit=0", auth=c.admin)
    check("admin api: GET /leads?limit=0 -> 400", r.status == 400, r)
    r = s.request("GET", "/api/v1/dnc?limit=abc", auth=c.admin)
    check("admin api: GET /dnc?limit=abc -> 400", r.status == 400, r)
    r = s.request("GET", "/api/v1/leads?limit=2", auth=c.agent)
    check("admin api: GET /leads?limit=2 as agent -> 2 leads from 1001",
          r.status == 200 and [l.get("id") for l in (r.json or {}).get("leads", [])]
          == [1001, 1002], r)
    r = s.request("GET", "/api/v1/leads?limit=2&after=1002", auth=c.agent)
    check("admin api: GET /leads?after=1002 -> from 1003",
          r.status == 200 and [l.get("id") for l in (r.json or {}).get("leads", [])][:1]
          == [1003], r)


def test_call(c):
    s = c.server
    r = s.request("POST", "/api/v1/flows/LeadField/calls", {"from": "01632 960002"},
                  auth=c.sup, timeout=30)
    j = r.json or {}
    trace = j.get("trace") or {}
    check("test call: POST /flows/LeadField/calls -> 200 with a uuid and flowVersion 1",
          r.status == 200 and isinstance(j.get("uuid"), str) and j.get("flowVersion") == 1, r)
    check("test call: resultCode COMPLETED", trace.get("resultCode") == "COMPLETED", r)
    check("test call: path FindLead, GETAPI, SaveField, Route, GoldMsg, Bye",
          trace.get("path") == ["FindLead", "GETAPI", "SaveField", "Route", "GoldMsg", "Bye"], r)
    said = " ".join(trace.get("said", []))
    check("test call: said the Gold message with the lead's name",
          "Grace, Hopper" in said and "Your status is Gold" in said, said)
    http_steps = trace.get("http", [])
    check("test call: the server's own Lead Web API answered 200",
          len(http_steps) == 1 and http_steps[0].get("status") == 200
          and ("127.0.0.1:%d" % c.port) in http_steps[0].get("url", ""), http_steps)
    check("test call: data LeadField = Gold", (trace.get("data") or {}).get("LeadField") == "Gold",
          trace)
    check("test call: the secret is nowhere in the answer",
          PASSWORDS["ivr"][1] not in r.body.decode("utf-8", "replace"), r)
    c.call_uuid = j.get("uuid", "none")

    r = s.request("POST", "/api/v1/flows/LeadField/calls", {"from": "+44 1632 960099"},
                  auth=c.admin, timeout=30)
    j = r.json or {}
    check("test call: an unknown caller -> NO_LEAD",
          r.status == 200 and (j.get("trace") or {}).get("resultCode") == "NO_LEAD", r)
    c.noleads_uuid = j.get("uuid", "none")
    r = s.request("POST", "/api/v1/flows/LeadField/calls", {"from": "+441632960001"},
                  auth=c.admin, timeout=30)
    trace = (r.json or {}).get("trace") or {}
    check("test call: lead 1001 hears the Platinum value PUT through the Lead Web API",
          r.status == 200 and trace.get("resultCode") == "COMPLETED"
          and "StandardMsg" in trace.get("path", [])
          and any("Your status is Platinum." in x for x in trace.get("said", [])), r)
    c.platinum_uuid = (r.json or {}).get("uuid", "none")
    r = s.request("POST", "/api/v1/flows/LeadField/calls", {"from": "1", "colour": "red"},
                  auth=c.sup)
    check("test call: an unknown key -> 400", r.status == 400, r)
    r = s.request("POST", "/api/v1/flows/Nope/calls", {}, auth=c.sup)
    check("test call: an unknown flow -> 404", r.status == 404, r)
    r = s.request("POST", "/api/v1/flows/LeadField/calls", {"from": "1"}, auth=c.agent)
    check("test call: as agent -> 403", r.status == 403, r)

    # The record is written by the database thread after the answer: allow it a moment.
    calls = []
    deadline = time.monotonic() + 5 * SLOW
    while time.monotonic() < deadline:
        r = s.request("GET", "/api/v1/calls", auth=c.sup)
        calls = (r.json or {}).get("calls", [])
        if len(calls) >= 3 and all(x.get("status") == "completed" for x in calls[:3]):
            break
        time.sleep(0.05)
    uuids = [x.get("uuid") for x in calls]
    check("calls: GET /calls lists the test calls, newest first",
          uuids[:3] == [c.platinum_uuid, c.noleads_uuid, c.call_uuid], r)
    mine = next((x for x in calls if x.get("uuid") == c.call_uuid), {})
    check("calls: the record has resultCode, from, flow and path",
          mine.get("resultCode") == "COMPLETED" and "1632 960002" in mine.get("from", "")
          and mine.get("flow") == "LeadField"
          and mine.get("path") == ["FindLead", "GETAPI", "SaveField", "Route", "GoldMsg", "Bye"]
          and mine.get("status") not in ("", "open"), mine)
    r = s.request("GET", "/api/v1/calls/" + c.call_uuid, auth=c.sup)
    j = r.json or {}
    check("calls: GET /calls/UUID has the trace",
          r.status == 200 and (j.get("trace") or {}).get("resultCode") == "COMPLETED", r)
    r = s.request("GET", "/api/v1/calls/no-such-call", auth=c.sup)
    check("calls: GET an unknown call -> 404", r.status == 404, r)
    r = s.request("GET", "/api/v1/calls", auth=c.agent)
    check("calls: GET /calls as agent -> 403", r.status == 403, r)

    status, out, err = cli("calls", "list", "--db", c.db, "--json")
    listed = parse_json(out) or []
    check("calls: `callflow calls list --json` (while serve runs) shows the test call",
          status == 0 and any(x.get("uuid") == c.call_uuid and x.get("resultCode") == "COMPLETED"
                              for x in listed), out + err)


DRAFT_FLOW = {
    "format": 1,
    "name": "Drafty",
    "start": "Say",
    "elements": [
        {"name": "Say", "type": "TextToSpeech", "text": "Version one.", "next": {"output": "Bye"}},
        {"name": "Bye", "type": "Hangup", "resultCode": "ONE"},
    ],
}


def draft_of(text, result_code, **extra):
    flow = json.loads(json.dumps(DRAFT_FLOW))
    flow["elements"][0]["text"] = text
    flow["elements"][1]["resultCode"] = result_code
    flow.update(extra)
    return flow


def drafts(c):
    """Drafts: saved with problems, listed with the live version, never run by calls."""
    s = c.server
    base = "/api/v1/flows/Drafty"
    r = s.request("PUT", base, DRAFT_FLOW, auth=c.admin)
    check("drafts: PUT Drafty -> version 1, draft false",
          r.status == 200 and (r.json or {}).get("version") == 1
          and (r.json or {}).get("draft") is False, r)
    broken = draft_of("Version two.", "TWO", layout={"nodes": {"Say": {"x": 10, "y": 20}}},
                      samples={"Say": {"status": 200, "body": {}}})
    broken["elements"][0]["timout"] = 5
    r = s.request("PUT", base, broken, auth=c.admin)
    check("drafts: PUT with an error (no draft) -> 422", r.status == 422, r)
    r = s.request("PUT", base + "?draft=true", broken, auth=c.admin)
    j = r.json or {}
    problems = j.get("problems", [])
    check("drafts: PUT ?draft=true with an error -> 200, version 2, draft true, every problem",
          r.status == 200 and j.get("version") == 2 and j.get("draft") is True
          and j.get("name") == "Drafty"
          and any(p.get("severity") == "error" and p.get("key") == "timout" for p in problems)
          and any(p.get("severity") == "warning" and p.get("key") == "samples.Say"
                  for p in problems), r)
    r = s.request("POST", base + "/calls", {}, auth=c.admin, timeout=30)
    j = r.json or {}
    check("drafts: a test call still runs version 1",
          r.status == 200 and j.get("flowVersion") == 1
          and (j.get("trace") or {}).get("resultCode") == "ONE"
          and (j.get("trace") or {}).get("said") == ["Version one."], r)
    r = s.request("GET", base, auth=c.agent)
    j = r.json or {}
    check("drafts: GET the flow -> the draft (version 2, draft true, liveVersion 1)",
          r.status == 200 and j.get("version") == 2 and j.get("draft") is True
          and j.get("liveVersion") == 1 and j.get("flow") == broken, r)
    r = s.request("GET", base + "/versions/1", auth=c.agent)
    j = r.json or {}
    check("drafts: GET versions/1 -> draft false, liveVersion 1",
          r.status == 200 and j.get("draft") is False and j.get("liveVersion") == 1, r)
    r = s.request("GET", base + "/versions", auth=c.agent)
    j = r.json or {}
    check("drafts: GET versions lists draft for each, and liveVersion",
          r.status == 200 and j.get("liveVersion") == 1
          and [(v.get("version"), v.get("draft")) for v in j.get("versions", [])]
          == [(2, True), (1, False)], r)

    # A draft that has no problem is still only a draft.
    r = s.request("PUT", base + "?draft=true", draft_of("Version three.", "THREE"), auth=c.admin)
    check("drafts: a valid draft -> version 3, draft true, no problems",
          r.status == 200 and (r.json or {}).get("version") == 3
          and (r.json or {}).get("draft") is True and (r.json or {}).get("problems") == [], r)
    r = s.request("POST", base + "/calls", {}, auth=c.sup, timeout=30)
    check("drafts: a valid draft is not deployed either (test call: version 1)",
          r.status == 200 and (r.json or {}).get("flowVersion") == 1, r)
    r = s.request("PUT", base + "?draft=false", draft_of("Version four.", "FOUR"), auth=c.admin)
    check("drafts: PUT ?draft=false deploys -> version 4, draft false",
          r.status == 200 and (r.json or {}).get("version") == 4
          and (r.json or {}).get("draft") is False, r)
    r = s.request("POST", base + "/calls", {}, auth=c.sup, timeout=30)
    check("drafts: the deployed version 4 runs",
          r.status == 200 and (r.json or {}).get("flowVersion") == 4
          and ((r.json or {}).get("trace") or {}).get("resultCode") == "FOUR", r)
    r = s.request("PUT", base + "?draft=true", broken, auth=c.admin)
    check("drafts: another draft with errors on top -> version 5",
          r.status == 200 and (r.json or {}).get("version") == 5, r)

    # Refusals.
    for who, auth in (("supervisor", c.sup), ("agent", c.agent)):
        r = s.request("PUT", base + "?draft=true", broken, auth=auth)
        check("drafts: PUT ?draft=true as %s -> 403" % who, r.status == 403, r)
    r = s.request("PUT", base + "?draft=true", dict(broken, name="Other"), auth=c.admin)
    check("drafts: a draft named otherwise than the URL -> 400",
          r.status == 400 and "Other" in r.body.decode(), r)
    nameless = dict(broken)
    del nameless["name"]
    r = s.request("PUT", base + "?draft=true", nameless, auth=c.admin)
    check("drafts: a draft without a name -> 400", r.status == 400, r)
    r = s.request("PUT", base + "?draft=true", '{"name": "Drafty", ', auth=c.admin,
                  headers={"Content-Type": "application/json"})
    check("drafts: a draft that is not JSON -> 422 with the syntax problem",
          r.status == 422 and any(p.get("line") for p in (r.json or {}).get("problems", [])), r)
    r = s.request("PUT", base + "?draft=true", "[1, 2]", auth=c.admin,
                  headers={"Content-Type": "application/json"})
    check("drafts: a draft that is a JSON list -> 422", r.status == 422, r)
    r = s.request("PUT", base + "?draft=maybe", broken, auth=c.admin)
    check("drafts: ?draft=maybe -> 400", r.status == 400 and "draft" in r.body.decode(), r)
    r = s.request("GET", base + "/versions", auth=c.admin)
    check("drafts: refused PUTs saved nothing (5 versions)",
          len((r.json or {}).get("versions", [])) == 5, r)

    # A flow that only has drafts is listed but not deployed.
    sketch = {"format": 1, "name": "Sketch", "elements": []}
    r = s.request("PUT", "/api/v1/flows/Sketch?draft=true", sketch, auth=c.admin)
    check("drafts: a new flow saved as a draft only -> version 1, draft true",
          r.status == 200 and (r.json or {}).get("version") == 1
          and (r.json or {}).get("draft") is True, r)
    r = s.request("POST", "/api/v1/flows/Sketch/calls", {}, auth=c.admin)
    check("drafts: a flow with only drafts has no test call (404)", r.status == 404, r)
    r = s.request("GET", "/api/v1/flows", auth=c.agent)
    listed = {f.get("name"): f for f in (r.json or {}).get("flows", [])}
    check("drafts: GET /flows shows draft and liveVersion of each flow",
          r.status == 200
          and (listed.get("Sketch") or {}).get("draft") is True
          and (listed.get("Sketch") or {}).get("liveVersion") == 0
          and (listed.get("Drafty") or {}).get("version") == 5
          and (listed.get("Drafty") or {}).get("draft") is True
          and (listed.get("Drafty") or {}).get("liveVersion") == 4
          and (listed.get("LeadField") or {}).get("draft") is False
          and (listed.get("LeadField") or {}).get("liveVersion") == 1, r)
    # A draft of a flow deployed from --flows DIR: the unchanged file is not deployed again at
    # the restart, and version 1 stays live (checked in restart()).
    lead_field = json.loads(c.seed_text)
    lead_field["description"] = "a draft of the seed"
    r = s.request("PUT", "/api/v1/flows/LeadField?draft=true", lead_field, auth=c.admin)
    check("drafts: a draft of LeadField -> version 2, liveVersion stays 1",
          r.status == 200 and (r.json or {}).get("version") == 2, r)
    c.drafts_done = True


def wait_for_calls(c, query, count):
    """GET /calls?QUERY until it lists `count` completed records (they are written after the
    answer); returns the last list."""
    calls = []
    deadline = time.monotonic() + 5 * SLOW
    while time.monotonic() < deadline:
        r = c.server.request("GET", "/api/v1/calls?" + query, auth=c.sup)
        calls = (r.json or {}).get("calls", [])
        if len(calls) >= count and all(x.get("status") == "completed" for x in calls):
            break
        time.sleep(0.05)
    return calls


def rename_flows(c):
    """POST /flows/{name}/rename: the history goes with the flow, the live version is redeployed
    under the new name, a taken or bad name is refused, and only an admin may."""
    s = c.server

    def doc(name, text):
        return {"format": 1, "name": name, "start": "Say", "elements": [
            {"name": "Say", "type": "TextToSpeech", "text": text, "next": {"output": "Bye"}},
            {"name": "Bye", "type": "Hangup", "resultCode": "RENAMED"}]}

    for text in ("first", "second"):
        r = s.request("PUT", "/api/v1/flows/OldName", doc("OldName", text), auth=c.admin)
        check("rename: version '%s' saved" % text, r.status == 200, r)
    r = s.request("POST", "/api/v1/flows/OldName/rename", {"to": "NewName"}, auth=c.sup)
    check("rename: as supervisor -> 403", r.status == 403, r)
    r = s.request("POST", "/api/v1/flows/OldName/rename", {"to": "bad name"}, auth=c.admin)
    check("rename: a name with a space -> 400", r.status == 400, r)
    r = s.request("POST", "/api/v1/flows/OldName/rename", {"to": "NewName", "x": 1},
                  auth=c.admin)
    check("rename: an unknown key -> 400", r.status == 400, r)
    r = s.request("PUT", "/api/v1/flows/Taken", doc("Taken", "taken"), auth=c.admin)
    r = s.request("POST", "/api/v1/flows/OldName/rename", {"to": "Taken"}, auth=c.admin)
    check("rename: onto an existing flow -> 409", r.status == 409, r)
    r = s.request("POST", "/api/v1/flows/NoSuchFlow/rename", {"to": "Other"}, auth=c.admin)
    check("rename: an unknown flow -> 404", r.status == 404, r)

    r = s.request("POST", "/api/v1/flows/OldName/rename", {"to": "NewName"}, auth=c.admin)
    j = r.json or {}
    check("rename: -> 200, saved again as version 3 under the new name",
          r.status == 200 and j.get("name") == "NewName" and j.get("version") == 3
          and j.get("draft") is False, r)
    r = s.request("GET", "/api/v1/flows/OldName", auth=c.admin)
    check("rename: the old name is gone", r.status == 404, r)
    r = s.request("GET", "/api/v1/flows/NewName/versions", auth=c.admin)
    versions = [v.get("version") for v in (r.json or {}).get("versions", [])]
    check("rename: the history came along (versions 3, 2, 1)", versions == [3, 2, 1], r)
    r = s.request("GET", "/api/v1/flows/NewName", auth=c.admin)
    check("rename: the newest version carries the new name",
          ((r.json or {}).get("flow") or {}).get("name") == "NewName"
          and (r.json or {}).get("liveVersion") == 3, r)
    r = s.request("POST", "/api/v1/flows/NewName/calls", {}, auth=c.admin)
    trace = (r.json or {}).get("trace") or {}
    check("rename: calls run the live version under the new name",
          r.status == 200 and trace.get("said") == ["second"]
          and trace.get("flow") == "NewName", r)
    r = s.request("POST", "/api/v1/flows/OldName/calls", {}, auth=c.admin)
    check("rename: the old name takes no calls", r.status == 404, r)


def call_filters(c):
    """GET /calls?phone=&flow=&resultCode=&since=&until=: each narrows, together AND."""
    s = c.server
    since_ms = int(time.time() * 1000)
    r1 = s.request("POST", "/api/v1/flows/Drafty/calls", {"from": "+44 1632 960551", "to": "7001"},
                   auth=c.admin, timeout=30)
    # Newest first is by start time: a short call can start and end within one millisecond.
    time.sleep(0.02)
    r2 = s.request("POST", "/api/v1/flows/Drafty/calls",
                   {"from": "+44 1632 960552", "to": "7002", "hangupAt": "Say"},
                   auth=c.admin, timeout=30)
    check("call filters: two test calls of Drafty -> 200", r1.status == 200 and r2.status == 200,
          (r1, r2))
    first, second = (r1.json or {}).get("uuid"), (r2.json or {}).get("uuid")
    calls = wait_for_calls(c, "flow=Drafty&since=%d" % since_ms, 2)
    check("call filters: flow=Drafty&since=(before the calls) -> exactly the two, newest first",
          [x.get("uuid") for x in calls] == [second, first], calls)

    def uuids(query):
        r = s.request("GET", "/api/v1/calls?" + query, auth=c.sup)
        return r.status, [x.get("uuid") for x in (r.json or {}).get("calls", [])], r

    status, got, r = uuids("phone=" + urllib.parse.quote("+44 1632-960551"))
    check("call filters: phone (written with +, spaces, a dash) -> the caller's call",
          status == 200 and got == [first], r)
    status, got, r = uuids("phone=960552")
    check("call filters: phone=960552 (a part of the caller's number)", got == [second], r)
    status, got, r = uuids("phone=7002")
    check("call filters: phone=7002 matches the dialled number", got == [second], r)
    status, got, r = uuids("flow=Drafty")
    check("call filters: flow=Drafty -> only Drafty's calls, these two on top",
          status == 200 and got[:2] == [second, first]
          and all(x.get("flow") == "Drafty" for x in (r.json or {}).get("calls", [])), r)
    status, got, r = uuids("flow=Draft")
    check("call filters: flow is exact (Draft -> none)", status == 200 and got == [], r)
    status, got, r = uuids("flow=Drafty&resultCode=INBOUND")
    check("call filters: resultCode=INBOUND (the caller hung up in Say) -> the second",
          got == [second], r)
    status, got, r = uuids("resultCode=FOUR&phone=1632960551")
    check("call filters: resultCode and phone together", got == [first], r)
    status, got, r = uuids("resultCode=FOUR&phone=960552")
    check("call filters: filters are ANDed (resultCode of one, phone of the other -> none)",
          status == 200 and got == [], r)
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(since_ms // 1000 - 1)) + "Z"
    status, got, r = uuids("flow=Drafty&since=" + iso)
    check("call filters: since as an ISO date-time", got[:2] == [second, first], r)
    status, got, r = uuids("flow=Drafty&until=%d" % (since_ms - 1))
    check("call filters: until (epoch ms) before the calls leaves them out",
          status == 200 and first not in got and second not in got, r)
    status, got, r = uuids("flow=Drafty&since=2000-01-01&until=2000-01-01")
    check("call filters: since/until as dates (a day long ago) -> none",
          status == 200 and got == [], r)
    today = next((x.get("startedAt", "") for x in calls if x.get("uuid") == first), "")[:10]
    status, got, r = uuids("phone=960551&until=" + today)
    check("call filters: until=today's date includes today's calls", got == [first], r)
    status, got, r = uuids("flow=Drafty&limit=1")
    check("call filters: limit=1 -> the newest", got == [second], r)
    for query, name in (("since=yesterday", "since"), ("until=2024-13-01", "until"),
                        ("phone=abc", "phone"), ("since=", "since")):
        r = s.request("GET", "/api/v1/calls?" + query, auth=c.sup)
        check("call filters: %s -> 400 naming %s" % (query, name),
              r.status == 400 and name in ((r.json or {}).get("error") or {}).get("message", ""),
              r)
    r = s.request("GET", "/api/v1/calls?flow=Drafty", auth=c.agent)
    check("call filters: as agent -> 403", r.status == 403, r)


def leads_crud(c):
    s = c.server
    lead = {"referenceid": "S1", "name": "Sup Lead", "phonenum": "+44 1632 960077",
            "city": "Bristol", "field:158": "Bronze"}
    r = s.request("POST", "/api/v1/leads", lead, auth=c.sup)
    j = r.json or {}
    lead_id = j.get("id")
    check("leads: POST as supervisor -> 201 with id and Location",
          r.status == 201 and isinstance(lead_id, int)
          and r.headers.get("location") == "/api/v1/leads/%s" % lead_id, (r, r.headers))
    r = s.request("POST", "/api/v1/leads", lead, auth=c.agent)
    check("leads: POST as agent -> 403", r.status == 403, r)
    r = s.request("POST", "/api/v1/leads", {"name": "x", "shoe": "9"}, auth=c.sup)
    check("leads: POST with an unknown field -> 400", r.status == 400, r)
    q = urllib.parse.quote("01632 960077")
    r = s.request("GET", "/api/v1/leads?phone=" + q, auth=c.agent)
    found = (r.json or {}).get("leads", [])
    check("leads: GET ?phone= in another written form finds it",
          r.status == 200 and [x.get("id") for x in found] == [lead_id]
          and found[0].get("field:158") == "Bronze", r)
    r = s.request("GET", "/api/v1/leads?phone=" + urllib.parse.quote("+441632960077"),
                  auth=c.agent)
    check("leads: GET ?phone= in E.164, percent-encoded (%2B44...), finds it too",
          r.status == 200 and [x.get("id") for x in (r.json or {}).get("leads", [])] == [lead_id],
          r)
    r = s.request("GET", "/api/v1/leads?phone=+441632960077", auth=c.agent)
    check("leads: GET ?phone=+44... with a literal '+' finds it",
          r.status == 200 and [x.get("id") for x in (r.json or {}).get("leads", [])] == [lead_id],
          r)
    r = s.request("GET", "/api/v1/leads?reference=S1", auth=c.agent)
    check("leads: GET ?reference= finds the lead with that reference",
          r.status == 200 and [x.get("id") for x in (r.json or {}).get("leads", [])] == [lead_id],
          r)
    r = s.request("GET", "/api/v1/leads?reference=NO-SUCH-REF", auth=c.agent)
    check("leads: GET ?reference= of no lead -> an empty list",
          r.status == 200 and (r.json or {}).get("leads") == [], r)
    updated = dict(lead, city="Bath", name="Sup Lead Renamed")
    r = s.request("PUT", "/api/v1/leads/%s" % lead_id, updated, auth=c.sup)
    check("leads: PUT as supervisor -> 200", r.status == 200, r)
    r = s.request("GET", "/api/v1/leads/%s" % lead_id, auth=c.agent)
    j = r.json or {}
    check("leads: GET shows the PUT", r.status == 200 and j.get("city") == "Bath"
          and j.get("name") == "Sup Lead Renamed" and j.get("field:158") == "Bronze", r)
    r = s.request("PUT", "/api/v1/leads/999999", updated, auth=c.sup)
    check("leads: PUT an unknown lead -> 404", r.status == 404, r)
    r = s.request("DELETE", "/api/v1/leads/%s" % lead_id, auth=c.sup)
    check("leads: DELETE as supervisor -> 403", r.status == 403, r)
    r = s.request("DELETE", "/api/v1/leads/%s" % lead_id, auth=c.admin)
    check("leads: DELETE as admin -> 204", r.status == 204 and r.body == b"", r)
    r = s.request("GET", "/api/v1/leads/%s" % lead_id, auth=c.admin)
    check("leads: GET after DELETE -> 404", r.status == 404, r)
    r = s.request("DELETE", "/api/v1/leads/%s" % lead_id, auth=c.admin)
    check("leads: DELETE again -> 404", r.status == 404, r)
    r = s.request("GET", "/leadservices/api/v2/leads/%s/fields/158" % lead_id, auth=basic("ivr"))
    check("leads: the deleted lead's field is gone from the Lead Web API", r.status == 404, r)


def dnc(c):
    s = c.server
    r = s.request("POST", "/api/v1/dnc", {"number": "+44 1632 960088"}, auth=c.agent)
    check("dnc: POST as agent -> 201", r.status == 201, r)
    r = s.request("GET", "/api/v1/dnc", auth=c.agent)
    entries = (r.json or {}).get("dnc", [])
    mine = [e for e in entries if e.get("key") == "441632960088"]
    check("dnc: GET lists it with its key and source",
          r.status == 200 and len(mine) == 1 and mine[0].get("number") == "+44 1632 960088"
          and "andy" in mine[0].get("source", ""), r)
    r = s.request("POST", "/api/v1/dnc", {"number": "call me maybe"}, auth=c.agent)
    check("dnc: POST a number with no digits -> 400", r.status == 400, r)
    r = s.request("POST", "/api/v1/dnc", {"number": "1", "why": "x"}, auth=c.agent)
    check("dnc: POST with an extra key -> 400", r.status == 400, r)
    r = s.request("DELETE", "/api/v1/dnc/01632960088", auth=c.agent)
    check("dnc: DELETE as agent -> 403", r.status == 403, r)
    r = s.request("DELETE", "/api/v1/dnc/01632960088", auth=c.sup)
    check("dnc: DELETE (another written form) as supervisor -> 204", r.status == 204, r)
    r = s.request("GET", "/api/v1/dnc", auth=c.sup)
    check("dnc: the number is gone",
          r.status == 200 and not any(e.get("key") == "441632960088"
                                      for e in (r.json or {}).get("dnc", [])), r)
    r = s.request("DELETE", "/api/v1/dnc/01632960088", auth=c.sup)
    check("dnc: DELETE again -> 404", r.status == 404, r)


def cli_runs(c):
    status, out, err = cli("run", c.seed_path, "--db", c.db, "--secrets", c.secrets,
                           "--from", "0044 1632 960002", "--json", timeout=60)
    j = parse_json(out) or {}
    check("callflow run (seed example, server running): exit 0", status == 0, (status, out, err))
    check("callflow run: resultCode COMPLETED", j.get("resultCode") == "COMPLETED", out + err)
    http_steps = j.get("http", [])
    check("callflow run: the Lead Web API answered 200",
          len(http_steps) == 1 and http_steps[0].get("status") == 200, http_steps)
    check("callflow run: the Gold message was said",
          any("Your status is Gold" in x for x in j.get("said", [])), j.get("said"))
    check("callflow run: the secret is in neither output",
          PASSWORDS["ivr"][1] not in out and PASSWORDS["ivr"][1] not in err)

    status, out, err = cli("run", c.seed_path, "--db", c.db, "--from", "0044 1632 960002",
                           "--json")
    check("callflow run without the secret: exit 2 naming LEAD_API_PASSWORD",
          status == 2 and "LEAD_API_PASSWORD" in err, (status, out, err))

    number = "+44 1632 960123"
    status1, out1, err1 = cli("run", c.create_path, "--db", c.db, "--from", number, "--json")
    first = parse_json(out1) or {}
    status2, out2, err2 = cli("run", c.create_path, "--db", c.db, "--from", "01632 960123",
                              "--json")
    second = parse_json(out2) or {}
    check("CreateLead flow, first call from a new number: NEW",
          status1 == 0 and first.get("resultCode") == "NEW"
          and (first.get("call") or {}).get("leadid"), out1 + err1)
    check("CreateLead flow, second call (another written form): KNOWN with the same lead",
          status2 == 0 and second.get("resultCode") == "KNOWN"
          and (second.get("call") or {}).get("leadid") == (first.get("call") or {}).get("leadid")
          and (second.get("call") or {}).get("leadid"), out2 + err2)
    c.created_lead = (first.get("call") or {}).get("leadid")
    r = c.server.request("GET", "/api/v1/leads?phone=" + urllib.parse.quote(number),
                         auth=c.agent)
    leads = (r.json or {}).get("leads", [])
    check("CreateLead flow: the server sees exactly one lead for the number",
          r.status == 200 and len(leads) == 1 and str(leads[0].get("id")) == str(c.created_lead)
          and leads[0].get("name") == "Caller " + number, r)
    status, out, err = cli("calls", "list", "--db", c.db, "--json")
    listed = parse_json(out) or []
    started = [x.get("startedAt") for x in listed]
    check("calls list: newest first, the CreateLead calls on top",
          status == 0 and len(listed) >= 6 and started == sorted(started, reverse=True)
          and [x.get("resultCode") for x in listed[:2]] == ["KNOWN", "NEW"], out + err)


def ops(c):
    s = c.server
    r = s.request("GET", "/healthz")
    check("ops: /healthz -> 200 JSON status ok",
          r.status == 200 and (r.json or {}).get("status") == "ok"
          and (r.json or {}).get("database") == "ok", r)
    r = s.request("GET", "/metrics")
    text = r.body.decode("utf-8", "replace")
    check("ops: /metrics is Prometheus text",
          r.status == 200 and r.headers.get("content-type", "").startswith("text/plain")
          and "# TYPE" in text, r.headers)
    check("ops: /metrics has callflow_http_server_requests_total",
          re.search(r'^callflow_http_server_requests_total\{code="2xx"\} \d+', text, re.M)
          is not None, text[:2000])
    m = re.search(r'^callflow_calls_total\{[^}]*\} (\d+)', text, re.M)
    check("ops: /metrics has callflow_calls_total after the test calls",
          m is not None and int(m.group(1)) >= 1, text[:3000])
    m = re.search(r'^callflow_element_visits_total\{type="LookupLead"\} (\d+)', text, re.M)
    check('ops: /metrics has callflow_element_visits_total{type="LookupLead"} = 3',
          m is not None and int(m.group(1)) == 3, text[:3000])
    m = re.search(r'^callflow_api_requests_total\{outcome="2xx"\} (\d+)', text, re.M)
    check('ops: /metrics has callflow_api_requests_total{outcome="2xx"}', m is not None,
          text[:3000])
    r = s.request("POST", "/healthz")
    check("ops: POST /healthz -> 405", r.status == 405, r)


def restart(c):
    s = c.server
    s.kill(signal.SIGKILL)
    check("restart: kill -9 ended the server", s.process.returncode == -signal.SIGKILL,
          s.process.returncode)
    db = sqlite3.connect(c.db, timeout=10)
    try:
        db.execute("INSERT INTO calls (uuid, started_ms, status) VALUES ('x-open', 1, 'open')")
        db.commit()
    finally:
        db.close()
    # The file of Targets changes on disk too, but version 2 (saved through the API) is newer.
    edited = dict(TARGETS_FLOW, description="edited on disk after version 2")
    write(os.path.join(c.flows_dir, "targets.json"), json.dumps(edited, indent=2))
    ok = s.start()
    check("restart: the server starts again on the same port", ok, s.stderr())
    if not ok:
        return False
    err = s.stderr()
    check("restart: stderr says 1 record was closed as interrupted",
          re.search(r"\b1 call record\(s\) left open .* closed as interrupted", err) is not None,
          err)
    # The admin saved Targets version 2 through the API: the changed file does not replace it.
    check("restart: a changed file does not replace a newer version saved through the API",
          'flow "Targets" has a newer version (2, saved by boss)' in err
          and 'flow "Targets" version 2 is live' in err
          and 'flow "LeadField" version 1 is live' in err, err)
    if getattr(c, "drafts_done", False):
        check("restart: the newest non-draft version goes live, a flow with only drafts does not",
              'flow "Drafty" version 4 is live' in err and 'flow "Sketch"' not in err, err)
        r = s.request("POST", "/api/v1/flows/Drafty/calls", {}, auth=c.admin, timeout=30)
        check("restart: a test call of Drafty runs version 4, not the draft 5",
              r.status == 200 and (r.json or {}).get("flowVersion") == 4, r)
        r = s.request("GET", "/api/v1/flows/LeadField", auth=c.admin)
        check("restart: LeadField's draft is still its latest, version 1 still live",
              r.status == 200 and (r.json or {}).get("version") == 2
              and (r.json or {}).get("draft") is True
              and (r.json or {}).get("liveVersion") == 1, r)
    r = s.request("GET", "/api/v1/calls/x-open", auth=c.admin)
    check("restart: tokens survive; GET /calls/x-open shows status interrupted",
          r.status == 200 and (r.json or {}).get("status") == "interrupted", r)
    r = s.request("GET", "/leadservices/api/v2/leads/1001/fields/158", auth=basic("ivr"))
    check("restart: the PUT field is still Platinum",
          r.status == 200 and (r.json or {}).get("Value") == "Platinum", r)
    if getattr(c, "web_lead_id", None):
        r = s.request("GET", "/leadservices/api/v2/leads/%d" % c.web_lead_id, auth=basic("ivr"))
        check("restart: the lead POSTed to the Lead Web API is still there",
              r.status == 200 and (r.json or {}).get("Name") == "Web Lead", r)
    if getattr(c, "nasty_id", None):
        r = s.request("GET", "/leadservices/api/v2/leads/%d" % c.nasty_id, auth=basic("ivr"))
        g = r.json or {}
        check("restart: the SQL-looking lead is still verbatim",
              r.status == 200 and g.get("Name") == c.nasty["Name"]
              and g.get("Fields") == c.nasty["Fields"], r)
    if c.created_lead:
        r = s.request("GET", "/api/v1/leads/%s" % c.created_lead, auth=c.agent)
        check("restart: the lead made by CreateLead is still there",
              r.status == 200 and (r.json or {}).get("campaignid") == "IVR", r)
    r = s.request("GET", "/api/v1/calls/" + c.call_uuid, auth=c.sup)
    check("restart: the test call's record is still there",
          r.status == 200 and (r.json or {}).get("resultCode") == "COMPLETED", r)
    r = s.request("GET", "/api/v1/flows/Targets/versions", auth=c.sup)
    check("restart: Targets still has versions 2, 1",
          [v.get("version") for v in (r.json or {}).get("versions", [])] == [2, 1], r)
    db = sqlite3.connect("file:%s?mode=ro" % c.db, uri=True, timeout=10)
    try:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        db.close()
    check("restart: PRAGMA integrity_check is ok", integrity == "ok", integrity)
    check("restart: the leads table survived the SQL-looking strings",
          {"leads", "lead_fields", "calls"} <= tables, tables)
    # 20 failed sign-ins a minute from one address, then even a good token is refused for a while.
    for i in range(20):
        s.request("GET", "/api/v1/me", auth="Bearer bad-token-%d" % i)
    r = s.request("GET", "/api/v1/me", auth=c.admin)
    check("throttle: after 20 bad tokens from one address a good one gets 429 + Retry-After",
          r.status == 429 and r.headers.get("retry-after") == "60", (r, r.headers))
    r = s.request("GET", "/healthz")
    check("throttle: /healthz still answers", r.status == 200, r)
    # A clean stop: SIGTERM ends the server with status 0 (and, in sanitizer builds, no report).
    status = s.kill(signal.SIGTERM)
    err = s.stderr()
    check("stop: SIGTERM ends serve with status 0 and says so",
          status == 0 and "SIGTERM: draining" in err
          and "callflow serve: stopped" in err, (status, err[-2000:]))
    return True


class LatinOneHandler(http.server.BaseHTTPRequestHandler):
    """An API that answers in Latin-1, not UTF-8 ("M\\xfcller")."""

    def do_GET(self):  # noqa: N802 - http.server's name
        body = b"M\xfcller"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=iso-8859-1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def hostile(c):
    """Bad input from outside: a Latin-1 API answer, bad query strings, a burst of guesses,
    a database path that does not exist."""
    s = c.server
    ok = s.start()
    check("hostile: the server starts again", ok, s.stderr())
    if not ok:
        return False
    api = http.server.ThreadingHTTPServer(("127.0.0.1", c.latin_stub_port), LatinOneHandler)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    try:
        flow = {
            "format": 1, "name": "Latin", "start": "Find",
            "elements": [
                {"name": "Find", "type": "LookupLead", "next": {"output": "Get"}},
                {"name": "Get", "type": "ApiRequest", "action": "GET", "timeout": 5,
                 "url": "http://127.0.0.1:%d/name" % api.server_address[1],
                 "next": {"output": "Say"}},
                {"name": "Say", "type": "TextToSpeech", "text": "Hello {{Get.Result}}",
                 "next": {"output": "Keep"}},
                {"name": "Keep", "type": "SetProperty",
                 "destination": {"type": "CallProperty", "name": "call.name2"},
                 "source": {"type": "DataBin", "name": "Get.Result"},
                 "next": {"output": "Kept", "error": "NotKept"}},
                {"name": "Kept", "type": "Hangup", "resultCode": "KEPT"},
                {"name": "NotKept", "type": "Hangup", "resultCode": "NOT_UTF8"},
            ],
        }
        r = s.request("PUT", "/api/v1/flows/Latin", flow, auth=c.admin)
        check("hostile: PUT a flow calling a Latin-1 API -> 200", r.status == 200, r)
        r = s.request("POST", "/api/v1/flows/Latin/calls", {"from": "+441632960001"},
                      auth=c.admin)
        trace = (r.json or {}).get("trace") or {}
        check("hostile: a test call whose API answers Latin-1 -> 200 with a valid JSON trace",
              r.status == 200 and trace.get("said") == ["Hello M\ufffdller"], r)
        check("hostile: SetProperty refuses to store non-UTF-8 text in the lead (error exit)",
              trace.get("resultCode") == "NOT_UTF8", r)
        uuid = (r.json or {}).get("uuid", "none")
        # The record is written behind the call (a call never waits for it): poll briefly.
        for _ in range(50):
            r = s.request("GET", "/api/v1/calls/" + uuid, auth=c.admin)
            if (r.json or {}).get("status") == "completed":
                break
            time.sleep(0.05 * SLOW)
        check("hostile: that call has its record", r.status == 200
              and (r.json or {}).get("resultCode") == "NOT_UTF8", r)
        r = s.request("GET", "/api/v1/leads/1001", auth=c.admin)
        check("hostile: the lead's name2 is unchanged and the lead reads as JSON",
              r.status == 200 and "\ufffd" not in json.dumps(r.json or {}), r)
    finally:
        api.shutdown()
    for path in ("/api/v1/leads?phone=%zz", "/api/v1/calls?limit=%zz", "/api/v1/dnc?x=%2"):
        r = s.request("GET", path, auth=c.admin)
        check("hostile: GET %s (bad percent-encoding) -> 400" % path, r.status == 400, r)
    # A burst of parallel guesses: each check counts as a failure until it succeeds, so the
    # burst is throttled rather than all checked.
    statuses = []
    lock = threading.Lock()

    def guess(i):
        reply = s.request("GET", "/leadservices/api/v2/leads/1001",
                          auth=basic("ivr", "wrong-%d" % i))
        with lock:
            statuses.append(reply.status)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60 * SLOW)
    check("hostile: 40 parallel wrong passwords: at most 20 are checked, the rest get 429",
          statuses.count(401) <= 20 and statuses.count(429) >= 20
          and len(statuses) == 40, sorted(statuses))
    status = s.kill(signal.SIGTERM)
    check("hostile: SIGTERM after the burst ends serve with status 0", status == 0,
          s.stderr()[-2000:])
    missing = os.path.join(c.work, "no-such.db")
    status, out, err = cli("calls", "list", "--db", missing)
    check("hostile: calls list --db of a missing file fails and creates nothing",
          status != 0 and not os.path.exists(missing) and "cannot open" in err, (status, err))
    return True


def bulk_import_killed(c):
    big_csv = os.path.join(c.work, "big.csv")
    with open(big_csv, "w", encoding="utf-8") as f:
        f.write("referenceid,name,phonenum,city,field:158\n")
        f.writelines("B%d,Bulk %d,+44 20 7946 %04d,Town %d,Tier%d\n" % (i, i, i % 10000, i % 97,
                                                                         i % 3)
                     for i in range(300000))
    db = os.path.join(c.work, "bulk.db")
    process = subprocess.Popen([CALLFLOW, "leads", "import", big_csv, "--db", db],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    try:
        deadline = time.monotonic() + 10 * SLOW
        while not os.path.exists(db) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        finished = process.poll() is not None
        if not finished:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    check("bulk import: %s" % ("finished before the kill (fine)" if finished
                               else "SIGKILLed after 0.3 s"),
          (finished and process.returncode == 0) or process.returncode == -signal.SIGKILL,
          process.returncode)
    connection = sqlite3.connect(db, timeout=10)
    try:
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
        count = connection.execute("SELECT count(*) FROM leads").fetchone()[0]
        fields = connection.execute("SELECT count(*) FROM lead_fields").fetchone()[0]
    finally:
        connection.close()
    check("bulk import: the database opens and integrity_check is ok", integrity == "ok",
          integrity)
    check("bulk import: %d leads, a multiple of the 500-row batch" % count,
          count % 500 == 0 and (count == 300000 or not finished), count)
    check("bulk import: every committed lead has its field 158", fields == count,
          (fields, count))
    small = os.path.join(c.work, "small.csv")
    write(small, "referenceid,name,phonenum\nS1,Small One,+44 1632 960201\n"
                 "S2,Small Two,+44 1632 960202\n")
    status, out, err = cli("leads", "import", small, "--db", db, "--json")
    report = parse_json(out) or {}
    check("bulk import: a second import into that database works",
          status == 0 and report.get("imported") == 2 and report.get("rejected") == [],
          (status, out, err))
    status, out, err = cli("leads", "find", "--phone", "01632 960202", "--db", db, "--json")
    found = parse_json(out) or []
    check("bulk import: its lead is found, numbered after the committed ones",
          status == 0 and len(found) == 1 and found[0].get("id") > 1000 + count, out + err)


def sanitizer_clean(c):
    reports = []
    for name in sorted(os.listdir(c.work)):
        if name.startswith("serve-") and name.endswith(".err"):
            with open(os.path.join(c.work, name), encoding="utf-8", errors="replace") as f:
                text = f.read()
            if any(mark in text for mark in harness.SANITIZER_MARKS):
                reports.append("%s:\n%s" % (name, text[-4000:]))
    check("no sanitizer report on the server's stderr", not reports, "\n".join(reports))


def main():
    if not os.access(CALLFLOW, os.X_OK):
        sys.exit("serve_test.py: %s is not an executable" % CALLFLOW)
    with tempfile.TemporaryDirectory(prefix="callflow-serve-") as work:
        c = Context()
        c.work = work
        c.db = os.path.join(work, "callflow.db")
        c.port = free_port()
        # ApiRequest may reach the server's own Lead Web API and this test's stubs, by
        # CALLFLOW_ALLOW (servers and `callflow run` alike); every other loopback port is closed.
        c.designer_stub_port, c.latin_stub_port = free_port(), free_port()
        ENV["CALLFLOW_ALLOW"] = ",".join("127.0.0.1:%d" % p for p in (
            c.port, c.designer_stub_port, c.latin_stub_port))
        c.flows_dir = os.path.join(work, "flows")
        c.secrets = os.path.join(work, "secrets.env")
        c.created_lead = None
        c.call_uuid = "none"
        c.admin = c.sup = c.agent = "Bearer none"
        c.prompts_dir, c.web_dir = media_api_checks.make_dirs(work)
        c.server = Server(work, c.db, c.port, c.flows_dir, c.secrets,
                          ["--prompts", c.prompts_dir, "--web", c.web_dir,
                           "--transfer-allow", "sip:*@example.com"])
        try:
            setup(c)
            if start_checks(c):
                safe("lead api", lead_api, c)
                safe("concurrency", concurrency, c)
                safe("admin api", admin_api, c)
                safe("test call", test_call, c)
                safe("designer api", designer_checks.run, c, sys.modules[__name__])
                safe("media api", media_api_checks.run, c, sys.modules[__name__])
                safe("drafts", drafts, c)
                safe("call filters", call_filters, c)
                safe("rename", rename_flows, c)
                safe("leads", leads_crud, c)
                safe("dnc", dnc, c)
                safe("callflow run", cli_runs, c)
                safe("ops", ops, c)
                safe("restart", restart, c)
                safe("hostile input", hostile, c)
        except Exception:  # noqa: BLE001 - reported as a failure
            check("the run completed without an exception", False, traceback.format_exc())
        finally:
            c.server.kill(signal.SIGKILL)
        safe("sanitizer", sanitizer_clean, c)
        safe("bulk import", bulk_import_killed, c)
    return T.finish()


if __name__ == "__main__":
    sys.exit(main())
