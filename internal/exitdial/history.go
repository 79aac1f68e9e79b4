package exitdial

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// History is what earlier races taught about the exits, kept across runs:
// for each exit, a score between 0 and 1 of how often it won the races it
// was asked to run. A race (race mode only) tries the exits it has no
// memory of for the destination in the order of their scores, the highest
// first (the user's order among equals; an exit never raced scores 0.5).
// So a short-lived program, which meets every destination for the first
// time, does not pay a stagger on every run for exits listed first that
// are usually blocked: Happy Eyeballs' use of historical data (RFC 8305,
// section 4), applied to exits.
//
// What is learnt: a race won by exit W scores a win for W and a loss for
// each exit that failed to reach the destination, or was asked no later
// than W and was slower (one asked after W may not have had the time). A
// race nobody won teaches nothing (the destination itself may be down).
// Each outcome moves the score a quarter of the way to 1 or 0, so the
// history follows a change of censorship within a few runs. Scores older
// than historyMaxAge are forgotten.
//
// It also keeps how fast each exit answered a CONNECT in the last run
// that asked it one (the shortest answer on a spare connection), so that
// a run's first race staggers its attempts by the exits' real answers
// rather than by a guess from their round trips: the exit asked first,
// the one that usually wins, is then not joined by the others before it
// had the time to answer (RFC 8305's historical RTT, applied to exits).
//
// The file holds each exit's URL without its password, its score, its
// answer time and when it last changed: never a destination.
type History struct {
	path string

	mu      sync.Mutex
	scores  map[string]histEntry
	touched map[string]bool          // changed by this run: what Save writes over the file
	answers map[string]time.Duration // this run's shortest answer per exit
}

type historyFile struct {
	Exits map[string]histEntry `json:"exits"`
}

type histEntry struct {
	Score float64   `json:"score"`
	At    time.Time `json:"at"`
	// Answer is the shortest CONNECT answer in the last run that
	// measured one, in nanoseconds (0: none).
	Answer time.Duration `json:"answer_ns,omitempty"`
}

const (
	// historyTrusted is the score past which a first contact goes to the
	// exit on the program's own socket (see Over), not through a race.
	historyTrusted = 0.9
	historyPrior   = 0.5
	historyGain    = 0.25
	historyMaxAge  = 7 * 24 * time.Hour
	historyMax     = 256 // exits kept, the most recent
)

// NewHistory is an empty history kept in memory only (Save does nothing):
// one run's races still order its later ones.
func NewHistory() *History {
	return &History{scores: map[string]histEntry{}, touched: map[string]bool{}, answers: map[string]time.Duration{}}
}

// LoadHistory reads the history kept at path. A missing or unreadable file
// is an empty history (it is a cache: losing it costs a few staggers).
func LoadHistory(path string) *History {
	h := NewHistory()
	h.path = path
	b, err := os.ReadFile(path)
	if err != nil {
		return h
	}
	var file historyFile
	if json.Unmarshal(b, &file) != nil {
		return h
	}
	h.scores = valid(file.Exits)
	return h
}

// valid keeps the entries of a history file that make sense: a score
// between 0 and 1, set within historyMaxAge (and not in the future).
func valid(exits map[string]histEntry) map[string]histEntry {
	out := map[string]histEntry{}
	now := time.Now()
	for k, e := range exits {
		if age := now.Sub(e.At); age < historyMaxAge && age > -time.Minute && e.Score >= 0 && e.Score <= 1 {
			if e.Answer < 0 || e.Answer > maxStagger {
				e.Answer = 0 // not a measure the stagger could use
			}
			out[k] = e
		}
	}
	return out
}

// DefaultHistoryPath is where carrot run keeps the history:
// $XDG_CACHE_HOME/carrot/exits.json (~/.cache/carrot/exits.json).
func DefaultHistoryPath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "carrot", "exits.json"), nil
}

func (h *History) score(e *Exit) float64 {
	if h == nil {
		return historyPrior
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.scores[e.Name]; ok {
		return s.Score
	}
	return historyPrior
}

// answer is the shortest CONNECT answer remembered for any of exits (0:
// none).
func (h *History) answer(exits []*Exit) time.Duration {
	if h == nil {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var best time.Duration
	for _, e := range exits {
		if a := h.scores[e.Name].Answer; a > 0 && (best == 0 || a < best) {
			best = a
		}
	}
	return best
}

// answered records that e answered a CONNECT with success in took: the
// shortest of this run's is what the file keeps.
func (h *History) answered(e *Exit, took time.Duration) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if old, ok := h.answers[e.Name]; ok && old <= took {
		return
	}
	h.answers[e.Name] = took
	s, ok := h.scores[e.Name]
	if !ok {
		s.Score = historyPrior
	}
	s.Answer, s.At = took, time.Now()
	h.scores[e.Name] = s
	h.touched[e.Name] = true
}

// race records a race won by winner (nil: by none of them, every one
// having failed to reach the destination), in which asked were asked.
func (h *History) race(winner *Exit, asked []*Exit) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	for _, e := range asked {
		s, ok := h.scores[e.Name]
		if !ok {
			s.Score = historyPrior
		}
		target := 0.0
		if e == winner {
			target = 1
		}
		s.Score += (target - s.Score) * historyGain
		s.At = now
		h.scores[e.Name] = s
		h.touched[e.Name] = true
	}
}

// Save writes the exits this run's races changed over what the file
// holds now (runs at the same time keep each other's other exits),
// atomically (a temporary file renamed over it), readable by its owner
// only. A NewHistory has no file: Save does nothing.
func (h *History) Save() error {
	if h == nil || h.path == "" {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.touched) == 0 {
		return nil
	}
	merged := map[string]histEntry{}
	if b, err := os.ReadFile(h.path); err == nil {
		var now historyFile
		if json.Unmarshal(b, &now) == nil {
			merged = valid(now.Exits)
		}
	}
	for k := range h.touched {
		merged[k] = h.scores[k]
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return merged[keys[i]].At.After(merged[keys[j]].At) })
	file := historyFile{map[string]histEntry{}}
	for _, k := range keys[:min(len(keys), historyMax)] {
		file.Exits[k] = merged[k]
	}
	b, err := json.MarshalIndent(file, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(h.path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(h.path), ".exits-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // if the rename did not happen
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), h.path); err != nil {
		return err
	}
	clear(h.touched)
	return nil
}
