package collector

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/webex-exporter/webex_exporter/webex"
)

// APIRequests counts the exporter's calls to the Webex API. It lives as long
// as the exporter; pass Observe to webex.Options.
type APIRequests struct {
	total *prometheus.CounterVec
}

// NewAPIRequests registers webex_api_requests_total with reg.
func NewAPIRequests(reg prometheus.Registerer) *APIRequests {
	a := &APIRequests{total: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace,
		Name:      "api_requests_total",
		Help:      "Calls made to the Webex API, by endpoint and HTTP status code (\"error\" when no answer came).",
	}, []string{"endpoint", "code"})}
	reg.MustRegister(a.total)
	return a
}

// Observe counts one call; it is the webex client's observer callback.
func (a *APIRequests) Observe(r webex.RequestInfo) {
	a.total.WithLabelValues(r.Endpoint, r.Code).Inc()
}
