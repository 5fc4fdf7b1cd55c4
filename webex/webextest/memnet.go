package webextest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// MemNet is an in-memory network: HTTP servers listening on it and clients
// dialling them over net.Pipe connections, with no socket. A goroutine
// waiting on a socket is not durably blocked, so a testing/synctest
// bubble's clock would not move while one waits; on a MemNet every wait is
// on a channel of the bubble. Each listener has a name of its own
// ("webex1.test:80"). Close the clients' idle connections (CloseIdle) at
// the end of a test: a bubble ends only once its goroutines have.
type MemNet struct {
	mu         sync.Mutex
	listeners  map[string]*memListener
	transports []*http.Transport
}

// NewMemNet returns an empty network.
func NewMemNet() *MemNet { return &MemNet{listeners: map[string]*memListener{}} }

// Listen returns a new listener on the network.
func (mn *MemNet) Listen() net.Listener {
	mn.mu.Lock()
	defer mn.mu.Unlock()
	l := &memListener{addr: memAddr(fmt.Sprintf("webex%d.test:80", len(mn.listeners)+1)), conns: make(chan net.Conn), done: make(chan struct{})}
	mn.listeners[string(l.addr)] = l
	return l
}

// Serve starts an HTTP server on the network and returns it (close it).
func (mn *MemNet) Serve(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = mn.Listen()
	srv.Start()
	return srv
}

// Client returns an HTTP client dialling on the network (with
// http.DefaultTransport's limits otherwise).
func (mn *MemNet) Client() *http.Client {
	tr := &http.Transport{DialContext: mn.Dial, MaxIdleConns: 100, IdleConnTimeout: 90 * time.Second}
	mn.mu.Lock()
	defer mn.mu.Unlock()
	mn.transports = append(mn.transports, tr)
	return &http.Client{Transport: tr}
}

// CloseIdle closes the idle connections of the network's clients.
func (mn *MemNet) CloseIdle() {
	mn.mu.Lock()
	defer mn.mu.Unlock()
	for _, tr := range mn.transports {
		tr.CloseIdleConnections()
	}
}

var errConnRefused = errors.New("connection refused")

// Dial connects to the listener named addr, as a TCP dial would.
func (mn *MemNet) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	mn.mu.Lock()
	l := mn.listeners[addr]
	mn.mu.Unlock()
	if l == nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: errConnRefused}
	}
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
	case <-ctx.Done():
	}
	client.Close()
	server.Close()
	if err := ctx.Err(); err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	return nil, &net.OpError{Op: "dial", Net: network, Err: errConnRefused}
}

// memListener is a listener of a MemNet.
type memListener struct {
	addr   memAddr
	conns  chan net.Conn
	done   chan struct{}
	closed sync.Once
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.closed.Do(func() { close(l.done) })
	return nil
}

func (l *memListener) Addr() net.Addr { return l.addr }

// memAddr is a memListener's address, host:port.
type memAddr string

func (memAddr) Network() string  { return "mem" }
func (a memAddr) String() string { return string(a) }
