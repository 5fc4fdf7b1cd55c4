package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/webex-exporter/webex_exporter/collector"
	"github.com/webex-exporter/webex_exporter/webex"
	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// TestTakenPortStopsRun: when either listener cannot bind its port, run
// returns an error that says which, and stops the other server.
func TestTakenPortStopsRun(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	api := fakeAPI(t, activeOrg())
	tokenFile := writeFile(t, t.TempDir(), "token", webextest.DefaultToken)
	base := []string{"--webex.api-url=" + api.URL, "--webex.token-file=" + tokenFile}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"metrics", []string{"--web.listen-address=" + taken.Addr().String()}, "address already in use"},
		{"webhook", []string{"--web.listen-address=127.0.0.1:0", "--webhook.url=http://" + taken.Addr().String() + "/hook",
			"--webhook.listen-address=" + taken.Addr().String()}, "webhook listener"},
	} {
		t.Run(c.name, func(t *testing.T) {
			logs := newLogSink()
			done := make(chan error, 1)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go func() { done <- run(ctx, append(base, c.args...), logs) }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("run returned %v, want an error with %q\nlogs:\n%s", err, c.want, logs)
				}
			case <-time.After(15 * time.Second):
				cancel()
				<-done
				t.Fatal("run kept running with a listener that could not bind")
			}
		})
	}
}

// signalWriter sends on ch for each write that contains s.
type signalWriter struct {
	w  io.Writer
	s  string
	ch chan struct{}
}

func (w signalWriter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), w.s) {
		w.ch <- struct{}{}
	}
	return w.w.Write(p)
}

// countingListener counts the connections it hands out that are not
// closed yet, and the process's open files at each accept.
type countingListener struct {
	net.Listener
	fds func() int

	mu                    sync.Mutex
	open, maxOpen, maxFDs int
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open++
	l.maxOpen = max(l.maxOpen, l.open)
	l.maxFDs = max(l.maxFDs, l.fds())
	return &countedConn{Conn: c, l: l}, nil
}

type countedConn struct {
	net.Conn
	l    *countingListener
	once sync.Once
}

// Close counts the connection closed before it frees its slot.
func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.open--
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// openFDs is the number of files the test process has open.
func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// TestWebhookListenerBoundsStalledDeliveries: a flood of connections that
// stall (a delivery's headers and one byte of its body, or half a header
// line) holds at most maxConns of the webhook listener at once, each for
// at most its read timeout, while the metrics port answers; a kept-alive
// connection is closed after the idle timeout. Real sockets on 127.0.0.1.
func TestWebhookListenerBoundsStalledDeliveries(t *testing.T) {
	const flood = 256
	limits := listenerLimits{readTimeout: 500 * time.Millisecond, writeTimeout: time.Second, idleTimeout: 500 * time.Millisecond, maxConns: 64}
	hookAddr, metricsAddr := freeAddr(t), freeAddr(t)
	cfg := &webhookConfig{url: "http://" + hookAddr + "/hook", listenAddress: hookAddr}
	logs := newLogSink()
	listening := make(chan struct{}, 2)
	slogger := slog.New(slog.NewTextHandler(signalWriter{logs, "Listening on", listening}, nil))
	// The real handler; push is never reached: the stalled deliveries fail
	// reading the body, and a GET is answered 405.
	hook := webhookServer(cfg, limits, deliveryHandler(nil, log.NewNopLogger()), log.NewNopLogger(), slogger)

	counted := &countingListener{fds: func() int { return openFDs(t) }}
	listen := hook.listen
	hook.listen = func() (net.Listener, error) {
		l, err := listen()
		counted.Listener = l
		return counted, err
	}
	baseFDs := openFDs(t)
	addrs, systemd, noConfig := []string{metricsAddr}, false, ""
	metrics := server{
		srv: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "up\n") }),
			ReadHeaderTimeout: time.Second},
		flags: &web.FlagConfig{WebListenAddresses: &addrs, WebSystemdSocket: &systemd, WebConfigFile: &noConfig},
		log:   slogger,
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, metrics, hook) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	client := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	// Both listen once exporter-toolkit says so.
	for range 2 {
		select {
		case <-listening:
		case err := <-served:
			t.Fatalf("serve returned %v before listening\n%s", err, logs)
		case <-time.After(10 * time.Second):
			t.Fatalf("the listeners did not start\n%s", logs)
		}
	}

	// A kept-alive connection: one request, then idle.
	idle, err := net.Dial("tcp", hookAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	fmt.Fprintf(idle, "GET /hook HTTP/1.1\r\nHost: x\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil || res.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET on a kept-alive connection: %v %v", res, err)
	}
	idleSince := time.Now()

	start := time.Now()
	conns := make([]net.Conn, flood)
	for i := range conns {
		c, err := net.Dial("tcp", hookAddr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		defer c.Close()
		if i%2 == 0 {
			fmt.Fprintf(c, "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\nX-Spark-Signature: ab\r\n\r\n{")
		} else {
			fmt.Fprintf(c, "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Le")
		}
		conns[i] = c
	}
	// The metrics port answers during the flood.
	if code, body := httpGet(t, client, "http://"+metricsAddr+"/metrics"); code != http.StatusOK || body != "up\n" {
		t.Errorf("metrics port during the flood: %d %q", code, body)
	}
	// Every stalled connection is closed by the listener: the reads end
	// (EOF, or a reset) well before their own deadline (without a read
	// timeout they never would).
	for i, c := range conns {
		c.SetReadDeadline(start.Add(30 * time.Second))
		_, err := io.Copy(io.Discard, c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("stalled connection %d still open after %s", i, time.Since(start))
		}
	}
	took := time.Since(start)
	// 256 connections, 64 at a time, each closed after 0.5 s: 2 s. A
	// ceiling five times that, for a loaded 2-core machine under -race
	// (with the default 5 s read timeout it would be 20 s).
	if rounds := time.Duration((flood + limits.maxConns - 1) / limits.maxConns); took > 5*rounds*limits.readTimeout {
		t.Errorf("the flood took %s to be closed, want about %s", took, rounds*limits.readTimeout)
	}
	idle.SetReadDeadline(idleSince.Add(10 * time.Second))
	if n, err := idle.Read(make([]byte, 1)); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the kept-alive connection was not closed when idle: %d, %v", n, err)
	}
	counted.mu.Lock()
	defer counted.mu.Unlock()
	if counted.maxOpen > limits.maxConns {
		t.Errorf("%d connections open at once; the limit is %d", counted.maxOpen, limits.maxConns)
	}
	// The test's own ends of the connections (flood + 1), the listener's
	// (at most the limit) and a few more.
	if want := baseFDs + flood + 1 + limits.maxConns + 16; counted.maxFDs > want {
		t.Errorf("%d files open at the peak (%d before); want at most %d", counted.maxFDs, baseFDs, want)
	}
	t.Logf("flood of %d closed in %s; at most %d connections and %d files open (%d before)", flood, took, counted.maxOpen, counted.maxFDs, baseFDs)
}

// TestSlowReadersFreeTheirSlots: clients that ask for the plain text and
// never read it hold a --web.max-requests slot no longer than their
// scrape's deadline plus writeMargin; then a scrape gets 200 again. Real
// sockets on 127.0.0.1.
func TestSlowReadersFreeTheirSlots(t *testing.T) {
	const slots = 4
	// Rooms enough for the answer (about 1,400 bytes a room) to overflow
	// the exporter's send buffer, which grows up to tcp_wmem's maximum
	// (4 MiB by default).
	sndbuf := 4 << 20
	if b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_wmem"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 3 {
			if n, err := strconv.Atoi(f[2]); err == nil {
				sndbuf = n
			}
		}
	}
	rooms := (sndbuf + 1<<20) / 1400
	api := fakeAPI(t, webextest.GenerateOrg(webextest.OrgConfig{Seed: 3, Rooms: rooms, ActiveFraction: -1}))
	tokenFile := writeFile(t, t.TempDir(), "token", webextest.DefaultToken)
	e := startExporter(t, "--webex.api-url="+api.URL, "--webex.token-file="+tokenFile,
		fmt.Sprintf("--web.max-requests=%d", slots), "--webex.min-interval=1h")
	code, body := e.get("/metrics") // the one refresh: later scrapes are answered from it
	if code != http.StatusOK {
		t.Fatalf("first scrape: %d", code)
	}
	t.Logf("%d rooms: the answer is %d bytes", rooms, len(body))

	// Each slow reader's receive buffer is small, as a slow link's would be.
	dialer := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) }); err != nil {
			return err
		}
		return serr
	}}
	// The slow readers' scrape timeout: the 503 below must come before
	// their slots are freed (3.5 s deadline + writeMargin after they
	// asked), with room for a loaded 2-core machine under -race.
	const timeout = 4 * time.Second
	start := time.Now()
	slow := make([]net.Conn, slots)
	for i := range slow {
		c, err := dialer.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /metrics HTTP/1.1\r\nHost: %s\r\nX-Prometheus-Scrape-Timeout-Seconds: %g\r\n\r\n", e.addr, timeout.Seconds())
		slow[i] = c
	}
	// Each slow reader is in the handler: its answer has begun (12 bytes
	// read of megabytes).
	for i, c := range slow {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		status := make([]byte, len("HTTP/1.1 200"))
		if _, err := io.ReadFull(c, status); err != nil || string(status) != "HTTP/1.1 200" {
			t.Fatalf("slow reader %d: %q %v", i, status, err)
		}
	}
	// Scrapes are refused while the slow readers hold every slot, and get
	// 200 once they are freed: the slow readers' deadline (timeout less
	// --web.timeout-offset) plus writeMargin after they asked, and a margin
	// for a slow machine (with -race, a scrape of this size takes a
	// second). A scrape every 20 ms.
	if code, body := e.get("/metrics"); code != http.StatusServiceUnavailable {
		t.Fatalf("a scrape while %d slow readers hold the %d slots: %d %q; want 503 (does the answer fit the sockets' buffers?)", slots, slots, code, clip(body))
	}
	freedBy := start.Add(timeout + writeMargin)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	refused := 1
	for {
		code, _ := e.get("/metrics")
		if code == http.StatusOK {
			break
		}
		if code == http.StatusServiceUnavailable {
			refused++
		}
		if time.Now().After(freedBy.Add(10 * time.Second)) {
			t.Fatalf("scrapes still get %d %s after the slow readers connected (refused %d)", code, time.Since(start), refused)
		}
		<-tick.C
	}
	took := time.Since(start)
	if took > timeout+writeMargin+5*time.Second {
		t.Errorf("a scrape got 200 only %s after the slow readers connected", took)
	}
	// The slow readers' answers were cut and their connections closed:
	// reading what is left ends before the whole answer did.
	for i, c := range slow {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := io.Copy(io.Discard, c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("slow reader %d: its connection is still open", i)
		}
		if n >= int64(len(body)) {
			t.Errorf("slow reader %d got %d bytes, the whole answer (%d)", i, n, len(body))
		}
	}
	t.Logf("%d scrapes refused; 200 again %s after %d slow readers connected", refused, took, slots)
}

// TestWebhookListenerErrorsLogLimited: what net/http logs of the webhook
// listener's connections (here failed TLS handshakes, which anyone can
// cause) is logged at most once a minute, with the count.
func TestWebhookListenerErrorsLogLimited(t *testing.T) {
	dir := t.TempDir()
	_, certFile, keyFile := writeCerts(t, dir)
	webConfig := writeFile(t, dir, "web.yml", fmt.Sprintf("tls_server_config:\n  cert_file: '%s'\n  key_file: '%s'\n", certFile, keyFile))
	hookAddr := freeAddr(t)
	cfg := &webhookConfig{url: "https://" + hookAddr + "/hook", listenAddress: hookAddr, configFile: webConfig}
	logs := newLogSink()
	listening := make(chan struct{}, 1)
	slogger := slog.New(slog.NewTextHandler(signalWriter{logs, "Listening on", listening}, nil))
	clk := &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	errorLog := newRateLimitedLogger(log.NewLogfmtLogger(logs), time.Minute, clk.now)
	hook := webhookServer(cfg, webhookLimits(), deliveryHandler(nil, log.NewNopLogger()), errorLog, slogger)
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, hook) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	select {
	case <-listening:
	case err := <-served:
		t.Fatalf("serve returned %v before listening\n%s", err, logs)
	case <-time.After(10 * time.Second):
		t.Fatalf("the listener did not start\n%s", logs)
	}
	// Bytes that are not TLS (nor HTTP, which net/http answers before it
	// logs): a failed handshake, logged before the connection is closed.
	notTLS := func() {
		t.Helper()
		c, err := net.Dial("tcp", hookAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "hello, not TLS\r\n")
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Fatalf("the listener did not close the connection: %v", err)
		}
	}
	const n = 200
	for range n {
		notTLS()
	}
	const msg = "The webhook listener's HTTP server reports an error"
	if got := counts(logs.String(), msg); len(got) != 1 || got[0] != 1 {
		t.Fatalf("%d failed handshakes: counts %v, want one line with count=1\n%s", n, got, clip(logs.String()))
	}
	if !strings.Contains(logs.String(), "TLS handshake error") {
		t.Errorf("the line does not say what failed:\n%s", logs)
	}
	clk.advance(time.Minute)
	notTLS()
	if got := counts(logs.String(), msg); len(got) != 2 || got[1] != n {
		t.Errorf("a minute later: counts %v, want [1 %d]\n%s", got, n, clip(logs.String()))
	}
}

// TestMetricsListenerClosesIdleConnections: the metrics listener keeps a
// connection open between requests for metricsIdleTimeout, long enough for
// a scraper to use it again a minute later, then closes it (net/http's
// default keeps it for ever: a client could hold as many as it opens).
func TestMetricsListenerClosesIdleConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, err := parseFlags([]string{"--webex.token-file=/nonexistent"}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		client, err := webex.New(webex.Options{BaseURL: "http://127.0.0.1:1/v1", Token: webex.StaticToken("unused")})
		if err != nil {
			t.Fatal(err)
		}
		tracker := collector.NewTracker(client, collector.Config{Windows: cfg.windows})
		s, err := metricsServer(cfg, tracker, prometheus.NewRegistry(), log.NewNopLogger(), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		mn := webextest.NewMemNet()
		l := mn.Listen()
		go s.srv.Serve(l)
		defer s.srv.Close()
		clientEnd, err := mn.Dial(context.Background(), "tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(clientEnd)
		get := func() {
			t.Helper()
			if _, err := io.WriteString(clientEnd, "GET / HTTP/1.1\r\nHost: exporter\r\n\r\n"); err != nil {
				t.Fatalf("the connection was closed: %v", err)
			}
			res, err := http.ReadResponse(r, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET /: %s", res.Status)
			}
		}
		get()
		time.Sleep(time.Minute) // a scrape interval later, the same connection
		get()
		time.Sleep(metricsIdleTimeout + time.Second)
		clientEnd.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := r.ReadByte(); err != io.EOF {
			t.Fatalf("after %s idle, reading the connection: %v, want it closed (EOF)", metricsIdleTimeout, err)
		}
	})
}
