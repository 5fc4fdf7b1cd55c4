package webex

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// roomsPages is a listing of pages pages of 1,000 rooms as Webex writes
// them, each page's Link naming the next.
func roomsPages(pages int) [][]byte {
	var out [][]byte
	for p := range pages {
		var page bytes.Buffer
		page.WriteString(`{"items":[`)
		for i := range 1000 {
			if i > 0 {
				page.WriteString(",")
			}
			n := p*1000 + i
			id := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "ciscospark://us/ROOM/%08x-5a5b-11ee-9c3a-%012x", n, n*7919))
			fmt.Fprintf(&page, `{"id":%q,"title":"Project room %d","type":"group","isLocked":false,`+
				`"lastActivity":"2026-11-24T11:%02d:%02d.%03dZ","creatorId":%q,"created":"2025-03-0%dT08:00:00.000Z"}`,
				id, n, n%60, n%59, n%1000, id, 1+n%9)
		}
		page.WriteString(`]}`)
		out = append(out, page.Bytes())
	}
	return out
}

// serveRooms serves pages as /v1/rooms?page=N, without a Content-Length
// (chunked) when chunked, as Webex sends large answers.
func serveRooms(tb testing.TB, pages [][]byte, chunked bool) *Client {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if p+1 < len(pages) {
			w.Header().Set("Link", fmt.Sprintf(`<http://%s/v1/rooms?max=1000&page=%d>; rel="next"`, r.Host, p+1))
		}
		if !chunked {
			w.Header().Set("Content-Length", strconv.Itoa(len(pages[p])))
		}
		w.Header().Set("Content-Type", "application/json")
		for b := pages[p]; len(b) > 0; b = b[min(len(b), 32<<10):] {
			w.Write(b[:min(len(b), 32<<10)])
			if chunked {
				w.(http.Flusher).Flush()
			}
		}
	}))
	tb.Cleanup(srv.Close)
	c, err := New(Options{BaseURL: srv.URL + "/v1", Token: StaticToken("t")})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// TestRoomsPagesReused: every room of a listing whose pages are read into
// one reused buffer keeps its own id and title (nothing decoded from a
// page refers to the buffer the next page overwrites).
func TestRoomsPagesReused(t *testing.T) {
	pages := roomsPages(3)
	for _, chunked := range []bool{true, false} {
		c := serveRooms(t, pages, chunked)
		for range 2 { // the second listing into a slice sized by the first
			rooms, err := c.Rooms(context.Background(), RoomsQuery{})
			if err != nil || len(rooms) != 3000 {
				t.Fatalf("chunked %v: %d rooms, err %v", chunked, len(rooms), err)
			}
			for n, r := range rooms {
				id := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "ciscospark://us/ROOM/%08x-5a5b-11ee-9c3a-%012x", n, n*7919))
				if r.ID != id || r.Title != fmt.Sprintf("Project room %d", n) {
					t.Fatalf("chunked %v: room %d is %q %q, want %q", chunked, n, r.ID, r.Title, id)
				}
			}
		}
	}
}

// BenchmarkRoomsListing lists 10,000 rooms (ten pages of 1,000) from a
// local server, sent without a Content-Length as Webex sends large
// answers, and with one. Run it with
//
//	go test -run '^$' -bench RoomsListing -benchmem ./webex/
func BenchmarkRoomsListing(b *testing.B) {
	pages := roomsPages(10)
	for _, chunked := range []bool{true, false} {
		b.Run(fmt.Sprintf("chunked=%v", chunked), func(b *testing.B) {
			c := serveRooms(b, pages, chunked)
			for b.Loop() {
				if rooms, err := c.Rooms(context.Background(), RoomsQuery{}); err != nil || len(rooms) != 10000 {
					b.Fatalf("%d rooms, err %v", len(rooms), err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/room")
		})
	}
}
