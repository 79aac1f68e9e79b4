package clusterconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSaveLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "carrot.toml")
	ca, cert, key, err := EnsureTLS(filepath.Join(t.TempDir(), "tls"))
	if err != nil {
		t.Fatal(err)
	}
	f := &File{EtcdEndpoints: []string{"127.0.0.1:2379"}, Token: NewToken(), Prefix: "/x", CA: string(ca), Cert: string(cert), Key: string(key)}
	if err := f.Check(); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(p); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
	g, err := Load(p)
	if err != nil || g.Token != f.Token || g.Prefix != "/x/" || g.EtcdEndpoints[0] != "127.0.0.1:2379" || g.Key != f.Key || g.Cert != f.Cert || g.CA != f.CA {
		t.Fatalf("%+v %v", g, err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "none.toml")); err == nil || !strings.Contains(err.Error(), "carrot up") {
		t.Fatalf("missing: %v", err)
	}
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("token = \"x\"\netcd_endpoints = [\"a\"]\nbogus = 1\n"), 0o600)
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("unknown key: %v", err)
	}
	os.WriteFile(bad, []byte("etcd_endpoints = [\"a\"]\n"), 0o600)
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("no token: %v", err)
	}
	os.WriteFile(bad, []byte("etcd_endpoints = [\"a\"]\ntoken = \"x\"\n"), 0o600)
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Fatalf("no TLS: %v", err)
	}
}

func TestLocate(t *testing.T) {
	t.Setenv("CARROT_CONFIG", "/env.toml")
	if Locate("/flag.toml") != "/flag.toml" || Locate("") != "/env.toml" {
		t.Fatal("precedence")
	}
	t.Setenv("CARROT_CONFIG", "")
	t.Setenv("XDG_DATA_HOME", "/xdg")
	if Locate("") != "/xdg/carrot/carrot.toml" {
		t.Fatal(Locate(""))
	}
}
