package protogen

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedCurrent regenerates every .pb.go file into a temporary
// directory and compares it with the committed one.
func TestGeneratedCurrent(t *testing.T) {
	if _, err := exec.LookPath("protoc"); err != nil {
		t.Fatalf("protoc not installed (.ci/install installs protobuf-compiler): %v", err)
	}
	script, err := filepath.Abs("gen.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"../chunkstore/chunkpb", "../meta/metapb"} {
		protos, _ := filepath.Glob(filepath.Join(dir, "*.proto"))
		if len(protos) == 0 {
			t.Fatalf("no .proto in %s", dir)
		}
		for _, p := range protos {
			out := t.TempDir()
			cmd := exec.Command("sh", script, filepath.Base(p), out)
			cmd.Dir = dir
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("gen %s: %v\n%s", p, err, b)
			}
			gen, _ := filepath.Glob(filepath.Join(out, "*.go"))
			if len(gen) == 0 {
				t.Fatalf("gen %s produced nothing", p)
			}
			for _, g := range gen {
				want, err := os.ReadFile(g)
				if err != nil {
					t.Fatal(err)
				}
				have, err := os.ReadFile(filepath.Join(dir, filepath.Base(g)))
				if err != nil {
					t.Fatalf("%v (run go generate in %s)", err, dir)
				}
				if !bytes.Equal(want, have) {
					t.Errorf("%s/%s is stale: run go generate in %s", dir, filepath.Base(g), dir)
				}
			}
		}
	}
}
