package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// names lists a directory's entries.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestWriteNewAndReplace: a new file gets the given mode, a replaced one
// keeps its own, and nothing else is left in the directory.
func TestWriteNewAndReplace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := Write(path, 0o600, writeString("one")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, path); got != "one" {
		t.Fatalf("content %q, want one", got)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("new file's mode %v, want 0600", fi.Mode().Perm())
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, 0o600, writeString("two")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, path); got != "two" {
		t.Fatalf("content %q, want two", got)
	}
	fi, _ = os.Stat(path)
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("replaced file's mode %v, want its own 0640", fi.Mode().Perm())
	}
	if got := names(t, dir); !slices.Equal(got, []string{"state.json"}) {
		t.Errorf("directory holds %v, want only state.json", got)
	}
}

// TestWriteThroughSymlink: a target given as a link (relative, and a link
// to a link) is written through: the file it points to gets the content,
// the temporary file is made in that file's directory, and the link stays
// a link. A dangling link gets its target created.
func TestWriteThroughSymlink(t *testing.T) {
	root := t.TempDir()
	data, conf := filepath.Join(root, "data"), filepath.Join(root, "conf")
	for _, d := range []string{data, conf} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	target := filepath.Join(data, "state.json")
	if err := os.WriteFile(target, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(conf, "state.json")
	if err := os.Symlink("../data/state.json", link); err != nil {
		t.Fatal(err)
	}
	link2 := filepath.Join(root, "state")
	if err := os.Symlink(link, link2); err != nil {
		t.Fatal(err)
	}
	physical, err := filepath.EvalSymlinks(target)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Resolve(link2); err != nil || got != physical {
		t.Fatalf("Resolve(%s) = %s, %v; want %s", link2, got, err, physical)
	}
	if got, err := Resolve(target); err != nil || got != target {
		t.Errorf("Resolve of a regular file = %s, %v; want it as given", got, err)
	}
	// A leftover beside the target (not beside the link) is what Clean finds.
	leftover := filepath.Join(filepath.Dir(physical), ".state.json.123.tmp")
	if err := os.WriteFile(leftover, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if removed, err := Clean(link2); err != nil || !slices.Equal(removed, []string{leftover}) {
		t.Errorf("Clean = %v, %v; want %s removed", removed, err, leftover)
	}

	if err := Write(link2, 0o600, writeString("new")); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{link, link2} {
		fi, err := os.Lstat(l)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symbolic link (%v, %v)", l, fi.Mode(), err)
		}
	}
	if got := read(t, target); got != "new" {
		t.Errorf("the link's target holds %q, want new", got)
	}
	if got := names(t, data); !slices.Equal(got, []string{"state.json"}) {
		t.Errorf("target's directory holds %v", got)
	}
	if got := names(t, conf); !slices.Equal(got, []string{"state.json"}) {
		t.Errorf("link's directory holds %v", got)
	}

	// A dangling link: the write creates the file it points to.
	if err := os.Remove(target); err != nil {
		t.Fatal(err)
	}
	if err := Write(link, 0o600, writeString("again")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("dangling link replaced by a file")
	}
	if got := read(t, target); got != "again" {
		t.Errorf("the dangling link's target holds %q, want again", got)
	}
}

// TestSymlinkLoop: a loop of links is an error, not a hang.
func TestSymlinkLoop(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.Symlink(b, a) //nolint:errcheck // checked by what follows
	os.Symlink(a, b) //nolint:errcheck
	if _, err := Resolve(a); err == nil || !strings.Contains(err.Error(), "symbolic links") {
		t.Errorf("Resolve of a loop: %v", err)
	}
	if err := Write(a, 0o600, writeString("x")); err == nil {
		t.Error("Write through a loop succeeded")
	}
}

// TestFailedWriteKeepsOldAndCleans: a write whose content fails leaves the
// old file as it was and removes its own temporary file and those of
// writes a crash interrupted, but no other file.
func TestFailedWriteKeepsOldAndCleans(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	keep := []string{".other.json.1.tmp", ".state.json.tmp", ".state.json.x1.tmp", "state.json.2.tmp", "state.json"}
	for _, n := range append([]string{".state.json.1.tmp", ".state.json.4242.tmp"}, keep[:4]...) {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("leftover"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	boom := errors.New("boom")
	err := Write(path, 0o600, func(w io.Writer) error {
		io.WriteString(w, "half") //nolint:errcheck // the write fails anyway
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Write = %v, want the callback's error", err)
	}
	if got := read(t, path); got != "old" {
		t.Errorf("after a failed write the file holds %q, want old", got)
	}
	got := names(t, dir)
	slices.Sort(keep)
	if !slices.Equal(got, keep) {
		t.Errorf("directory holds %v, want %v", got, keep)
	}
}

// TestCleanAtStart: Clean removes what interrupted writes left and reports
// it; a directory that does not exist is an error, no leftovers is none.
func TestCleanAtStart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if removed, err := Clean(path); err != nil || len(removed) != 0 {
		t.Errorf("Clean of an empty directory = %v, %v", removed, err)
	}
	left := filepath.Join(dir, ".state.json.987654.tmp")
	if err := os.WriteFile(left, []byte("torn"), 0o600); err != nil {
		t.Fatal(err)
	}
	if removed, err := Clean(path); err != nil || !slices.Equal(removed, []string{left}) {
		t.Errorf("Clean = %v, %v; want %s", removed, err, left)
	}
	if _, err := os.Stat(left); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("leftover still there: %v", err)
	}
	if _, err := Clean(filepath.Join(dir, "missing", "state.json")); err == nil {
		t.Error("Clean in a missing directory: no error")
	}
}

// TestWriteFailsWhereItCannot: a target in a missing directory fails
// without creating anything.
func TestWriteFailsWhereItCannot(t *testing.T) {
	dir := t.TempDir()
	if err := Write(filepath.Join(dir, "missing", "f"), 0o600, writeString("x")); err == nil {
		t.Error("Write into a missing directory succeeded")
	}
	if got := names(t, dir); len(got) != 0 {
		t.Errorf("directory holds %v", got)
	}
}
