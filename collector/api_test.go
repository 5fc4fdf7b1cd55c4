package collector

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The throttling alert's series (the rooms listing's 429s) exists at 0
// before any call.
func TestAPIRequestsThrottledSeriesFromStart(t *testing.T) {
	reg := prometheus.NewRegistry()
	api := NewAPIRequests(reg)
	if n := testutil.CollectAndCount(reg, "webex_api_requests_total"); n != 1 {
		t.Fatalf("webex_api_requests_total has %d series before any call, want 1", n)
	}
	if v := testutil.ToFloat64(api.total.WithLabelValues("rooms", "429")); v != 0 {
		t.Fatalf(`webex_api_requests_total{endpoint="rooms",code="429"} = %v, want 0`, v)
	}
}
