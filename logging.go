package main

import (
	"log/slog"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	slgokit "github.com/tjhop/slog-gokit"
)

// One log format for every line: the exporter's own lines are go-kit's,
// level, ts, caller, msg, then the line's own keys (run adds ts and caller
// to the logger newLogger returns). exporter-toolkit logs through slog;
// slog-gokit hands its records to the same go-kit logger, but as level,
// caller, time (a time.Time), msg. sameKeysAsOwn rewrites that head into
// the exporter's, so a log pipeline keyed on either finds every line in one
// shape, in logfmt and in json (go-kit's json logger sorts the keys anyway).

// withHead gives next's lines the exporter's ts and caller (after level,
// which level.Info and friends put first): every go-kit logger the
// exporter logs through is made with it.
func withHead(next log.Logger) log.Logger {
	return log.With(next, "ts", log.DefaultTimestampUTC, "caller", log.DefaultCaller)
}

// newSlogger returns the slog.Logger for exporter-toolkit: its lines go to
// base (newLogger's logger, without ts and caller) in the exporter's format.
func newSlogger(base log.Logger, lvl slog.Leveler) *slog.Logger {
	return slog.New(slgokit.NewGoKitHandler(sameKeysAsOwn(base), lvl))
}

// The keys of a line's head, in the exporter's order.
var (
	levelKey  = level.Key()
	tsKey     = any("ts")
	callerKey = any("caller")
	msgKey    = any("msg")
	slogTime  = any(slog.TimeKey)
)

// sameKeysAsOwn turns slog-gokit's head (level, caller, time, msg: caller
// left out without a call site, time without a time) into the exporter's
// (level, ts, caller, msg), ts formatted as go-kit's DefaultTimestampUTC
// formats it (RFC 3339 with nanoseconds, UTC; now when the record had no
// time). What follows msg is kept as it is.
func sameKeysAsOwn(next log.Logger) log.Logger {
	return log.LoggerFunc(func(kv ...any) error {
		var lvl, caller, ts any
		i := 0
		for ; i+1 < len(kv) && kv[i] != msgKey; i += 2 {
			switch kv[i] {
			case levelKey:
				lvl = kv[i+1]
			case callerKey:
				caller = kv[i+1]
			case slogTime:
				if t, ok := kv[i+1].(time.Time); ok {
					ts = t.UTC().Format(time.RFC3339Nano)
				}
			default: // not slog-gokit's head: leave the line alone
				return next.Log(kv...)
			}
		}
		if ts == nil {
			ts = time.Now().UTC().Format(time.RFC3339Nano)
		}
		out := make([]any, 0, len(kv)+2)
		if lvl != nil {
			out = append(out, levelKey, lvl)
		}
		out = append(out, tsKey, ts)
		if caller != nil {
			out = append(out, callerKey, caller)
		}
		return next.Log(append(out, kv[i:]...)...)
	})
}
