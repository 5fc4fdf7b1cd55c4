#!/usr/bin/env bash
# Measures webex_exporter as a process of its own against a fake Webex
# (webex/webextest/webexfake) holding ROOMS rooms, half of them active with
# on average 40 messages in the last 24 hours (10,000 rooms: about 200,000
# messages): scrape time, API calls, and the exporter's resident memory
# (VmRSS now, VmHWM the peak) after a cold scrape and warm ones.
#
#   scripts/bench-rss.sh [ROOMS] [SCRAPES]     (defaults: 10000 5)
#
# Everything runs on 127.0.0.1 (ports FAKE_PORT and EXPORTER_PORT, default
# 18080 and 18081) and is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
rooms=${1:-10000}
scrapes=${2:-5}
fake_port=${FAKE_PORT:-18080}
exporter_port=${EXPORTER_PORT:-18081}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT

go build -o "$tmp/webex_exporter" .
go build -o "$tmp/webexfake" ./webex/webextest/webexfake
"$tmp/webexfake" -rooms "$rooms" -addr "127.0.0.1:$fake_port" -post-every 50ms >"$tmp/fake.log" 2>&1 &
until grep -q serving "$tmp/fake.log"; do sleep 0.2; done
cat "$tmp/fake.log"

# webextest-token is the fake's fixed test token, not a secret.
WEBEX_TOKEN=webextest-token "$tmp/webex_exporter" --web.listen-address="127.0.0.1:$exporter_port" \
  --webex.api-url="http://127.0.0.1:$fake_port/v1" 2>"$tmp/exporter.log" &
pid=$!
until curl -sf "http://127.0.0.1:$exporter_port/" >/dev/null; do sleep 0.2; done

mem() { awk -v k="$1:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$pid/status"; }
calls() { awk '/^webex_api_requests_total/ { n += $2 } END { print n + 0 }' "$tmp/metrics"; }
printf '%-7s %10s %10s %10s %10s %10s\n' scrape seconds calls series rss_MiB peak_MiB
before=0
for i in $(seq 1 "$scrapes"); do
  start=$(date +%s.%N)
  curl -sf -H 'X-Prometheus-Scrape-Timeout-Seconds: 120' "http://127.0.0.1:$exporter_port/metrics" -o "$tmp/metrics"
  end=$(date +%s.%N)
  total=$(calls)
  printf '%-7s %10.3f %10d %10d %10s %10s\n' "$i" "$(echo "$end - $start" | bc)" $((total - before)) \
    "$(grep -c '^webex_room' "$tmp/metrics")" "$(mem VmRSS)" "$(mem VmHWM)"
  before=$total
  sleep 10 # let the fake post messages into some rooms between scrapes
done

# Ten scrapes at once, as ten Prometheus servers would: they share one
# refresh and one rendering, so the peak should barely move.
sleep 10
start=$(date +%s.%N)
curls=()
for i in $(seq 1 10); do
  curl -sf --compressed -H 'X-Prometheus-Scrape-Timeout-Seconds: 120' "http://127.0.0.1:$exporter_port/metrics" -o "$tmp/metrics.$i" &
  curls+=($!)
done
wait "${curls[@]}"
end=$(date +%s.%N)
printf '%-7s %10.3f %10s %10d %10s %10s\n' "10x" "$(echo "$end - $start" | bc)" - \
  "$(grep -c '^webex_room' "$tmp/metrics.10")" "$(mem VmRSS)" "$(mem VmHWM)"
