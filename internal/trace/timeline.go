package trace

import (
	"bufio"
	"os"
	"time"
)

// timeline writes --timeline: the Trace Event Format that Perfetto and
// chrome://tracing open. Each call is a complete ("X") slice on its
// thread's track, with its arguments and result; signals are instant
// events; process names are metadata. The file is the format's JSON
// array form, whose closing bracket is optional, so a trace cut short by
// a crash still opens.
type timeline struct {
	f     *os.File
	w     *bufio.Writer
	start time.Time
	first bool
	named map[int]string
}

func newTimeline(path string, start time.Time) (*timeline, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	t := &timeline{f: f, w: bufio.NewWriterSize(f, 256<<10), start: start, first: true, named: map[int]string{}}
	t.w.WriteString("[\n")
	return t, nil
}

// traceEvent is one entry of the Trace Event Format.
type traceEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"` // microseconds
	Dur  float64        `json:"dur,omitempty"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	S    string         `json:"s,omitempty"`
	Args map[string]any `json:"args,omitempty"`
}

func (t *timeline) emit(ev traceEvent) {
	b, err := marshal(ev)
	if err != nil {
		return
	}
	if !t.first {
		t.w.WriteString(",\n")
	}
	t.first = false
	t.w.Write(b)
}

func (t *timeline) us(at time.Time) float64 { return float64(at.Sub(t.start).Nanoseconds()) / 1e3 }

func (t *timeline) call(k *taskState, end time.Time) {
	d := k.dec
	t.emit(traceEvent{Name: d.Name(), Cat: "syscall", Ph: "X", Ts: t.us(k.enter), Dur: max(t.us(end)-t.us(k.enter), 0.001),
		Pid: k.pid, Tid: k.tid, Args: map[string]any{"args": d.Args(), "ret": d.Ret()}})
}

func (t *timeline) instant(pid, tid int, name string, at time.Time) {
	t.emit(traceEvent{Name: name, Cat: "signal", Ph: "i", S: "t", Ts: t.us(at), Pid: pid, Tid: tid})
}

// process names pid's track (again after an exec).
func (t *timeline) process(pid int, name string) {
	if name == "" || t.named[pid] == name {
		return
	}
	t.named[pid] = name
	t.emit(traceEvent{Name: "process_name", Ph: "M", Pid: pid, Tid: pid, Args: map[string]any{"name": name + " (" + itoa(pid) + ")"}})
}

func (t *timeline) close() error {
	t.w.WriteString("\n]\n")
	err := t.w.Flush()
	if e := t.f.Close(); err == nil {
		err = e
	}
	return err
}
