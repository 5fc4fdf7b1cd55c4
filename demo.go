package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/webex-exporter/webex_exporter/collector"
	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// --demo: a simulated organisation (webex/webextest) served in-process,
// whose rooms keep receiving messages, with what the optional features need
// so that every dashboard panel and alert has its series without an
// account:
//
//   - an OAuth integration whose access token lives demoTokenTTL: the
//     exporter refreshes it (and the rotated refresh token) as production
//     does, so the token's expiry is seen moving;
//   - a state file in a temporary directory (unless --state.file is given);
//   - with --webex.scope=member, a webhook: the fake's signed deliveries are
//     handed to the exporter's delivery handler in-process, with no listener
//     facing anything (the webhook listener binds an unused loopback port).
//
// The demo runs the same client, token, collector, state and push code as
// production; only the API's address and the flags change.

// demoTokenTTL is the life of the demo's access tokens: the exporter
// renews them 5 minutes before they expire, so about every 5 minutes.
const demoTokenTTL = 10 * time.Minute

// The demo integration's credentials: fixed values of the fake, no secrets.
const (
	demoClientID     = "webex-exporter-demo"
	demoClientSecret = "webex-exporter-demo-client-secret"
	demoRefreshToken = "webex-exporter-demo-refresh-token"
)

// demoOrg is a running demo.
type demoOrg struct {
	srv      *webextest.Server
	dir      string // temporary: the OAuth files and the state file
	receiver inProcess
	cancel   context.CancelFunc
}

// startDemo serves the simulated organisation and points cfg at it: its
// API, its OAuth integration, a state file and (member scope) a webhook.
func startDemo(ctx context.Context, cfg *config) (*demoOrg, error) {
	dir, err := os.MkdirTemp("", "webex_exporter-demo-")
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	d := &demoOrg{dir: dir}
	oc := webextest.OrgConfig{Seed: 1, Rooms: 300, Now: time.Now(), QuietRooms: 6}
	opts := []webextest.Option{webextest.WithDeliveryClient(&http.Client{Transport: &d.receiver})}
	if cfg.scope == string(collector.ScopeOrg) {
		// The account is a compliance officer in an organisation of more rooms.
		oc.OtherRooms = 3000
		opts = append(opts, webextest.WithComplianceOfficer())
	}
	d.srv = webextest.NewServer(webextest.GenerateOrg(oc), opts...)
	d.srv.SetOAuth(demoClientID, demoClientSecret, demoRefreshToken, demoTokenTTL, true)

	secretFile, refreshFile := filepath.Join(dir, "client-secret"), filepath.Join(dir, "refresh-token")
	for file, content := range map[string]string{secretFile: demoClientSecret, refreshFile: demoRefreshToken} {
		if err := os.WriteFile(file, []byte(content+"\n"), 0o600); err != nil {
			d.stop()
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	cfg.apiURL = d.srv.URL
	cfg.oauthClientID, cfg.oauthSecret, cfg.oauthRefresh = demoClientID, secretFile, refreshFile
	if cfg.stateFile == "" {
		cfg.stateFile = filepath.Join(dir, "state.json")
	}
	if cfg.scope == string(collector.ScopeMember) && cfg.webhook.url == "" {
		// Never resolved: the fake's deliveries go to d.receiver.
		cfg.webhook.url = "https://webhook.demo.invalid/webex"
		cfg.webhook.listenAddress = "127.0.0.1:0"
	}

	simCtx, cancel := context.WithCancel(ctx)
	d.cancel = cancel
	go d.srv.Simulate(simCtx, time.Second, rand.New(rand.NewPCG(1, 2)))
	return d, nil
}

// receive hands the fake's webhook deliveries to h (the exporter's delivery
// handler). A nil demo does nothing.
func (d *demoOrg) receive(h http.Handler) {
	if d == nil {
		return
	}
	d.receiver.set(h)
}

// stop ends the simulation and the fake, and removes the temporary files.
func (d *demoOrg) stop() {
	if d.cancel != nil {
		d.cancel()
	}
	if d.srv != nil {
		d.srv.Close()
	}
	os.RemoveAll(d.dir)
}

// inProcess is an http.RoundTripper that serves each request with a
// handler in this process: the fake's webhook deliveries reach the
// exporter's delivery handler without a network.
type inProcess struct {
	mu sync.Mutex
	h  http.Handler
}

func (p *inProcess) set(h http.Handler) {
	p.mu.Lock()
	p.h = h
	p.mu.Unlock()
}

func (p *inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	p.mu.Lock()
	h := p.h
	p.mu.Unlock()
	if h == nil {
		return nil, errors.New("demo: no webhook receiver")
	}
	if r.Body != nil {
		defer r.Body.Close()
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Result(), nil
}
