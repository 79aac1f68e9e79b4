package meta

import "time"

// SetMaxInflight sets how many create batches a client sends at once and
// returns the function that restores it.
func SetMaxInflight(n int) func() {
	old := maxInflight
	maxInflight = n
	return func() { maxInflight = old }
}

// SetSiblingWait sets how long a leader waits for the creates it expects
// and returns the function that restores it.
func SetSiblingWait(d time.Duration) func() {
	old := siblingWait
	siblingWait = d
	return func() { siblingWait = old }
}

// SetSpanKeys sets about how many keys one span of an inode scan holds
// and returns the function that restores it.
func SetSpanKeys(n int64) func() {
	old := spanKeys
	spanKeys = n
	return func() { spanKeys = old }
}

// InodeSpans is inodeSpans.
var InodeSpans = inodeSpans
