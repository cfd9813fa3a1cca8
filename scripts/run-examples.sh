#!/usr/bin/env bash
# `make run` until `callflow serve` exists: checks each example flow, then runs it through the
# simulator with a few scripted callers and prints the traces.
set -euo pipefail
callflow=${1:-build/callflow}
cd "$(dirname "$0")/.."

run() {
  echo "\$ callflow run $*"
  "$callflow" run "$@"
  echo
}

for flow in examples/flows/*.json; do
  echo "\$ callflow check $flow"
  "$callflow" check "$flow"
  echo
done
# The seed's example end to end: demo leads in the in-memory store, and a static stand-in for
# the Lead Web API on 127.0.0.1:8080 (until `callflow serve` serves the real one).
python3 -m http.server 8080 --bind 127.0.0.1 --directory examples/lead-api >/dev/null 2>&1 &
api=$!
trap 'kill $api 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  python3 -c 'import socket; socket.create_connection(("127.0.0.1", 8080), 0.2)' 2>/dev/null && break
  sleep 0.1
done
run examples/flows/lead_field.json --leads examples/leads.json --from "+441632960001" --to +441632960999
run examples/flows/lead_field.json --leads examples/leads.json --from "+44 1632 960002" --json
run examples/flows/lead_field.json --leads examples/leads.json --from +441632960099
run examples/flows/menu.json --digits 1
run examples/flows/menu.json --digits 7,,2
run examples/flows/menu.json --digits 0 --json
run examples/flows/capture_and_branch.json --digits "4321#"
run examples/flows/capture_and_branch.json --digits "12,,"
echo "Try your own: $callflow run FLOW.json [--from N] [--to N] [--digits \"123#,2\"]" \
     "[--hangup-at ELEMENT] [--json]"
