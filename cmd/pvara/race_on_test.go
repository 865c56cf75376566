//go:build race

package main

// raceEnabled: binaries built by tests use the race detector too, so they
// reuse the packages the test binary was compiled with.
const raceEnabled = true
