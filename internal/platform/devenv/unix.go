package devenv

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// processAlive reports whether pid exists (EPERM: it exists, owned by
// somebody else).
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func sameDir(a, b string) bool {
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	if err1 != nil || err2 != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	return ra == rb
}

// RunAs is the unprivileged account PostgreSQL programs run as when pvara
// runs as root (PostgreSQL refuses to start as root).
type RunAs struct {
	Name     string
	Uid, Gid uint32
}

// credential is the syscall form of r; nil r means "as ourselves".
func (r *RunAs) credential() *syscall.Credential {
	if r == nil {
		return nil
	}
	// An empty Groups list drops root's supplementary groups.
	return &syscall.Credential{Uid: r.Uid, Gid: r.Gid, Groups: []uint32{}}
}

// DefaultRunAs returns nil when the process is not root, else the
// `postgres` system account when it exists, else `nobody`.
func DefaultRunAs() (*RunAs, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &RunAs{Name: name, Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("running as root, and neither a `postgres` nor a `nobody` account exists to run PostgreSQL as (PostgreSQL refuses to run as root); create one with `useradd --system postgres`, or run pvara dev as a normal user")
}

// chownTree gives dir and everything in it to r, when it is not r's already.
func chownTree(dir string, r *RunAs) error {
	if r == nil {
		return nil
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Uid == r.Uid && st.Gid == r.Gid {
			return nil
		}
		return os.Lchown(p, int(r.Uid), int(r.Gid))
	})
}

// ensureTraversable makes sure r can reach dir: every ancestor must grant it
// search (x) permission. An ancestor that does not (/root is 0700, and so
// are temporary directories) gets o+x only, never read: r can then pass
// through it but not list it. Each change is logged.
func ensureTraversable(dir string, r *RunAs, logger *slog.Logger) error {
	if r == nil {
		return nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	var chain []string
	for p := filepath.Dir(abs); ; p = filepath.Dir(p) {
		chain = append(chain, p)
		if p == filepath.Dir(p) {
			break
		}
	}
	for i := len(chain) - 1; i >= 0; i-- {
		p := chain[i]
		info, err := os.Stat(p)
		if err != nil {
			return err
		}
		mode := info.Mode().Perm()
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			continue
		}
		switch {
		case st.Uid == r.Uid && mode&0o100 != 0:
		case st.Uid != r.Uid && st.Gid == r.Gid && mode&0o010 != 0:
		case st.Uid != r.Uid && st.Gid != r.Gid && mode&0o001 != 0:
		default:
			if err := os.Chmod(p, info.Mode()|0o001); err != nil {
				return fmt.Errorf("make %s traversable for %s: %w", p, r.Name, err)
			}
			if logger != nil {
				logger.Warn("made a directory traversable (o+x, not readable) so PostgreSQL, running as "+r.Name+", can reach its data", "dir", p)
			}
		}
	}
	return nil
}

// lockFile takes an exclusive, non-blocking flock on path. The lock goes
// away with the process, however it ends.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, err
	}
	return f, nil
}

var errLocked = errors.New("locked")
