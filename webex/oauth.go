package webex

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/webex-exporter/webex_exporter/internal/atomicfile"
)

// OAuthOptions configure an integration's token source.
type OAuthOptions struct {
	BaseURL          string // the API base; the token endpoint is BaseURL + "/access_token"
	ClientID         string
	ClientSecret     string
	RefreshTokenFile string // holds the refresh token; rewritten when Webex rotates it
	HTTPClient       *http.Client
	// RefreshBefore is how long before expiry the access token is renewed (default 5m).
	RefreshBefore time.Duration
	// Observe, if set, is called after every call to the token endpoint.
	Observe func(RequestInfo)
}

// OAuthToken is an integration's access token: it is obtained with the
// refresh token, renewed before it expires, and a refresh token that Webex
// rotates is written back to its file atomically, keeping its permissions.
type OAuthToken struct {
	conf   oauth2.Config
	file   string
	http   *http.Client
	before time.Duration

	mu      sync.Mutex
	refresh string
	tok     *oauth2.Token
	unsaved bool // the refresh token changed and is not in the file yet
}

// NewOAuthToken reads the refresh token file; no call is made yet.
func NewOAuthToken(o OAuthOptions) (*OAuthToken, error) {
	if o.ClientID == "" || o.ClientSecret == "" {
		return nil, errors.New("OAuth needs a client id and a client secret")
	}
	b, err := os.ReadFile(o.RefreshTokenFile)
	if err != nil {
		return nil, fmt.Errorf("refresh token file: %w", err)
	}
	refresh := strings.TrimSpace(string(b))
	if refresh == "" {
		return nil, fmt.Errorf("refresh token file %s is empty", o.RefreshTokenFile)
	}
	base := o.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	hc := http.Client{}
	if o.HTTPClient != nil {
		hc = *o.HTTPClient
	}
	if o.Observe != nil {
		rt := hc.Transport
		if rt == nil {
			rt = http.DefaultTransport
		}
		hc.Transport = observing{next: rt, observe: o.Observe}
	}
	t := &OAuthToken{
		conf: oauth2.Config{
			ClientID:     o.ClientID,
			ClientSecret: o.ClientSecret,
			Endpoint:     oauth2.Endpoint{TokenURL: strings.TrimRight(base, "/") + "/access_token", AuthStyle: oauth2.AuthStyleInParams},
		},
		file:    o.RefreshTokenFile,
		http:    &hc,
		before:  o.RefreshBefore,
		refresh: refresh,
	}
	if t.before <= 0 {
		t.before = 5 * time.Minute
	}
	return t, nil
}

// Token returns a valid access token, refreshing it when it is unknown or
// expires within RefreshBefore.
func (t *OAuthToken) Token(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok == nil || time.Until(t.tok.Expiry) <= t.before {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, t.http)
		tok, err := t.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: t.refresh}).Token()
		if err != nil {
			return "", fmt.Errorf("refreshing the access token: %w", stripURL(err))
		}
		t.tok = tok
		if tok.RefreshToken != "" && tok.RefreshToken != t.refresh {
			t.refresh, t.unsaved = tok.RefreshToken, true
		}
	}
	if t.unsaved {
		// Webex invalidated the old refresh token: without the new one in
		// the file, a restart would lose access. Fail loudly until saved.
		// Atomic, through a link, keeping the file's permissions (0600 if new).
		if err := atomicfile.Write(t.file, 0o600, func(w io.Writer) error {
			_, err := io.WriteString(w, t.refresh+"\n")
			return err
		}); err != nil {
			return "", fmt.Errorf("saving the rotated refresh token: %w", err)
		}
		t.unsaved = false
	}
	return t.tok.AccessToken, nil
}

// Invalidate drops the access token after Webex refused it, so the next
// call refreshes it.
func (t *OAuthToken) Invalidate() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tok = nil
	return true
}

// Expiry returns when the current access token expires (zero: none yet).
func (t *OAuthToken) Expiry() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok == nil {
		return time.Time{}
	}
	return t.tok.Expiry
}

func (t *OAuthToken) String() string { return "OAuthToken(" + t.file + ")" }

// observing reports round trips to the token endpoint.
type observing struct {
	next    http.RoundTripper
	observe func(RequestInfo)
}

func (o observing) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	res, err := o.next.RoundTrip(r)
	code := "error"
	if err == nil {
		code = fmt.Sprint(res.StatusCode)
	}
	o.observe(RequestInfo{Endpoint: "access_token", Code: code, Duration: time.Since(start)})
	return res, err
}
