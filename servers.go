package main

// The HTTP servers: the metrics server (metrics, landing page, profiles)
// and the webhook listener, each with its limits, run under one errgroup.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/sync/errgroup"

	"github.com/webex-exporter/webex_exporter/collector"
)

// server is one HTTP server and where it listens.
type server struct {
	name  string // for errors: "" for the metrics server, which the flags name
	srv   *http.Server
	flags *web.FlagConfig
	log   *slog.Logger
}

// metricsServer serves the metrics path, the landing page and the profiles
// on --web.listen-address.
func metricsServer(cfg *config, tracker *collector.Tracker, exporterReg prometheus.Gatherer, logger log.Logger, slogger *slog.Logger) (server, error) {
	mux := http.NewServeMux()
	mux.Handle(cfg.telemetryPath, limitRequests(cfg.maxRequests, metricsHandler(cfg, tracker, exporterReg, logger)))
	handleProfiles(mux) // the landing page links them
	if cfg.telemetryPath != "/" {
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        "Webex Exporter",
			Description: "Prometheus exporter for Cisco Webex room activity",
			Version:     version.Info(),
			Links:       []web.LandingLinks{{Address: cfg.telemetryPath, Text: "Metrics"}},
		})
		if err != nil {
			return server{}, fmt.Errorf("landing page: %w", err)
		}
		mux.Handle("/", landing)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return server{srv: srv, flags: cfg.web, log: slogger}, nil
}

// webhookServer receives Webex's deliveries at --webhook.url's path on
// --webhook.listen-address, with --webhook.config.file's TLS.
func webhookServer(cfg *webhookConfig, push *collector.Push, refusals log.Logger, slogger *slog.Logger) server {
	mux := http.NewServeMux()
	mux.Handle(webhookPath(cfg.url), deliveryHandler(push, refusals))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
	addrs := []string{cfg.listenAddress}
	systemd := false
	flags := &web.FlagConfig{WebListenAddresses: &addrs, WebSystemdSocket: &systemd, WebConfigFile: &cfg.configFile}
	return server{name: "webhook", srv: srv, flags: flags, log: slogger.With("listener", "webhook")}
}

// serve runs the servers until ctx ends or one of them fails (its port
// taken); then every one stops taking requests and lets those under way
// answer, for at most 5 s. It returns the first failure.
func serve(ctx context.Context, servers ...server) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range servers {
		g.Go(func() error {
			err := web.ListenAndServe(s.srv, s.flags, s.log)
			switch {
			case errors.Is(err, http.ErrServerClosed):
				return nil
			case err != nil && s.name != "":
				return fmt.Errorf("%s listener: %w", s.name, err)
			}
			return err
		})
		g.Go(func() error {
			<-gctx.Done()
			shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s.srv.Shutdown(shutdownCtx) //nolint:errcheck // exiting anyway
			return nil
		})
	}
	return g.Wait()
}

// limitRequests answers 503 once max requests are in flight (0: no limit).
func limitRequests(max int, next http.Handler) http.Handler {
	if max <= 0 {
		return next
	}
	slots := make(chan struct{}, max)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			next.ServeHTTP(w, r)
		default:
			http.Error(w, fmt.Sprintf("too many concurrent scrapes (limit %d)", max), http.StatusServiceUnavailable)
		}
	})
}
