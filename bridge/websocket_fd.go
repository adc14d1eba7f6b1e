package bridge

import (
	"sync"
	"time"
)

// Connection ids (WS_FD) are snowflake-like integers:
//
//	bits 52..12  milliseconds since fdEpoch (41 bits: until 2095)
//	bits 11..6   node id, ws-node-id (6 bits: 64 nodes)
//	bits  5..0   sequence within the millisecond (64 ids)
//
// so every id is below 2^53 (a JavaScript number holds it exactly), ids of
// one node only grow, and nodes never collide as long as running nodes have
// distinct ws-node-id values.
//
// A burst of more than 64 connections in one millisecond borrows the slots
// of the following milliseconds, up to fdMaxBorrow ahead of the clock; past
// that, allocation waits for the clock. Ids therefore never run more than
// fdMaxBorrow ahead of real time, and a restarted process starts
// fdMaxBorrow ahead of its clock: its first id is above anything its
// predecessor (same node id) can have handed out, so ids are not reused
// across restarts either, provided the wall clock does not step back.
const (
	fdNodeBits  = 6
	fdSeqBits   = 6
	fdTimeBits  = 41
	fdMaxBorrow = 1000 // milliseconds
	// fdEpoch is 2026-01-01T00:00:00Z in Unix milliseconds.
	fdEpoch = 1767225600000
)

// fdGenerator hands out connection ids. It is safe for concurrent use.
type fdGenerator struct {
	mu   sync.Mutex
	node uint64
	// last is the last slot handed out: milliseconds << fdSeqBits | sequence.
	last uint64
	now  func() time.Time
	// sleep waits for the clock when the borrow limit is reached.
	sleep func(time.Duration)
}

func newFDGenerator(node int, now func() time.Time) *fdGenerator {
	if now == nil {
		now = time.Now
	}
	g := &fdGenerator{node: uint64(node), now: now, sleep: time.Sleep}
	g.last = (g.millis() + fdMaxBorrow) << fdSeqBits
	return g
}

func (g *fdGenerator) millis() uint64 {
	ms := g.now().UnixMilli() - fdEpoch
	if ms < 0 {
		return 0
	}
	return uint64(ms)
}

// next returns a new id.
func (g *fdGenerator) next() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	for {
		ms := g.millis()
		slot := g.last + 1
		if floor := ms << fdSeqBits; slot < floor {
			slot = floor
		}
		// Borrowing stops at fdMaxBorrow, so slot is at most one
		// millisecond further ahead, unless the wall clock stepped back:
		// then keep counting up rather than stall every new connection
		// until the clock catches up.
		ahead := int64(slot>>fdSeqBits) - int64(ms)
		if ahead <= fdMaxBorrow || ahead > fdMaxBorrow+1 {
			g.last = slot
			return fdCompose(slot>>fdSeqBits, g.node, slot&(1<<fdSeqBits-1))
		}
		g.sleep(time.Millisecond)
	}
}

func fdCompose(ms, node, seq uint64) uint64 {
	return (ms&(1<<fdTimeBits-1))<<(fdNodeBits+fdSeqBits) | node<<fdSeqBits | seq
}

// fdTime and fdNode take an id apart (tests and diagnostics).
func fdTime(fd uint64) time.Time {
	return time.UnixMilli(int64(fd>>(fdNodeBits+fdSeqBits)) + fdEpoch)
}

func fdNode(fd uint64) int { return int(fd >> fdSeqBits & (1<<fdNodeBits - 1)) }
