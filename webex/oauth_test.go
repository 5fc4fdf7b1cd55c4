package webex_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/webex-exporter/webex_exporter/webex"
	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// TestOAuthRefreshRotatesAndWritesBack: the access token is obtained with
// the refresh token, renewed before expiry, and each refresh token Webex
// rotates is written back to the file with its permissions.
func TestOAuthRefreshRotatesAndWritesBack(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 3, Rooms: 2, Now: t0})
	srv := webextest.NewServer(org, webextest.WithToken("not-issued-yet"))
	defer srv.Close()
	// Access tokens live 2 minutes, less than RefreshBefore: every call refreshes.
	srv.SetOAuth("client-id", "client-secret", "refresh-0", 2*time.Minute, true)
	path := filepath.Join(t.TempDir(), "refresh")
	if err := os.WriteFile(path, []byte("refresh-0\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	var observed []webex.RequestInfo
	tokens, err := webex.NewOAuthToken(webex.OAuthOptions{
		BaseURL: srv.URL, ClientID: "client-id", ClientSecret: "client-secret", RefreshTokenFile: path,
		Observe: func(r webex.RequestInfo) { observed = append(observed, r) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !tokens.Expiry().IsZero() {
		t.Error("expiry known before any refresh")
	}
	c := newClient(t, srv, tokens)
	for i := range 3 {
		before := time.Now()
		if _, err := c.Me(ctx(t)); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.TrimSpace(string(b)), srv.RefreshToken(); got != want || want == "refresh-0" {
			t.Fatalf("call %d: file holds %q; Webex's current refresh token is %q", i, got, want)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
			t.Errorf("file mode became %v; want 0640 kept", fi.Mode().Perm())
		}
		if exp := tokens.Expiry(); exp.Before(before.Add(2*time.Minute-time.Second)) || exp.After(time.Now().Add(2*time.Minute+time.Second)) {
			t.Errorf("call %d: expiry %v; want about 2 minutes from now", i, exp)
		}
	}
	if n := srv.Requests()["access_token"]; n != 3 {
		t.Errorf("%d refreshes for 3 calls with 2-minute tokens; want 3", n)
	}
	if len(observed) != 3 || observed[0].Endpoint != "access_token" || observed[0].Code != "200" {
		t.Errorf("observed %+v; want 3 access_token calls with 200", observed)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left next to the refresh token file: %v", entries)
	}
}

// TestOAuthLongLivedTokenIsReused: a 14-day token is fetched once, and a
// 401 (revoked token) makes exactly one refresh.
func TestOAuthLongLivedTokenIsReused(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 3, Rooms: 2, Now: t0})
	srv := webextest.NewServer(org, webextest.WithToken("not-issued-yet"))
	defer srv.Close()
	srv.SetOAuth("id", "secret", "refresh-0", 0, false)
	path := filepath.Join(t.TempDir(), "refresh")
	os.WriteFile(path, []byte("refresh-0"), 0o600)
	tokens, err := webex.NewOAuthToken(webex.OAuthOptions{BaseURL: srv.URL, ClientID: "id", ClientSecret: "secret", RefreshTokenFile: path})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv, tokens)
	for range 3 {
		if _, err := c.Me(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Requests()["access_token"]; n != 1 {
		t.Errorf("%d refreshes; want 1 for a 14-day token", n)
	}
	srv.SetToken("revoked-elsewhere")
	if _, err := c.Me(ctx(t)); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	if n := srv.Requests()["access_token"]; n != 2 {
		t.Errorf("%d refreshes; want 2 (one after the 401)", n)
	}

	// Wrong client secret: a clear error, with no secret in it.
	bad, _ := webex.NewOAuthToken(webex.OAuthOptions{BaseURL: srv.URL, ClientID: "id", ClientSecret: "wrong-secret", RefreshTokenFile: path})
	_, err = newClient(t, srv, bad).Me(ctx(t))
	if err == nil || strings.Contains(err.Error(), "wrong-secret") || strings.Contains(err.Error(), "refresh-0") {
		t.Errorf("err = %v; want a refusal without secrets", err)
	}
}

// TestOAuthWriteBackThroughLink: a refresh token file given as a symbolic
// link (a mounted secret) is written through: the link stays a link and its
// target holds the rotated token.
func TestOAuthWriteBackThroughLink(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 3, Rooms: 2, Now: t0})
	srv := webextest.NewServer(org, webextest.WithToken("not-issued-yet"))
	defer srv.Close()
	srv.SetOAuth("client-id", "client-secret", "refresh-0", 2*time.Minute, true)
	dir := t.TempDir()
	target := filepath.Join(dir, "data", "refresh")
	if err := os.Mkdir(filepath.Dir(target), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, []byte("refresh-0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "refresh")
	if err := os.Symlink("data/refresh", link); err != nil {
		t.Fatal(err)
	}
	tokens, err := webex.NewOAuthToken(webex.OAuthOptions{BaseURL: srv.URL, ClientID: "client-id", ClientSecret: "client-secret", RefreshTokenFile: link})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newClient(t, srv, tokens).Me(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced (%v, %v)", fi.Mode(), err)
	}
	b, err := os.ReadFile(target)
	if got := strings.TrimSpace(string(b)); err != nil || got != srv.RefreshToken() || got == "refresh-0" {
		t.Errorf("the link's target holds the rotated token: %v (err %v)", got == srv.RefreshToken(), err)
	}
}
