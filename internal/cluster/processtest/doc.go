// Package processtest holds the storage cluster's end-to-end tests: a real
// `carrot` binary (built in TestMain) run as `carrot up` and `carrot node`
// processes on loopback, driven through the client library and the
// `carrot fs` and `carrot cluster status` commands, with nodes killed
// (SIGKILL), corrupted on disk and filled up (a real small tmpfs).
package processtest
