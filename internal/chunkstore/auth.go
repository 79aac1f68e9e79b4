package chunkstore

import (
	"context"
	"crypto/subtle"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Authentication, two layers:
//   - Transport: every connection is mutual TLS 1.3 with the cluster's
//     member certificate (clusterconf.TLSConfig): a client without a
//     certificate signed by the cluster CA, or without TLS, is refused in
//     the handshake, and everything after it is encrypted.
//   - Call: every RPC also carries "authorization: Bearer <cluster token>"
//     in its metadata; the server's interceptors compare it in constant
//     time and refuse the call with codes.Unauthenticated otherwise. The
//     token is the shared secret of carrot.toml (carrot up makes a random
//     one); TLS keeps it off the wire in clear text.

// TokenCredentials attaches the cluster token to every call.
type TokenCredentials string

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (t TokenCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials: the
// token is never sent over a connection without TLS.
func (TokenCredentials) RequireTransportSecurity() bool { return true }

func checkToken(ctx context.Context, token string) error {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		got, ok := strings.CutPrefix(v, "Bearer ")
		if ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1 {
			return nil
		}
	}
	return status.Error(codes.Unauthenticated, "chunkstore: missing or wrong cluster token")
}

// AuthInterceptors returns server options that refuse calls without token.
// An empty token refuses every call: a node never runs open.
func AuthInterceptors(token string) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if token == "" {
				return nil, status.Error(codes.Unauthenticated, "chunkstore: node has no token configured")
			}
			if err := checkToken(ctx, token); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if token == "" {
				return status.Error(codes.Unauthenticated, "chunkstore: node has no token configured")
			}
			if err := checkToken(ss.Context(), token); err != nil {
				return err
			}
			return h(srv, ss)
		}),
	}
}
