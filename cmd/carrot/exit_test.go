package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestExitRefusesOpenProxy: every way of starting an exit that would be an
// open proxy, or that is simply wrong, is a usage error with a reason.
func TestExitRefusesOpenProxy(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "0.0.0.0:1080", "--no-auth"}, "only on a loopback address"},
		{[]string{"--listen", "[::]:1080", "--no-auth"}, "only on a loopback address"},
		{[]string{"--listen", ":1080", "--no-auth"}, "only on a loopback address"},
		{[]string{"--listen", "127.0.0.1:1080"}, "authentication is required"},
		{[]string{"--no-auth"}, "--listen is required"},
		{[]string{"--listen", "127.0.0.1:1080", "--no-auth", "--users", "f"}, "exclude each other"},
		{[]string{"--listen", "127.0.0.1:1080", "--no-auth", "--tls-cert", "c"}, "go together"},
		{[]string{"--listen", "127.0.0.1:1080", "--no-auth", "--allow", "10.0.0.0/33"}, "invalid"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"exit"}, tc.args...), nil, &out, &errb)
		if code != exitUsage || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("carrot exit %q: exit %d, stderr %q; want %d and %q", tc.args, code, errb.String(), exitUsage, tc.want)
		}
	}
}
