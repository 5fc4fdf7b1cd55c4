package main

import (
	"io"
	"os"
	"regexp"
	"slices"
	"testing"
)

// readmeNames returns the names in the first column of README.md's table
// whose header row starts with header, as matched by re's first group.
func readmeNames(t *testing.T, header string, re *regexp.Regexp) []string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	in := false
	for _, line := range regexp.MustCompile(`\r?\n`).Split(string(b), -1) {
		switch {
		case line == header:
			in = true
		case in && len(line) > 0 && line[0] == '|':
			if m := re.FindStringSubmatch(line); m != nil {
				names = append(names, m[1])
			}
		case in:
			return names
		}
	}
	return names
}

// TestReadmeFlagsTable: README's flags table lists exactly the flags the
// exporter has.
func TestReadmeFlagsTable(t *testing.T) {
	documented := readmeNames(t, "| flag | default | meaning |", regexp.MustCompile("^\\| `--(?:\\[no-\\])?([a-z.-]+)`"))
	var actual []string
	for _, f := range newApp(&config{}, &rawFlags{}, io.Discard).Model().Flags {
		if f.Name != "help" && !f.Hidden {
			actual = append(actual, f.Name)
		}
	}
	slices.Sort(documented)
	slices.Sort(actual)
	if !slices.Equal(documented, actual) {
		t.Errorf("README flags table: %v\nexporter flags: %v", documented, actual)
	}
}
