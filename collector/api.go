package collector

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/webex-exporter/webex_exporter/webex"
)

// APIRequests counts the exporter's calls to the Webex API. It lives as long
// as the exporter; pass Observe to webex.Options.
type APIRequests struct {
	total   *prometheus.CounterVec
	skipped *prometheus.CounterVec
	reduced *prometheus.CounterVec
}

// NewAPIRequests registers webex_api_requests_total,
// webex_api_items_skipped_total and webex_api_page_size_reductions_total
// with reg.
func NewAPIRequests(reg prometheus.Registerer) *APIRequests {
	a := &APIRequests{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "api_requests_total",
			Help:      "Calls made to the Webex API, by endpoint and HTTP status code (\"error\" when no answer came).",
		}, []string{"endpoint", "code"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "api_items_skipped_total",
			Help:      "Items of Webex API answers skipped because they could not be used (no id; a message without a creation time), by endpoint.",
		}, []string{"endpoint"}),
		reduced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "api_page_size_reductions_total",
			Help:      "Listing pages asked again with a smaller max (1000, 200, 50) after Webex answered 504; the smaller size is kept for the endpoint for an hour.",
		}, []string{"endpoint"}),
	}
	reg.MustRegister(a.total, a.skipped, a.reduced)
	// The rooms listing's 429 series exists from the start, at 0: the
	// throttling alert selects it (and can be checked against a fresh
	// exporter), and rate() sees the first 429 rather than a series born at 1.
	a.total.WithLabelValues("rooms", "429")
	return a
}

// BadItem counts a skipped item; it is (part of) the webex client's
// OnBadItem callback.
func (a *APIRequests) BadItem(b webex.BadItem) {
	if b.Skipped {
		a.skipped.WithLabelValues(b.Endpoint).Inc()
	}
}

// RegisterRateLimitGate registers webex_api_rate_limited_until_timestamp_seconds
// with reg: when the account's rate-limit gate opens (pausedUntil, normally
// webex.Client.PausedUntil), 0 while it is open.
func RegisterRateLimitGate(reg prometheus.Registerer, pausedUntil func() time.Time) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace,
		Name:      "api_rate_limited_until_timestamp_seconds",
		Help:      "Unix time at which Webex's last 429 Retry-After lets the exporter call the API again (at most an hour ahead); 0 when calls are allowed.",
	}, func() float64 {
		t := pausedUntil()
		if t.IsZero() {
			return 0
		}
		return float64(t.UnixMilli()) / 1e3
	}))
}

// Observe counts one call; it is the webex client's observer callback.
func (a *APIRequests) Observe(r webex.RequestInfo) {
	a.total.WithLabelValues(r.Endpoint, r.Code).Inc()
	if r.ReducedFrom > 0 {
		a.reduced.WithLabelValues(r.Endpoint).Inc()
	}
}
