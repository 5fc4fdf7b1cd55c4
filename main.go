// Command webex_exporter exports Cisco Webex room activity to Prometheus.
//
// main.go wires logging, the token source, the Webex client, the tracker
// and the servers: the flags are in flags.go, the servers' lifecycles in
// servers.go, and how a metric is computed lives in collector/.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/version"

	"github.com/webex-exporter/webex_exporter/collector"
	"github.com/webex-exporter/webex_exporter/collector/statefile"
	"github.com/webex-exporter/webex_exporter/webex"
)

const (
	exporterName   = "webex_exporter"
	defaultAddress = ":10270"
	demoAddress    = "127.0.0.1:10270" // --demo's default: this machine only
	tokenEnv       = "WEBEX_TOKEN"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", exporterName, err)
		os.Exit(1)
	}
}

// newLogger returns a go-kit logger as the log flags ask, without the
// timestamp and caller that the exporter's own logger adds (the slog bridge
// for exporter-toolkit adds its own).
func newLogger(cfg promslog.Config, w io.Writer) log.Logger {
	sw := log.NewSyncWriter(w)
	var l log.Logger
	if cfg.Format.String() == "json" {
		l = log.NewJSONLogger(sw)
	} else {
		l = log.NewLogfmtLogger(sw)
	}
	return level.NewFilter(l, level.Allow(level.ParseDefault(cfg.Level.String(), level.InfoValue())))
}

// tokenSource chooses where the token comes from: an OAuth integration, the
// token file, else the environment.
func tokenSource(cfg *config, logger log.Logger, observe func(webex.RequestInfo)) (webex.TokenSource, error) {
	switch {
	case cfg.oauthClientID != "":
		warnIfShared(logger, cfg.oauthSecret, cfg.oauthRefresh)
		secret, err := os.ReadFile(cfg.oauthSecret)
		if err != nil {
			return nil, fmt.Errorf("--webex.oauth.client-secret-file: %w", err)
		}
		ot, err := webex.NewOAuthToken(webex.OAuthOptions{
			BaseURL:          cfg.apiURL,
			ClientID:         cfg.oauthClientID,
			ClientSecret:     strings.TrimSpace(string(secret)),
			RefreshTokenFile: cfg.oauthRefresh,
			Observe:          observe,
		})
		if err != nil {
			return nil, fmt.Errorf("--webex.oauth.*: %w", err)
		}
		return ot, nil
	case cfg.tokenFile != "":
		warnIfShared(logger, cfg.tokenFile)
		ft, err := webex.NewFileToken(cfg.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--webex.token-file: %w", err)
		}
		return ft, nil
	case os.Getenv(tokenEnv) != "":
		tok, err := webex.NewStaticToken(os.Getenv(tokenEnv))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tokenEnv, err)
		}
		return tok, nil
	}
	return nil, fmt.Errorf("no Webex token: set %s, --webex.token-file or --webex.oauth.* (or try --demo)", tokenEnv)
}

// logBadItem logs an odd item of an API answer: a warning when it was
// skipped, a debug line when only a field was left out (that repeats at
// every read of the item). Ids and clipped field values are no secrets.
func logBadItem(logger log.Logger, b webex.BadItem) {
	l, msg := level.Debug(logger), "Left out a field of an item Webex sent"
	if b.Skipped {
		l, msg = level.Warn(logger), "Skipped an item Webex sent that cannot be used"
	}
	l.Log("msg", msg, "endpoint", b.Endpoint, "id", b.ID, "field", b.Field, "reason", b.Reason)
}

// warnIfShared warns about secret files other users can read.
func warnIfShared(logger log.Logger, paths ...string) {
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
			level.Warn(logger).Log("msg", "Secret file is accessible to other users; chmod 600 it", "file", p, "mode", fi.Mode().Perm())
		}
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	base := newLogger(cfg.log, stderr)
	logger := withHead(base)
	level.Info(logger).Log("msg", "Starting "+exporterName, "version", version.Info(), "build_context", version.BuildContext())

	exporterReg := prometheus.NewRegistry()
	exporterReg.MustRegister(
		versioncollector.NewCollector(exporterName),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	api := collector.NewAPIRequests(exporterReg)

	var demo *demoOrg
	if cfg.demo {
		if demo, err = startDemo(ctx, cfg); err != nil {
			return err
		}
		defer demo.stop()
		level.Info(logger).Log("msg", "Demo mode: serving a simulated Webex organisation", "api_url", cfg.apiURL, "state_file", cfg.stateFile)
	}
	tokens, err := tokenSource(cfg, logger, api.Observe)
	if err != nil {
		return err
	}
	var tokenExpiry func() time.Time
	if ot, ok := tokens.(*webex.OAuthToken); ok {
		tokenExpiry = ot.Expiry
	}
	client, err := webex.New(webex.Options{
		BaseURL:     cfg.apiURL,
		Token:       tokens,
		UserAgent:   version.ComponentUserAgent(exporterName),
		Connections: cfg.concurrency,
		Observe:     api.Observe,
		OnBadItem:   func(b webex.BadItem) { logBadItem(logger, b); api.BadItem(b) },
	})
	if err != nil {
		return fmt.Errorf("--webex.api-url: %w", err)
	}
	collector.RegisterRateLimitGate(exporterReg, client.PausedUntil)
	tracker := collector.NewTracker(client, collector.Config{
		Windows:            cfg.windows,
		Concurrency:        cfg.concurrency,
		Filter:             cfg.filter,
		Logger:             logger,
		Memberships:        cfg.members,
		MembershipsRefresh: cfg.membersEvery,
		HideTitles:         !cfg.titles,
		DirectRooms:        collector.DirectRooms(cfg.directRooms),
		TokenExpiry:        tokenExpiry,
		StateFile:          cfg.stateFile,
		StateInterval:      cfg.stateInterval,
		MinInterval:        cfg.minInterval,
		Scope:              collector.Scope(cfg.scope),
	})
	exporterReg.MustRegister(collector.NewStateMetrics(tracker))
	var push *collector.Push
	// Refused deliveries, and what net/http says of the webhook listener's
	// connections, are logged at most once a minute for each reason.
	refusals := withHead(newRateLimitedLogger(base, refusalLogEvery, time.Now))
	if cfg.webhook.url != "" {
		secret, err := readWebhookSecret(cfg.webhook.secretFile)
		if err != nil {
			return err
		}
		if strings.HasPrefix(cfg.webhook.url, "http:") {
			level.Warn(logger).Log("msg", "--webhook.url is plain http: Webex's deliveries travel unencrypted unless a TLS-terminating proxy is in front", "url", cfg.webhook.url)
		}
		if secret == "" && cfg.stateFile == "" {
			level.Warn(logger).Log("msg", "No --webhook.secret-file or --state.file: the webhook gets a new secret at every start")
		}
		push = collector.NewPush(tracker, client, collector.PushConfig{TargetURL: cfg.webhook.url, Secret: secret, CheckEvery: cfg.webhook.checkEvery,
			ReconcileInterval: cfg.webhook.reconcileEvery, Refusals: refusals})
		exporterReg.MustRegister(push)
		demo.receive(deliveryHandler(push, refusals))
	}
	tracker.LoadState()

	// Learn the account now, in the background, so the log says early which
	// account the token is, without holding back the listener (a liveness
	// probe must get an answer while Webex hangs). A failure is not fatal:
	// the first scrape asks again.
	learned := make(chan struct{})
	go func() {
		defer close(learned)
		learnCtx, cancel := context.WithTimeout(ctx, cfg.scrapeTimeout)
		defer cancel()
		if err := tracker.LearnAccount(learnCtx); err != nil && ctx.Err() == nil {
			level.Warn(logger).Log("msg", "Could not ask Webex which account the token is; trying again at the first scrape", "err", err)
		}
	}()

	slogger := newSlogger(base, cfg.log.Level)
	metrics, err := metricsServer(cfg, tracker, exporterReg, logger, slogger)
	if err != nil {
		return err
	}
	servers := []server{metrics}
	if push != nil {
		servers = append(servers, webhookServer(&cfg.webhook, webhookLimits(), deliveryHandler(push, refusals), refusals, slogger))
	}
	// The servers stop at SIGTERM, or when one fails (its port taken). Those
	// under way answer (at most 5 s), then the state is written: all within
	// 10 s of SIGTERM.
	if err := serve(ctx, servers...); err != nil {
		return err
	}
	<-learned
	if push != nil && cfg.webhook.removeOnShutdown {
		rmCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		if err := push.Remove(rmCtx); err != nil {
			level.Error(logger).Log("msg", "Could not delete the webhook at shutdown", "err", err)
		}
		cancel()
	}
	if cfg.stateFile != "" {
		switch err := tracker.SaveState(); {
		case errors.Is(err, statefile.ErrNoAccount):
			level.Warn(logger).Log("msg", "State not written: the Webex account was never learned (API unreachable or token refused); the state file is left as it was; exiting", "file", cfg.stateFile)
		case err != nil:
			return fmt.Errorf("writing the state file at shutdown: %w", err)
		default:
			level.Info(logger).Log("msg", "State written; exiting", "file", cfg.stateFile)
		}
	}
	return nil
}
