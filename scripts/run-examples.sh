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
run examples/flows/lead_field.json --from +441632960001 --to +441632960999
run examples/flows/menu.json --digits 1
run examples/flows/menu.json --digits 7,,2
run examples/flows/menu.json --digits 0 --json
run examples/flows/capture_and_branch.json --digits "4321#"
run examples/flows/capture_and_branch.json --digits "12,,"
echo "Try your own: $callflow run FLOW.json [--from N] [--to N] [--digits \"123#,2\"]" \
     "[--hangup-at ELEMENT] [--json]"
