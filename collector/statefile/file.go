package statefile

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/webex-exporter/webex_exporter/internal/atomicfile"
)

// File is a state file at a path (--state.file): loaded once at start,
// written after refreshes and at shutdown.
type File struct {
	path   string
	logger log.Logger

	writing sync.Mutex // one Save at a time

	mu       sync.Mutex
	written  time.Time // Header.Written of the last successful Save
	failures uint64    // failed Saves
}

// New returns the state file at path; nothing is read or written yet.
func New(path string, logger log.Logger) *File {
	if logger == nil {
		logger = log.NewNopLogger()
	}
	return &File{path: path, logger: logger}
}

// Path returns the path as given ("" for no file).
func (f *File) Path() string {
	if f == nil {
		return ""
	}
	return f.path
}

// Load reads the file, at start: it logs the file the path resolves to,
// removes the temporary files interrupted writes left, and hands the
// content to decode (which calls Decode and checks what it gets). It
// returns whether decode accepted a file. A missing file is a cold start; a
// file decode refuses is renamed to its resolved path plus ".corrupt", with
// a warning.
func (f *File) Load(decode func(io.Reader) error) bool {
	target, err := atomicfile.Resolve(f.path)
	if err != nil {
		level.Warn(f.logger).Log("msg", "Cannot resolve the state file's path; starting cold", "file", f.path, "err", err)
		return false
	}
	if removed, err := atomicfile.Clean(target); err != nil {
		level.Warn(f.logger).Log("msg", "Cannot remove leftover temporary files of the state file", "file", target, "err", err)
	} else if len(removed) > 0 {
		level.Info(f.logger).Log("msg", "Removed temporary files an interrupted write of the state file left", "file", target, "removed", len(removed))
	}
	r, err := os.Open(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		level.Info(f.logger).Log("msg", "No state file yet; starting cold", "file", f.path, "resolved", target)
		return false
	case err != nil:
		level.Warn(f.logger).Log("msg", "Cannot read the state file; starting cold", "file", f.path, "resolved", target, "err", err)
		return false
	}
	err = decode(bufio.NewReader(r))
	r.Close()
	if err == nil {
		level.Info(f.logger).Log("msg", "Read the state file", "file", f.path, "resolved", target)
		return true
	}
	aside := target + ".corrupt"
	if rerr := os.Rename(target, aside); rerr != nil {
		level.Warn(f.logger).Log("msg", "State file unusable, and it could not be set aside; starting cold", "file", f.path, "resolved", target, "err", err, "rename_err", rerr)
		return false
	}
	level.Warn(f.logger).Log("msg", "State file unusable; set aside, starting cold", "file", f.path, "resolved", target, "moved_to", aside, "err", err)
	return false
}

// Save writes the file (Encode of h and body) atomically. A state of no
// account is not written (ErrNoAccount, not counted as a failure: it would
// replace a file that still waits for its account). Failures are logged
// and counted in webex_state_write_failures_total; the old file stays.
func (f *File) Save(h Header, body func(*Writer) error) error {
	if h.Account == "" {
		return ErrNoAccount
	}
	f.writing.Lock()
	defer f.writing.Unlock()
	var size int64
	err := atomicfile.Write(f.path, 0o600, func(w io.Writer) error {
		cw := &countingWriter{w: w}
		err := Encode(cw, h, body)
		size = cw.n
		return err
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.failures++
		level.Error(f.logger).Log("msg", "Writing the state file failed", "file", f.path, "err", err)
		return err
	}
	f.written = h.Written
	level.Debug(f.logger).Log("msg", "State file written", "file", f.path, "bytes", size)
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Metrics are a state file's metrics, for the exporter's own registry.
type Metrics struct {
	f                 *File
	written, failures *prometheus.Desc
}

// NewMetrics describes f's metrics; with f nil (no state file) it emits
// nothing.
func NewMetrics(f *File) *Metrics {
	return &Metrics{f: f,
		written:  prometheus.NewDesc("webex_state_last_write_timestamp_seconds", "When the state file (--state.file) was last written successfully, Unix time; absent until then.", nil, nil),
		failures: prometheus.NewDesc("webex_state_write_failures_total", "Failed writes of the state file (--state.file).", nil, nil),
	}
}

var _ prometheus.Collector = (*Metrics)(nil)

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.written
	ch <- m.failures
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	if m.f == nil {
		return
	}
	m.f.mu.Lock()
	written, failures := m.f.written, m.f.failures
	m.f.mu.Unlock()
	if !written.IsZero() {
		ch <- prometheus.MustNewConstMetric(m.written, prometheus.GaugeValue, float64(written.UnixMilli())/1e3)
	}
	ch <- prometheus.MustNewConstMetric(m.failures, prometheus.CounterValue, float64(failures))
}
