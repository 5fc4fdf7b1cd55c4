package main

// The state file across restarts, as main wires it: loaded before the first
// scrape, written at shutdown, set aside when corrupt; and the listener
// opening while Webex hangs.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// TestMain lets a test run the exporter's real main() in a child process
// (to send it a real SIGTERM).
func TestMain(m *testing.M) {
	if os.Getenv("WEBEX_EXPORTER_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// waitCalls waits until the fake has answered n calls of endpoint.
func waitCalls(t *testing.T, api *webextest.Server, endpoint string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := api.WaitRequests(ctx, endpoint, n); err != nil {
		t.Fatalf("waiting for %d %s calls: %v (got %v)", n, endpoint, err, api.Requests())
	}
}

// TestListensBeforeAccountKnown: with /people/me hanging, the listener
// opens at once and answers (a liveness probe passes); the account is
// learned in the background and the first scrape shares that call.
func TestListensBeforeAccountKnown(t *testing.T) {
	api := fakeAPI(t, activeOrg())
	release := api.Hold("people/me")
	defer release()
	tokenFile := writeFile(t, t.TempDir(), "token", webextest.DefaultToken)
	e := startExporter(t, "--webex.api-url="+api.URL, "--webex.token-file="+tokenFile, "--web.scrape-timeout=30s")
	if code, _ := e.get("/"); code != 200 {
		t.Fatalf("landing page while /people/me hangs: %d, want 200", code)
	}
	waitCalls(t, api, "people/me", 1) // arrived, held
	release()
	if code, body := e.get("/metrics"); code != 200 || value(t, body, "webex_up") != 1 {
		t.Fatalf("scrape after /people/me answered: %d, webex_up %v", code, value(t, body, "webex_up"))
	}
	if n := api.Requests()["people/me"]; n != 1 {
		t.Errorf("%d /people/me calls; want 1 (the scrape shares the one made at start)", n)
	}
}

// TestRestartWithStateFile: converge, stop, post messages to some rooms,
// start again on the same state file. The first scrape costs what a warm
// scrape costs (the account, one listing, one read per room that moved),
// its values are exact, and no counter goes backwards.
func TestRestartWithStateFile(t *testing.T) {
	api := fakeAPI(t, activeOrg())
	dir := t.TempDir()
	tokenFile := writeFile(t, dir, "token", webextest.DefaultToken)
	stateFile := filepath.Join(dir, "state.json")
	args := []string{"--webex.api-url=" + api.URL, "--webex.token-file=" + tokenFile, "--state.file=" + stateFile}
	rooms := api.Rooms()
	people := api.Org().People
	total := func(body, roomID string) float64 {
		return value(t, body, fmt.Sprintf("webex_room_messages_total{room_id=%q}", roomID))
	}

	first := startExporter(t, args...)
	_, body := first.get("/metrics") // cold: every room read, no counter moved
	for _, r := range rooms {
		if got := total(body, r.ID); got != 0 {
			t.Fatalf("room %s: counter %v after the first read; want 0 (the backlog is not counted)", r.ID, got)
		}
	}
	api.PostMessage(rooms[0].ID, people[0].ID, time.Now())
	_, body = first.get("/metrics")
	if got := total(body, rooms[0].ID); got != 1 {
		t.Fatalf("room 0: counter %v after one new message; want 1", got)
	}
	if err := first.stop(); err != nil {
		t.Fatalf("first run: %v\n%s", err, first.logs)
	}
	if !strings.Contains(first.logs.String(), "State written") {
		t.Errorf("no state written at shutdown:\n%s", first.logs)
	}

	// While it was down: two more messages in room 0, one in room 1.
	for _, p := range []struct{ room, person int }{{0, 1}, {0, 2}, {1, 3}} {
		api.PostMessage(rooms[p.room].ID, people[p.person].ID, time.Now())
	}
	api.ResetRequests()
	second := startExporter(t, args...)
	waitCalls(t, api, "people/me", 1)
	_, body = second.get("/metrics")
	if c := api.Requests(); c["people/me"] != 1 || c["rooms"] != 1 || c["messages"] != 2 || api.RequestsTotal() != 4 {
		t.Errorf("first scrape after the restart made %v; want 1 people/me, 1 rooms, 2 messages (the rooms that moved)", c)
	}
	if value(t, body, "webex_up") != 1 || value(t, body, "webex_rooms_pending") != 0 {
		t.Errorf("after the restart: webex_up %v, pending %v", value(t, body, "webex_up"), value(t, body, "webex_rooms_pending"))
	}
	for i, want := range map[int]float64{0: 3, 1: 1, 2: 0} {
		if got := total(body, rooms[i].ID); got != want {
			t.Errorf("room %d: counter %v after the restart; want %v (continued, not reset)", i, got, want)
		}
	}
	for _, r := range rooms {
		series := fmt.Sprintf("webex_room_recent_messages{room_id=%q,window=\"24h\"}", r.ID)
		if got, want := value(t, body, series), float64(len(api.Messages(r.ID))); got != want {
			t.Errorf("room %s: %v messages in 24h after the restart; want %v", r.ID, got, want)
		}
	}
	if value(t, body, "webex_state_write_failures_total") != 0 {
		t.Errorf("state write failures: %v", value(t, body, "webex_state_write_failures_total"))
	}
}

// TestCorruptStateFile: a torn, garbled or unknown-version state file is
// set aside as PATH.corrupt with a warning that names it; the exporter
// starts cold and works.
func TestCorruptStateFile(t *testing.T) {
	for name, content := range map[string]string{
		"truncated":       `{"version":1,"written":"2026-11-24T12:00:00Z","account":"x","rooms":[{"id":"a"`,
		"garbage":         "\x00\x01 not json",
		"unknown version": `{"version":99,"account":"x","widest_ms":86400000,"rooms":[]}`,
		"bad sender":      `{"version":1,"account":"x","widest_ms":86400000,"senders":[],"rooms":[{"id":"a","at":[1],"ids":[2],"senders":[5]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			api := fakeAPI(t, activeOrg())
			dir := t.TempDir()
			tokenFile := writeFile(t, dir, "token", webextest.DefaultToken)
			stateFile := writeFile(t, dir, "state.json", content)
			e := startExporter(t, "--webex.api-url="+api.URL, "--webex.token-file="+tokenFile, "--state.file="+stateFile)
			if code, body := e.get("/metrics"); code != 200 || value(t, body, "webex_up") != 1 {
				t.Fatalf("scrape: %d, webex_up %v", code, value(t, body, "webex_up"))
			}
			aside, err := os.ReadFile(stateFile + ".corrupt")
			if err != nil || string(aside) != content {
				t.Errorf("the corrupt file was not set aside as %s.corrupt: %v", stateFile, err)
			}
			if !strings.Contains(e.logs.String(), "level=warn") || !strings.Contains(e.logs.String(), stateFile+".corrupt") {
				t.Errorf("no warning naming the file set aside:\n%s", e.logs)
			}
			if api.Requests()["messages"] != len(api.Rooms()) {
				t.Errorf("%d message reads; want a cold start (%d)", api.Requests()["messages"], len(api.Rooms()))
			}
		})
	}
}

// TestStateFileOfAnotherAccount: a state file written for another account
// (the token now belongs to someone else) is discarded with a log line.
func TestStateFileOfAnotherAccount(t *testing.T) {
	api := fakeAPI(t, activeOrg())
	dir := t.TempDir()
	tokenFile := writeFile(t, dir, "token", webextest.DefaultToken)
	stateFile := filepath.Join(dir, "state.json")
	args := []string{"--webex.api-url=" + api.URL, "--webex.token-file=" + tokenFile, "--state.file=" + stateFile}
	first := startExporter(t, args...)
	first.get("/metrics")
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}

	org := api.Org()
	other := org.Me
	other.ID = webextest.MakeID("PEOPLE", 999)
	api.SetMe(other)
	api.ResetRequests()
	second := startExporter(t, args...)
	if code, body := second.get("/metrics"); code != 200 || value(t, body, "webex_up") != 1 {
		t.Fatalf("scrape: %d", code)
	}
	if !strings.Contains(second.logs.String(), "belongs to another Webex account") {
		t.Errorf("no log line about the state file of another account:\n%s", second.logs)
	}
	if n := api.Requests()["messages"]; n != len(api.Rooms()) {
		t.Errorf("%d message reads; want a cold start (%d)", n, len(api.Rooms()))
	}
}

// TestSIGTERMWritesState runs the real main in a child process: on SIGTERM
// it stops serving, writes the state file and exits 0 within 10 s.
func TestSIGTERMWritesState(t *testing.T) {
	api := fakeAPI(t, activeOrg())
	dir := t.TempDir()
	stateFile := filepath.Join(dir, "state.json")
	cmd := exec.Command(os.Args[0], "--web.listen-address=127.0.0.1:0", "--webex.api-url="+api.URL,
		"--state.file="+stateFile, "--state.interval=1h")
	cmd.Env = append(os.Environ(), "WEBEX_EXPORTER_TEST_MAIN=1", "WEBEX_TOKEN="+webextest.DefaultToken)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() }) //nolint:errcheck // already exited, normally
	logs := newLogSink()
	go io.Copy(logs, stderr) //nolint:errcheck // ends with the process
	var addr string
	select {
	case addr = <-logs.addr:
	case <-time.After(15 * time.Second):
		t.Fatalf("the exporter did not listen:\n%s", logs)
	}
	c := &exporter{t: t, client: &http.Client{Timeout: 30 * time.Second}, url: "http://" + addr}
	if code, body := c.get("/metrics"); code != 200 || value(t, body, "webex_up") != 1 {
		t.Fatalf("scrape: %d", code)
	}
	if _, err := os.Stat(stateFile); err != nil {
		// Written after the first refresh, whatever the interval.
		t.Fatalf("no state file after the first refresh: %v", err)
	}
	if err := os.Remove(stateFile); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v (want 0)\n%s", err, logs)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10 s after SIGTERM\n%s", logs)
	}
	t.Logf("exited %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	b, err := os.ReadFile(stateFile)
	if err != nil {
		t.Fatalf("no state file written at SIGTERM: %v\n%s", err, logs)
	}
	var s struct {
		Version int               `json:"version"`
		Rooms   []json.RawMessage `json:"rooms"`
	}
	if err := json.Unmarshal(b, &s); err != nil || s.Version != 1 || len(s.Rooms) != len(api.Rooms()) {
		t.Errorf("state file: version %d, %d rooms, err %v; want version 1, %d rooms", s.Version, len(s.Rooms), err, len(api.Rooms()))
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		if isErrorLine(sc.Text()) {
			t.Errorf("error logged: %s", sc.Text())
		}
	}
}

// TestShutdownWithoutAccount: with the token refused from the start, the
// account is never learned; at shutdown the log says the state was not
// written and why, not "State written", and the file from before is left
// as it was.
func TestShutdownWithoutAccount(t *testing.T) {
	api := fakeAPI(t, activeOrg(), webextest.WithToken("another-token"))
	dir := t.TempDir()
	tokenFile := writeFile(t, dir, "token", webextest.DefaultToken)
	before := `{"version":1,"written":"2026-11-24T12:00:00Z","account":"x","widest_ms":86400000,"rooms":[]}`
	stateFile := writeFile(t, dir, "state.json", before)
	e := startExporter(t, "--webex.api-url="+api.URL, "--webex.token-file="+tokenFile, "--state.file="+stateFile)
	if code, body := e.get("/metrics"); code != 200 || value(t, body, "webex_up") != 0 {
		t.Fatalf("scrape with a refused token: %d, webex_up %v", code, value(t, body, "webex_up"))
	}
	if err := e.stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, e.logs)
	}
	logs := e.logs.String()
	if strings.Contains(logs, "State written") || !strings.Contains(logs, "State not written: the Webex account was never learned") {
		t.Errorf("shutdown log does not say the state was not written:\n%s", logs)
	}
	if b, err := os.ReadFile(stateFile); err != nil || string(b) != before {
		t.Errorf("the state file changed: %v", err)
	}
}

// TestStateFileThroughLink: --state.file given as a symbolic link (to a
// volume) is written through it, the link stays a link, the resolved path
// is logged at start, and the temporary files a killed write left beside
// the target are removed at start.
func TestStateFileThroughLink(t *testing.T) {
	api := fakeAPI(t, activeOrg())
	dir := t.TempDir()
	tokenFile := writeFile(t, dir, "token", webextest.DefaultToken)
	volume := filepath.Join(dir, "volume")
	if err := os.Mkdir(volume, 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(volume, "state.json")
	leftover := writeFile(t, volume, ".state.json.1234567.tmp", `{"version":1,"acc`)
	link := filepath.Join(dir, "state.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	e := startExporter(t, "--webex.api-url="+api.URL, "--webex.token-file="+tokenFile, "--state.file="+link)
	if code, _ := e.get("/metrics"); code != 200 {
		t.Fatalf("scrape: %d", code)
	}
	if err := e.stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, e.logs)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("--state.file is no longer a link (%v, %v)", fi.Mode(), err)
	}
	var s struct{ Rooms []json.RawMessage }
	if b, err := os.ReadFile(target); err != nil || json.Unmarshal(b, &s) != nil || len(s.Rooms) != len(api.Rooms()) {
		t.Errorf("the link's target holds no state of %d rooms: %v", len(api.Rooms()), err)
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("the leftover temporary file is still there: %v", err)
	}
	if !strings.Contains(e.logs.String(), "resolved="+target) {
		t.Errorf("the resolved path is not logged:\n%s", e.logs)
	}
}
