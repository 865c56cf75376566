package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestMain lets tests run the real command line in a child process: the test
// binary re-executes itself with PVARA_TEST_RUN_MAIN=1 and the pvara
// arguments, and behaves exactly like the pvara binary (signals, exit codes).
func TestMain(m *testing.M) {
	if os.Getenv("PVARA_TEST_RUN_MAIN") == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// pvaraCmd is the pvara command line run as a child process with only the
// given environment (plus PATH and HOME), in a temporary working directory so
// no dev.env of a developer's checkout is picked up.
func pvaraCmd(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append([]string{
		"PVARA_TEST_RUN_MAIN=1",
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"PVARA_DATA_DIR=" + t.TempDir(),
	}, env...)
	cmd.Dir = t.TempDir()
	return cmd
}

// runPvara runs pvara to completion and returns its output and exit code.
func runPvara(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := pvaraCmd(t, env, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("pvara %v did not finish", args)
	}
	return out.String(), errOut.String(), code
}
