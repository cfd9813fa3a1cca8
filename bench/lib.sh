# Shared by the load benchmarks (sourced): tools from Debian, free ports, medians, and nginx on
# loopback serving the seed's lead field JSON.

# need_tools TOOL...: installs nginx, wrk or sipp from Debian when missing.
need_tools() {
  local tool missing=()
  for tool in "$@"; do
    command -v "$tool" >/dev/null || case $tool in
      nginx) missing+=(nginx-light) ;;
      sipp) missing+=(sip-tester) ;;
      *) missing+=("$tool") ;;
    esac
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/dev/null
}

# A TCP port free on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The median of the numbers on stdin, one per line.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# start_nginx WORK PORT MODE: nginx (one worker, on CPU 1) answering every
# /leadservices/api/v2/leads/… with {"FieldId": 158, "Value": "Gold"}: MODE "return" from the
# configuration, MODE "static" from a file (lead 1001's field 158 only). Stop it with
# stop_nginx WORK.
start_nginx() {
  local work=$1 port=$2 mode=$3 location
  if [[ $mode == static ]]; then
    mkdir -p "$work/static/leadservices/api/v2/leads/1001/fields"
    printf '{"FieldId":158,"Value":"Gold"}' >"$work/static/leadservices/api/v2/leads/1001/fields/158"
    location="root $work/static; default_type application/json;"
  else
    location="location /leadservices/api/v2/leads/ { default_type application/json;
      return 200 '{\"FieldId\": 158, \"Value\": \"Gold\"}'; }"
  fi
  cat >"$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $work;
  server {
    listen 127.0.0.1:$port backlog=4096;
    $location
  }
}
CONF
  taskset -c 1 nginx -c "$work/nginx.conf" -e "$work/error.log"
  for _ in $(seq 50); do
    curl -fs "http://127.0.0.1:$port/leadservices/api/v2/leads/1001/fields/158" >/dev/null && return 0
    sleep 0.1
  done
  echo "nginx did not start on 127.0.0.1:$port" >&2
  return 1
}
stop_nginx() { kill "$(cat "$1/nginx.pid" 2>/dev/null)" 2>/dev/null || true; }
