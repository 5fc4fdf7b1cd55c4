package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/webex-exporter/webex_exporter/collector"
	"github.com/webex-exporter/webex_exporter/webex"
)

// TestDemoOptionalFeatures: --demo points the exporter at an OAuth
// integration whose token expires within demoTokenTTL, a state file in a
// temporary directory, and a webhook whose signed deliveries reach the
// receiver in-process; stop removes the temporary files.
func TestDemoOptionalFeatures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := &config{scope: string(collector.ScopeMember)}
	d, err := startDemo(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.stop()

	// The OAuth files, private, and a token that expires soon.
	for _, f := range []string{cfg.oauthSecret, cfg.oauthRefresh} {
		fi, err := os.Stat(f)
		if err != nil || fi.Mode().Perm() != 0o600 || filepath.Dir(f) != d.dir {
			t.Fatalf("OAuth file %s: %v, mode %v, want 0600 in %s", f, err, fi.Mode(), d.dir)
		}
	}
	tokens, err := tokenSource(cfg, nopLogger{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ot, ok := tokens.(*webex.OAuthToken)
	if !ok {
		t.Fatalf("token source %T, want *webex.OAuthToken", tokens)
	}
	before := time.Now()
	if _, err := ot.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if left := time.Until(ot.Expiry()); left <= 0 || left > demoTokenTTL || ot.Expiry().Before(before) {
		t.Fatalf("token expires in %s, want within %s", left, demoTokenTTL)
	}

	if filepath.Dir(cfg.stateFile) != d.dir {
		t.Errorf("state file %q, want one in %s", cfg.stateFile, d.dir)
	}
	if !strings.HasPrefix(cfg.webhook.listenAddress, "127.0.0.1:") || cfg.webhook.url == "" {
		t.Errorf("webhook url %q on %q, want a url and a loopback listener", cfg.webhook.url, cfg.webhook.listenAddress)
	}

	// A webhook set up as the push feed does: the next simulated message
	// is delivered, signed, to the in-process receiver.
	type delivery struct {
		body      []byte
		signature string
	}
	got := make(chan delivery, 16)
	d.receive(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case got <- delivery{b, r.Header.Get("X-Spark-Signature")}:
		default:
		}
	}))
	client, err := webex.New(webex.Options{BaseURL: cfg.apiURL, Token: tokens})
	if err != nil {
		t.Fatal(err)
	}
	secret := webex.NewWebhookSecret()
	if _, err := client.CreateWebhook(ctx, webex.WebhookSpec{Name: "demo test", TargetURL: cfg.webhook.url,
		Resource: "messages", Event: "created", Secret: secret}); err != nil {
		t.Fatal(err)
	}
	select {
	case dl := <-got:
		if !webex.VerifySignature(dl.body, secret, dl.signature) {
			t.Errorf("delivery not signed with the webhook's secret: %s", dl.body)
		}
		if _, err := webex.ParseDelivery(dl.body); err != nil {
			t.Errorf("delivery: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("no delivery reached the in-process receiver")
	}

	d.stop()
	if _, err := os.Stat(d.dir); !os.IsNotExist(err) {
		t.Errorf("after stop, %s: %v, want it removed", d.dir, err)
	}
}

type nopLogger struct{}

func (nopLogger) Log(...any) error { return nil }
