#!/usr/bin/env bash
# Lead Web API load benchmark (`make bench-lead-api`): wrk on the field endpoint of
# `callflow serve` (HTTP Basic, a read of one of LEADS leads' field 158 from SQLite per request),
# and in the same run wrk on nginx serving the same JSON as a static file: the ceiling of this
# machine for the request alone. The servers run on CPU 1, wrk on CPU 0; RUNS runs of SECONDS
# each, alternating; prints the medians and the ratio (target >= 0.3).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
concurrency=${CONCURRENCY:-64}
seconds=${SECONDS_PER_RUN:-5}
runs=${RUNS:-3}
leads=${LEADS:-10000}

source bench/lib.sh
need_tools nginx wrk
work=$(mktemp -d)
cleanup() {
  stop_nginx "$work"
  [[ -n ${server:-} ]] && kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# nginx: the same body as a static file.
nginx_port=$(free_port)
start_nginx "$work" "$nginx_port" static

# callflow serve: LEADS leads, each with field 158, and an API user.
python3 - "$work/leads.csv" "$leads" <<'PY'
import sys
with open(sys.argv[1], "w") as out:
    out.write("referenceid,name,phonenum,field:158\n")
    for i in range(int(sys.argv[2])):
        out.write(f"R{i},Lead {i},+4416329{i:05d},{('Gold', 'Silver', 'Bronze')[i % 3]}\n")
PY
"$build/callflow" leads import "$work/leads.csv" --db "$work/bench.db" >/dev/null
CALLFLOW_PASSWORD=bench-password "$build/callflow" users add bench --role api --db "$work/bench.db" >/dev/null
serve_port=$(free_port)
taskset -c 1 "$build/callflow" serve --db "$work/bench.db" --http "127.0.0.1:$serve_port" \
  2>"$work/serve.log" &
server=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$serve_port/healthz" >/dev/null && break; sleep 0.1; done
auth="Authorization: Basic $(printf 'bench:bench-password' | base64)"
curl -fs -H "$auth" "http://127.0.0.1:$serve_port/leadservices/api/v2/leads/1001/fields/158" >/dev/null

# Each request reads a random lead's field (callflow); nginx serves its one file.
cat >"$work/random_lead.lua" <<LUA
wrk.headers["Authorization"] = "Basic $(printf 'bench:bench-password' | base64)"
request = function()
  return wrk.format("GET", "/leadservices/api/v2/leads/" .. math.random(1001, 1000 + $leads) .. "/fields/158")
end
LUA

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
echo "concurrency $concurrency, $seconds s per run, $runs runs; servers on CPU 1, wrk on CPU 0; $leads leads"
rate() { awk '/Requests\/sec/ {print $2}'; }
errors() { awk '/Non-2xx|Socket errors/ {print}'; }
: >"$work/results"
for run in $(seq "$runs"); do
  nginx_out=$(taskset -c 0 wrk -t1 -c"$concurrency" -d"${seconds}s" -H "$auth" \
    "http://127.0.0.1:$nginx_port/leadservices/api/v2/leads/1001/fields/158")
  serve_out=$(taskset -c 0 wrk -t1 -c"$concurrency" -d"${seconds}s" -s "$work/random_lead.lua" \
    "http://127.0.0.1:$serve_port")
  echo "run $run: nginx $(rate <<<"$nginx_out") req/s | callflow $(rate <<<"$serve_out") req/s $(errors <<<"$serve_out")"
  echo "$(rate <<<"$nginx_out") $(rate <<<"$serve_out")" >>"$work/results"
done
nginx_rate=$(awk '{print $1}' "$work/results" | median)
serve_rate=$(awk '{print $2}' "$work/results" | median)
echo
echo "medians of $runs runs at concurrency $concurrency:"
echo "  nginx static file:          $nginx_rate requests/s"
echo "  callflow Lead Web API field: $serve_rate requests/s (Basic auth + SQLite read)"
awk -v s="$serve_rate" -v n="$nginx_rate" 'BEGIN { printf "  ratio callflow/nginx: %.2f (target >= 0.3)\n", s / n }'
