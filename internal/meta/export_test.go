package meta

// SetMaxInflight sets how many create batches a client sends at once and
// returns the function that restores it.
func SetMaxInflight(n int) func() {
	old := maxInflight
	maxInflight = n
	return func() { maxInflight = old }
}
