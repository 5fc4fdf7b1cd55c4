#!/usr/bin/env bash
# Lints the shipped rules and dashboard with the ecosystem's own tools:
#
# 1. builds pint and go-jsonnet (pinned, from the Go module proxy);
# 2. regenerates examples/prometheus/rules.yml and examples/grafana/dashboard.json
#    from webex-mixin/ and fails on any difference (--update writes them);
# 3. runs pint, online, against a real Prometheus scraping webex_exporter in
#    its default mode (a token; no OAuth, no --state.file, no --webhook.url),
#    served by the fake Webex API (webex/webextest/webexfake).
#
#   scripts/ci/lint-rules.sh [--update]
#
# Needs Go, curl, and Prometheus 2.x in PATH (test.sh installs Debian's).
# Everything listens on 127.0.0.1; every process it starts is stopped at exit.
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in go curl prometheus; do
  command -v "$tool" >/dev/null || { echo "lint-rules.sh needs $tool in PATH (prometheus: apt-get install -y prometheus)"; exit 1; }
done

PINT=github.com/cloudflare/pint@v0.87.0
JSONNET=github.com/google/go-jsonnet@v0.22.0
update=false
[ "${1:-}" = "--update" ] && update=true

tools="${WEBEX_CI_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/webex_exporter-ci}"
mkdir -p "$tools"
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# build MODULE@VERSION PACKAGE NAME: the binary, built once into $tools
# (outside the read-only module cache).
build() {
  local bin="$tools/$3-${1#*@}"
  if [ ! -x "$bin" ]; then
    local dir
    dir=$(cd "$tools" && go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
    [ -n "$dir" ] || { echo "go mod download $1: no module directory"; exit 1; }
    (cd "$dir" && nice -n 10 go build -trimpath -o "$bin.tmp" "$2") && mv "$bin.tmp" "$bin"
  fi
  echo "$bin"
}

echo "== building $PINT and $JSONNET"
t0=$(date +%s)
pint=$(build "$PINT" ./cmd/pint pint)
jsonnet=$(build "$JSONNET" ./cmd/jsonnet jsonnet)
jsonnetfmt=$(build "$JSONNET" ./cmd/jsonnetfmt jsonnetfmt)
echo "tools ready in $(($(date +%s) - t0))s"

echo "== webex-mixin: jsonnetfmt, and the generated files match"
mixin_sources=(webex-mixin/*.libsonnet webex-mixin/*.jsonnet webex-mixin/lib/*.libsonnet)
if $update; then "$jsonnetfmt" -i "${mixin_sources[@]}"; fi
"$jsonnetfmt" --test "${mixin_sources[@]}" || { echo "jsonnetfmt would change the files above: scripts/ci/lint-rules.sh --update"; exit 1; }
"$jsonnet" -S -J webex-mixin webex-mixin/rules.jsonnet >"$tmp/rules.yml"
"$jsonnet" -J webex-mixin webex-mixin/dashboards.jsonnet >"$tmp/dashboard.json"
for pair in "examples/prometheus/rules.yml $tmp/rules.yml" "examples/grafana/dashboard.json $tmp/dashboard.json"; do
  set -- $pair
  if $update; then cp "$2" "$1"; fi
  diff -u "$1" "$2" || { echo "$1 is not what webex-mixin/ generates: scripts/ci/lint-rules.sh --update"; exit 1; }
done

echo "== pint against a Prometheus scraping webex_exporter in its default mode"
go build -o "$tmp/webex_exporter" .
go build -o "$tmp/webexfake" ./webex/webextest/webexfake

# wait_line FILE REGEX: the first line of FILE matching REGEX, within 30 s.
wait_line() {
  for _ in $(seq 300); do
    if line=$(grep -m1 -E "$2" "$1" 2>/dev/null); then echo "$line"; return; fi
    sleep 0.1
  done
  echo "timed out waiting for /$2/ in $1:" >&2; cat "$1" >&2; exit 1
}

"$tmp/webexfake" -addr 127.0.0.1:0 -rooms 200 -quiet-rooms 6 >"$tmp/fake.log" 2>&1 &
pids+=($!)
api=$(wait_line "$tmp/fake.log" '^serving' | sed 's/.* at //')
WEBEX_TOKEN=webextest-token "$tmp/webex_exporter" --webex.api-url="$api" --web.listen-address=127.0.0.1:0 2>"$tmp/exporter.log" &
pids+=($!)
exporter=$(wait_line "$tmp/exporter.log" 'msg="Listening on"' | sed 's/.*address=\([^ ]*\).*/\1/')

# The shipped scrape configuration's job, scraping every 2s, with the rules loaded.
cat >"$tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 2s
  scrape_timeout: 2s
  evaluation_interval: 2s
rule_files:
  - $PWD/examples/prometheus/rules.yml
scrape_configs:
  - job_name: webex
    static_configs:
      - targets: ["$exporter"]
YAML
for _ in 1 2 3 4 5; do
  prom="127.0.0.1:$((20000 + RANDOM % 30000))"
  prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
    --web.listen-address="$prom" >"$tmp/prometheus.log" 2>&1 &
  ppid=$!
  for _ in $(seq 100); do
    curl -sf "http://$prom/-/ready" >/dev/null 2>&1 && break
    kill -0 "$ppid" 2>/dev/null || break
    sleep 0.1
  done
  if curl -sf "http://$prom/-/ready" >/dev/null 2>&1; then pids+=("$ppid"); break; fi
  kill "$ppid" 2>/dev/null || true; wait "$ppid" 2>/dev/null || true; prom=""
done
[ -n "$prom" ] || { echo "Prometheus did not start:"; cat "$tmp/prometheus.log"; exit 1; }

# Data for pint: three scrapes with webex_up 1, and the recording rules evaluated.
query() { curl -sf --data-urlencode "query=$1" "http://$prom/api/v1/query"; }
for _ in $(seq 300); do
  if query 'count_over_time(webex_up{job="webex"}[1m]) >= 3 and webex_up == 1' | grep -q '"value"' &&
    query 'webex:rooms_by_state:count' | grep -q '"value"'; then
    ready=1; break
  fi
  sleep 0.2
done
[ -n "${ready:-}" ] || { echo "no data in Prometheus:"; tail -20 "$tmp/exporter.log"; exit 1; }

PINT_PROMETHEUS_URL="http://$prom" "$pint" --no-color -c scripts/ci/pint.hcl lint --min-severity=info --fail-on=warning examples/prometheus/rules.yml
echo "pint: no problem"
