#!/usr/bin/env bash
# Installs the Debian 12 packages Callflow builds and tests with. Idempotent: it asks apt only
# for what is missing, so a second run does nothing. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git python3 curl
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev  # not libboost-dev (1.74)
  libcli11-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev libsqlitecpp-dev libsodium-dev sqlite3
  libre-dev flite1-dev libspeexdsp-dev libsndfile1-dev  # SIP, TTS, resampling, WAV prompts
  libspandsp-dev  # in-band DTMF (--inband-dtmf)
  sip-tester  # SIPp: the SIP tests' caller, and `make run`'s demo caller
  clang-format
  clang-14 libclang-rt-14-dev  # make fuzz: clang with libFuzzer, ASan and UBSan
  faketime  # row P9: the wall clock jumped under a running server (libfaketime)
  chromium  # the designer's browser tests (Playwright drives it; no browser download here)
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root for: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
