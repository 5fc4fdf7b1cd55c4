#!/usr/bin/env bash
# Measures webex_exporter with --webex.scope=org as a process of its own
# against a fake Webex (webex/webextest/webexfake -officer) holding ROOMS
# rooms, half of them active with on average 40 messages in the last 24
# hours (20,000 rooms: about 400,000 messages:created events, all read by
# the cold start): scrape time, API calls, the exporter's CPU seconds
# (process_cpu_seconds_total, since the scrape before) and resident memory
# (VmRSS now, VmHWM the peak so far) after the cold scrape and the warm
# ones after it. The cold start's peak over the steady state is
# VmHWM after scrape 1 over VmRSS after the last.
#
#   scripts/bench-org-rss.sh [ROOMS] [SCRAPES]     (defaults: 20000 5)
#
# EXPORTER=path/to/webex_exporter measures that binary instead of one built
# from this tree (to compare with another version side by side). Everything
# runs on 127.0.0.1 (ports FAKE_PORT and EXPORTER_PORT, default 18090 and
# 18091) and is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
rooms=${1:-20000}
scrapes=${2:-5}
fake_port=${FAKE_PORT:-18090}
exporter_port=${EXPORTER_PORT:-18091}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT

exporter=${EXPORTER:-}
if [ -z "$exporter" ]; then
  go build -o "$tmp/webex_exporter" .
  exporter=$tmp/webex_exporter
fi
go build -o "$tmp/webexfake" ./webex/webextest/webexfake
"$tmp/webexfake" -officer -rooms "$rooms" -addr "127.0.0.1:$fake_port" -post-every 50ms >"$tmp/fake.log" 2>&1 &
until grep -q serving "$tmp/fake.log"; do sleep 0.2; done
cat "$tmp/fake.log"

# webextest-token is the fake's fixed test token, not a secret.
WEBEX_TOKEN=webextest-token "$exporter" --web.listen-address="127.0.0.1:$exporter_port" \
  --webex.scope=org --webex.api-url="http://127.0.0.1:$fake_port/v1" 2>"$tmp/exporter.log" &
pid=$!
until curl -sf "http://127.0.0.1:$exporter_port/" >/dev/null; do sleep 0.2; done

mem() { awk -v k="$1:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$pid/status"; }
calls() { awk '/^webex_api_requests_total/ { n += $2 } END { print n + 0 }' "$tmp/metrics"; }
cpu() { awk '/^process_cpu_seconds_total/ { printf "%.3f", $2 }' "$tmp/metrics"; }
printf '%-7s %10s %10s %10s %10s %10s %10s\n' scrape seconds calls cpu_s series rss_MiB peak_MiB
before=0
cpu_before=0
for i in $(seq 1 "$scrapes"); do
  start=$(date +%s.%N)
  curl -sf -H 'X-Prometheus-Scrape-Timeout-Seconds: 120' "http://127.0.0.1:$exporter_port/metrics" -o "$tmp/metrics"
  end=$(date +%s.%N)
  total=$(calls)
  cpu_total=$(cpu)
  printf '%-7s %10.3f %10d %10.2f %10d %10s %10s\n' "$i" "$(echo "$end - $start" | bc)" $((total - before)) \
    "$(echo "$cpu_total - $cpu_before" | bc)" "$(grep -c '^webex_room' "$tmp/metrics")" "$(mem VmRSS)" "$(mem VmHWM)"
  before=$total
  cpu_before=$cpu_total
  sleep 10 # let the fake post messages into some rooms between scrapes
done
