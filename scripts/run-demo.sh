#!/usr/bin/env bash
# `make run`: Callflow's main job on its embedded default. Sets up run/callflow.db (SQLite) once
# (the demo leads of examples/leads.csv, an API user for the Lead Web API and an admin user,
# their passwords in run/, the example prompts copied to run/prompts), starts `callflow serve` on
# 127.0.0.1:8080 with the example flows and, when it is built, the web designer (web/dist),
# runs the seed's example against it with `callflow run`, prints what to try, and serves until
# Ctrl-C.
set -euo pipefail
callflow=$(realpath "${1:-build/callflow}")
cd "$(dirname "$0")/.."
mkdir -p run
chmod 0700 run
db=run/callflow.db
address=${CALLFLOW_HTTP:-127.0.0.1:8080}
sip=${CALLFLOW_SIP:-127.0.0.1:5060}

# Passwords are made once and kept in run/ (mode 0600); nothing here prints them.
new_password() { head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 20; }
if [[ ! -f run/secrets ]]; then
  (umask 077 && printf 'LEAD_API_PASSWORD=%s\n' "$(new_password)" >run/secrets)
fi
if [[ ! -f run/admin-password ]]; then
  (umask 077 && new_password >run/admin-password)
fi
ivr_password=$(sed -n 's/^LEAD_API_PASSWORD=//p' run/secrets)
admin_password=$(cat run/admin-password)

# Each step once; a step that failed is tried again on the next `make run`.
if [[ ! -f run/.leads-imported ]]; then
  echo "\$ callflow leads import examples/leads.csv --db $db"
  "$callflow" leads import examples/leads.csv --db "$db"
  touch run/.leads-imported
fi
for user in ivr:api:$ivr_password admin:admin:$admin_password; do
  IFS=: read -r name role password <<<"$user"
  if [[ ! -f run/.user-$name ]]; then
    CALLFLOW_PASSWORD=$password "$callflow" users add "$name" --role "$role" --db "$db"
    touch "run/.user-$name"
  fi
done

# Prompts are served from run/prompts, seeded from examples/prompts (a prompt already there,
# uploaded or replaced through the admin API, is kept): uploads never write into the repository.
mkdir -p run/prompts
for prompt in examples/prompts/*.wav; do
  [[ -e "run/prompts/$(basename "$prompt")" ]] || cp "$prompt" run/prompts/
done
# ApiRequest may reach no private or loopback address unless allowed: the examples call this
# server's own Lead Web API, so that one address and port is allowed (serve and run alike).
export CALLFLOW_ALLOW="127.0.0.1:${address##*:}"
echo "\$ export CALLFLOW_ALLOW=$CALLFLOW_ALLOW"
# A Transfer dials only targets the operator allows: the menu example's desks at pbx.example.com.
serve=(serve --db "$db" --http "$address" --flows examples/flows --secrets run/secrets
       --sip "$sip" --flow examples/flows/phone.json --prompts run/prompts
       --transfer-allow 'sip:*@pbx.example.com')
# The web designer, when it has been built (`make web`).
if [[ -f web/dist/index.html ]]; then
  serve+=(--web web/dist)
fi
echo "\$ callflow ${serve[*]}"
"$callflow" "${serve[@]}" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf "http://$address/healthz" >/dev/null 2>&1 && break
  if ! kill -0 $server 2>/dev/null; then
    echo "callflow serve did not start (is $address or $sip in use? set CALLFLOW_HTTP=HOST:PORT" \
         "or CALLFLOW_SIP=HOST:PORT)" >&2
    exit 1
  fi
  sleep 0.1
done
echo

run() {
  echo "\$ callflow run $*"
  "$callflow" run "$@"
  echo
}
# The seed's worked example end to end: LookupLead, ApiRequest to Callflow's own Lead Web API
# (HTTP Basic as user ivr), SetProperty, Branch, TextToSpeech.
run examples/flows/lead_field.json --db "$db" --secrets run/secrets --from "+44 1632 960001"
run examples/flows/lead_field.json --db "$db" --secrets run/secrets --from "01632 960002"
# A caller no lead has: CreateLead makes one; the next call finds it.
number="+44 7700 9$(printf '%05d' $((RANDOM % 100000)))"
run examples/flows/new_caller.json --db "$db" --from "$number"
run examples/flows/new_caller.json --db "$db" --from "$number"
run examples/flows/menu.json --digits 1

cat <<TRY
Callflow is answering SIP calls on $sip and serving on http://$address (Ctrl-C stops it).
Try:

  # the web designer: open http://$address/ and sign in as admin, password $(cat run/admin-password)
  # (also in run/admin-password); build the seed's example, try its request and a whole call

  # a phone call: point a softphone at sip:100@$sip (from 441632960001, demo lead 1001,
  # to hear its status), or let SIPp call and press 1 then 2:
  sipp -sf examples/sipp/demo_call.xml -key caller 441632960001 -s 100 -m 1 -p 5070 $sip
  $callflow calls list --db $db

  # the Lead Web API (user ivr, password in run/secrets)
  ivr=ivr:\$(sed -n 's/^LEAD_API_PASSWORD=//p' run/secrets)
  curl -u "\$ivr" http://$address/leadservices/api/v2/leads/1001/fields/158
  curl -u "\$ivr" -X PUT -d '{"FieldId": 158, "Value": "Platinum"}' \\
       http://$address/leadservices/api/v2/leads/1001/fields/158
  $callflow run examples/flows/lead_field.json --db $db --secrets run/secrets --from +441632960001

  # the admin API (user admin, password in run/admin-password)
  token=\$(python3 -c 'import json; print(json.dumps({"username": "admin", "password": open("run/admin-password").read().strip()}))' |
          curl -s -d @- http://$address/api/v1/auth/token | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  curl -H "Authorization: Bearer \$token" http://$address/api/v1/flows
  curl -H "Authorization: Bearer \$token" http://$address/api/v1/prompts
  curl -H "Authorization: Bearer \$token" -d '{"text": "Your value is Gold"}' -o gold.wav \\
       http://$address/api/v1/tts
  curl -H "Authorization: Bearer \$token" -d '{"from": "+441632960002"}' \\
       http://$address/api/v1/flows/LeadField/calls
  $callflow calls list --db $db

  curl http://$address/metrics
TRY
wait $server
