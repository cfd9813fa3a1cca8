#!/usr/bin/env bash
# ApiRequest load benchmark (`make bench-http`): nginx on loopback serves the lead field JSON of
# the seed's example; three clients hit the same URL in turn, each for SECONDS at CONCURRENCY:
#   wrk                   the ceiling of this machine for the request alone
#   http_bench bare       a bare libcurl multi loop doing the same GETs, no engine around them
#   http_bench engine     the seed's flow as simulated calls (ApiRequest -> SetProperty ->
#                         TextToSpeech -> Hangup), CONCURRENCY calls at once on one loop
# then prints calls/s, latencies and the ratios engine/bare and engine/wrk, and the memory of a
# call waiting in ApiRequest. nginx runs on CPU 1, the clients on CPU 0. Repeats RUNS times.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
concurrency=${CONCURRENCY:-256}
seconds=${SECONDS_PER_RUN:-5}
runs=${RUNS:-3}

source bench/lib.sh
need_tools nginx wrk
work=$(mktemp -d)
trap 'stop_nginx "$work"; rm -rf "$work"' EXIT
port=$(free_port)
start_nginx "$work" "$port" return
url="http://127.0.0.1:$port/leadservices/api/v2/leads/1001/fields/158"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
echo "concurrency $concurrency, $seconds s per client, $runs runs; nginx on CPU 1, clients on CPU 0"
field() { sed -E "s/.*$1=([0-9.]+).*/\1/"; }
: > "$work/results"
for run in $(seq "$runs"); do
  wrk_rate=$(taskset -c 0 wrk -t1 -c"$concurrency" -d"${seconds}s" "$url" | awk '/Requests\/sec/ {print $2}')
  bare=$(taskset -c 0 "$build/bench/http_bench" bare "$url" "$concurrency" "$seconds")
  engine=$(taskset -c 0 "$build/bench/http_bench" engine "$url" "$concurrency" "$seconds")
  echo "run $run: wrk rate=$wrk_rate | $bare | $engine"
  echo "$wrk_rate $(field rate <<<"$bare") $(field rate <<<"$engine") $(field p50_us <<<"$bare") $(field p99_us <<<"$bare") $(field p50_us <<<"$engine") $(field p99_us <<<"$engine")" >> "$work/results"
done
col() { awk -v c="$1" '{print $c}' "$work/results" | median; }
wrk_rate=$(col 1); bare_rate=$(col 2); engine_rate=$(col 3)
echo
echo "medians of $runs runs at concurrency $concurrency:"
echo "  wrk:              $wrk_rate requests/s"
echo "  bare libcurl:     $bare_rate requests/s   (p50 $(col 4) us, p99 $(col 5) us)"
echo "  engine (seed):    $engine_rate calls/s      (p50 $(col 6) us, p99 $(col 7) us)"
awk -v e="$engine_rate" -v b="$bare_rate" -v w="$wrk_rate" 'BEGIN {
  printf "  ratio engine/bare libcurl: %.2f (target >= 0.8)\n", e / b;
  printf "  ratio engine/wrk:          %.2f (target >= 0.2)\n", e / w }'
# Added latency: one call at a time, so queueing does not hide what the engine adds.
bare1=$(taskset -c 0 "$build/bench/http_bench" bare "$url" 1 "$seconds")
engine1=$(taskset -c 0 "$build/bench/http_bench" engine "$url" 1 "$seconds")
echo "  one at a time: bare p50 $(field p50_us <<<"$bare1") us p99 $(field p99_us <<<"$bare1") us;" \
     "engine p50 $(field p50_us <<<"$engine1") us p99 $(field p99_us <<<"$engine1") us"
awk -v b50="$(field p50_us <<<"$bare1")" -v b99="$(field p99_us <<<"$bare1")" \
    -v e50="$(field p50_us <<<"$engine1")" -v e99="$(field p99_us <<<"$engine1")" 'BEGIN {
  printf "  added latency per call: p50 %.0f us, p99 %.0f us (target p99 < 1000 us)\n",
         e50 - b50, e99 - b99 }'
taskset -c 0 "$build/bench/http_bench" memory 2000
