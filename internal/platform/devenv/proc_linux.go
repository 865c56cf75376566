package devenv

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// sysProcAttr runs a PostgreSQL program in its own process group (so the
// terminal's Ctrl-C reaches pvara only, which then stops the server in
// order), as cred when not nil, and makes the kernel send it SIGTERM if pvara
// dies without stopping it (kill -9, a crash): the postmaster then shuts
// down by itself instead of outliving us.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred, Pdeathsig: syscall.SIGTERM}
}

// postmasterOf reports whether pid is a running postgres whose working
// directory is dataDir (a postmaster chdirs to its data directory), and
// whether that could be determined at all.
func postmasterOf(pid int, dataDir string) (ours, known bool) {
	p := "/proc/" + strconv.Itoa(pid)
	comm, err := os.ReadFile(p + "/comm")
	if err != nil {
		return false, !processAlive(pid)
	}
	if strings.TrimSpace(string(comm)) != "postgres" && strings.TrimSpace(string(comm)) != "postmaster" {
		return false, true
	}
	cwd, err := os.Readlink(p + "/cwd")
	if err != nil {
		return false, false
	}
	return sameDir(cwd, dataDir), true
}
