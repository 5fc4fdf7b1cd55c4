#!/usr/bin/env bash
# Runs every test of webex_exporter: the one command README.md and CI use.
# Needs Go; installs Debian's prometheus package (prometheus, promtool) when missing.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  echo "== installing Debian's prometheus package (for promtool and the end-to-end test)"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

echo "== gofmt, go vet, go mod tidy"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
[ -z "$unformatted" ] || { echo "gofmt would change: $unformatted"; exit 1; }
go vet ./...
go vet -tags e2e ./e2e/
go mod tidy -diff

echo "== the Dockerfile's build"
CGO_ENABLED=0 go build -trimpath -o /dev/null .

echo "== rules"
promtool check config examples/prometheus/prometheus.yml
promtool check rules examples/prometheus/rules.yml
promtool test rules examples/prometheus/rules_test.yml
scripts/ci/lint-rules.sh  # pint (online) and the rules and dashboard regenerated from webex-mixin/

echo "== unit and integration tests"
go test -race -count=1 ./...

echo "== promtool check metrics on a real scrape (--demo), plain and gzip"
bin=$(mktemp -d)
go build -o "$bin/webex_exporter" .
"$bin/webex_exporter" --demo --web.listen-address=127.0.0.1:10279 2>"$bin/log" &
pid=$!
until curl -sf http://127.0.0.1:10279/ >/dev/null; do sleep 0.2; done
curl -sf http://127.0.0.1:10279/metrics | promtool check metrics
curl -sf --compressed http://127.0.0.1:10279/metrics | promtool check metrics
kill "$pid"; wait "$pid" || true; rm -rf "$bin"

echo "== end to end: the exporter in --demo scraped by a real Prometheus"
go test -tags e2e -count=1 ./e2e/

# A fixed count of executions per target, not a duration: with a duration
# Go 1.26's fuzz coordinator can fail a clean run with "context deadline
# exceeded" as the time runs out (golang/go#75804, fixed in Go 1.27).
echo "== fuzzing (a fixed number of executions per target, 5-10 s each)"
for pkg in ./webex/ ./collector/; do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
    go test -run '^$' -fuzz "^${target}\$" -fuzztime 100000x "$pkg"
  done
done
