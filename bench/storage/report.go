package main

import (
	"fmt"
	"sort"
	"time"
)

// med returns the median and range of xs.
func med(xs []float64) (m, lo, hi float64) {
	if len(xs) == 0 {
		return 0, 0, 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		m = s[len(s)/2]
	} else {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return m, s[0], s[len(s)-1]
}

// f formats the median of xs with its range, e.g. "612 [580–640]".
func f(xs []float64, prec int) string {
	m, lo, hi := med(xs)
	if len(xs) == 0 || m == 0 && hi == 0 {
		return "n/a"
	}
	if len(xs) == 1 {
		return fmt.Sprintf("%.*f", prec, m)
	}
	return fmt.Sprintf("%.*f [%.*f–%.*f]", prec, m, prec, lo, prec, hi)
}

func msOf(d time.Duration) float64 { return float64(d) / 1e6 }

// collect maps every run to one number.
func collect[T any](rs []T, fn func(T) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = fn(r)
	}
	return out
}

func report(rs []*result, size int64, b baselines) {
	p := func(format string, a ...any) { fmt.Printf(format, a...) }
	p("Large file: %d MiB; small files: %d of 4 KiB; %d ops per latency figure; %d directories in the directory test; %d runs per figure, each on a fresh cluster: median [min–max].\n\n",
		size>>20, *files, *ops, *dirs, *runs)
	p("Baselines in the same run: 4 KiB write + fdatasync of a preallocated file (what one etcd WAL commit costs at least): p50 %.3f ms, p99 %.3f ms; a 64-byte TCP round trip to another process (what any request to a separate process costs at least): p50 %.3f ms, p99 %.3f ms.\n\n",
		msOf(b.fsyncP50), msOf(b.fsyncP99), msOf(b.rttP50), msOf(b.rttP99))
	if phase("data") {
		p("| nodes (R) | put MiB/s | local write+fsync MiB/s | get MiB/s warm | `cat` MiB/s warm | get/cat warm | get MiB/s cold | `cat` MiB/s cold | get/cat cold | CPU s per GiB got (client + nodes) | other processes' CPU during the warm get, cores (of 2) |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range rs {
			d := r.data
			p("| %d (%d) | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.n, min(2, r.n),
				f(collect(d, func(x dataRun) float64 { return x.Put }), 0),
				f(collect(d, func(x dataRun) float64 { return x.LocalWrite }), 0),
				f(collect(d, func(x dataRun) float64 { return x.GetWarm }), 0),
				f(collect(d, func(x dataRun) float64 { return x.CatWarm }), 0),
				f(collect(d, func(x dataRun) float64 { return x.GetWarm / x.CatWarm }), 2),
				f(collect(d, func(x dataRun) float64 { return x.GetCold }), 0),
				f(collect(d, func(x dataRun) float64 { return x.CatCold }), 0),
				f(collect(d, func(x dataRun) float64 {
					if x.CatCold == 0 {
						return 0
					}
					return x.GetCold / x.CatCold
				}), 2),
				f(collect(d, func(x dataRun) float64 { return x.GetCPU }), 2),
				f(collect(d, func(x dataRun) float64 { return x.Others }), 2))
		}
		p("\nEach run, get/cat warm and cold, with the cores other processes used during the warm get:\n\n")
		for _, r := range rs {
			p("- %d node(s):", r.n)
			for k, x := range r.data {
				sep := ";"
				if k == 0 {
					sep = ""
				}
				cold := "n/a"
				if x.CatCold > 0 {
					cold = fmt.Sprintf("%.2f", x.GetCold/x.CatCold)
				}
				p("%s %.2f / %s (%.2f)", sep, x.GetWarm/x.CatWarm, cold, x.Others)
			}
			p("\n")
		}
		p("\n")
	}
	if phase("meta") {
		p("| nodes | client | creates/s, 1 client | vs JuiceFS 1,410/s | creates/s, 16 threads | create p50 / p99 ms | bare etcd Put p50 ms | etcd requests per create, 16 threads | WAL fsyncs per create, 1 / 16 | WAL fsync mean ms |\n|---|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range rs {
			for _, c := range []struct {
				name string
				m    []metaRun
			}{{"in-process", r.inproc}, {"separate process (kv socket)", r.process}, {"separate process (gRPC)", r.processGRPC}} {
				m := c.m
				fs := "n/a"
				fm := "n/a"
				if c.name == "in-process" {
					fs = f(collect(m, func(x metaRun) float64 { return x.Fsyncs1 }), 2) + " / " + f(collect(m, func(x metaRun) float64 { return x.Fsyncs16 }), 2)
					fm = f(collect(m, func(x metaRun) float64 { return msOf(x.FsyncMean) }), 3)
				}
				p("| %d | %s | %s | %s | %s | %s / %s | %s | %s | %s | %s |\n", r.n, c.name,
					f(collect(m, func(x metaRun) float64 { return x.Create1 }), 0),
					f(collect(m, func(x metaRun) float64 { return x.Create1 / 1410 }), 2),
					f(collect(m, func(x metaRun) float64 { return x.Create16 }), 0),
					f(collect(m, func(x metaRun) float64 { return msOf(x.CreateLat.P50) }), 3),
					f(collect(m, func(x metaRun) float64 { return msOf(x.CreateLat.P99) }), 3),
					f(collect(m, func(x metaRun) float64 { return msOf(x.EtcdPut.P50) }), 3),
					f(collect(m, func(x metaRun) float64 { return x.Reqs16 }), 2),
					fs, fm)
			}
		}
		p("\nMetadata latency, ms (median over runs of each run's p50, and of each run's p99):\n\n")
		p("| nodes | client | mkdir p50 / p99 | stat p50 / p99 (etcd read) | stat p50 (watch cache) | rename dir within its dir p50 / p99 | rename file over a file p50 / p99 | rename dir to another dir p50 / p99 | dir test: %d × (mkdir + create), ms per dir |\n|---|---|---|---|---|---|---|---|---|\n", *dirs)
		for _, r := range rs {
			for _, c := range []struct {
				name string
				m    []metaRun
			}{{"in-process", r.inproc}, {"separate process (kv socket)", r.process}, {"separate process (gRPC)", r.processGRPC}} {
				m := c.m
				lat := func(get func(metaRun) pct) string {
					return f(collect(m, func(x metaRun) float64 { return msOf(get(x).P50) }), 3) + " / " +
						f(collect(m, func(x metaRun) float64 { return msOf(get(x).P99) }), 3)
				}
				p("| %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.n, c.name,
					lat(func(x metaRun) pct { return x.Mkdir }),
					lat(func(x metaRun) pct { return x.Stat }),
					f(collect(m, func(x metaRun) float64 { return msOf(x.StatCached.P50) }), 4),
					lat(func(x metaRun) pct { return x.RenameDir }),
					lat(func(x metaRun) pct { return x.RenameOver }),
					lat(func(x metaRun) pct { return x.RenameAcross }),
					f(collect(m, func(x metaRun) float64 { return msOf(x.DirTest) / float64(*dirs) }), 2))
			}
		}
		if len(rs) > 1 {
			first, last := rs[0], rs[len(rs)-1]
			ratio := func(get func(metaRun) float64) float64 {
				a, _, _ := med(collect(last.inproc, get))
				b, _, _ := med(collect(first.inproc, get))
				return a / b
			}
			p("\nScaling, in-process client, medians, %d nodes / %d node(s): mkdir p50 %.2fx, stat p50 %.2fx, rename p50 %.2fx, directory test %.2fx, creates/s %.2fx.\n",
				last.n, first.n,
				ratio(func(x metaRun) float64 { return msOf(x.Mkdir.P50) }),
				ratio(func(x metaRun) float64 { return msOf(x.Stat.P50) }),
				ratio(func(x metaRun) float64 { return msOf(x.RenameDir.P50) }),
				ratio(func(x metaRun) float64 { return msOf(x.DirTest) }),
				ratio(func(x metaRun) float64 { return x.Create1 }))
		}
		p("\n")
	}
	if phase("chunked") {
		p("Creates with inlining off (every 4 KiB file is a chunk on R nodes, then one etcd transaction), in-process client, %d files:\n\n| nodes | creates/s, 1 client | creates/s, 16 threads |\n|---|---|---|\n", *files/5)
		for _, r := range rs {
			p("| %d | %s | %s |\n", r.n, f(collect(r.chunked, func(x chunkedRun) float64 { return x.Create1 }), 0),
				f(collect(r.chunked, func(x chunkedRun) float64 { return x.Create16 }), 0))
		}
		p("\n")
	}
	if !phase("meta") || !phase("chunked") || !phase("data") {
		return // the request counts need every phase
	}
	p("Requests per operation (etcd / storage node), first run:\n\n| nodes | mkdir | stat | rename dir within its dir | rename file over a file | rename dir to another dir | create 4 KiB inline | create 4 KiB chunked | put, per 4 MiB chunk | get, per chunk |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		c := r.rpc
		x := func(v rpcs) string { return fmt.Sprintf("%.0f / %.0f", v.etcd, v.chunk) }
		p("| %d | %s | %s | %s | %s | %s | %s | %s | - / %.2f | - / %.2f |\n", r.n, x(c.meta.mkdir), x(c.meta.stat), x(c.meta.renameDir),
			x(c.meta.renameOver), x(c.meta.renameAcross), x(c.meta.create), x(c.createChunk), c.putPerChunk, c.getPerChunk)
	}
}
