#!/usr/bin/env bash
# The command line as a user meets it: `callflow check` and `callflow run`, their exit statuses,
# messages and JSON, secrets kept out of the output, and every example flow.
#
# Usage: cli_test.sh PATH_TO_callflow REPO_ROOT
set -u

callflow=${1:?usage: cli_test.sh PATH_TO_callflow REPO_ROOT}
root=${2:?usage: cli_test.sh PATH_TO_callflow REPO_ROOT}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Secrets only come from where a test puts them.
for variable in $(env | sed -n 's/^\(CALLFLOW_SECRET_[A-Za-z0-9_]*\)=.*/\1/p'); do
  unset "$variable"
done

passed=0
failed=0
status=0

# run COMMAND...: stdout to $work/out, stderr to $work/err, exit status to $status.
run() {
  "$@" >"$work/out" 2>"$work/err"
  status=$?
}

# check NAME CONDITION...: counts a pass when the command CONDITION succeeds.
check() {
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $name" >&2
    echo "  exit status: $status" >&2
    sed 's/^/  stdout: /' "$work/out" | head -20 >&2
    sed 's/^/  stderr: /' "$work/err" | head -20 >&2
  fi
}

status_is() { [[ $status -eq $1 ]]; }
out_has() { grep -qF -- "$1" "$work/out"; }
err_has() { grep -qF -- "$1" "$work/err"; }
err_empty() { [[ ! -s "$work/err" ]]; }
out_empty() { [[ ! -s "$work/out" ]]; }
# Every line of stderr holds TEXT.
err_lines_all_have() { ! grep -qvF -- "$1" "$work/err"; }
# json_ok EXPRESSION: stdout is one JSON document `d` for which the Python EXPRESSION is true.
json_ok() {
  python3 -c 'import json, sys
d = json.load(sys.stdin)
sys.exit(0 if eval(sys.argv[1]) else 1)' "$1" <"$work/out"
}
# Neither output holds TEXT.
nowhere() { ! grep -qF -- "$1" "$work/out" "$work/err"; }
# --- Flows --------------------------------------------------------------------------------------

cat >"$work/good.json" <<'EOF'
{
  "format": 1,
  "name": "Cli",
  "start": "Ask",
  "elements": [
    {"name": "Ask", "type": "CaptureDigits", "prompt": {"text": "Enter your code"},
     "maxDigits": 4, "next": {"output": "Save", "noInput": "Bye", "error": "Bye"}},
    {"name": "Save", "type": "SetProperty", "destination": {"type": "IvrData", "name": "Code"},
     "source": {"type": "DataBin", "name": "Ask.Result"}, "next": {"output": "Say"}},
    {"name": "Say", "type": "TextToSpeech", "text": "You entered {{Code}}.",
     "phrase": ["beep.wav"], "next": {"output": "Bye"}},
    {"name": "Bye", "type": "Hangup", "resultCode": "COMPLETED"}
  ]
}
EOF

cat >"$work/bad.json" <<'EOF'
{
  "format": 1,
  "name": "Bad",
  "start": "Api",
  "colour": "red",
  "elements": [
    {"name": "Api", "type": "ApiRequest", "url": "https://api.example.com/x", "timeout": 500,
     "next": {"output": "Bye", "error": "Nowhere"}},
    {"name": "Bye", "type": "Hangup", "resultCode": "DONE", "volume": 11}
  ]
}
EOF

printf '{\n  "format": 1,\n  "start": tru\n}\n' >"$work/malformed.json"

cat >"$work/secret.json" <<'EOF'
{
  "format": 1,
  "name": "Secret",
  "start": "Call",
  "elements": [
    {"name": "Call", "type": "ApiRequest", "timeout": 2,
     "url": "http://127.0.0.1:9/check?key={{secret.API_KEY}}",
     "header": "Authorization: Bearer {{secret.API_KEY}}",
     "body": "{\"key\": \"{{secret.API_KEY}}\"}", "action": "POST",
     "next": {"output": "Say", "error": "Say"}},
    {"name": "Say", "type": "TextToSpeech", "text": "Your key is {{secret.API_KEY}}.",
     "next": {"output": "Keep"}},
    {"name": "Keep", "type": "SetProperty", "destination": {"type": "IvrData", "name": "Copy"},
     "source": {"type": "FreeText", "name": "{{secret.API_KEY}}"}, "next": {"output": "Bye"}},
    {"name": "Bye", "type": "Hangup"}
  ]
}
EOF
secret_value='Sup3r-Secret/Value "x"'
secret_marker='Sup3r-Secret'

# --- callflow check -----------------------------------------------------------------------------

run "$callflow" check "$work/good.json"
check "check good: exit 0" status_is 0
check "check good: says ok" out_has "ok"
check "check good: names the flow" out_has "Cli"
check "check good: nothing on stderr" err_empty

run "$callflow" check "$work/bad.json"
check "check bad: exit 2" status_is 2
bad=$work/bad.json
check "check bad: timeout" \
  err_has "$bad: element \"Api\": key \"timeout\": must be at most 120"
check "check bad: next" \
  err_has "$bad: element \"Api\": key \"next.error\": no element named \"Nowhere\""
check "check bad: unknown setting" \
  err_has "$bad: element \"Bye\": key \"volume\": unknown setting"
check "check bad: unknown document key" err_has "$bad: flow: key \"colour\": unknown key"
check "check bad: count" err_has "$bad: 4 errors"
check "check bad: every line names the file" err_lines_all_have "$bad: "
check "check bad: nothing on stdout" out_empty

run "$callflow" check --json "$work/bad.json"
check "check --json bad: exit 2" status_is 2
check "check --json bad: problems" json_ok '(
  d["valid"] is False and len(d["problems"]) == 4
  and all(p["severity"] == "error" for p in d["problems"])
  and any(p["element"] == "Api" and p["key"] == "timeout" for p in d["problems"]))'

run "$callflow" check --json "$work/good.json"
check "check --json good: exit 0" status_is 0
check "check --json good: valid" json_ok 'd["valid"] is True and d["problems"] == []'

run "$callflow" check "$work/malformed.json"
check "check malformed: exit 2" status_is 2
check "check malformed: line and column" err_has "$work/malformed.json: line 3, column 12:"

run "$callflow" check "$work/missing.json"
check "check missing file: exit 2" status_is 2
check "check missing file: names it" err_has "missing.json"

printf '[]' >"$work/array.json"
run "$callflow" check "$work/array.json"
check "check non-object: exit 2" status_is 2

run "$callflow" check
check "check without a file: exit 2" status_is 2

# --- callflow run -------------------------------------------------------------------------------

run "$callflow" run "$work/good.json" --digits "12#" --from "+15550001" --to "8005550199" --json
check "run --json: exit 0" status_is 0
check "run --json: one JSON object with the documented keys" json_ok '(
  all(k in d for k in ("resultCode", "endedAt", "hungUpBy", "path", "said", "played", "http",
                       "data")))'
check "run --json: values" json_ok '(
  d["resultCode"] == "COMPLETED" and d["endedAt"] == "Bye" and d["hungUpBy"] == "flow"
  and d["path"] == ["Ask", "Save", "Say", "Bye"]
  and d["said"] == ["Enter your code", "You entered 12."]
  and d["played"] == ["beep.wav"] and d["http"] == [] and d["data"] == {"Code": "12"})'
check "run --json: nothing on stderr" err_empty

run "$callflow" run "$work/good.json" --digits "12#"
check "run text: exit 0" status_is 0
check "run text: shows the path" out_has "Say"

run "$callflow" run "$work/good.json" --json
check "run silence: exit 0" status_is 0
check "run silence: noInput path" json_ok 'd["path"] == ["Ask", "Bye"] and d["data"] == {}'

run "$callflow" run "$work/good.json" --digits "1,,2" --hangup-at Say --json
check "run --hangup-at: exit 0" status_is 0
check "run --hangup-at: the caller hung up there" json_ok \
  'd["endedAt"] == "Say" and d["hungUpBy"] == "caller" and d["path"][-1] == "Say"'

run "$callflow" run "$work/good.json" --digits "12x"
check "run --digits bad key: exit 2" status_is 2
check "run --digits bad key: says why" err_has "--digits"
check "run --digits bad key: no trace" out_empty

run "$callflow" run "$work/good.json" --hangup-at Nowhere
check "run --hangup-at missing element: exit 2" status_is 2
check "run --hangup-at missing element: names it" err_has "Nowhere"

run "$callflow" run "$work/good.json" --no-such-option
check "run unknown option: exit 2" status_is 2
check "run unknown option: names it" err_has "--no-such-option"

run "$callflow" frobnicate
check "unknown command: exit 2" status_is 2

run "$callflow"
check "no command: exit 2" status_is 2

run "$callflow" run "$work/bad.json"
check "run bad flow: exit 2" status_is 2
check "run bad flow: lists the problems" err_has "$work/bad.json: element \"Api\": key \"timeout\""

run "$callflow" run "$work/malformed.json" --json
check "run malformed flow: exit 2" status_is 2

# --- Secrets ------------------------------------------------------------------------------------

printf '# test secrets\n\nAPI_KEY=%s\n' "$secret_value" >"$work/secrets-open"
chmod 0644 "$work/secrets-open"
run "$callflow" run "$work/secret.json" --secrets "$work/secrets-open" --json
check "run --secrets 0644: exit 2" status_is 2
check "run --secrets 0644: says chmod 600" err_has "chmod 600"
check "run --secrets 0644: value not shown" nowhere "$secret_marker"

run "$callflow" check "$work/secret.json" --secrets "$work/secrets-open"
check "check --secrets 0644: exit 2" status_is 2

cp "$work/secrets-open" "$work/secrets"
chmod 0600 "$work/secrets"
run "$callflow" run "$work/secret.json" --secrets "$work/secrets" --json
check "run --secrets 0600: exit 0" status_is 0
check "run --secrets 0600: valid JSON" json_ok 'd["endedAt"] == "Bye"'
check "run --secrets 0600: value never shown" nowhere "$secret_marker"
check "run --secrets 0600: said redacted" json_ok 'd["said"] == ["Your key is ***."]'
check "run --secrets 0600: data redacted" json_ok 'd["data"] == {"Copy": "***"}'
check "run --secrets 0600: url redacted" json_ok \
  'len(d["http"]) == 1 and d["http"][0]["url"] == "http://127.0.0.1:9/check?key=***"'

run "$callflow" run "$work/secret.json" --secrets "$work/secrets"
check "run --secrets 0600 text: exit 0" status_is 0
check "run --secrets 0600 text: value never shown" nowhere "$secret_marker"

run "$callflow" check "$work/secret.json" --secrets "$work/secrets"
check "check --secrets 0600: exit 0" status_is 0
check "check --secrets 0600: value never shown" nowhere "$secret_marker"

printf 'API_KEY=%s\nnot a line %s\n' "$secret_value" "$secret_value" >"$work/secrets-bad"
chmod 0600 "$work/secrets-bad"
run "$callflow" run "$work/secret.json" --secrets "$work/secrets-bad"
check "run --secrets bad line: exit 2" status_is 2
check "run --secrets bad line: names the line" err_has "line 2"
check "run --secrets bad line: value not shown" nowhere "$secret_marker"

run "$callflow" run "$work/secret.json" --json
check "run secret not given: exit 2" status_is 2
check "run secret not given: names it" err_has "CALLFLOW_SECRET_API_KEY"
check "run secret not given: no trace" out_empty

printf 'OTHER=1\n' >"$work/secrets-other"
chmod 0600 "$work/secrets-other"
run "$callflow" run "$work/secret.json" --secrets "$work/secrets-other"
check "run secret not in file: exit 2" status_is 2

run env "CALLFLOW_SECRET_API_KEY=$secret_value" "$callflow" run "$work/secret.json" --json
check "run secret from the environment: exit 0" status_is 0
check "run secret from the environment: value never shown" nowhere "$secret_marker"

# --- The examples -------------------------------------------------------------------------------

shopt -s nullglob
examples=("$root"/examples/flows/*.json)
if [[ ${#examples[@]} -eq 0 ]]; then
  echo "note: no examples in $root/examples/flows" >&2
fi
for flow in "${examples[@]}"; do
  name=$(basename "$flow")
  run "$callflow" check "$flow"
  check "example $name: check exits 0" status_is 0
  check "example $name: check says ok" out_has "ok"
  # The seed example signs in to the Lead Web API with a secret; nothing listens here.
  CALLFLOW_SECRET_LEAD_API_PASSWORD=example-password run "$callflow" run "$flow" --json
  check "example $name: run exits 0" status_is 0
  check "example $name: run prints the trace" json_ok \
    'isinstance(d["path"], list) and len(d["path"]) > 0 and d["endedAt"] == d["path"][-1]'
done

# --- Demo leads (--leads) -------------------------------------------------------------------------

CALLFLOW_SECRET_LEAD_API_PASSWORD=example-password \
  run "$callflow" run "$root/examples/flows/lead_field.json" --leads "$root/examples/leads.json" \
  --from "+441632960001" --json --deny 127.0.0.1
check "leads: run exits 0" status_is 0
check "leads: the caller's lead is found and fills the call variables" json_ok \
  'd["steps"][0]["exit"] == "output" and d["call"]["leadid"] == "1001" and d["call"]["name"] == "Ada"'
check "leads: --deny keeps ApiRequest off that address" json_ok \
  'd["http"][0]["error"] == "the outbound policy denies that address"'
printf '[{"name": "Ada", "colour": "blue"}]' >"$work/bad-leads.json"
CALLFLOW_SECRET_LEAD_API_PASSWORD=x \
  run "$callflow" run "$root/examples/flows/lead_field.json" --leads "$work/bad-leads.json"
check "leads: an unknown field: exit 2" status_is 2
check "leads: an unknown field is named" err_has '"colour" is not a lead field'
CALLFLOW_SECRET_LEAD_API_PASSWORD=x \
  run "$callflow" run "$root/examples/flows/lead_field.json" --leads "$work/missing.json"
check "leads: a missing file: exit 2" status_is 2
CALLFLOW_SECRET_LEAD_API_PASSWORD=x \
  run "$callflow" run "$root/examples/flows/lead_field.json" --allow "not a host"
check "policy: a bad --allow rule: exit 2" status_is 2
check "policy: a bad --allow rule is named" err_has '"not a host"'

# --- The transfer allowlist (--transfer-allow) ----------------------------------------------------

menu=$root/examples/flows/menu.json
run "$callflow" run "$menu" --digits 1 --json
check "transfer: without --transfer-allow, run simulates the transfer" json_ok \
  'd["transfers"] == ["sip:sales@pbx.example.com"]'
run "$callflow" run "$menu" --digits 1 --json --transfer-allow 'sip:support@pbx.example.com'
check "transfer: a target outside --transfer-allow takes the error exit, not dialled" json_ok \
  'd["transfers"] == [] and "not in the transfer allowlist" in json.dumps(d["steps"])'
run "$callflow" run "$menu" --digits 1 --json --transfer-allow 'sip:*@pbx.example.com'
check "transfer: a target matching a pattern is dialled" json_ok \
  'd["transfers"] == ["sip:sales@pbx.example.com"]'
run "$callflow" check "$menu" --transfer-allow 'sip:sales@pbx.example.com'
check "transfer: check --transfer-allow: exit 2" status_is 2
check "transfer: check names the element and key of a fixed target outside it" \
  err_has 'key "target": "sip:support@pbx.example.com" is not in the transfer allowlist'

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
