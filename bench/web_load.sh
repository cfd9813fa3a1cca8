#!/usr/bin/env bash
# `make bench-web`: the designer's figures (issue 7). A 200-element flow opened, laid out and
# editable in headless Chromium, beside a 2-element flow opened the same way; the validation round
# trip of that flow at the server, beside GET /api/v1/me on the same keep-alive connection.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
binary=$(realpath "${BUILD:-build}/callflow")
bash "$root/scripts/build-web.sh"
# The bench's TypeScript files import @playwright/test from web/'s packages.
ln -sfn ../../web/node_modules "$root/bench/web/node_modules"
cd "$root/bench/web"
CALLFLOW_BIN=$binary CHROMIUM=${CHROMIUM:-/usr/bin/chromium} \
  "$root/web/node_modules/.bin/playwright" test -c bench.config.ts
