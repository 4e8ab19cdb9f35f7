//go:build !race

// Package race says whether the binary was built with the race detector,
// which slows code several times: for the tests that run for a fixed time
// or under a fixed timeout.
package race

// Enabled is whether the race detector is on.
const Enabled = false
