#!/usr/bin/env bash
# Measures webex_exporter as a process of its own against a fake Webex
# (webex/webextest/webexfake) holding ROOMS rooms, half of them active with
# on average 40 messages in the last 24 hours (10,000 rooms: about 200,000
# messages): per scrape its time, API calls, the exporter's process CPU
# (user + system seconds, from /proc) and resident memory (VmRSS now,
# VmHWM the peak), after a cold scrape and warm ones, then the mean CPU of
# the warm scrapes, then ten scrapes at once.
#
#   scripts/bench-rss.sh [ROOMS] [SCRAPES]     (defaults: 10000 5)
#
# BASE=<git revision> also builds the exporter at that revision and runs it
# beside this one against the same fake, scrape for scrape (base first,
# then this tree), so that before and after are measured side by side on a
# machine whose load drifts. PROFILE=<file> writes a CPU profile of this
# tree's exporter over its warm scrapes. POST_EVERY (default 50ms) is how
# often the fake posts a message; most go to a few busy rooms, so at 10,000
# rooms about 0.7% of the rooms move between two scrapes 10 s apart.
# Scrapes take gzip, as Prometheus does. EXPORTER_GODEBUG (for example
# gctrace=1) is passed to the exporters alone as GODEBUG; LOGS=<dir> keeps
# their logs (stderr, where gctrace writes) there as exporter.<run>.log.
#
# Everything runs on 127.0.0.1 (ports FAKE_PORT and EXPORTER_PORT, default
# 18080 and 18081; the base exporter on EXPORTER_PORT+1) and is stopped at
# the end.
set -euo pipefail
cd "$(dirname "$0")/.."
rooms=${1:-10000}
scrapes=${2:-5}
fake_port=${FAKE_PORT:-18080}
exporter_port=${EXPORTER_PORT:-18081}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; [[ -z ${LOGS:-} ]] || for k in "${!names[@]}"; do cp "$tmp/exporter.$k.log" "$LOGS/exporter.${names[$k]}.log"; done; rm -rf "$tmp"' EXIT

go build -o "$tmp/webex_exporter" .
go build -o "$tmp/webexfake" ./webex/webextest/webexfake
names=(new)
bins=("$tmp/webex_exporter")
ports=("$exporter_port")
if [[ -n ${BASE:-} ]]; then
  mkdir "$tmp/base"
  git archive "$BASE" | tar -x -C "$tmp/base"
  (cd "$tmp/base" && go build -o "$tmp/webex_exporter.base" .)
  names=(base new)
  bins=("$tmp/webex_exporter.base" "$tmp/webex_exporter")
  ports=($((exporter_port + 1)) "$exporter_port")
fi

"$tmp/webexfake" -rooms "$rooms" -addr "127.0.0.1:$fake_port" -post-every "${POST_EVERY:-50ms}" >"$tmp/fake.log" 2>&1 &
until grep -q serving "$tmp/fake.log"; do sleep 0.2; done
cat "$tmp/fake.log"

pids=()
for k in "${!bins[@]}"; do
  # webextest-token is the fake's fixed test token, not a secret.
  GODEBUG=${EXPORTER_GODEBUG:-} WEBEX_TOKEN=webextest-token "${bins[$k]}" --web.listen-address="127.0.0.1:${ports[$k]}" \
    --webex.api-url="http://127.0.0.1:$fake_port/v1" 2>"$tmp/exporter.$k.log" &
  pids+=($!)
done
for port in "${ports[@]}"; do
  until curl -sf "http://127.0.0.1:$port/" >/dev/null; do sleep 0.2; done
done

ticks=$(getconf CLK_TCK)
mem() { awk -v k="$2:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
# cpu PID: user + system CPU seconds of the process so far.
cpu() { awk -v t="$ticks" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / t }' "/proc/$1/stat"; }
calls() { awk '/^webex_api_requests_total/ { n += $2 } END { print n + 0 }' "$1"; }
printf '%-5s %-7s %9s %8s %8s %9s %8s %8s\n' run scrape seconds cpu_s calls series rss_MiB peak_MiB
before=() warm=()
for k in "${!bins[@]}"; do before+=(0) warm+=(0); done
for i in $(seq 1 "$scrapes"); do
  if [[ $i == 2 && -n ${PROFILE:-} ]]; then
    last=$((${#bins[@]} - 1))
    curl -sf "http://127.0.0.1:${ports[$last]}/debug/pprof/profile?seconds=$(((scrapes - 1) * 11))" -o "$PROFILE" &
    profiler=$!
  fi
  for k in "${!bins[@]}"; do
    pid=${pids[$k]} m="$tmp/metrics.$k"
    cpu0=$(cpu "$pid") start=$(date +%s.%N)
    curl -sf --compressed -H 'X-Prometheus-Scrape-Timeout-Seconds: 300' "http://127.0.0.1:${ports[$k]}/metrics" -o "$m"
    end=$(date +%s.%N) cpu1=$(cpu "$pid")
    total=$(calls "$m")
    printf '%-5s %-7s %9.3f %8.2f %8d %9d %8s %8s\n' "${names[$k]}" "$i" "$(echo "$end - $start" | bc)" \
      "$(echo "$cpu1 - $cpu0" | bc)" $((total - before[k])) "$(grep -c '^webex_room' "$m")" "$(mem "$pid" VmRSS)" "$(mem "$pid" VmHWM)"
    [[ $i == 1 ]] || warm[k]=$(echo "${warm[k]} + $cpu1 - $cpu0" | bc)
    before[k]=$total
  done
  sleep 10 # let the fake post messages into some rooms between scrapes
done
[[ -z ${profiler:-} ]] || wait "$profiler"
if ((scrapes > 1)); then
  # CPU is counted in ticks (1/100 s): the mean over the warm scrapes is
  # finer than any one of them.
  for k in "${!bins[@]}"; do
    printf '%-5s warm mean: %.3f cpu_s per scrape, %.2f us per room\n' "${names[$k]}" \
      "$(echo "${warm[k]} / ($scrapes - 1)" | bc -l)" "$(echo "${warm[k]} * 1000000 / ($scrapes - 1) / $rooms" | bc -l)"
  done
fi

# Ten scrapes at once, as ten Prometheus servers would: they share one
# refresh and one rendering, so the peak should barely move.
sleep 10
for k in "${!bins[@]}"; do
  pid=${pids[$k]}
  cpu0=$(cpu "$pid") start=$(date +%s.%N)
  curls=()
  for j in $(seq 1 10); do
    curl -sf --compressed -H 'X-Prometheus-Scrape-Timeout-Seconds: 300' "http://127.0.0.1:${ports[$k]}/metrics" -o "$tmp/metrics.$k.$j" &
    curls+=($!)
  done
  wait "${curls[@]}"
  end=$(date +%s.%N) cpu1=$(cpu "$pid")
  printf '%-5s %-7s %9.3f %8.2f %8s %9d %8s %8s\n' "${names[$k]}" "10x" "$(echo "$end - $start" | bc)" \
    "$(echo "$cpu1 - $cpu0" | bc)" - "$(grep -c '^webex_room' "$tmp/metrics.$k.10")" "$(mem "$pid" VmRSS)" "$(mem "$pid" VmHWM)"
done
