// Package atomicfile replaces a file so that a crash at any point leaves the
// old content or the new one, never a torn file: the new content goes to a
// temporary file beside the target, is synced, renamed over the target, and
// the directory is synced so that the rename itself survives a power loss.
//
// A target given as a symbolic link is written through it: the temporary
// file is made beside the file the link resolves to, which is replaced; the
// link stays a link. The temporary files of a write that a crash (kill -9,
// power loss) interrupted are left behind; Clean removes them, and a failed
// Write removes them too, so that leftovers cannot fill a small volume.
//
// Writes of one target must not overlap (their callers hold a lock).
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxLinks bounds how many symbolic links Resolve follows (Linux: 40).
const maxLinks = 40

// Write replaces the file at path (following symbolic links) with what
// write writes to it. The content is streamed: write gets the temporary
// file (buffer it if it writes in small pieces). A new file gets perm; an
// existing one keeps its permission bits. On any error the target is left
// as it was, and the temporary files of the target are removed.
func Write(path string, perm fs.FileMode, write func(io.Writer) error) (err error) {
	target, err := Resolve(path)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(target); err == nil {
		perm = fi.Mode().Perm()
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, tempPrefix(base)+"*"+tempSuffix)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			Clean(path) //nolint:errcheck // best effort: the write's error is the one to report
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = write(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), target); err != nil {
		return err
	}
	return syncDir(dir)
}

// Clean removes the temporary files that interrupted writes of path left
// behind, and returns their names.
func Clean(path string) ([]string, error) {
	target, err := Resolve(path)
	if err != nil {
		return nil, err
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		if !isTemp(base, e.Name()) || !e.Type().IsRegular() {
			continue
		}
		name := filepath.Join(dir, e.Name())
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, name)
	}
	return removed, errors.Join(errs...)
}

// Resolve returns the file that writing path replaces: path with the
// symbolic links at its end followed, also when the last one points to a
// file that does not exist yet (the write creates it there). A path that is
// no link is returned as it is.
func Resolve(path string) (string, error) {
	for range maxLinks {
		fi, err := os.Lstat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist) || err == nil && fi.Mode()&fs.ModeSymlink == 0:
			return path, nil
		case err != nil:
			return "", err
		}
		link, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(link) {
			// Relative to the link's directory, as the kernel reads it
			// (where that directory is itself reached through a link, a
			// leading ".." leaves the directory the link is in).
			dir, err := filepath.EvalSymlinks(filepath.Dir(path))
			if err != nil {
				return "", err
			}
			link = filepath.Join(dir, link)
		}
		path = link
	}
	return "", fmt.Errorf("%s: more than %d symbolic links", path, maxLinks)
}

// Temporary files are named ".BASE.<digits>.tmp" (os.CreateTemp's random
// part is decimal digits).
const tempSuffix = ".tmp"

func tempPrefix(base string) string { return "." + base + "." }

func isTemp(base, name string) bool {
	mid, ok := strings.CutPrefix(name, tempPrefix(base))
	if !ok {
		return false
	}
	mid, ok = strings.CutSuffix(mid, tempSuffix)
	if !ok || mid == "" {
		return false
	}
	for _, c := range mid {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
