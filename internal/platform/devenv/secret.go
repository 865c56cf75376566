package devenv

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

var secretName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// Secret returns the size random bytes stored as dir/name, creating them on
// first use (file mode 0600, directory 0700). It is for development keys
// (token signing, field encryption, cursor MACs) that must survive a
// restart so that tokens, ciphertexts and cursors stay valid. Concurrent
// callers get the same bytes: the file is linked into place only if absent.
// A stored secret of another size is an error, never silently replaced:
// data encrypted with it would become unreadable.
func Secret(dir, name string, size int) ([]byte, error) {
	if !secretName.MatchString(name) {
		return nil, fmt.Errorf("devenv: bad secret name %q (lower-case letters, digits, _ . -)", name)
	}
	if size < 16 || size > 4096 {
		return nil, fmt.Errorf("devenv: secret %s: size %d is out of range 16..4096", name, size)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, name)
	for range 2 {
		b, err := os.ReadFile(path)
		if err == nil {
			if len(b) != size {
				return nil, fmt.Errorf("devenv: secret %s holds %d bytes, %d wanted: delete it (what it protected becomes unreadable) or run `pvara dev --reset`", path, len(b), size)
			}
			return b, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		b = make([]byte, size)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		f, err := os.CreateTemp(dir, "."+name+".tmp-*")
		if err != nil {
			return nil, err
		}
		tmp := f.Name()
		_, werr := f.Write(b)
		serr := f.Sync()
		cerr := f.Close()
		if err := errors.Join(werr, serr, cerr); err != nil {
			os.Remove(tmp)
			return nil, err
		}
		// CreateTemp makes the file 0600 already. Link fails when another
		// caller won the race: then read theirs.
		lerr := os.Link(tmp, path)
		os.Remove(tmp)
		if lerr == nil {
			return b, nil
		}
		if !errors.Is(lerr, os.ErrExist) {
			return nil, lerr
		}
	}
	return nil, fmt.Errorf("devenv: secret %s: could not be read or created", path)
}
