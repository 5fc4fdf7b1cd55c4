package collector

import (
	"context"
	"errors"

	"github.com/go-kit/log/level"

	"github.com/webex-exporter/webex_exporter/webex"
)

// The account the token belongs to decides what the exporter may ask (bots
// see less) and whose rooms the state holds: a state learned with another
// account's token, or restored from another account's state file, is
// discarded, never mixed.

// tokenGenerations is a Source that can tell when the token it sends
// changed (webex.Client).
type tokenGenerations interface{ TokenGeneration() uint64 }

func (t *Tracker) tokenGeneration() uint64 {
	if tg, ok := t.src.(tokenGenerations); ok {
		return tg.TokenGeneration()
	}
	return 0
}

// LearnAccount asks /people/me which account the token belongs to and logs
// it. The tracker does this by itself before its first listing, after a 401
// and when the token changes; calling it at start makes it known early.
// Callers while a call is under way share it (singleflight), each waiting
// at most until its own ctx ends; the call runs under the first caller's.
func (t *Tracker) LearnAccount(ctx context.Context) error {
	ch := t.learning.DoChan("me", func() (any, error) { return nil, t.learnAccount(ctx) })
	select {
	case r := <-ch:
		return r.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (t *Tracker) learnAccount(ctx context.Context) error {
	me, err := t.src.Me(ctx)
	if err != nil {
		return err
	}
	gen := t.tokenGeneration()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.account == nil || t.account.ID != me.ID || t.account.Type != me.Type {
		level.Info(t.logger).Log("msg", "Webex account", "type", me.Type, "name", me.DisplayName)
	}
	t.account, t.accountGen = &me, gen
	t.adoptLocked(me.ID)
	return nil
}

// adoptLocked makes the state the account's: a restored state file of the
// same account is taken over, one of another account is discarded, and so
// is the state of an account the token no longer belongs to.
func (t *Tracker) adoptLocked(id string) {
	if changed, forgotten := t.state.Owner(id); changed {
		level.Warn(t.logger).Log("msg", "The token now belongs to another Webex account; starting over with its rooms", "rooms_forgotten", forgotten)
		t.webhook.set(webhookState{}) // the other account's
	}
	if r := t.restored; r != nil {
		t.restored = nil
		if r.Account != id {
			level.Warn(t.logger).Log("msg", "The state file belongs to another Webex account; discarding it and starting cold", "file", t.stateFile.Path())
			return
		}
		t.restoreLocked(r)
	}
}

// ensureAccount learns the account when it is unknown or the token changed
// since it was learned. When Webex cannot say (other than refusing the
// token or rate-limiting), the exporter goes on assuming a person, unless a
// restored state waits for the account: then the refresh fails and the
// state is kept for the next one, rather than adopted blind or lost.
func (t *Tracker) ensureAccount(ctx context.Context) error {
	t.mu.Lock()
	known := t.account != nil && t.accountGen == t.tokenGeneration()
	waiting := t.restored != nil
	t.mu.Unlock()
	if known {
		return nil
	}
	err := t.LearnAccount(ctx)
	var rl *webex.RateLimitError
	switch {
	case err == nil:
		return nil
	case webex.IsUnauthorized(err) || errors.As(err, &rl) || ctx.Err() != nil || waiting:
		return err
	}
	level.Warn(t.logger).Log("msg", "Could not learn the account type; assuming a person", "err", err)
	return nil
}

// forgetAccount makes the next refresh ask who the token belongs to.
func (t *Tracker) forgetAccount() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.account = nil
}
