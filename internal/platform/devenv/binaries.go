package devenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MinMajor is the oldest PostgreSQL major version the schema is written for.
const MinMajor = 15

// Binaries is one installation of the PostgreSQL server programs.
type Binaries struct {
	// Dir holds initdb and postgres (symbolic links resolved).
	Dir string
	// Major is the major version (15, 16, ...); Version the full one.
	Major   int
	Version string
}

// Initdb is the path of initdb.
func (b Binaries) Initdb() string { return filepath.Join(b.Dir, "initdb") }

// Postgres is the path of the server.
func (b Binaries) Postgres() string { return filepath.Join(b.Dir, "postgres") }

// MissingBinariesError says that no usable PostgreSQL server was found, and
// exactly what to install.
type MissingBinariesError struct {
	// Searched are the directories looked in.
	Searched []string
	// TooOld are installations found but older than MinMajor.
	TooOld []Binaries
}

func (e *MissingBinariesError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no PostgreSQL %d+ server binaries (initdb, postgres) found", MinMajor)
	for _, o := range e.TooOld {
		fmt.Fprintf(&b, "; %s is PostgreSQL %d, too old", o.Dir, o.Major)
	}
	b.WriteString(`.
pvara dev runs a private cluster from the machine's own PostgreSQL server programs. Install them:
  Debian/Ubuntu:  sudo apt-get install postgresql
  Fedora/RHEL:    sudo dnf install postgresql-server
  macOS:          brew install postgresql@16
or point pvara at a server you already run: PVARA_DATABASE_URL=postgres://... pvara dev
(searched: ` + strings.Join(e.Searched, ", ") + ")")
	return b.String()
}

// DefaultSearchDirs are where PostgreSQL server programs live: every PATH
// entry, then the versioned directories of Debian/Ubuntu, the PGDG RPMs and
// Homebrew (servers there are usually not on PATH).
func DefaultSearchDirs() []string {
	dirs := filepath.SplitList(os.Getenv("PATH"))
	for _, pattern := range []string{
		"/usr/lib/postgresql/*/bin",
		"/usr/pgsql-*/bin",
		"/opt/homebrew/opt/postgresql@*/bin",
		"/usr/local/opt/postgresql@*/bin",
	} {
		m, _ := filepath.Glob(pattern)
		dirs = append(dirs, m...)
	}
	seen := map[string]bool{}
	out := dirs[:0]
	for _, d := range dirs {
		if d != "" && !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

var versionRE = regexp.MustCompile(`\(PostgreSQL\) ((\d+)(\.\d+)*)`)

// FindBinaries returns the newest installation of at least MinMajor in dirs
// (DefaultSearchDirs when nil). When preferMajor is not 0 and that version
// is installed, it wins: an existing cluster can only be run by the major
// version that created it.
func FindBinaries(ctx context.Context, dirs []string, preferMajor int) (Binaries, error) {
	if dirs == nil {
		dirs = DefaultSearchDirs()
	}
	seen := map[string]bool{}
	var found, tooOld []Binaries
	for _, d := range dirs {
		if d == "" {
			continue
		}
		// A PATH entry often holds symbolic links (/usr/local/bin/initdb ->
		// /usr/lib/postgresql/15/bin/initdb): use the directory of the real
		// programs, where initdb also finds its postgres.
		real, err := filepath.EvalSymlinks(filepath.Join(d, "initdb"))
		if err != nil {
			continue
		}
		dir := filepath.Dir(real)
		if seen[dir] {
			continue
		}
		seen[dir] = true
		if !isExecutable(filepath.Join(dir, "initdb")) || !isExecutable(filepath.Join(dir, "postgres")) {
			continue
		}
		b, err := probeVersion(ctx, dir)
		if err != nil {
			continue
		}
		if b.Major < MinMajor {
			tooOld = append(tooOld, b)
			continue
		}
		found = append(found, b)
	}
	if len(found) == 0 {
		return Binaries{}, &MissingBinariesError{Searched: dirs, TooOld: tooOld}
	}
	sort.SliceStable(found, func(i, j int) bool {
		pi, pj := found[i].Major == preferMajor, found[j].Major == preferMajor
		if pi != pj {
			return pi
		}
		return found[i].Major > found[j].Major
	})
	return found[0], nil
}

func probeVersion(ctx context.Context, dir string) (Binaries, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(dir, "postgres"), "--version").Output()
	if err != nil {
		return Binaries{}, err
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return Binaries{}, errors.New("unrecognised postgres --version output")
	}
	major, err := strconv.Atoi(string(m[2]))
	if err != nil {
		return Binaries{}, err
	}
	return Binaries{Dir: dir, Major: major, Version: string(m[1])}, nil
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}
