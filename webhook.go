package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/webex-exporter/webex_exporter/collector"
	"github.com/webex-exporter/webex_exporter/webex"
)

// The webhook receiver: Webex posts signed deliveries here, on a listener
// of its own (it faces the internet, while the metrics port usually does
// not), with exporter-toolkit's TLS configuration from --webhook.config.file.
// Webex cannot send basic auth: the signature is the authentication.

// webhookConfig is what the --webhook.* flags say.
type webhookConfig struct {
	url              string
	listenAddress    string
	configFile       string
	secretFile       string
	removeOnShutdown bool
	checkEvery       time.Duration
	reconcileEvery   time.Duration
}

// checkWebhookFlags validates the --webhook.* flags; the URL's path is
// where deliveries are received.
func checkWebhookFlags(w *webhookConfig) error {
	if w.url == "" {
		return nil
	}
	u, err := url.Parse(w.url)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return errors.New("--webhook.url: want the public http(s) URL at which Webex reaches this exporter, such as https://exporter.example.com/webex/webhook")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return errors.New("--webhook.url: must not carry credentials, a query or a fragment")
	case w.checkEvery <= 0:
		return fmt.Errorf("--webhook.check-interval=%s: want a positive duration", w.checkEvery)
	case w.reconcileEvery <= 0:
		return fmt.Errorf("--webhook.reconcile-interval=%s: want a positive duration", w.reconcileEvery)
	}
	return nil
}

// readWebhookSecret reads --webhook.secret-file ("" when not given).
func readWebhookSecret(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--webhook.secret-file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if len(s) < 32 || strings.ContainsAny(s, " \t\r\n") {
		return "", fmt.Errorf("--webhook.secret-file %s: want one secret of at least 32 characters on one line", path)
	}
	return s, nil
}

// webhookPath is where deliveries arrive: the URL's path.
func webhookPath(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Path == "" {
		return "/"
	}
	return u.Path
}

// deliveryHandler answers Webex's deliveries: 200 once a delivery is
// recorded (or known, or of no interest), 4xx for what is refused, which
// changes nothing. Refusals are logged to refusals (rate-limited: anyone
// can send them) and counted by push.
func deliveryHandler(push *collector.Push, refusals log.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "deliveries are POSTed", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, webex.MaxDeliveryBytes+1))
		if err != nil {
			http.Error(w, "reading the delivery failed", http.StatusBadRequest)
			return
		}
		result := push.Deliver(body, r.Header.Get("X-Spark-Signature"))
		switch result {
		case collector.PushRejectedTooLarge:
			http.Error(w, "delivery too large", http.StatusRequestEntityTooLarge)
		case collector.PushRejectedSignature:
			level.Warn(refusals).Log("msg", "Refused a webhook delivery with no valid signature", "remote", r.RemoteAddr)
			http.Error(w, "no valid X-Spark-Signature", http.StatusUnauthorized)
		case collector.PushRejectedMalformed:
			http.Error(w, "not a messages:created delivery", http.StatusBadRequest)
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
}
