package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/webex-exporter/webex_exporter/collector"
)

// textFormat is the one format the metrics path answers in: the text
// format 0.0.4, which every Prometheus accepts (Prometheus 3 asks for
// protobuf first and text after; expfmt.Negotiate gives this same value
// whenever the answer is text). Every metric name is a legacy one, so the
// escaping scheme changes nothing.
var textFormat = expfmt.NewFormat(expfmt.TypeTextPlain).WithEscapingScheme(model.UnderscoreEscaping)

// writeMargin is the time a scrape's answer may take to write after the
// scrape's deadline, by which its snapshot is ready.
const writeMargin = time.Second

// metricsHandler serves one scrape: a snapshot from the tracker within the
// scrape's deadline (shared with concurrent scrapes, rendered once), after
// the exporter's own metrics, gathered by client_golang, written by the
// deadline plus writeMargin. Only GET and HEAD start anything.
func metricsHandler(cfg *config, tracker *collector.Tracker, exporterReg prometheus.Gatherer, logger log.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "only GET and HEAD", http.StatusMethodNotAllowed)
			return
		}
		timeout := scrapeDeadline(r.Header, cfg.scrapeTimeout, cfg.timeoutOffset)
		// A client that does not read its answer holds a --web.max-requests
		// slot only until then: the write fails, the connection is closed.
		if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(timeout + writeMargin)); err != nil {
			level.Debug(logger).Log("msg", "Setting the scrape's write deadline", "err", err)
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		snap := tracker.Snapshot(ctx)

		// After the refresh: webex_api_requests_total then counts its calls.
		mfs, err := exporterReg.Gather()
		if err != nil {
			level.Error(logger).Log("msg", "Gathering the exporter's own metrics", "err", err)
		}
		var own bytes.Buffer
		enc := expfmt.NewEncoder(&own, textFormat)
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				level.Error(logger).Log("msg", "Encoding the exporter's own metrics", "family", mf.GetName(), "err", err)
			}
		}

		gz := acceptsGzip(r.Header)
		w.Header().Set("Content-Type", string(textFormat))
		w.Header().Add("Vary", "Accept-Encoding")
		if gz {
			w.Header().Set("Content-Encoding", "gzip")
		}
		if r.Method == http.MethodHead {
			return
		}
		if err := snap.WriteText(w, own.Bytes(), gz); err != nil {
			level.Debug(logger).Log("msg", "Writing the scrape's answer", "err", err)
		}
	})
}

// acceptsGzip tells whether an Accept-Encoding header allows gzip.
func acceptsGzip(h http.Header) bool {
	for _, v := range h.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			q, found := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
			if !found {
				return true
			}
			f, err := strconv.ParseFloat(q, 64)
			return err == nil && f > 0
		}
	}
	return false
}

// handleProfiles serves the Go runtime's profiles under /debug/pprof/, which
// the landing page links, behind the same web configuration (TLS, basic
// auth) as the metrics.
func handleProfiles(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index) // and the named profiles: heap, goroutine, ...
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
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
