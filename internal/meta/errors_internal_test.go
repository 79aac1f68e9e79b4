package meta

import (
	"errors"
	"syscall"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestEtcdErrnos: etcd's full quota is ENOSPC, whether the client saw it
// as etcd's error or as the gRPC status it travels as; other failures EIO.
func TestEtcdErrnos(t *testing.T) {
	for _, c := range []struct {
		err  error
		want syscall.Errno
	}{
		{rpctypes.ErrNoSpace, syscall.ENOSPC},
		{rpctypes.ErrGRPCNoSpace, syscall.ENOSPC},
		{rpctypes.Error(status.Error(codes.ResourceExhausted, "etcdserver: mvcc: database space exceeded")), syscall.ENOSPC},
		{rpctypes.ErrTimeout, syscall.EIO},
		{errors.New("connection refused"), syscall.EIO},
	} {
		if got := Errno(eio(c.err)); got != c.want {
			t.Errorf("%v: %v, want %v", c.err, got, c.want)
		}
	}
}
