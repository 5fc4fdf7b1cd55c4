package main

// These tests run the exporter as main does, through run, on 127.0.0.1:0.
// run's own stderr tells the test where it listens: exporter-toolkit logs
// "Listening on" with the address after binding the port and before
// serving, so the logSink below hands the address over without polling.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// --- Harness ---

// logSink is the exporter's stderr: it keeps every line and announces the
// address exporter-toolkit reports when it starts listening.
type logSink struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	scanned int // bytes of buf already searched for the address
	addr    chan string
	found   bool
}

func newLogSink() *logSink { return &logSink{addr: make(chan string, 1)} }

// listenRE finds the address in exporter-toolkit's "Listening on" line, in
// logfmt (address=127.0.0.1:1234) or JSON ("address":"127.0.0.1:1234").
var listenRE = regexp.MustCompile(`"?address"?[=:]"?([^\s",]+)`)

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	for !s.found {
		rest := s.buf.Bytes()[s.scanned:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		line := rest[:i]
		s.scanned += i + 1
		// The metrics listener's, not the webhook listener's (listener=webhook).
		if bytes.Contains(line, []byte("Listening on")) && !bytes.Contains(line, []byte("webhook")) {
			if m := listenRE.FindSubmatch(line); m != nil {
				s.found = true
				s.addr <- string(m[1])
			}
		}
	}
	return len(p), nil
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// Len is a position in the log, for since.
func (s *logSink) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Len()
}

// since returns what was logged after position n.
func (s *logSink) since(n int) string { return s.String()[n:] }

// exporter is one run of the exporter.
type exporter struct {
	t      *testing.T
	addr   string // host:port
	url    string // http://host:port
	logs   *logSink
	client *http.Client
	cancel context.CancelFunc
	done   chan error

	stopOnce sync.Once
	err      error
}

// startExporter runs the exporter with args on a free 127.0.0.1 port and
// returns once it listens; it is stopped (and must exit cleanly) when the
// test ends, unless stop was called.
func startExporter(t *testing.T, args ...string) *exporter {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e := &exporter{
		t:      t,
		logs:   newLogSink(),
		client: &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second},
		cancel: cancel,
		done:   make(chan error, 1),
	}
	args = append([]string{"--web.listen-address=127.0.0.1:0"}, args...)
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--webex.min-interval") }) {
		// Most tests change the fake between scrapes and want the next
		// scrape to see it.
		args = append(args, "--webex.min-interval=0s")
	}
	go func() { e.done <- run(ctx, args, e.logs) }()
	select {
	case e.addr = <-e.logs.addr:
	case err := <-e.done:
		cancel()
		t.Fatalf("run(%q) returned before listening: %v\nlogs:\n%s", args, err, e.logs)
	case <-time.After(15 * time.Second):
		cancel()
		t.Fatalf("run(%q) did not report its address\nlogs:\n%s", args, e.logs)
	}
	e.url = "http://" + e.addr
	t.Cleanup(func() {
		if err := e.stop(); err != nil {
			t.Errorf("run returned %v\nlogs:\n%s", err, e.logs)
		}
	})
	return e
}

// stop cancels run's context and returns what run returned.
func (e *exporter) stop() error {
	e.stopOnce.Do(func() {
		e.cancel()
		select {
		case e.err = <-e.done:
		case <-time.After(15 * time.Second):
			e.err = errors.New("run did not return within 15s of its context being cancelled")
		}
		e.client.CloseIdleConnections()
	})
	return e.err
}

// get fetches path (with optional header pairs) and returns status and body.
func (e *exporter) get(path string, header ...string) (int, string) {
	e.t.Helper()
	return httpGet(e.t, e.client, e.url+path, header...)
}

func httpGet(t *testing.T, c *http.Client, url string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return res.StatusCode, string(body)
}

// value returns the value of one series (name with its labels exactly as
// the text format writes them) in a /metrics body.
func value(t *testing.T, body, series string) float64 {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", series, err)
			}
			return f
		}
	}
	t.Fatalf("no series %s in:\n%s", series, clip(body))
	return 0
}

// writeFile writes a private file in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// activeOrg is a small organisation whose every room has recent messages,
// so every room needs a /messages call on the first scrape.
func activeOrg() *webextest.Org {
	return webextest.GenerateOrg(webextest.OrgConfig{Seed: 7, Rooms: 8, ActiveFraction: 1, History: 6 * time.Hour})
}

// fakeAPI starts a fake Webex API closed when the test ends (after the
// exporter, whose cleanup is registered later).
func fakeAPI(t *testing.T, org *webextest.Org, opts ...webextest.Option) *webextest.Server {
	srv := webextest.NewServer(org, opts...)
	t.Cleanup(srv.Close)
	return srv
}

// isErrorLine reports whether a log line is at level error, in either format.
func isErrorLine(line string) bool {
	return strings.Contains(line, "level=error") || strings.Contains(line, `"level":"error"`)
}

// clip shortens text for a failure message.
func clip(s string) string {
	const max = 2000
	if len(s) > max {
		return s[:max] + fmt.Sprintf("… (%d bytes more)", len(s)-max)
	}
	return s
}

func lines(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' })
}

// --- 1. The token never leaks ---

func TestTokenNeverLeaks(t *testing.T) {
	for _, source := range []string{"file", "env"} {
		for _, format := range []string{"logfmt", "json"} {
			t.Run(source+"/"+format, func(t *testing.T) { testTokenNeverLeaks(t, source, format) })
		}
	}
}

func testTokenNeverLeaks(t *testing.T, source, format string) {
	secret := make([]byte, 16)
	if _, err := crand.Read(secret); err != nil {
		t.Fatal(err)
	}
	hexed := hex.EncodeToString(secret)
	marker := "MARKER-" + hexed
	// leak returns the line of text holding the token or a recognisable
	// half of it, if any.
	leak := func(text string) (string, bool) {
		for _, l := range strings.Split(text, "\n") {
			if strings.Contains(l, hexed[:16]) || strings.Contains(l, hexed[16:]) {
				return clip(l), true
			}
		}
		return "", false
	}

	api := fakeAPI(t, activeOrg(), webextest.WithToken(marker))
	elsewhere := fakeAPI(t, nil, webextest.WithToken(marker))
	args := []string{"--webex.api-url=" + api.URL, "--log.level=debug", "--log.format=" + format}
	var tokenFile string
	switch source {
	case "file":
		tokenFile = writeFile(t, t.TempDir(), "token", marker+"\n")
		args = append(args, "--webex.token-file="+tokenFile)
	case "env":
		t.Setenv(tokenEnv, marker)
	}

	type text struct{ where, text string }
	var texts []text
	e := startExporter(t, args...)
	scrape := func(what string) string {
		t.Helper()
		code, body := e.get("/metrics")
		texts = append(texts, text{"/metrics after " + what, body})
		if code != http.StatusOK {
			t.Fatalf("%s: /metrics answered %d: %s", what, code, clip(body))
		}
		return body
	}

	if body := scrape("a good scrape"); value(t, body, "webex_up") != 1 {
		t.Fatalf("webex_up is not 1 with the right token:\n%s", clip(body))
	}
	code, landing := e.get("/")
	texts = append(texts, text{"the landing page", landing})
	if code != http.StatusOK || !strings.Contains(landing, "/metrics") {
		t.Fatalf("landing page: %d %s", code, clip(landing))
	}

	// Each failure is a refused listing: webex_up 0 and one logged error
	// that says what happened.
	for _, c := range []struct {
		what  string
		fault webextest.Fault
		want  string // in the logged error
	}{
		// Retry-After 0: the client retries at once and gives up after its third attempt.
		{"a 429", webextest.Fault{Endpoint: "rooms", Status: http.StatusTooManyRequests, RetryAfter: "0", Times: 3}, "429"},
		{"a 500", webextest.Fault{Endpoint: "rooms", Status: http.StatusInternalServerError, Times: 1}, "500"},
		{"a cross-host Link", webextest.Fault{Endpoint: "rooms", LinkHost: elsewhere.URL, Times: 1}, "foreign host"},
	} {
		api.InjectFault(c.fault)
		at := e.logs.Len()
		body := scrape(c.what)
		if value(t, body, "webex_up") != 0 {
			t.Errorf("%s: webex_up is not 0", c.what)
		}
		if logged := e.logs.since(at); !strings.Contains(logged, c.want) {
			t.Errorf("%s: no %q in the log:\n%s", c.what, c.want, logged)
		}
		api.ClearFaults()
	}
	if n := elsewhere.RequestsTotal(); n != 0 {
		t.Errorf("the foreign host of a next link received %d requests: %+v", n, elsewhere.RequestLog())
	}

	// Webex stops accepting the token: every scrape says so once.
	rotated := "rotated-" + strings.Repeat("x", 20)
	api.SetToken(rotated)
	for i := range 2 {
		at := e.logs.Len()
		body := scrape("a refused token")
		if v := value(t, body, "webex_up"); v != 0 {
			t.Errorf("refused token, scrape %d: webex_up %v, want 0", i, v)
		}
		var errs []string
		for _, l := range lines(e.logs.since(at)) {
			if isErrorLine(l) {
				errs = append(errs, l)
			}
		}
		if len(errs) != 1 || !strings.Contains(errs[0], "401") || !strings.Contains(errs[0], "trackingId ROUTER_") {
			t.Errorf("refused token, scrape %d: want exactly one error line naming the 401 and a trackingId, got %d:\n%s",
				i, len(errs), strings.Join(errs, "\n"))
		}
	}

	if source == "file" {
		// The rotated token reaches the file: the next scrape uses it.
		writeFile(t, filepath.Dir(tokenFile), filepath.Base(tokenFile), rotated+"\n")
		if v := value(t, scrape("the token file's rotation"), "webex_up"); v != 1 {
			t.Errorf("after the token file was rotated: webex_up %v, want 1", v)
		}
	}

	if err := e.stop(); err != nil {
		texts = append(texts, text{"run's error", err.Error()})
	}
	texts = append(texts, text{"the log", e.logs.String()})
	for _, x := range texts {
		if line, ok := leak(x.text); ok {
			t.Errorf("the token appears in %s: %s", x.where, line)
		}
	}

	// The token was really the one sent, so the absence above means something.
	sent := 0
	for _, r := range api.RequestLog() {
		if r.Authorization == "Bearer "+marker {
			sent++
		}
	}
	if sent == 0 {
		t.Error("the exporter never sent the marker token")
	}

	// A token file run refuses does not echo it either.
	if source == "file" {
		bad := writeFile(t, t.TempDir(), "token", marker+" "+marker+"\n")
		var stderr bytes.Buffer
		ctx, cancel := context.WithCancel(t.Context())
		cancel() // should run accept the file, it stops at once
		err := run(ctx, []string{"--webex.token-file=" + bad, "--web.listen-address=127.0.0.1:0", "--log.level=debug", "--log.format=" + format}, &stderr)
		if err == nil {
			t.Fatal("run accepted a token file with two tokens")
		}
		for _, x := range []string{err.Error(), stderr.String()} {
			if line, ok := leak(x); ok {
				t.Errorf("a refused token file leaks the token: %s", line)
			}
		}
	}
}

func TestSharedTokenFileWarns(t *testing.T) {
	const token = "MARKER-shared-file-0123456789abcdef"
	p := writeFile(t, t.TempDir(), "token", token)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"logfmt", "json"} {
		var stderr bytes.Buffer
		cfg, err := parseFlags([]string{"--webex.token-file=" + p, "--log.format=" + format}, &stderr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tokenSource(cfg, newLogger(cfg.log, &stderr), nil); err != nil {
			t.Fatal(err)
		}
		logged := stderr.String()
		if !strings.Contains(logged, "level") || !strings.Contains(logged, "warn") || !strings.Contains(logged, "chmod 600") || !strings.Contains(logged, p) {
			t.Errorf("%s: no warning naming the shared token file:\n%s", format, logged)
		}
		if strings.Contains(logged, token) {
			t.Errorf("%s: the warning shows the token:\n%s", format, logged)
		}
	}
}

// --- 2. --web.config.file: TLS and basic auth ---

// writeCerts writes a fresh CA and a server certificate for 127.0.0.1
// signed by it; it returns the CA pool and the server's cert and key files.
func writeCerts(t *testing.T, dir string) (*x509.CertPool, string, string) {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	now := time.Now()
	caKey := newKey()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "webex_exporter test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(crand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvKey := newKey()
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	srvDER, err := x509.CreateCertificate(crand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile := writeFile(t, dir, "server.crt", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER})))
	keyFile := writeFile(t, dir, "server.key", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, certFile, keyFile
}

func TestWebConfigTLSAndBasicAuth(t *testing.T) {
	dir := t.TempDir()
	pool, certFile, keyFile := writeCerts(t, dir)
	const user, password = "prometheus", "correct horse battery staple"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := writeFile(t, dir, "web.yml", fmt.Sprintf(
		"tls_server_config:\n  cert_file: '%s'\n  key_file: '%s'\nbasic_auth_users:\n  %s: '%s'\n", certFile, keyFile, user, hash))

	e := startExporter(t, "--demo", "--web.config.file="+webConfig)

	// Plain HTTP gets no metrics (Go's TLS server answers 400 to it).
	req, err := http.NewRequest(http.MethodGet, "http://"+e.addr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	if res, err := e.client.Do(req); err == nil {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusOK || strings.Contains(string(body), "webex_up") {
			t.Errorf("plain HTTP to the TLS listener answered %d:\n%s", res.StatusCode, clip(string(body)))
		}
	}

	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	scrape := func(user, password string) (int, string, http.Header) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "https://"+e.addr+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		if user != "" {
			req.SetBasicAuth(user, password)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("HTTPS (user %q): %v", user, err)
		}
		defer res.Body.Close()
		if res.TLS == nil {
			t.Fatal("HTTPS answer without TLS state")
		}
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, string(body), res.Header
	}
	if code, body, h := scrape("", ""); code != http.StatusUnauthorized || strings.Contains(body, "webex_up") {
		t.Errorf("HTTPS without credentials: %d %q, want 401", code, clip(body))
	} else if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("401 without a Basic challenge: WWW-Authenticate %q", h.Get("WWW-Authenticate"))
	}
	if code, body, _ := scrape(user, "wrong"); code != http.StatusUnauthorized || strings.Contains(body, "webex_up") {
		t.Errorf("HTTPS with the wrong password: %d %q, want 401", code, clip(body))
	}
	if code, body, _ := scrape("someone", password); code != http.StatusUnauthorized {
		t.Errorf("HTTPS with an unknown user: %d %q, want 401", code, clip(body))
	}
	code, body, _ := scrape(user, password)
	if code != http.StatusOK {
		t.Fatalf("HTTPS with the right credentials: %d %q, want 200", code, clip(body))
	}
	if v := value(t, body, "webex_up"); v != 1 {
		t.Errorf("webex_up %v, want 1", v)
	}
}

// --- 3. --web.max-requests ---

// blockingHandler answers 200 once release is closed, announcing on
// entered each request it holds.
func blockingHandler() (h http.Handler, entered chan struct{}, release chan struct{}) {
	entered, release = make(chan struct{}, 64), make(chan struct{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		w.WriteHeader(http.StatusOK)
	}), entered, release
}

func serveRecorded(h http.Handler) (int, string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Code, rec.Body.String()
}

func TestLimitRequests(t *testing.T) {
	const limit = 3
	next, entered, release := blockingHandler()
	h := limitRequests(limit, next)
	codes := make(chan int, limit)
	for range limit {
		go func() { code, _ := serveRecorded(h); codes <- code }()
	}
	for range limit {
		<-entered
	}
	// limit requests are inside the handler: one more is refused at once
	// (waited for with a timeout, so a limiter that queues fails rather than hangs).
	extra := make(chan string, 1)
	go func() { code, body := serveRecorded(h); extra <- fmt.Sprint(code, " ", body) }()
	select {
	case got := <-extra:
		if want := fmt.Sprintf("%d too many concurrent scrapes (limit %d)", http.StatusServiceUnavailable, limit); !strings.HasPrefix(got, want) {
			t.Errorf("request %d with a limit of %d: got %q, want %q", limit+1, limit, got, want)
		}
	case <-entered:
		t.Errorf("request %d with a limit of %d was let through", limit+1, limit)
	case <-time.After(10 * time.Second):
		t.Errorf("request %d with a limit of %d neither refused nor let through", limit+1, limit)
	}
	close(release)
	for range limit {
		if code := <-codes; code != http.StatusOK {
			t.Errorf("an admitted request got %d", code)
		}
	}
	// The slots are free again.
	for range limit + 1 {
		if code, _ := serveRecorded(h); code != http.StatusOK {
			t.Errorf("after the others finished: %d, want 200", code)
		}
		<-entered
	}
}

func TestLimitRequestsZeroIsUnlimited(t *testing.T) {
	const n = 50
	next, entered, release := blockingHandler()
	h := limitRequests(0, next)
	codes := make(chan int, n)
	for range n {
		go func() { code, _ := serveRecorded(h); codes <- code }()
	}
	for range n {
		<-entered // all n are inside at once
	}
	close(release)
	for range n {
		if code := <-codes; code != http.StatusOK {
			t.Errorf("without a limit a request got %d", code)
		}
	}
}

func TestMaxRequestsEndToEnd(t *testing.T) {
	const limit = 2
	api := fakeAPI(t, activeOrg())
	tokenFile := writeFile(t, t.TempDir(), "token", webextest.DefaultToken)
	e := startExporter(t, "--webex.api-url="+api.URL, "--webex.token-file="+tokenFile, fmt.Sprintf("--web.max-requests=%d", limit))
	release := api.Hold("rooms")
	t.Cleanup(release) // before the exporter stops, should the test fail early

	type result struct {
		code int
		body string
	}
	results := make(chan result, limit+1)
	scrape := func() {
		code, body := e.get("/metrics")
		results <- result{code, body}
	}
	// The first scrape's refresh is held listing the rooms; the others wait
	// for that refresh (concurrent scrapes share one), so none of the
	// admitted ones can answer before release.
	go scrape()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	if err := api.WaitRequests(ctx, "rooms", 1); err != nil {
		t.Fatalf("the first scrape did not reach /rooms: %v\nlogs:\n%s", err, e.logs)
	}
	for range limit {
		go scrape()
	}
	select {
	case r := <-results:
		if r.code != http.StatusServiceUnavailable || !strings.Contains(r.body, fmt.Sprintf("limit %d", limit)) {
			t.Fatalf("while %d scrapes are in flight, another got %d %q, want 503", limit, r.code, clip(r.body))
		}
	case <-ctx.Done():
		t.Fatal("no scrape was refused")
	}
	// The limit covers the metrics path only.
	if code, _ := e.get("/"); code != http.StatusOK {
		t.Errorf("landing page during a full house: %d, want 200", code)
	}
	release()
	for range limit {
		r := <-results
		if r.code != http.StatusOK {
			t.Fatalf("an admitted scrape got %d %q", r.code, clip(r.body))
		}
		if v := value(t, r.body, "webex_up"); v != 1 {
			t.Errorf("an admitted scrape: webex_up %v, want 1", v)
		}
	}
	if code, _ := e.get("/metrics"); code != http.StatusOK {
		t.Errorf("a scrape after the others finished: %d, want 200", code)
	}
}

// --- 4. Flags and scrapeDeadline ---

func TestInvalidFlags(t *testing.T) {
	t.Setenv(tokenEnv, "")
	dir := t.TempDir()
	tokenFile := writeFile(t, dir, "token", "a-token")
	emptyFile := writeFile(t, dir, "empty", "\n")
	secret := writeFile(t, dir, "secret", "s")
	refresh := writeFile(t, dir, "refresh", "r")
	for _, c := range []struct {
		name string
		args []string
		want []string // in the error
	}{
		{"window not a duration", []string{"--demo", "--collector.messages.windows=1h,soon"}, []string{"--collector.messages.windows", `"soon"`}},
		{"no window", []string{"--demo", "--collector.messages.windows=,"}, []string{"--collector.messages.windows"}},
		{"same window twice", []string{"--demo", "--collector.messages.windows=1h,60m"}, []string{"--collector.messages.windows"}},
		{"concurrency 0", []string{"--demo", "--webex.concurrency=0"}, []string{"--webex.concurrency=0"}},
		{"concurrency 65", []string{"--demo", "--webex.concurrency=65"}, []string{"--webex.concurrency=65"}},
		{"concurrency not a number", []string{"--demo", "--webex.concurrency=four"}, []string{"--webex.concurrency"}},
		{"offset equals timeout", []string{"--demo", "--web.scrape-timeout=5s", "--web.timeout-offset=5s"}, []string{"--web.timeout-offset", "--web.scrape-timeout"}},
		{"offset above timeout", []string{"--demo", "--web.timeout-offset=11s"}, []string{"--web.timeout-offset"}},
		{"negative offset", []string{"--demo", "--web.timeout-offset=-1s"}, []string{"--web.timeout-offset"}},
		{"scrape timeout 0", []string{"--demo", "--web.scrape-timeout=0s"}, []string{"--web.scrape-timeout"}},
		{"scrape timeout not a duration", []string{"--demo", "--web.scrape-timeout=soon"}, []string{"--web.scrape-timeout"}},
		{"include not a regex", []string{"--demo", "--webex.room-include=Ops(.*"}, []string{"--webex.room-include", "Ops(.*"}},
		{"exclude not a regex", []string{"--demo", "--webex.room-exclude=a)"}, []string{"--webex.room-exclude"}},
		{"webhook URL not http", []string{"--demo", "--webhook.url=ftp://example.com/hook"}, []string{"--webhook.url"}},
		{"webhook URL with credentials", []string{"--demo", "--webhook.url=https://u:p@example.com/hook"}, []string{"--webhook.url", "credentials"}},
		{"webhook secret too short", []string{"--demo", "--webhook.url=https://example.com/hook", "--webhook.secret-file=" + secret}, []string{"--webhook.secret-file", "32"}},
		{"webhook with org scope", []string{"--demo", "--webex.scope=org", "--webhook.url=https://example.com/hook"}, []string{"--webhook.url", "--webex.scope"}},
		{"state interval 0", []string{"--demo", "--state.interval=0s"}, []string{"--state.interval"}},
		{"unknown room type", []string{"--demo", "--webex.room-type=group", "--webex.room-type=channel"}, []string{"--webex.room-type", "channel"}},
		{"OAuth client id alone", []string{"--webex.oauth.client-id=id"}, []string{"--webex.oauth.client-secret-file", "--webex.oauth.refresh-token-file"}},
		{"OAuth without refresh token", []string{"--webex.oauth.client-id=id", "--webex.oauth.client-secret-file=" + secret}, []string{"--webex.oauth.refresh-token-file"}},
		{"OAuth without client id", []string{"--webex.oauth.client-secret-file=" + secret, "--webex.oauth.refresh-token-file=" + refresh}, []string{"--webex.oauth.client-id"}},
		{"token file and OAuth", []string{"--webex.token-file=" + tokenFile, "--webex.oauth.client-id=id",
			"--webex.oauth.client-secret-file=" + secret, "--webex.oauth.refresh-token-file=" + refresh}, []string{"--webex.token-file", "--webex.oauth"}},
		{"no token", nil, []string{tokenEnv, "--webex.token-file", "--demo"}},
		{"missing token file", []string{"--webex.token-file=" + filepath.Join(dir, "nope")}, []string{"--webex.token-file", "nope"}},
		{"empty token file", []string{"--webex.token-file=" + emptyFile}, []string{"--webex.token-file", "empty"}},
		{"relative telemetry path", []string{"--demo", "--web.telemetry-path=metrics"}, []string{"--web.telemetry-path", `"metrics"`}},
		{"empty telemetry path", []string{"--demo", "--web.telemetry-path="}, []string{"--web.telemetry-path"}},
		{"negative max requests", []string{"--demo", "--web.max-requests=-1"}, []string{"--web.max-requests=-1"}},
		{"memberships refresh 0", []string{"--demo", "--collector.memberships.refresh=0s"}, []string{"--collector.memberships.refresh"}},
		{"log level", []string{"--demo", "--log.level=loud"}, []string{"--log.level", "loud"}},
		{"log format", []string{"--demo", "--log.format=xml"}, []string{"--log.format", "xml"}},
		{"API URL", []string{"--webex.token-file=" + tokenFile, "--webex.api-url=ftp://example.com/v1"}, []string{"--webex.api-url"}},
		{"unknown flag", []string{"--demo", "--webex.room-types=group"}, []string{"--webex.room-types"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Should run wrongly accept the flags, it stops at once.
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			var stderr bytes.Buffer
			err := run(ctx, append(c.args, "--web.listen-address=127.0.0.1:0"), &stderr)
			if err == nil {
				t.Fatalf("run(%q) accepted them\n%s", c.args, stderr.String())
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not name %q", msg, w)
				}
			}
		})
	}
}

func TestValidFlags(t *testing.T) {
	var stderr bytes.Buffer
	cfg, err := parseFlags([]string{
		"--webex.room-type=group", "--webex.room-type=direct", "--webex.room-include=Ops.*", "--webex.room-exclude=",
		"--collector.messages.windows=24h, 15m", "--web.scrape-timeout=30s", "--web.timeout-offset=0s", "--web.max-requests=0",
		"--log.level=debug", "--log.format=json",
	}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.windows) != 2 || cfg.windows[0].Name != "15m" || len(cfg.filter.Types) != 2 || cfg.filter.Include == nil ||
		cfg.filter.Exclude != nil || cfg.scrapeTimeout != 30*time.Second || cfg.timeoutOffset != 0 || cfg.maxRequests != 0 {
		t.Errorf("parsed %+v", cfg)
	}
}

func TestScrapeDeadline(t *testing.T) {
	const def, offset = 10 * time.Second, 500 * time.Millisecond
	for _, c := range []struct {
		name   string
		header string // "" for none
		def    time.Duration
		offset time.Duration
		want   time.Duration
	}{
		{"no header", "", def, offset, 9500 * time.Millisecond},
		{"header 5", "5", def, offset, 4500 * time.Millisecond},
		{"fractional header", "2.5", def, offset, 2 * time.Second},
		{"header above the default", "30", def, offset, 29500 * time.Millisecond},
		{"garbage header", "soon", def, offset, 9500 * time.Millisecond},
		{"zero header", "0", def, offset, 9500 * time.Millisecond},
		{"negative header", "-5", def, offset, 9500 * time.Millisecond},
		{"NaN header", "NaN", def, offset, 9500 * time.Millisecond},
		{"infinite header", "+Inf", def, offset, 9500 * time.Millisecond},
		{"header of a week", "604800", def, offset, 9500 * time.Millisecond},
		{"no offset", "5", def, 0, 5 * time.Second},
		// An offset that would leave nothing is not subtracted.
		{"offset above the header", "0.2", def, offset, 200 * time.Millisecond},
		{"offset equal to the header", "0.5", def, offset, 500 * time.Millisecond},
		{"offset above the default", "", 300 * time.Millisecond, offset, 300 * time.Millisecond},
	} {
		h := http.Header{}
		if c.header != "" {
			h.Set("X-Prometheus-Scrape-Timeout-Seconds", c.header)
		}
		if got := scrapeDeadline(h, c.def, c.offset); got != c.want {
			t.Errorf("%s: scrapeDeadline(%q, %s, %s) = %s, want %s", c.name, c.header, c.def, c.offset, got, c.want)
		}
	}
}

// --- 5. The scrape deadline end to end ---

func TestScrapeDeadlineEndToEnd(t *testing.T) {
	api := fakeAPI(t, activeOrg())
	// Every room's messages are slower than any scrape may take.
	api.InjectFault(webextest.Fault{Endpoint: "messages", Delay: time.Minute})
	tokenFile := writeFile(t, t.TempDir(), "token", webextest.DefaultToken)
	// The offset leaves 2 s to answer after the deadline: room enough on a
	// loaded 2-core machine under -race (the default 0.5 s is for a
	// scrape's gathering, not for the race detector's).
	e := startExporter(t, "--webex.api-url="+api.URL, "--webex.token-file="+tokenFile, "--web.timeout-offset=2s")

	start := time.Now()
	code, body := e.get("/metrics", "X-Prometheus-Scrape-Timeout-Seconds", "4")
	took := time.Since(start)
	if code != http.StatusOK {
		t.Fatalf("/metrics answered %d: %s", code, clip(body))
	}
	if took >= 4*time.Second {
		t.Errorf("a scrape with a 4s timeout took %s", took)
	}
	if took < 1900*time.Millisecond {
		t.Errorf("the scrape gave up after %s, before its 2s deadline", took)
	}
	if v := value(t, body, "webex_up"); v != 1 {
		t.Errorf("webex_up %v, want 1 (the rooms were listed)", v)
	}
	if v := value(t, body, "webex_rooms_pending"); v <= 0 {
		t.Errorf("webex_rooms_pending %v, want > 0", v)
	}
	if v := value(t, body, `webex_scrape_collector_success{collector="messages"}`); v != 0 {
		t.Errorf(`webex_scrape_collector_success{collector="messages"} %v, want 0`, v)
	}
	if n := api.Requests()["messages"]; n == 0 {
		t.Error("no /messages call was made")
	}
}

// TestAccountLearnedAtStart: the exporter asks /people/me which account the
// token is at start (while it already serves), and logs the type; the first
// scrape then does not ask again.
func TestAccountLearnedAtStart(t *testing.T) {
	org := activeOrg()
	org.Me.Type = "bot"
	api := fakeAPI(t, org)
	tokenFile := writeFile(t, t.TempDir(), "token", webextest.DefaultToken)
	e := startExporter(t, "--webex.api-url="+api.URL, "--webex.token-file="+tokenFile)
	waitCalls(t, api, "people/me", 1)
	if c := api.Requests(); c["people/me"] != 1 || api.RequestsTotal() != 1 {
		t.Errorf("before any scrape: %v; want exactly one /people/me call", c)
	}
	if code, _ := e.get("/"); code != 200 {
		t.Fatalf("landing page: %d", code)
	}
	if code, body := e.get("/metrics"); code != 200 || value(t, body, "webex_up") != 1 {
		t.Fatalf("scrape: %d, webex_up %v", code, value(t, body, "webex_up"))
	}
	// The scrape waited for the call made at start (or found it done).
	if !strings.Contains(e.logs.String(), `msg="Webex account" type=bot`) {
		t.Errorf("the account type is not logged at start:\n%s", e.logs)
	}
	if n := api.Requests()["people/me"]; n != 1 {
		t.Errorf("%d /people/me calls after the first scrape; want still 1", n)
	}
}
