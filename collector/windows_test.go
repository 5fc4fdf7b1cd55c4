package collector

import (
	"testing"
	"time"
)

func TestParseWindows(t *testing.T) {
	ws, err := ParseWindows("24h, 1h,7d")
	if err != nil {
		t.Fatal(err)
	}
	want := []Window{{Name: "1h", Duration: time.Hour}, {Name: "24h", Duration: 24 * time.Hour}, {Name: "7d", Duration: 7 * 24 * time.Hour}}
	if len(ws) != len(want) {
		t.Fatalf("got %v, want %v", ws, want)
	}
	for i := range want {
		if ws[i] != want[i] {
			t.Errorf("window %d = %v, want %v", i, ws[i], want[i])
		}
	}
	for _, bad := range []string{"", ",", "1x", "0s", "1h,60m", "-1h"} {
		if _, err := ParseWindows(bad); err == nil {
			t.Errorf("ParseWindows(%q) accepted", bad)
		}
	}
}
