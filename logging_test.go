package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-logfmt/logfmt"
)

// The head every log line starts with, in this order.
var logHead = []string{"level", "ts", "caller", "msg"}

// TestLogLinesOneFormat runs the binary (--demo, so that the webhook
// listener, the state file and the OAuth token log too), scrapes it once,
// stops it, and parses every line it wrote: each has the same head in
// logfmt, and the same keys in json, whether the exporter or
// exporter-toolkit wrote it.
func TestLogLinesOneFormat(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "webex_exporter")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, format := range []string{"logfmt", "json"} {
		t.Run(format, func(t *testing.T) {
			lines := runAndLog(t, bin, "--demo", "--web.listen-address=127.0.0.1:0", "--log.format="+format, "--log.level=debug")
			var own, toolkit int
			for _, line := range lines {
				keys, vals := parseLogLine(t, format, line)
				if format == "logfmt" && !slices.Equal(keys[:min(len(keys), len(logHead))], logHead) {
					t.Errorf("line starts with %v, want %v: %s", keys, logHead, line)
				}
				for _, k := range logHead {
					if vals[k] == "" {
						t.Errorf("line has no %s: %s", k, line)
					}
				}
				if _, ok := vals["time"]; ok {
					t.Errorf("line has a time key besides ts: %s", line)
				}
				if ts, err := time.Parse(time.RFC3339Nano, vals["ts"]); err != nil || ts.Location() != time.UTC {
					t.Errorf("ts %q is not RFC 3339 in UTC (%v): %s", vals["ts"], err, line)
				}
				switch {
				case strings.HasPrefix(vals["caller"], "tls_config.go:"):
					toolkit++
				case strings.HasPrefix(vals["caller"], "main.go:"):
					own++
				}
			}
			// Both writers must be in the run, or the test proves nothing.
			if own == 0 || toolkit == 0 {
				t.Errorf("%d lines from main.go, %d from exporter-toolkit's tls_config.go: want both\n%s", own, toolkit, strings.Join(lines, "\n"))
			}
		})
	}
}

// runAndLog starts bin, waits for its "Listening on" line (address port 0:
// the line says the port), scrapes the metrics once, stops it with SIGTERM
// and returns every line it wrote to stderr.
func runAndLog(t *testing.T, bin string, args ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(stderr)
	addr := ""
	for addr == "" && sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.Contains(sc.Text(), "Listening on") && !strings.Contains(sc.Text(), "webhook") {
			_, vals := parseLogLine(t, formatOf(args), sc.Text())
			addr = vals["address"]
		}
	}
	if addr == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("no Listening on line:\n%s", strings.Join(lines, "\n"))
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, strings.Join(lines, "\n"))
	}
	return lines
}

func formatOf(args []string) string {
	if slices.Contains(args, "--log.format=json") {
		return "json"
	}
	return "logfmt"
}

// parseLogLine returns a line's keys in order (logfmt; json: sorted) and
// its values as strings.
func parseLogLine(t *testing.T, format, line string) ([]string, map[string]string) {
	t.Helper()
	vals := map[string]string{}
	var keys []string
	if format == "json" {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a json line: %v: %s", err, line)
		}
		for k, v := range m {
			keys = append(keys, k)
			s, ok := v.(string)
			if !ok {
				b, _ := json.Marshal(v)
				s = string(b)
			}
			vals[k] = s
		}
		slices.Sort(keys)
		return keys, vals
	}
	d := logfmt.NewDecoder(strings.NewReader(line))
	if !d.ScanRecord() {
		t.Fatalf("no logfmt record: %s", line)
	}
	for d.ScanKeyval() {
		keys = append(keys, string(d.Key()))
		vals[string(d.Key())] = string(d.Value())
	}
	if err := d.Err(); err != nil || d.ScanRecord() {
		t.Fatalf("not one logfmt record (%v): %s", err, line)
	}
	return keys, vals
}

// TestSameKeysAsOwn: a toolkit line and an own line come out with the same
// head; a line that is not slog-gokit's is left alone.
func TestSameKeysAsOwn(t *testing.T) {
	var buf bytes.Buffer
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.FixedZone("CET", 3600))
	l := sameKeysAsOwn(log.NewLogfmtLogger(&buf))
	l.Log("level", "info", "caller", "tls_config.go:395", "time", at, "msg", "Listening on", "address", "[::]:1", "time", "kept")
	l.Log("level", "info", "msg", "no caller, no time")
	l.Log("level", "info", "ts", "x", "caller", "main.go:1", "msg", "own")
	got := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want0 := `level=info ts=2026-01-02T02:04:05.000006Z caller=tls_config.go:395 msg="Listening on" address=[::]:1 time=kept`
	if got[0] != want0 {
		t.Errorf("toolkit line:\n got %s\nwant %s", got[0], want0)
	}
	if !strings.HasPrefix(got[1], "level=info ts=") || !strings.HasSuffix(got[1], `msg="no caller, no time"`) {
		t.Errorf("line without caller and time: %s", got[1])
	}
	if got[2] != "level=info ts=x caller=main.go:1 msg=own" {
		t.Errorf("own line changed: %s", got[2])
	}
}
