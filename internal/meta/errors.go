package meta

import (
	"errors"
	"fmt"
	"syscall"
)

// Error is a failed metadata operation. Err is a syscall.Errno or wraps
// one, so callers find the POSIX errno with errors.As(err, &errno) or test
// it with errors.Is(err, syscall.ENOENT).
type Error struct {
	Op   string // "lookup", "rename", ...
	Path string // what it applied to, for the message
	Err  error
}

func (e *Error) Error() string { return e.Op + " " + e.Path + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ErrConflict is returned (wrapped) when a new version is committed on a
// base version that is no longer current: another writer won. It carries
// ESTALE. Nothing of the losing write is visible.
var ErrConflict = fmt.Errorf("version conflict: another writer committed first: %w", syscall.ESTALE)

// errContention: an operation kept losing optimistic races.
var errContention = fmt.Errorf("too much contention, gave up: %w", syscall.EAGAIN)

func fail(op, path string, err error) error {
	var me *Error
	if errors.As(err, &me) {
		return err
	}
	return &Error{Op: op, Path: path, Err: err}
}

// Errno returns the POSIX errno carried by err, or EIO if it has none.
func Errno(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EIO
}
