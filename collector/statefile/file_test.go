package statefile

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// logBuffer is a logger's output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newFile(path string) (*File, *logBuffer) {
	logs := &logBuffer{}
	return New(path, log.NewLogfmtLogger(logs)), logs
}

// saveN writes a state whose one section is n.
func saveN(f *File, n int, at time.Time) error {
	return f.Save(Header{Written: at, Account: "acct"}, func(w *Writer) error { return w.Value("n", n) })
}

// loadN loads a state written by saveN (-1: none loaded).
func loadN(f *File) (int, bool) {
	n := -1
	ok := f.Load(func(r io.Reader) error {
		_, err := Decode(r, func(name string, b *Body) error {
			if name == "n" {
				return b.Decode(&n)
			}
			return nil
		})
		return err
	})
	return n, ok
}

// checkMetrics compares f's metrics with their exposition (HELP and TYPE
// lines added).
func checkMetrics(t *testing.T, f *File, written string, failures int) {
	t.Helper()
	want := "# HELP webex_state_write_failures_total Failed writes of the state file (--state.file).\n" +
		"# TYPE webex_state_write_failures_total counter\n" +
		fmt.Sprintf("webex_state_write_failures_total %d\n", failures)
	if written != "" {
		want += "# HELP webex_state_last_write_timestamp_seconds When the state file (--state.file) was last written successfully, Unix time; absent until then.\n" +
			"# TYPE webex_state_last_write_timestamp_seconds gauge\n" +
			"webex_state_last_write_timestamp_seconds " + written + "\n"
	}
	if err := testutil.CollectAndCompare(NewMetrics(f), strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// TestSaveLoad: a saved state loads back; the metrics say when it was
// written, and nothing before that.
func TestSaveLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f, logs := newFile(path)
	if n, ok := loadN(f); ok || n != -1 {
		t.Fatalf("Load of a missing file = %d, %v", n, ok)
	}
	if !strings.Contains(logs.String(), `msg="No state file yet; starting cold"`) {
		t.Errorf("no log line for the cold start:\n%s", logs)
	}
	checkMetrics(t, f, "", 0)
	if err := saveN(f, 7, t0); err != nil {
		t.Fatal(err)
	}
	checkMetrics(t, f, "1.7955216e+09", 0)
	if n, ok := loadN(New(path, nil)); !ok || n != 7 {
		t.Errorf("Load = %d, %v; want 7, true", n, ok)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600 (the state holds room titles)", fi.Mode().Perm())
	}
	if err := testutil.CollectAndCompare(NewMetrics(nil), strings.NewReader("")); err != nil {
		t.Errorf("metrics without a state file: %v", err)
	}
}

// TestSaveNoAccount: a state of no account is not written and is no
// failure; the file from before stays.
func TestSaveNoAccount(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte("before"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, _ := newFile(path)
	err := f.Save(Header{Written: t0}, func(w *Writer) error { return w.Value("n", 1) })
	if err != ErrNoAccount {
		t.Errorf("Save without an account = %v; want ErrNoAccount", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "before" {
		t.Errorf("the file changed: %q", b)
	}
	checkMetrics(t, f, "", 0)
}

// TestSaveFailure: a failed write is counted and logged at error level,
// and leaves the old file and no temporary file.
func TestSaveFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	f, logs := newFile(path)
	if err := saveN(f, 1, t0); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path)
	err := f.Save(Header{Written: t0.Add(time.Minute), Account: "acct"}, func(w *Writer) error {
		w.Value("n", 2) //nolint:errcheck // the write fails anyway
		return fmt.Errorf("the state changed owner")
	})
	if err == nil {
		t.Fatal("Save succeeded")
	}
	checkMetrics(t, f, "1.7955216e+09", 1)
	if !strings.Contains(logs.String(), `level=error msg="Writing the state file failed"`) {
		t.Errorf("no error logged:\n%s", logs)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, old) {
		t.Errorf("the old file changed")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %v", entries)
	}
}

// TestLoadRemovesLeftovers: the temporary files writes a crash interrupted
// (kill -9) are removed at start, with a log line; other files stay.
func TestLoadRemovesLeftovers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	f, logs := newFile(path)
	if err := saveN(f, 3, t0); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{".state.json.123.tmp", ".state.json.98765.tmp", "other.tmp"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("torn"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if n, ok := loadN(f); !ok || n != 3 {
		t.Errorf("Load = %d, %v", n, ok)
	}
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "other.tmp state.json" {
		t.Errorf("directory holds %v after Load; want the leftovers gone", names)
	}
	if !strings.Contains(logs.String(), "removed=2") {
		t.Errorf("no log line about the leftovers:\n%s", logs)
	}
}

// TestSymlinkedFile: a state file given as a symbolic link is read and
// written through it (the link stays a link), the resolved path is logged
// at start, and a corrupt target is set aside beside the target, so the
// next write goes through the link again.
func TestSymlinkedFile(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "volume"), 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(root, "volume", "state.json")
	link := filepath.Join(root, "state.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	f, logs := newFile(link)
	if _, ok := loadN(f); ok {
		t.Fatal("loaded a file that does not exist yet")
	}
	if !strings.Contains(logs.String(), "resolved="+target) {
		t.Errorf("the resolved path is not logged at start:\n%s", logs)
	}
	isLink := func() {
		t.Helper()
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Fatalf("%s is no longer a link (%v, %v)", link, fi.Mode(), err)
		}
	}
	for i := range 2 {
		if err := saveN(f, i, t0); err != nil {
			t.Fatal(err)
		}
		isLink()
	}
	if n, ok := loadN(f); !ok || n != 1 {
		t.Errorf("Load through the link = %d, %v", n, ok)
	}

	if err := os.WriteFile(target, []byte("{torn"), 0o600); err != nil {
		t.Fatal(err)
	}
	logs.buf.Reset()
	if _, ok := loadN(f); ok {
		t.Fatal("a corrupt file loaded")
	}
	isLink()
	if b, err := os.ReadFile(target + ".corrupt"); err != nil || string(b) != "{torn" {
		t.Errorf("the corrupt target was not set aside beside it: %v", err)
	}
	if !strings.Contains(logs.String(), "level=warn") || !strings.Contains(logs.String(), "moved_to="+target+".corrupt") {
		t.Errorf("no warning naming where the file went:\n%s", logs)
	}
	if err := saveN(f, 5, t0); err != nil {
		t.Fatal(err)
	}
	isLink()
	if n, ok := loadN(f); !ok || n != 5 {
		t.Errorf("Load after the corrupt file = %d, %v", n, ok)
	}
}
