package collector

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/webex-exporter/webex_exporter/collector/state"
)

// Window is a trailing window over which messages and senders are counted
// (state.Window).
type Window = state.Window

// ParseWindows reads a comma-separated list such as "1h,24h" (Prometheus
// duration syntax: 30m, 1h, 1d, 1w).
func ParseWindows(s string) ([]Window, error) {
	var ws []Window
	seen := map[time.Duration]string{}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		d, err := model.ParseDuration(name)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("window %q: want a positive duration such as 1h or 24h", name)
		}
		if prev, dup := seen[time.Duration(d)]; dup {
			return nil, fmt.Errorf("windows %q and %q are the same duration", prev, name)
		}
		seen[time.Duration(d)] = name
		ws = append(ws, Window{Name: name, Duration: time.Duration(d)})
	}
	if len(ws) == 0 {
		return nil, fmt.Errorf("no window in %q: want a list such as 1h,24h", s)
	}
	slices.SortFunc(ws, func(a, b Window) int { return int(a.Duration - b.Duration) })
	return ws, nil
}
