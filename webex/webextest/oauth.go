package webextest

import (
	"fmt"
	"net/http"
	"time"
)

// oauthConfig is the integration the server accepts refreshes for.
type oauthConfig struct {
	clientID, clientSecret string
	refreshToken           string
	accessTTL              time.Duration
	rotate                 bool
	issued                 int
}

type wireToken struct {
	AccessToken           string `json:"access_token"`
	ExpiresIn             int64  `json:"expires_in"`
	RefreshToken          string `json:"refresh_token"`
	RefreshTokenExpiresIn int64  `json:"refresh_token_expires_in"`
	TokenType             string `json:"token_type"`
}

type wireOAuthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	wireError
}

// refreshTTL is the refresh token lifetime the server announces (90 days).
const refreshTTL = 90 * 24 * time.Hour

// SetOAuth enables POST /v1/access_token (grant_type=refresh_token) for an
// integration. A valid refresh answers a new access token that becomes the
// only accepted one, expiring after accessTTL (0: 14 days, Webex's); with
// rotate, a new refresh token replaces the old one, which is then refused.
func (s *Server) SetOAuth(clientID, clientSecret, refreshToken string, accessTTL time.Duration, rotate bool) {
	if accessTTL <= 0 {
		accessTTL = 1209599 * time.Second
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth = &oauthConfig{clientID: clientID, clientSecret: clientSecret, refreshToken: refreshToken, accessTTL: accessTTL, rotate: rotate}
}

// RefreshToken returns the currently valid refresh token ("" without
// SetOAuth).
func (s *Server) RefreshToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.oauth == nil {
		return ""
	}
	return s.oauth.refreshToken
}

// Token returns the currently accepted bearer token.
func (s *Server) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

func oauthError(status int, code, desc, tid string) reply {
	e := wireOAuthError{Error: code, Description: desc}
	e.Message, e.TrackingID = desc, tid
	e.Errors = append(e.Errors, struct {
		Description string `json:"description"`
	}{desc})
	return reply{status: status, body: mustJSON(e)}
}

// accessToken answers POST /v1/access_token.
func (s *Server) accessToken(r *http.Request, tid string) reply {
	if r.Method != http.MethodPost {
		rep := errorReply(http.StatusMethodNotAllowed, statusMessage(http.StatusMethodNotAllowed), tid)
		rep.header = http.Header{"Allow": {"POST"}}
		return rep
	}
	if err := r.ParseForm(); err != nil {
		return oauthError(http.StatusBadRequest, "invalid_request", "The request body must be application/x-www-form-urlencoded.", tid)
	}
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.oauth
	switch {
	case f.Get("grant_type") != "refresh_token":
		return oauthError(http.StatusBadRequest, "unsupported_grant_type", "grant_type must be refresh_token.", tid)
	case o == nil || f.Get("client_id") != o.clientID || f.Get("client_secret") != o.clientSecret:
		return oauthError(http.StatusUnauthorized, "invalid_client", "Client authentication failed.", tid)
	case f.Get("refresh_token") == "" || f.Get("refresh_token") != o.refreshToken:
		return oauthError(http.StatusBadRequest, "invalid_grant", "The refresh token provided is expired, revoked, malformed, or invalid.", tid)
	}
	o.issued++
	n := s.seq.Add(1)
	if o.rotate {
		o.refreshToken = fmt.Sprintf("webextest-refresh-%d-%x", o.issued, splitmix(n^0x52))
	}
	s.token = fmt.Sprintf("webextest-access-%d-%x", o.issued, splitmix(n))
	s.tokenExpiry = time.Now().Add(o.accessTTL)
	return okReply(wireToken{
		AccessToken:           s.token,
		ExpiresIn:             int64(o.accessTTL / time.Second),
		RefreshToken:          o.refreshToken,
		RefreshTokenExpiresIn: int64(refreshTTL / time.Second),
		TokenType:             "Bearer",
	})
}
