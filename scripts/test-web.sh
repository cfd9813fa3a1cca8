#!/usr/bin/env bash
# The designer's browser tests: Playwright driving Debian's chromium against a `callflow serve`
# that web/tests/setup.ts starts on loopback. Usage: test-web.sh PATH_TO_callflow
set -euo pipefail
binary=$(realpath "${1:?usage: test-web.sh PATH_TO_callflow}")
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/build-web.sh"
chromium=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x $chromium ]]; then
  echo "test-web: $chromium is missing (make deps installs Debian's chromium)" >&2
  exit 1
fi
cd "$root/web"
# Type errors fail the run before any browser starts.
npx --no-install tsc --noEmit -p .
CALLFLOW_BIN=$binary CHROMIUM=$chromium npx --no-install playwright test "${@:2}"
