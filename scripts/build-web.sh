#!/usr/bin/env bash
# Builds the designer (web/) into web/dist with the npm packages of web/package-lock.json.
# `npm ci` runs only when the lock file changed since the last install; the Vite build only when
# a source is newer than the last build. Needs Node.js 20 or later (the machine's; Debian 12's
# own nodejs is 18, too old for Vite 8).
set -euo pipefail
cd "$(dirname "$0")/../web"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "build-web: Node.js 20+ and npm are needed to build the designer (web/)" >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if (( major < 20 )); then
  echo "build-web: Node.js $(node --version) is too old; the designer needs 20 or later" >&2
  exit 1
fi

if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "build-web: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.package-lock.json
fi

stamp=dist/index.html
if [[ ! -f $stamp ]] || [[ -n $(find src index.html vite.config.ts package-lock.json -newer "$stamp" -print -quit) ]]; then
  echo "build-web: vite build"
  npx --no-install vite build --logLevel warn
fi
