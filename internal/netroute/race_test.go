//go:build race

package netroute_test

const raceEnabled = true
