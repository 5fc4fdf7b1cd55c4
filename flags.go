package main

// The flags: their declaration, the config they fill and its validation.

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/webex-exporter/webex_exporter/collector"
	"github.com/webex-exporter/webex_exporter/webex"
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
	directRooms   string // collector.DirectPerRoom or collector.DirectAggregate
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

// rawFlags are flag values that parseFlags turns into parts of a config.
type rawFlags struct {
	windows, include, exclude   string
	roomTypes, teamIDs, roomIDs []string
	listenSet                   bool // --web.listen-address was given
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
	app.Flag("webex.concurrency", "API calls in flight at once; as many connections to the API are kept open between them.").Default("4").IntVar(&cfg.concurrency)
	app.Flag("webex.room-type", "Watch only rooms of this type (group or direct); repeatable. Default: both.").PlaceHolder("TYPE").EnumsVar(&raw.roomTypes, "group", "direct")
	app.Flag("webex.team-id", "Watch only rooms of this team; repeatable.").PlaceHolder("ID").StringsVar(&raw.teamIDs)
	app.Flag("webex.room-id", "Watch only this room; repeatable.").PlaceHolder("ID").StringsVar(&raw.roomIDs)
	app.Flag("webex.room-include", "Watch only rooms whose whole title matches this RE2 expression.").PlaceHolder("REGEX").StringVar(&raw.include)
	app.Flag("webex.room-exclude", "Do not watch rooms whose whole title matches this RE2 expression.").PlaceHolder("REGEX").StringVar(&raw.exclude)
	app.Flag("webex.room-titles", "Put room titles in webex_room_info (--no-webex.room-titles leaves them out: 1:1 room titles are people's names).").
		Default("true").BoolVar(&cfg.titles)
	app.Flag("collector.direct-rooms", "Direct (1:1) rooms: per-room (each its own series, like group rooms) or aggregate (only in the totals by room type: webex_rooms, webex_rooms_active, webex_messages_recent).").
		Default(string(collector.DirectPerRoom)).EnumVar(&cfg.directRooms, string(collector.DirectPerRoom), string(collector.DirectAggregate))
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
	app.Flag("demo", "Serve a simulated Webex organisation in-process: no token, no network. Listens on "+demoAddress+" unless --web.listen-address is given.").BoolVar(&cfg.demo)
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
	app.GetFlag("web.listen-address").IsSetByUser(&raw.listenSet)
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
	if cfg.demo && !raw.listenSet {
		// The demo serves /debug/pprof/ with no authentication: only to
		// this machine, unless told otherwise (in a container, say).
		*cfg.web.WebListenAddresses = []string{demoAddress}
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
	case cfg.telemetryPath == "/-/healthy" || cfg.telemetryPath == "/-/ready" || strings.HasPrefix(cfg.telemetryPath, "/debug/pprof/"):
		return nil, fmt.Errorf("--web.telemetry-path=%q: the probes and the profiles are served there", cfg.telemetryPath)
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
