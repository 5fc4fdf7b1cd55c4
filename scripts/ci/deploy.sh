#!/usr/bin/env bash
# Checks what deploying webex_exporter needs (test.sh runs it; it runs on
# its own too): the version in one place, the NOTICE, the release config
# and changelog (promu), a cross-build of every release platform, the Helm
# chart (helm lint, helm template of the defaults and of every ci/ values
# file, each output decoded strictly into the Kubernetes types by
# charts/validate), and the systemd units (systemd-analyze verify).
#
# helm (v3.22.0) and promu (v0.17.0) come from the Go module proxy and are
# built here, once per run (the Go build cache makes a second run fast).
# systemd-analyze comes from Debian's systemd package, installed if missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

HELM_VERSION=v3.22.0
PROMU_VERSION=v0.17.0
KUBE_VERSION=1.33.0 # what helm template renders for (no cluster to ask)
chart=charts/webex-exporter

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
step_start=$SECONDS
step() {
  echo "== deploy: $1 (after $((SECONDS - step_start)) s)"
}

step "one version: VERSION, the chart's appVersion, CHANGELOG.md"
version=$(tr -d '[:space:]' <VERSION)
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || { echo "VERSION holds '$version': want a semantic version"; exit 1; }
app_version=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' $chart/Chart.yaml)
[ "$app_version" = "v$version" ] || { echo "$chart/Chart.yaml: appVersion $app_version, want v$version (VERSION)"; exit 1; }

step "NOTICE names every module the exporter is built from"
missing=$(go list -deps -f '{{with .Module}}{{if not .Main}}{{.Path}}{{end}}{{end}}' . | sort -u |
  while read -r m; do grep -qxF "  $m" NOTICE || echo "$m"; done)
[ -z "$missing" ] || { echo "NOTICE does not name: $missing (add each under its licence)"; exit 1; }

step "the chart's rules are examples/prometheus/rules.yml"
cmp examples/prometheus/rules.yml $chart/files/rules.yml || {
  echo "$chart/files/rules.yml differs from examples/prometheus/rules.yml (generated from webex-mixin/): cp examples/prometheus/rules.yml $chart/files/rules.yml"
  exit 1
}

step "building helm $HELM_VERSION and promu $PROMU_VERSION from the Go module proxy"
build_tool() { # module version package output
  local dir
  dir=$(go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] || { echo "go mod download $1@$2 failed"; exit 1; }
  (cd "$dir" && CGO_ENABLED=0 go build -o "$4" "$3")
}
build_tool helm.sh/helm/v3 $HELM_VERSION ./cmd/helm "$tmp/helm"
build_tool github.com/prometheus/promu $PROMU_VERSION . "$tmp/promu"
helm() { "$tmp/helm" "$@"; }

step "promu: the changelog entry for $version, a build with .promu.yml's flags"
"$tmp/promu" check changelog
"$tmp/promu" build --prefix "$tmp/promu-build" >/dev/null
"$tmp/promu-build/webex_exporter" --version 2>&1 | grep -q "^webex_exporter, version $version " || {
  echo "promu's build does not say version $version:"; "$tmp/promu-build/webex_exporter" --version; exit 1
}

step "cross-building every release platform (CGO_ENABLED=0)"
for platform in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64; do
  os=${platform%/*} arch=${platform#*/}
  out="$tmp/dist/webex_exporter-$version.$os-$arch/webex_exporter"
  [ "$os" = windows ] && out="$out.exe"
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -o "$out" .
  go version -m "$out" | grep -q "GOOS=$os" && go version -m "$out" | grep -q "GOARCH=$arch" ||
    { echo "$out is not a $platform binary"; exit 1; }
  echo "   $platform: $(wc -c <"$out") bytes"
done
(cd "$tmp/dist" && sha256sum */webex_exporter* >sha256sums.txt)

step "the Dockerfile: its build command as written, its labels and ports"
# The RUN line that builds, run here as docker would run it (no engine in CI).
build_cmd=$(awk '/^RUN CGO_ENABLED=0/ { f = 1 } f { print } f && !/\\$/ { exit }' Dockerfile | sed "s#^RUN ##; s#/out/#$tmp/docker/#g")
[ -n "$build_cmd" ] || { echo "Dockerfile: no RUN CGO_ENABLED=0 ... go build line"; exit 1; }
env TARGETOS=linux TARGETARCH=amd64 VERSION= REVISION=0123abc BRANCH= sh -c "$build_cmd"
"$tmp/docker/webex_exporter" --version 2>&1 | grep -q "^webex_exporter, version $version (branch: , revision: 0123abc)" || {
  echo "the Dockerfile's binary does not say version $version, revision 0123abc:"; "$tmp/docker/webex_exporter" --version; exit 1
}
for want in 'FROM --platform=$BUILDPLATFORM golang:1.26' 'GOOS=$TARGETOS GOARCH=$TARGETARCH' \
  'FROM gcr.io/distroless/static-debian12:nonroot' 'COPY LICENSE NOTICE /' 'EXPOSE 10270 10271' 'USER nonroot:nonroot' \
  'org.opencontainers.image.source=' 'org.opencontainers.image.version=' 'org.opencontainers.image.revision=' \
  'org.opencontainers.image.licenses="Apache-2.0"'; do
  grep -qF -- "$want" Dockerfile || { echo "Dockerfile: no '$want'"; exit 1; }
done
for never in .git '**/*.token' '**/*.state'; do
  grep -qxF -- "$never" .dockerignore || { echo ".dockerignore: no '$never'"; exit 1; }
done

step "the chart: helm lint, helm template, strict validation against the Kubernetes types"
(cd charts/validate && go vet ./... && go mod tidy -diff && go test -count=1 ./... && go build -o "$tmp/validate" .)
for values in "" $chart/ci/*-values.yaml; do
  args=(--kube-version "$KUBE_VERSION")
  kinds=Deployment,Service,ServiceAccount
  if [ -n "$values" ]; then
    args+=(-f "$values")
    case $values in
    */all-values.yaml) kinds=$kinds,Secret,PersistentVolumeClaim,Ingress,ServiceMonitor,PrometheusRule ;;
    esac
  else
    kinds=$kinds,PersistentVolumeClaim
  fi
  echo "   values: ${values:-the defaults}"
  helm lint --strict "${args[@]}" $chart >"$tmp/lint" || { cat "$tmp/lint"; exit 1; }
  helm template webex $chart --namespace monitoring "${args[@]}" >"$tmp/manifests.yaml"
  "$tmp/validate" -rules examples/prometheus/rules.yml -kinds "$kinds" <"$tmp/manifests.yaml"
done
# What the chart must refuse.
if helm template webex $chart --kube-version "$KUBE_VERSION" --set webex.oauth.enabled=true >/dev/null 2>&1; then
  echo "the chart renders OAuth without a client id"; exit 1
fi
if helm template webex $chart --kube-version "$KUBE_VERSION" --set webhook.enabled=true >/dev/null 2>&1; then
  echo "the chart renders the webhook without its URL"; exit 1
fi

step "the systemd units: systemd-analyze verify"
if ! command -v systemd-analyze >/dev/null; then
  echo "   installing Debian's systemd package (for systemd-analyze)"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends systemd >/dev/null
fi
units="$tmp/units"
mkdir -p "$units"
cp examples/systemd/webex_exporter.service examples/systemd/webex_exporter.socket "$units/"
# verify checks that ExecStart's binary exists: point it at the one just built.
sed -i "s#/usr/local/bin/webex_exporter#$tmp/dist/webex_exporter-$version.linux-amd64/webex_exporter#" "$units/webex_exporter.service"
# verify reports unknown keys and bad values on stderr but exits 0: any output fails.
if ! systemd-analyze verify "$units/webex_exporter.service" "$units/webex_exporter.socket" >"$tmp/verify" 2>&1 || [ -s "$tmp/verify" ]; then
  cat "$tmp/verify"; exit 1
fi
# The exposure score, 0 (locked down) to 10, is 1.2 today; --threshold counts in tenths.
systemd-analyze security --offline=yes --threshold=20 "$units/webex_exporter.service" >"$tmp/security" 2>&1 ||
  { cat "$tmp/security"; echo "the service's exposure is above 2.0"; exit 1; }
echo "   $(grep -o 'Overall exposure level.*' "$tmp/security")"

step "done"
