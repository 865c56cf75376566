//go:build unix && !linux

package devenv

import "syscall"

// sysProcAttr runs a PostgreSQL program in its own process group, as cred
// when not nil. There is no parent-death signal outside Linux: a postmaster
// left by a killed pvara is stopped by the next start instead.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}

// postmasterOf cannot look into another process here; it says so.
func postmasterOf(pid int, dataDir string) (ours, known bool) {
	if !processAlive(pid) {
		return false, true
	}
	return false, false
}
