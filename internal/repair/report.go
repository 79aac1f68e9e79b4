package repair

import (
	"context"
	"encoding/json"
	"time"

	"github.com/carrot-project/carrot/internal/membership"
	"github.com/carrot-project/carrot/internal/meta"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The leading repairer keeps the report of its last pass in etcd, so that
// `carrot cluster status` need not make a pass of its own: one reads every
// inode and every node's inventory, seconds at a few hundred thousand
// files, minutes at millions.

func reportKey(prefix string) string { return prefix + "repair/report" }

// keepReport stores rep as the last pass's report.
func keepReport(ctx context.Context, cli *clientv3.Client, prefix string, rep *Report) error {
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	_, err = cli.Put(ctx, reportKey(prefix), string(b))
	return err
}

// LastReport returns the report of the leading repairer's last pass, if
// it still describes the cluster: a pass that changed nothing, no older
// than the passes that should have followed it (params' RepairInterval,
// and the rest after a long scan), made when every node was in the state
// (up or down) the view shows now. Otherwise, or if there is none, it
// returns nil.
func LastReport(ctx context.Context, fs *meta.FS, view *membership.View, p meta.Params) (*Report, error) {
	r, err := fs.Client().Get(ctx, reportKey(fs.Prefix()))
	if err != nil {
		return nil, err
	}
	if len(r.Kvs) == 0 {
		return nil, nil
	}
	var rep Report
	if err := json.Unmarshal(r.Kvs[0].Value, &rep); err != nil {
		return nil, nil // from another version: make a pass instead
	}
	// A pass that copied or deleted counted what it found before it did:
	// not the cluster now. A report from the future is from a clock that
	// disagrees with ours: its age means nothing.
	age := time.Since(rep.At)
	if rep.Copied+rep.Moved+rep.Deleted > 0 || age < -10*time.Second || age > 2*p.RepairInterval+restAfter(rep.Scan)+rep.Scan+10*time.Second {
		return nil, nil
	}
	nodes := view.Nodes()
	if len(nodes) != len(rep.Nodes) {
		return nil, nil
	}
	for i, n := range nodes {
		// Both sorted by id.
		if rn := rep.Nodes[i]; rn.ID != n.ID || n.Live != (rn.State != "down") {
			return nil, nil
		}
	}
	return &rep, nil
}
