package webex

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"3", 3 * time.Second, true},
		{" 3600 ", time.Hour, true},
		{"0", 0, true},
		{"-5", 0, true},
		{"3601", time.Hour, true},
		{"604800", time.Hour, true},
		{"99999999999", time.Hour, true},
		{"Tue, 01 Dec 2026 12:00:00 GMT", time.Hour, true},
		{"Tue, 24 Nov 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Tue, 24 Nov 2026 11:00:00 GMT", 0, true},
		{"rand(30),add(30)", 0, false},
		{"", 0, false},
		{"1.5", 0, false},
	}
	for _, c := range cases {
		got, ok := ParseRetryAfter(c.in, now)
		if got != c.want || ok != c.wantOK {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.wantOK)
		}
	}
}

func TestNextLink(t *testing.T) {
	cur, _ := url.Parse("https://webexapis.com/v1/rooms?max=2")
	cases := []struct {
		name    string
		headers []string
		want    string // "" for none
		wantErr bool
	}{
		{"none", nil, "", false},
		{"next", []string{`<https://webexapis.com/v1/rooms?cursor=abc>; rel="next"`}, "https://webexapis.com/v1/rooms?cursor=abc", false},
		{"first and next in one header", []string{`<https://webexapis.com/v1/rooms?c=1>; rel="first", <https://webexapis.com/v1/rooms?c=2>; rel="next"`}, "https://webexapis.com/v1/rooms?c=2", false},
		{"next in second header", []string{`<https://webexapis.com/v1/rooms?c=1>; rel="prev"`, `<https://webexapis.com/v1/rooms?c=3>; rel=next`}, "https://webexapis.com/v1/rooms?c=3", false},
		{"comma inside url", []string{`<https://webexapis.com/v1/rooms?a=1,2>; rel="next"`}, "https://webexapis.com/v1/rooms?a=1,2", false},
		{"several rels", []string{`<https://webexapis.com/v1/rooms?c=4>; rel="last next"`}, "https://webexapis.com/v1/rooms?c=4", false},
		{"relative", []string{`</v1/rooms?c=5>; rel="next"`}, "https://webexapis.com/v1/rooms?c=5", false},
		{"only prev", []string{`<https://webexapis.com/v1/rooms?c=1>; rel="prev"`}, "", false},
		{"garbage", []string{`https://webexapis.com/v1/rooms?c=1; rel="next"`}, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := nextLink(c.headers, cur)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error %v", err, c.wantErr)
			}
			gotS := ""
			if got != nil {
				gotS = got.String()
			}
			if gotS != c.want {
				t.Errorf("next = %q, want %q", gotS, c.want)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2016, 4, 21, 19, 12, 48, 920e6, time.UTC)
	for _, s := range []string{"2016-04-21T19:12:48.920Z", "2016-04-21T19:12:48.920+00:00", "2016-04-21T21:12:48.920+02:00"} {
		got, err := parseTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if got, err := parseTime("2016-04-21T19:12:48Z"); err != nil || !got.Equal(want.Truncate(time.Second)) {
		t.Errorf("without milliseconds: %v, %v", got, err)
	}
	if _, err := parseTime("21/04/2016"); err == nil {
		t.Error("parseTime accepted a non-RFC 3339 time")
	}
}

func TestNewRefusesBadURLsWithoutEchoingSecrets(t *testing.T) {
	for _, u := range []string{"https://SECRET-MARKER@webexapis.com/v1", "https://bot:SECRET-MARKER@webexapis.com/v1",
		"https://webexapis.com/v1?token=SECRET-MARKER", "webexapis.com/v1", "ftp://webexapis.com/v1", "http://%zz"} {
		_, err := New(Options{BaseURL: u, Token: StaticToken("x")})
		if err == nil {
			t.Errorf("New accepted %q", u)
			continue
		}
		if strings.Contains(err.Error(), "SECRET-MARKER") {
			t.Errorf("error for a URL with credentials echoes them: %v", err)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	c, err := New(Options{BaseURL: "https://webexapis.com:443/v1", Token: StaticToken("x")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"https://webexapis.com/v1/rooms?cursor=a", true},
		{"https://webexapis.com:443/v1/rooms", true},
		{"HTTPS://WebexAPIs.COM/v1/rooms", true},
		{"http://webexapis.com/v1/rooms", false},
		{"https://webexapis.com:8443/v1/rooms", false},
		{"https://webexapis.com.evil.example/v1/rooms", false},
		{"https://evil.example/v1/rooms", false},
	} {
		t.Run(tc.url, func(t *testing.T) {
			u, err := url.Parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.sameOrigin(u); got != tc.want {
				t.Errorf("sameOrigin(%s) = %v, want %v", tc.url, got, tc.want)
			}
		})
	}
}
