# Build: docker build -t webex_exporter .
# Run:   docker run -p 10270:10270 -e WEBEX_TOKEN webex_exporter
#   or   docker run -p 10270:10270 webex_exporter --demo
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
      -o /out/webex_exporter .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/webex_exporter /bin/webex_exporter
EXPOSE 10270
USER nonroot:nonroot
ENTRYPOINT ["/bin/webex_exporter"]
