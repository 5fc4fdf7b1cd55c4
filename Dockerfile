# Build: docker build -t webex_exporter .
#   (multi-platform: docker buildx build --platform linux/amd64,linux/arm64 \
#      --build-arg REVISION=$(git rev-parse HEAD) -t webex_exporter .)
# Run:   docker run -p 10270:10270 -e WEBEX_TOKEN -v webex_state:/var/lib/webex_exporter \
#          webex_exporter --state.file=/var/lib/webex_exporter/state.json
#   or   docker run -p 10270:10270 webex_exporter --demo --web.listen-address=:10270
# The volume keeps the state across restarts (see README, "The state file"):
# without it a restart reads every active room again.
#
# Build arguments (all optional):
#   VERSION   the version; default: the VERSION file (a plain go build reads it)
#   REVISION  the git commit; .git is not in the build context (.dockerignore),
#             so without it the revision is "unknown"
#   BRANCH    the git branch, for webex_exporter_build_info
#   CREATED   the build time (RFC 3339), for the OCI label
#   SOURCE    the repository's URL, for the OCI label

# The build runs on the builder's own platform and cross-compiles (no
# emulation): CGO_ENABLED=0 makes that a plain Go cross-build.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=
ARG REVISION=
ARG BRANCH=
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w \
        ${VERSION:+-X github.com/prometheus/common/version.Version=${VERSION}} \
        ${REVISION:+-X github.com/prometheus/common/version.Revision=${REVISION}} \
        ${BRANCH:+-X github.com/prometheus/common/version.Branch=${BRANCH}} \
        -X github.com/prometheus/common/version.BuildUser=docker" \
      -o /out/webex_exporter . && \
    mkdir -p /out/state

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=
ARG REVISION=
ARG CREATED=
ARG SOURCE=https://github.com/webex-exporter/webex_exporter
LABEL org.opencontainers.image.title="webex_exporter" \
      org.opencontainers.image.description="Prometheus exporter for Cisco Webex room activity" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/webex_exporter /bin/webex_exporter
COPY LICENSE NOTICE /
# An empty directory owned by nonroot, so a named volume mounted there is writable.
COPY --from=build --chown=65532:65532 /out/state /var/lib/webex_exporter
# 10270: metrics, probes (/-/healthy, /-/ready), landing page.
# 10271: the webhook listener (with --webhook.url).
EXPOSE 10270 10271
USER nonroot:nonroot
ENTRYPOINT ["/bin/webex_exporter"]
