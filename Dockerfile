# Build: docker build -t webex_exporter .
# Run:   docker run -p 10270:10270 -e WEBEX_TOKEN -v webex_state:/var/lib/webex_exporter \
#          webex_exporter --state.file=/var/lib/webex_exporter/state.json
#   or   docker run -p 10270:10270 webex_exporter --demo --web.listen-address=:10270
# The volume keeps the state across restarts (see README, "The state file"):
# without it a restart reads every active room again.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w \
        -X github.com/prometheus/common/version.Version=${VERSION} \
        -X github.com/prometheus/common/version.Revision=${REVISION} \
        -X github.com/prometheus/common/version.Branch=main \
        -X github.com/prometheus/common/version.BuildUser=docker" \
      -o /out/webex_exporter . && \
    mkdir -p /out/state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/webex_exporter /bin/webex_exporter
# An empty directory owned by nonroot, so a named volume mounted there is writable.
COPY --from=build --chown=65532:65532 /out/state /var/lib/webex_exporter
EXPOSE 10270
USER nonroot:nonroot
ENTRYPOINT ["/bin/webex_exporter"]
