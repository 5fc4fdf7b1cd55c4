package webex

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// TokenSource gives the bearer token for each request.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// Invalidator is a TokenSource that can fetch a fresh token after Webex
// refused the current one (401). Invalidate reports whether a retry may help.
type Invalidator interface {
	Invalidate() bool
}

// StaticToken is a token that never changes (for example from WEBEX_TOKEN).
type StaticToken string

// NewStaticToken cleans a token given as text (an environment variable, a
// secret made from a file) as a token file is cleaned: surrounding blanks
// and line ends are dropped, and it must be one token with no inner blanks.
func NewStaticToken(s string) (StaticToken, error) {
	tok, err := cleanToken(s)
	if err != nil {
		return "", err
	}
	return StaticToken(tok), nil
}

var (
	errEmptyToken  = errors.New("empty token")
	errTokenBlanks = errors.New("want one token on one line, with no blanks inside")
)

// cleanToken trims a token's surrounding blanks and line ends, and refuses
// an empty token or one with blanks inside (which no header can carry).
func cleanToken(s string) (string, error) {
	tok := strings.TrimSpace(s)
	if tok == "" {
		return "", errEmptyToken
	}
	if strings.ContainsAny(tok, " \t\r\n\v\f") {
		return "", errTokenBlanks
	}
	return tok, nil
}

// Token returns the token.
func (t StaticToken) Token(context.Context) (string, error) {
	if t == "" {
		return "", errors.New("empty token")
	}
	return string(t), nil
}

// String hides the token from any accidental %v.
func (t StaticToken) String() string { return "StaticToken(redacted)" }

// FileToken reads the token from a file and reads it again whenever the
// file changes (a rotated Kubernetes secret) or Webex refused the token.
type FileToken struct {
	path string

	mu      sync.Mutex
	token   string
	modTime time.Time
	size    int64
	stale   bool
}

// NewFileToken reads path once, so a missing or empty file fails at start.
func NewFileToken(path string) (*FileToken, error) {
	f := &FileToken{path: path}
	if _, err := f.Token(context.Background()); err != nil {
		return nil, err
	}
	return f, nil
}

// Token returns the file's token, re-reading the file if it changed.
func (f *FileToken) Token(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, err := os.Stat(f.path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	if f.token != "" && !f.stale && fi.ModTime().Equal(f.modTime) && fi.Size() == f.size {
		return f.token, nil
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	tok, err := cleanToken(string(b))
	if err != nil {
		return "", fmt.Errorf("token file %s: %w", f.path, err)
	}
	f.token, f.modTime, f.size, f.stale = tok, fi.ModTime(), fi.Size(), false
	return tok, nil
}

// Invalidate reads the file again after Webex refused its token, and
// reports whether the file now holds a different token worth a retry.
func (f *FileToken) Invalidate() bool {
	f.mu.Lock()
	old := f.token
	f.stale = true
	f.mu.Unlock()
	tok, err := f.Token(context.Background())
	return err == nil && tok != old
}

func (f *FileToken) String() string { return "FileToken(" + f.path + ")" }
