package cluster

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/carrot-project/carrot/internal/meta"
)

// TestUnder: as a failure comes up out of RemoveAll's nested directories,
// its path grows one directory at a time, and only a relative one does.
func TestUnder(t *testing.T) {
	err := error(&meta.Error{Op: "rmdir", Path: "d26", Err: syscall.ENOTEMPTY})
	err = under("d1", fmt.Errorf("emptying: %w", err))
	err = under("top", err)
	var me *meta.Error
	if !errors.As(err, &me) || me.Path != "top/d1/d26" || !errors.Is(err, syscall.ENOTEMPTY) {
		t.Errorf("nested: %v", err)
	}
	for _, p := range []string{"/abs/path", "inode 12"} {
		if err := under("top", &meta.Error{Op: "read", Path: p}); !errors.As(err, &me) || me.Path != p {
			t.Errorf("%q became %v", p, err)
		}
	}
}
