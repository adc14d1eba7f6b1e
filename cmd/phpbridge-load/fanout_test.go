package main

import (
	"os"
	"testing"
)

func TestParseFanout(t *testing.T) {
	for _, c := range []struct {
		in   string
		seq  int
		ns   int64
		good bool
	}{
		{"fanout seq=3 t=1763721300123456789 abcdef", 3, 1763721300123456789, true},
		{"fanout seq=0 t=42", 0, 42, true},
		{"fanout seq=x t=42 ", 0, 0, false},
		{"fanout seq=1 u=42 ", 0, 0, false},
		{"fanout seq=1", 0, 0, false},
		{"hello", 0, 0, false},
	} {
		seq, ns, ok := parseFanout([]byte(c.in))
		if ok != c.good || (ok && (seq != c.seq || ns != c.ns)) {
			t.Errorf("parseFanout(%q) = %d, %d, %v; want %d, %d, %v", c.in, seq, ns, ok, c.seq, c.ns, c.good)
		}
	}
}

func TestCountSent(t *testing.T) {
	if n, err := countSent([]byte(`{"ok":true,"sent":1}`), 1); n != 1 || err != nil {
		t.Errorf("bare push: %d, %v", n, err)
	}
	if _, err := countSent([]byte(`{"ok":false,"error":"not found"}`), 1); err == nil {
		t.Error("a bare push that was not found must be an error")
	}
	if n, err := countSent([]byte(`{"ok":true,"results":[{"ok":true,"sent":1},{"ok":true,"sent":1}]}`), 2); n != 2 || err != nil {
		t.Errorf("batch: %d, %v", n, err)
	}
	if n, err := countSent([]byte(`{"ok":true,"results":[{"ok":true,"sent":1},{"ok":false,"error":"not found"}]}`), 2); n != 1 || err == nil {
		t.Errorf("batch with a miss: %d, %v (want 1 and an error)", n, err)
	}
	if _, err := countSent([]byte(`{"ok":true,"results":[{"ok":true,"sent":1}]}`), 2); err == nil {
		t.Error("a batch answering fewer results than actions must be an error")
	}
}

func TestReadCPUSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	busy := 0
	for i := range 20_000_000 {
		busy += i
	}
	s := readCPU(os.Getpid())
	if s.ns <= 0 || s.ticks < 0 || s.sys < 0 || s.sys > s.ticks {
		t.Errorf("readCPU(self) = %+v (busy %d)", s, busy)
	}
	if z := readCPU(0); z != (cpuSample{}) {
		t.Errorf("readCPU(0) = %+v, want zero", z)
	}
}
