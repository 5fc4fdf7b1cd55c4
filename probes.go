package main

import (
	"net/http"
)

// handleProbes serves the probes of Kubernetes and load balancers at the
// paths Prometheus itself uses. Neither calls the Webex API nor waits for a
// refresh (probing the metrics path instead would spend API quota and can
// take the whole scrape timeout):
//
//   - /-/healthy: 200 while the process serves HTTP (liveness).
//   - /-/ready: 200 once ready() holds (the tracker has rooms to serve: a
//     room listing succeeded or a restored state's account is confirmed),
//     503 before (readiness).
func handleProbes(mux *http.ServeMux, ready func() bool) {
	mux.Handle("/-/healthy", probe(func() bool { return true }, "Healthy.\n", ""))
	mux.Handle("/-/ready", probe(ready, "Ready.\n",
		"Not ready: no room listing has succeeded yet (the exporter lists the rooms when scraped) and no state file of this account was restored.\n"))
}

// probe answers GET and HEAD with 200 and ok while up() holds, else 503
// and notOK.
func probe(up func() bool, ok, notOK string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		body, code := ok, http.StatusOK
		if !up() {
			body, code = notOK, http.StatusServiceUnavailable
		}
		w.WriteHeader(code)
		if r.Method == http.MethodGet {
			w.Write([]byte(body)) //nolint:errcheck // the client left
		}
	})
}
