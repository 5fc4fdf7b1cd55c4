package collector

import (
	"testing"
	"time"

	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// BenchmarkRefreshBookkeeping measures what a warm refresh does to the
// state besides its API calls at 10,000 rooms (half of them active, 40
// messages each on average): the senders no history holds checked for
// (state.PruneSenders), and each room's history pruned to the widest
// window as the listing is merged (nothing to drop a minute on). Run it with
//
//	go test -run '^$' -bench RefreshBookkeeping -benchmem ./collector/
func BenchmarkRefreshBookkeeping(b *testing.B) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 1, Rooms: 10000, Now: t0, History: 24 * time.Hour,
		ActiveFraction: 0.5, MaxMessagesPerRoom: 79})
	e := &benchEnv{env: newEnv(b, org, Config{})}
	e.scrapeOnce(b)
	t := e.tracker
	b.Run("prune-senders", func(b *testing.B) {
		for b.Loop() {
			t.state.PruneSenders()
		}
	})
	b.Run("prune-histories", func(b *testing.B) {
		for b.Loop() {
			t.state.PruneHistories(t0.Add(time.Minute))
		}
	})
}
