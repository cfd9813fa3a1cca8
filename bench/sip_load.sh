#!/usr/bin/env bash
# SIP load benchmark (`make bench-sip`), on loopback, every figure beside a baseline from the
# same run.
#
#   1. Calls/s. A ladder of rates, each a bounded run of RATE x SECONDS_PER_STEP calls; a rate
#      is held with fewer than 0.1 % failed calls (MAX_FAILED_PCT), no retransmissions
#      (MAX_RETRANS_PCT), a mean INVITE->200 under 100 ms (MAX_SETUP_MS, the rule the Asterisk
#      figure of the dependency notes was measured with), and, for the baseline, 95 % of the
#      rate achieved (else the caller is the limit).
#        baseline: SIPp's `-sn uac` against SIPp's `-sn uas` (signalling only);
#        callflow: the seed's flow (bench/sip/seed.json: LookupLead from SQLite, ApiRequest to
#          nginx, SetProperty, a short cached TextToSpeech, Hangup) against `callflow serve
#          --sip`, the caller (bench/sip/seed_call.xml) waiting for the IVR's BYE.
#   2. Calls held with audio: CONCURRENT calls (default 1000) started at RAMP calls/s, each
#      playing a long prompt for HOLD_SECONDS (30); during the plateau tcpdump captures the RTP
#      for CAPTURE_SECONDS and bench/sip/rtp_intervals.py gives the send intervals' deviation
#      from 20 ms (target p99 within 2 ms); the server's RSS before and during gives the memory
#      per call (target 64 KiB); the calls' records are counted.
#   3. TTS: the cost of one uncached sentence (bench/media_bench, flite).
#
# The callee runs on CPU 1 and the caller on CPU 0 when there are two CPUs (CALLEE_CPUS=all
# lets the server use both). Environment: RATES, SECONDS_PER_STEP (5), MAX_FAILED_PCT,
# MAX_RETRANS_PCT, MAX_SETUP_MS, CONCURRENT, RAMP, HOLD_SECONDS, CAPTURE_SECONDS, BUILD (build),
# SKIP_BASELINE=1, SKIP_RATES=1, SKIP_CONCURRENT=1, KEEP_GOING=1 (every rate even after one
# fails). Every run is bounded (-m, -timeout, timeout(1)); everything stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${BUILD:-build}
rates=${RATES:-"250 500 1000 2000 3000 4000 5000 6000 8000 10000 12000 15000 20000"}
callflow_rates=${CALLFLOW_RATES:-"200 300 400 500 600 700 800 1000"}
concurrent=${CONCURRENT:-1000}
ramp=${RAMP:-100}
hold_seconds=${HOLD_SECONDS:-30}
capture_seconds=${CAPTURE_SECONDS:-5}
min_achieved=0.95
seconds=${SECONDS_PER_STEP:-5}
max_failed_pct=${MAX_FAILED_PCT:-0.1}
max_retrans_pct=${MAX_RETRANS_PCT:-0}
max_setup_ms=${MAX_SETUP_MS:-100}

source bench/lib.sh
need_tools sipp nginx tcpdump
scenario=(-sn uac)

work=$(mktemp -d)
callee_pid=
stop_callee() {
  if [ -n "$callee_pid" ]; then
    kill "$callee_pid" 2>/dev/null || true
    wait "$callee_pid" 2>/dev/null || true
    callee_pid=
  fi
}
trap 'stop_callee; stop_nginx "$work"; rm -rf "$work"' EXIT

# A port free on 127.0.0.1 for both UDP and TCP.
free_port() {
  python3 - <<'PY'
import socket
for _ in range(100):
    u, t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket()
    try:
        u.bind(("127.0.0.1", 0))
        t.bind(("127.0.0.1", u.getsockname()[1]))
        print(u.getsockname()[1])
        break
    except OSError:
        pass
    finally:
        u.close()
        t.close()
PY
}

# An even port P with P and P + 2 free (SIPp binds both for -mp, even without media).
free_media_port() {
  python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import sipkit; print(sipkit.free_media_port())' "$root/tests/sip"
}

if [ "${CALLEE_CPUS:-}" = all ]; then
  callee_cpu=(); caller_cpu=(); cpus="callee and caller on every CPU"
elif [ "$(nproc)" -ge 2 ]; then
  callee_cpu=(taskset -c 1); caller_cpu=(taskset -c 0); cpus="callee on CPU 1, caller on CPU 0"
else
  callee_cpu=(); caller_cpu=(); cpus="one CPU shared"
fi

# One field of the last line of a SIPp -trace_stat CSV.
stat_field() {
  python3 - "$1" "$2" <<'PY'
import csv, sys
try:
    rows = list(csv.reader(open(sys.argv[1]), delimiter=";"))
except OSError:
    rows = []
value = dict(zip(rows[0], rows[-1])).get(sys.argv[2], "") if len(rows) > 1 else ""
if value.count(":") == 3:  # HH:MM:SS:usec -> ms
    h, m, s, us = (int(x) for x in value.split(":"))
    value = "%.1f" % ((h * 3600 + m * 60 + s) * 1000 + us / 1000)
print(value or 0)
PY
}

# ladder NAME TARGET [extra sipp args for the caller...]
# Prints one line per rate and sets $held_rate (calls/s achieved at the highest rate held, or 0)
# and $held_step (that step's nominal rate).
ladder() {
  local name=$1 target=$2; shift 2
  held_rate=0; held_step=0
  echo "$name: ladder at $target, $seconds s per step"
  for rate in $rates; do
    local calls=$((rate * seconds)) dir="$work/$name-$rate" port
    mkdir -p "$dir"
    port=$(free_port)
    local media_port
    media_port=$(free_media_port)
    local status=0
    (cd "$dir" && timeout $((seconds * 4 + 60)) "${caller_cpu[@]}" sipp "${scenario[@]}" -i 127.0.0.1 \
        -p "$port" -mp "$media_port" -r "$rate" -m "$calls" -l $((rate * 4 + 100)) \
        -nostdin -timeout $((seconds * 3 + 30))s -timeout_error -buff_size 4194304 \
        -trace_stat -stf stats.csv -fd 1 "$@" "$target" >sipp.out 2>sipp.err) || status=$?
    local ok failed retrans cps setup
    ok=$(stat_field "$dir/stats.csv" "SuccessfulCall(C)")
    failed=$(stat_field "$dir/stats.csv" "FailedCall(C)")
    retrans=$(stat_field "$dir/stats.csv" "Retransmissions(C)")
    cps=$(stat_field "$dir/stats.csv" "CallRate(C)")
    setup=$(stat_field "$dir/stats.csv" "ResponseTime1(C)")
    local verdict
    verdict=$(awk -v ok="$ok" -v f="$failed" -v r="$retrans" -v n="$calls" -v s="$setup" -v c="$cps" -v rate="$rate" \
                  -v mf="$max_failed_pct" -v mr="$max_retrans_pct" -v ms="$max_setup_ms" \
                  -v min_achieved="$min_achieved" 'BEGIN {
      done = ok + f;
      if (done < n) { print "not held (" n - done " calls unfinished)"; exit }
      if (100 * f / n >= mf && f > 0) { print "not held (failed " f ")"; exit }
      if (100 * r / n > mr) { print "not held (" r " retransmissions)"; exit }
      if (s + 0 >= ms + 0) { print "not held (setup " s " ms)"; exit }
      if (c < min_achieved * rate) { print "not held (the caller reached " c "/s)"; exit }
      print "held" }')
    printf "  rate %5d/s: %6d calls, %6d ok, %4d failed, %5d retrans, %8.1f calls/s, mean INVITE->200 %s ms, sipp exit %d: %s\n" \
      "$rate" "$calls" "$ok" "$failed" "$retrans" "$cps" "$setup" "$status" "$verdict"
    if [ "$verdict" = held ]; then
      held_rate=$cps; held_step=$rate
    elif [ "${KEEP_GOING:-0}" != 1 ]; then
      break
    fi
  done
  echo "$name: highest rate held: $held_step/s ($held_rate calls/s achieved)"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r), $(sipp -v 2>&1 | grep -o 'SIPp v[0-9.]*')"
echo "criteria: failed < $max_failed_pct %, retransmissions <= $max_retrans_pct %, mean INVITE->200 < $max_setup_ms ms; $cpus"
echo

# --- 1. Calls/s: SIPp against SIPp --------------------------------------------------------------
baseline_rate=0
if [ "${SKIP_BASELINE:-0}" != 1 ] && [ "${SKIP_RATES:-0}" != 1 ]; then
  uas_port=$(free_port)
  "${callee_cpu[@]}" sipp -sn uas -i 127.0.0.1 -p "$uas_port" -mp "$(free_media_port)" -nostdin \
    -buff_size 4194304 -timeout 1800s >"$work/uas.out" 2>"$work/uas.err" &
  callee_pid=$!
  sleep 0.5
  ladder baseline "127.0.0.1:$uas_port"
  baseline_rate=$held_rate
  stop_callee
  echo
fi

# --- Callflow: nginx, a database with the demo leads, the bench flows and a long prompt ---------
if [ ! -x "$build/callflow" ]; then
  echo "callflow: $build/callflow is not built (make build)"
  exit 1
fi
nginx_port=$(free_port)
start_nginx "$work" "$nginx_port" return
mkdir -p "$work/flows" "$work/prompts"
sed "s/NGINX_PORT/$nginx_port/" bench/sip/seed.json >"$work/flows/seed.json"
cp bench/sip/audio.json "$work/flows/audio.json"
python3 - "$work/prompts/long.wav" "$((hold_seconds + 30))" <<'PY'
import math, random, struct, sys, wave
# A tone that wanders in pitch and level, so every frame carries sound.
rate, seconds = 8000, int(sys.argv[2])
random.seed(1)
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate)
    frames = bytearray()
    phase = 0.0
    for i in range(rate * seconds):
        phase += 2 * math.pi * (300 + 200 * math.sin(i / 4000)) / rate
        frames += struct.pack("<h", int(6000 * math.sin(phase)))
    w.writeframes(bytes(frames))
PY
"$build/callflow" leads import examples/leads.csv --db "$work/callflow.db" >/dev/null
caller_number=441632960001  # demo lead 1001

# start_callflow FLOW: serve --sip with FLOW; sets callee_pid and sip_port.
start_callflow() {
  sip_port=$(free_port)
  "${callee_cpu[@]}" "$build/callflow" serve --db "$work/callflow.db" \
    --http "127.0.0.1:$(free_port)" --sip "127.0.0.1:$sip_port" --flow "$1" \
    --prompts "$work/prompts" --allow "127.0.0.1:$nginx_port" --max-calls 100000 \
    --rtp-ports 20000-29999 >"$work/callflow.out" 2>"$work/callflow.err" &
  callee_pid=$!
  for _ in $(seq 100); do
    if python3 -c "import sys; sys.path.insert(0, 'tests/sip'); import sipkit
sys.exit(0 if sipkit.sip_options($sip_port, timeout=0.2) == 200 else 1)"; then return 0; fi
    sleep 0.1
  done
  echo "callflow: serve --sip did not answer OPTIONS; its stderr:"
  tail -20 "$work/callflow.err"
  exit 1
}

if [ "${SKIP_RATES:-0}" != 1 ]; then
  start_callflow "$work/flows/seed.json"
  scenario=(-sf "$PWD/bench/sip/seed_call.xml" -key caller "$caller_number" -s 100)
  rates=$callflow_rates
  min_achieved=0  # a call lasts about 0.9 s (the speech): the average rate trails the offered
  ladder callflow "127.0.0.1:$sip_port"
  callflow_rate=$held_rate
  callflow_step=$held_step
  stop_callee
  records=$("$build/callflow" calls list --db "$work/callflow.db" --json --limit 100000 |
    python3 -c 'import collections, json, sys
r = json.load(sys.stdin)
print(len(r), dict(collections.Counter(x["resultCode"] for x in r)))')
  echo "callflow: records written: $records"
  echo
  awk -v c="$callflow_step" -v b="$baseline_rate" 'BEGIN {
    printf "calls/s held: callflow (seed flow) %d/s (target >= 500)", c;
    if (b > 0) printf "; SIPp against SIPp %.0f/s; ratio %.2f", b, c / b;
    print "" }'
  echo
fi

# --- 2. Calls held with audio --------------------------------------------------------------------
if [ "${SKIP_CONCURRENT:-0}" != 1 ]; then
  start_callflow "$work/flows/audio.json"
  rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$callee_pid/status"; }
  idle_rss=$(rss_kib)
  ramp_seconds=$(( (concurrent + ramp - 1) / ramp ))
  dir="$work/held"
  mkdir -p "$dir"
  (cd "$dir" && timeout $((ramp_seconds + hold_seconds + 90)) "${caller_cpu[@]}" sipp \
      -sf "$OLDPWD/bench/sip/hold_call.xml" -key caller "$caller_number" -s 100 \
      -d $((hold_seconds * 1000)) -i 127.0.0.1 -p "$(free_port)" -mp "$(free_media_port)" \
      -r "$ramp" -m "$concurrent" -l "$concurrent" -nostdin -timeout $((ramp_seconds + hold_seconds + 60))s \
      -buff_size 8388608 -trace_stat -stf stats.csv -fd 1 "127.0.0.1:$sip_port" \
      >sipp.out 2>sipp.err) &
  caller=$!
  # The plateau: every call started, none ended yet.
  sleep $((ramp_seconds + 2))
  held_rss=$(rss_kib)
  live=$(python3 -c "print(sum(1 for l in open('/proc/net/udp') if ':' in l.split()[1] and 20000 <= int(l.split()[1].split(':')[1], 16) <= 29999))")
  timeout $((capture_seconds + 5)) tcpdump -i lo -s 64 -w "$work/rtp.pcap" -B 65536 \
    "udp and src portrange 20000-29999" >/dev/null 2>&1 &
  dump=$!
  sleep "$capture_seconds"
  kill -INT "$dump" 2>/dev/null || true
  wait "$dump" 2>/dev/null || true
  wait "$caller" || true
  ok=$(stat_field "$dir/stats.csv" "SuccessfulCall(C)")
  failed=$(stat_field "$dir/stats.csv" "FailedCall(C)")
  stop_callee
  echo "held calls: $concurrent calls started at $ramp/s, each playing audio for $hold_seconds s:" \
       "$ok completed, $failed failed; $live RTP sockets open at the plateau"
  python3 bench/sip/rtp_intervals.py "$work/rtp.pcap" | sed 's/^/  RTP sent, /'
  awk -v a="$idle_rss" -v b="$held_rss" -v n="$live" 'BEGIN {
    if (n > 0) printf "  memory: RSS %d KiB idle, %d KiB with %d calls: %.1f KiB per call (target <= 64)\n", a, b, n, (b - a) / n }'
  echo
fi

# --- 3. TTS ---------------------------------------------------------------------------------------
if [ -x "$build/bench/media_bench" ]; then
  "$build/bench/media_bench" --benchmark_filter='Flite|SpeechCache' --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true 2>/dev/null | grep -E "median" | sed 's/^/tts: /'
fi
