package main

// The HTTP servers: the metrics server (metrics, landing page, profiles)
// and the webhook listener, each with its limits, run under one errgroup.

import (
	"context"
	"errors"
	"fmt"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/net/netutil"
	"golang.org/x/sync/errgroup"

	"github.com/webex-exporter/webex_exporter/collector"
)

// server is one HTTP server and where it listens.
type server struct {
	name  string // for errors: "" for the metrics server, which the flags name
	srv   *http.Server
	flags *web.FlagConfig
	log   *slog.Logger
	// listen, when set, opens the server's one listener; else
	// exporter-toolkit listens where flags say.
	listen func() (net.Listener, error)
}

// listenerLimits bound what clients can hold of a listener.
type listenerLimits struct {
	readTimeout  time.Duration // to read a whole request: headers and body
	writeTimeout time.Duration // from the end of the headers to the end of the answer
	idleTimeout  time.Duration // between requests on a kept-alive connection
	maxConns     int           // open connections; more wait in the kernel's backlog
}

// webhookLimits are the webhook listener's: it faces the internet. A
// delivery (at most 64 KiB, webex.MaxDeliveryBytes) is read whole within
// 5 s, and a flood of stalled deliveries holds at most 256 connections,
// whatever the process's file limit.
func webhookLimits() listenerLimits {
	return listenerLimits{readTimeout: 5 * time.Second, writeTimeout: 10 * time.Second, idleTimeout: 30 * time.Second, maxConns: 256}
}

// metricsIdleTimeout is how long the metrics listener keeps a connection
// open between requests: longer than a scrape interval (Prometheus' default
// is one minute), so that a scraper's kept-alive connection is used again,
// while one a client leaves open is closed (net/http's default is never).
const metricsIdleTimeout = 5 * time.Minute

// metricsServer serves the metrics path, the landing page and the profiles
// on --web.listen-address.
func metricsServer(cfg *config, tracker *collector.Tracker, exporterReg prometheus.Gatherer, logger log.Logger, slogger *slog.Logger) (server, error) {
	mux := http.NewServeMux()
	mux.Handle(cfg.telemetryPath, limitRequests(cfg.maxRequests, metricsHandler(cfg, tracker, exporterReg, logger)))
	handleProfiles(mux) // the landing page links them
	handleProbes(mux, tracker.Ready)
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
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: metricsIdleTimeout}
	return server{srv: srv, flags: cfg.web, log: slogger}, nil
}

// webhookServer receives Webex's deliveries (h) at --webhook.url's path on
// --webhook.listen-address, with --webhook.config.file's TLS, within limits.
// What net/http reports of its connections (a failed TLS handshake, for
// one: anyone can cause it) goes to errorLog, which limits how often.
func webhookServer(cfg *webhookConfig, limits listenerLimits, h http.Handler, errorLog log.Logger, slogger *slog.Logger) server {
	mux := http.NewServeMux()
	mux.Handle(webhookPath(cfg.url), h)
	srv := &http.Server{
		Handler:        mux,
		ReadTimeout:    limits.readTimeout,
		WriteTimeout:   limits.writeTimeout,
		IdleTimeout:    limits.idleTimeout,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       stdlog.New(logWriter{level.Warn(errorLog), "The webhook listener's HTTP server reports an error"}, "", 0),
	}
	listen := func() (net.Listener, error) {
		l, err := net.Listen("tcp", cfg.listenAddress)
		if err != nil {
			return nil, err
		}
		return netutil.LimitListener(l, limits.maxConns), nil
	}
	// Serve reads only the web configuration's file from flags.
	flags := &web.FlagConfig{WebConfigFile: &cfg.configFile}
	return server{name: "webhook", srv: srv, flags: flags, log: slogger.With("listener", "webhook"), listen: listen}
}

// logWriter logs each write (a line of a standard library logger) as the
// err of a line with msg.
type logWriter struct {
	l   log.Logger
	msg string
}

func (w logWriter) Write(p []byte) (int, error) {
	w.l.Log("msg", w.msg, "err", strings.TrimSpace(string(p))) //nolint:errcheck // nowhere else to say it
	return len(p), nil
}

// serve runs the servers until ctx ends or one of them fails (its port
// taken); then every one stops taking requests and lets those under way
// answer, for at most 5 s. It returns the first failure.
func serve(ctx context.Context, servers ...server) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range servers {
		g.Go(func() error {
			var err error
			if s.listen == nil {
				err = web.ListenAndServe(s.srv, s.flags, s.log)
			} else {
				var l net.Listener
				if l, err = s.listen(); err == nil {
					err = web.Serve(l, s.srv, s.flags, s.log) // closes l
				}
			}
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
