// Command webex_exporter exports Cisco Webex room activity to Prometheus.
//
// main.go wires flags, logging, the token source, the Webex client, the
// tracker and the HTTP server; how a metric is computed lives in collector/.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	slgokit "github.com/tjhop/slog-gokit"

	"github.com/webex-exporter/webex_exporter/collector"
	"github.com/webex-exporter/webex_exporter/webex"
	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

const (
	exporterName   = "webex_exporter"
	defaultAddress = ":10270"
	tokenEnv       = "WEBEX_TOKEN"
)

// config is everything the flags say.
type config struct {
	apiURL        string
	tokenFile     string
	oauthClientID string
	oauthSecret   string // file
	oauthRefresh  string // file
	concurrency   int
	scope         string // collector.ScopeMember or collector.ScopeOrg
	filter        collector.Filter
	titles        bool
	members       bool
	membersEvery  time.Duration
	windows       []collector.Window
	telemetryPath string
	scrapeTimeout time.Duration
	timeoutOffset time.Duration
	maxRequests   int
	stateFile     string
	stateInterval time.Duration
	minInterval   time.Duration
	webhook       webhookConfig
	demo          bool
	web           *web.FlagConfig
	log           promslog.Config
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", exporterName, err)
		os.Exit(1)
	}
}

// rawFlags are flag values that parseFlags turns into parts of a config.
type rawFlags struct {
	windows, include, exclude   string
	roomTypes, teamIDs, roomIDs []string
}

// newApp declares every flag: values land in cfg and raw when it parses.
func newApp(cfg *config, raw *rawFlags, stderr io.Writer) *kingpin.Application {
	app := kingpin.New(exporterName, "Prometheus exporter for Cisco Webex room activity.")
	app.Version(version.Print(exporterName))
	app.HelpFlag.Short('h')
	app.UsageWriter(stderr)
	app.ErrorWriter(stderr)
	app.Flag("webex.api-url", "Base URL of the Webex API.").Default(webex.DefaultBaseURL).StringVar(&cfg.apiURL)
	app.Flag("webex.token-file", "File holding the Webex access token; re-read when it changes. Otherwise the token comes from the "+tokenEnv+" environment variable.").
		PlaceHolder("FILE").StringVar(&cfg.tokenFile)
	app.Flag("webex.oauth.client-id", "OAuth integration: client id (with the two files below, instead of a token).").PlaceHolder("ID").StringVar(&cfg.oauthClientID)
	app.Flag("webex.oauth.client-secret-file", "OAuth integration: file holding the client secret.").PlaceHolder("FILE").StringVar(&cfg.oauthSecret)
	app.Flag("webex.oauth.refresh-token-file", "OAuth integration: file holding the refresh token; rewritten when Webex rotates it.").
		PlaceHolder("FILE").StringVar(&cfg.oauthRefresh)
	app.Flag("webex.scope", "Rooms to watch: member (the rooms the account belongs to) or org (every room of the organisation, through the Events API: needs a compliance officer's token).").
		Default(string(collector.ScopeMember)).EnumVar(&cfg.scope, string(collector.ScopeMember), string(collector.ScopeOrg))
	app.Flag("webex.concurrency", "API calls in flight at once.").Default("4").IntVar(&cfg.concurrency)
	app.Flag("webex.room-type", "Watch only rooms of this type (group or direct); repeatable. Default: both.").PlaceHolder("TYPE").EnumsVar(&raw.roomTypes, "group", "direct")
	app.Flag("webex.team-id", "Watch only rooms of this team; repeatable.").PlaceHolder("ID").StringsVar(&raw.teamIDs)
	app.Flag("webex.room-id", "Watch only this room; repeatable.").PlaceHolder("ID").StringsVar(&raw.roomIDs)
	app.Flag("webex.room-include", "Watch only rooms whose whole title matches this RE2 expression.").PlaceHolder("REGEX").StringVar(&raw.include)
	app.Flag("webex.room-exclude", "Do not watch rooms whose whole title matches this RE2 expression.").PlaceHolder("REGEX").StringVar(&raw.exclude)
	app.Flag("webex.room-titles", "Put room titles in webex_room_info (--no-webex.room-titles leaves them out: 1:1 room titles are people's names).").
		Default("true").BoolVar(&cfg.titles)
	app.Flag("collector.memberships", "Export webex_room_members (one call per room when its lastActivity moves or the refresh interval passes).").
		BoolVar(&cfg.members)
	app.Flag("collector.memberships.refresh", "Re-read a room's members at least this often.").Default("1h").DurationVar(&cfg.membersEvery)
	app.Flag("collector.messages.windows", "Trailing windows for webex_room_recent_messages and webex_room_recent_senders, comma-separated.").
		Default("1h,24h").StringVar(&raw.windows)
	app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&cfg.telemetryPath)
	app.Flag("web.scrape-timeout", "Time a scrape may take when Prometheus sends no X-Prometheus-Scrape-Timeout-Seconds header.").
		Default("10s").DurationVar(&cfg.scrapeTimeout)
	app.Flag("web.timeout-offset", "Subtracted from the scrape timeout, to leave time to answer.").Default("0.5s").DurationVar(&cfg.timeoutOffset)
	app.Flag("web.max-requests", "Maximum concurrent scrapes of the metrics path; more get 503. 0 disables the limit.").
		Default("40").IntVar(&cfg.maxRequests)
	app.Flag("state.file", "Keep what the exporter knows in this file across restarts (written atomically after a refresh and at shutdown). Off when empty.").
		PlaceHolder("PATH").StringVar(&cfg.stateFile)
	app.Flag("state.interval", "Write the state file after a refresh at most this often.").Default("1m").DurationVar(&cfg.stateInterval)
	app.Flag("webex.min-interval", "Start refreshes at least this far apart; a scrape in between is answered from the last one, with no API call. 0s: no minimum.").
		Default("10s").DurationVar(&cfg.minInterval)
	app.Flag("demo", "Serve a simulated Webex organisation in-process: no token, no network.").BoolVar(&cfg.demo)
	app.Flag("webhook.url", "The public URL at which Webex reaches this exporter's webhook listener: set, new messages are pushed (https; http only behind a TLS-terminating proxy).").
		PlaceHolder("URL").StringVar(&cfg.webhook.url)
	app.Flag("webhook.listen-address", "Address of the webhook listener (deliveries arrive at --webhook.url's path).").Default(":10271").StringVar(&cfg.webhook.listenAddress)
	app.Flag("webhook.config.file", "exporter-toolkit web configuration of the webhook listener (TLS; no basic auth: Webex cannot send it).").
		PlaceHolder("FILE").StringVar(&cfg.webhook.configFile)
	app.Flag("webhook.secret-file", "File holding the webhook's secret (at least 32 characters). Default: a random one, kept in --state.file.").
		PlaceHolder("FILE").StringVar(&cfg.webhook.secretFile)
	app.Flag("webhook.remove-on-shutdown", "Delete the exporter's webhook when it stops.").BoolVar(&cfg.webhook.removeOnShutdown)
	app.Flag("webhook.check-interval", "Check that the webhook is active (Webex disables one after failed deliveries) at least this often.").
		Default("5m").DurationVar(&cfg.webhook.checkEvery)
	app.Flag("webhook.reconcile-interval", "Read a room whose lastActivity moved within this of its first move no read has covered, even when pushed messages explain it (a lost delivery may hide below them).").
		Default("10m").DurationVar(&cfg.webhook.reconcileEvery)
	cfg.web = kingpinflag.AddFlags(app, defaultAddress)
	promslogflag.AddFlags(app, &cfg.log)

	return app
}

// parseFlags reads args into a config; invalid values are errors that name the flag.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	cfg, raw := &config{}, &rawFlags{}
	app := newApp(cfg, raw, stderr)
	if _, err := app.Parse(args); err != nil {
		return nil, nameFlag(app, args, err)
	}
	var err error
	if cfg.windows, err = collector.ParseWindows(raw.windows); err != nil {
		return nil, fmt.Errorf("--collector.messages.windows: %w", err)
	}
	for _, re := range []struct{ flag, expr string }{{"webex.room-include", raw.include}, {"webex.room-exclude", raw.exclude}} {
		if _, err := regexp.Compile(re.expr); err != nil {
			return nil, fmt.Errorf("--%s=%q: %w", re.flag, re.expr, err)
		}
	}
	if cfg.filter, err = collector.NewFilter(raw.roomTypes, raw.teamIDs, raw.roomIDs, raw.include, raw.exclude); err != nil {
		return nil, fmt.Errorf("room filter: %w", err)
	}
	oauth := cfg.oauthClientID != "" || cfg.oauthSecret != "" || cfg.oauthRefresh != ""
	switch {
	case oauth && (cfg.oauthClientID == "" || cfg.oauthSecret == "" || cfg.oauthRefresh == ""):
		return nil, errors.New("OAuth needs all of --webex.oauth.client-id, --webex.oauth.client-secret-file and --webex.oauth.refresh-token-file")
	case oauth && cfg.tokenFile != "":
		return nil, errors.New("--webex.token-file and --webex.oauth.* are alternatives: give one")
	case cfg.membersEvery <= 0:
		return nil, fmt.Errorf("--collector.memberships.refresh=%s: want a positive duration", cfg.membersEvery)
	case cfg.stateInterval <= 0:
		return nil, fmt.Errorf("--state.interval=%s: want a positive duration", cfg.stateInterval)
	}
	if err := checkWebhookFlags(&cfg.webhook); err != nil {
		return nil, err
	}
	if cfg.webhook.url != "" && cfg.scope == string(collector.ScopeOrg) {
		// The events feed already reads every message of the organisation
		// once per refresh, whatever the number of rooms.
		return nil, errors.New("--webhook.url works with --webex.scope=member: with org, the Events API already feeds every room")
	}
	switch {
	case cfg.concurrency < 1 || cfg.concurrency > 64:
		return nil, fmt.Errorf("--webex.concurrency=%d: want 1 to 64", cfg.concurrency)
	case cfg.scrapeTimeout <= 0:
		return nil, fmt.Errorf("--web.scrape-timeout=%s: want a positive duration", cfg.scrapeTimeout)
	case cfg.timeoutOffset < 0 || cfg.timeoutOffset >= cfg.scrapeTimeout:
		return nil, fmt.Errorf("--web.timeout-offset=%s: want at least 0 and less than --web.scrape-timeout", cfg.timeoutOffset)
	case cfg.minInterval < 0:
		return nil, fmt.Errorf("--webex.min-interval=%s: want 0s or more", cfg.minInterval)
	case cfg.maxRequests < 0:
		return nil, fmt.Errorf("--web.max-requests=%d: want 0 or more", cfg.maxRequests)
	case len(cfg.telemetryPath) == 0 || cfg.telemetryPath[0] != '/':
		return nil, fmt.Errorf("--web.telemetry-path=%q: want a path starting with /", cfg.telemetryPath)
	}
	return cfg, nil
}

// nameFlag puts the flag's name on an error kingpin reports without it: a
// value that does not parse ("time: invalid duration \"x\"", "enum value must
// be one of group,direct, got 'x'"). It finds the flag by setting each
// parsed value again (cfg is discarded anyway); kingpin's other errors
// (unknown flag, missing value) already name the flag and are kept.
func nameFlag(app *kingpin.Application, args []string, err error) error {
	pc, perr := app.ParseContext(args)
	if perr != nil || pc == nil {
		return err
	}
	for _, el := range pc.Elements {
		f, ok := el.Clause.(*kingpin.FlagClause)
		if !ok || el.Value == nil {
			continue
		}
		if m := f.Model(); m.Value.Set(*el.Value) != nil {
			return fmt.Errorf("--%s: %w", m.Name, err)
		}
	}
	return err
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

// startDemo serves a simulated organisation whose rooms keep receiving
// messages, and points cfg at it: the demo runs the same client and
// collector code as production.
func startDemo(ctx context.Context, cfg *config) (webex.TokenSource, func()) {
	oc := webextest.OrgConfig{Seed: 1, Rooms: 300, Now: time.Now(), QuietRooms: 6}
	var opts []webextest.Option
	if cfg.scope == string(collector.ScopeOrg) {
		// The account is a compliance officer in an organisation of more rooms.
		oc.OtherRooms = 3000
		opts = append(opts, webextest.WithComplianceOfficer())
	}
	srv := webextest.NewServer(webextest.GenerateOrg(oc), opts...)
	cfg.apiURL = srv.URL
	simCtx, cancel := context.WithCancel(ctx)
	go srv.Simulate(simCtx, time.Second, rand.New(rand.NewPCG(1, 2)))
	return webex.StaticToken(webextest.DefaultToken), func() { cancel(); srv.Close() }
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	base := newLogger(cfg.log, stderr)
	logger := log.With(base, "ts", log.DefaultTimestampUTC, "caller", log.DefaultCaller)
	level.Info(logger).Log("msg", "Starting "+exporterName, "version", version.Info(), "build_context", version.BuildContext())

	exporterReg := prometheus.NewRegistry()
	exporterReg.MustRegister(
		versioncollector.NewCollector(exporterName),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	api := collector.NewAPIRequests(exporterReg)

	var tokens webex.TokenSource
	if cfg.demo {
		var stopDemo func()
		tokens, stopDemo = startDemo(ctx, cfg)
		defer stopDemo()
		level.Info(logger).Log("msg", "Demo mode: serving a simulated Webex organisation", "api_url", cfg.apiURL)
	} else if tokens, err = tokenSource(cfg, logger, api.Observe); err != nil {
		return err
	}
	var tokenExpiry func() time.Time
	if ot, ok := tokens.(*webex.OAuthToken); ok {
		tokenExpiry = ot.Expiry
	}
	client, err := webex.New(webex.Options{
		BaseURL:   cfg.apiURL,
		Token:     tokens,
		UserAgent: version.ComponentUserAgent(exporterName),
		Observe:   api.Observe,
		OnBadItem: func(b webex.BadItem) { logBadItem(logger, b); api.BadItem(b) },
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
		TokenExpiry:        tokenExpiry,
		StateFile:          cfg.stateFile,
		StateInterval:      cfg.stateInterval,
		MinInterval:        cfg.minInterval,
		Scope:              collector.Scope(cfg.scope),
	})
	exporterReg.MustRegister(collector.NewStateMetrics(tracker))
	var push *collector.Push
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
		push = collector.NewPush(tracker, client, collector.PushConfig{TargetURL: cfg.webhook.url, Secret: secret, CheckEvery: cfg.webhook.checkEvery, ReconcileInterval: cfg.webhook.reconcileEvery})
		exporterReg.MustRegister(push)
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

	slogger := slog.New(slgokit.NewGoKitHandler(base, cfg.log.Level))
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
			return fmt.Errorf("landing page: %w", err)
		}
		mux.Handle("/", landing)
	}

	// The servers stop with serveCtx: at SIGTERM, or when the webhook
	// listener fails (its port taken).
	serveCtx, stopAll := context.WithCancelCause(ctx)
	defer stopAll(nil)
	var webhooksDone <-chan error
	if push != nil {
		done := serveWebhooks(serveCtx, &cfg.webhook, push, logger, slogger)
		relay := make(chan error, 1)
		go func() {
			err := <-done
			if err != nil {
				stopAll(fmt.Errorf("webhook listener: %w", err))
			}
			relay <- err
		}()
		webhooksDone = relay
	}

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-serveCtx.Done()
		// Stop taking scrapes and let those under way answer (at most 5 s),
		// then write the state: all within 10 s of SIGTERM.
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdownCtx) //nolint:errcheck // exiting anyway
	}()
	if err := web.ListenAndServe(srv, cfg.web, slogger); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-stopped
	<-learned
	if webhooksDone != nil {
		if err := <-webhooksDone; err != nil {
			return fmt.Errorf("webhook listener: %w", err)
		}
	}
	if push != nil && cfg.webhook.removeOnShutdown {
		rmCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		if err := push.Remove(rmCtx); err != nil {
			level.Error(logger).Log("msg", "Could not delete the webhook at shutdown", "err", err)
		}
		cancel()
	}
	if cfg.stateFile != "" {
		if err := tracker.SaveState(); err != nil {
			return fmt.Errorf("writing the state file at shutdown: %w", err)
		}
		level.Info(logger).Log("msg", "State written; exiting", "file", cfg.stateFile)
	}
	return nil
}

// scrapeDeadline is the time a scrape may take: Prometheus'
// X-Prometheus-Scrape-Timeout-Seconds header (or the default) less the offset.
func scrapeDeadline(h http.Header, def, offset time.Duration) time.Duration {
	timeout := def
	if v := h.Get("X-Prometheus-Scrape-Timeout-Seconds"); v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs > 0 && secs < 24*3600 {
			timeout = time.Duration(secs * float64(time.Second))
		}
	}
	if timeout > offset {
		timeout -= offset
	}
	return timeout
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
