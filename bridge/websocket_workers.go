package bridge

import (
	"sync"
	"time"
)

// wsWorkerIdle is how long a worker goroutine waits for more work before it
// exits.
const wsWorkerIdle = 10 * time.Second

// wsWorkers runs connections' event queues (wsConn.drain) on goroutines
// that are reused from one event to the next. A goroutine started per
// event would grow its stack through the FastCGI call every time (the
// runtime copies the stack at each doubling); a reused one keeps its grown
// stack. Workers are not a concurrency limit — a connection blocked on a
// slow client holds only its own worker — the FastCGI client's connection
// cap is. Idle workers exit after wsWorkerIdle, so an idle server holds
// none.
type wsWorkers struct {
	mu      sync.Mutex
	idle    []*wsWorker // LIFO: the most recently used (warmest) first
	reaping bool
	closed  bool
	stop    chan struct{}
}

type wsWorker struct {
	ch       chan *wsConn // nil retires the worker
	lastUsed time.Time
}

func newWSWorkers() *wsWorkers { return &wsWorkers{stop: make(chan struct{})} }

// run drains c's queue on an idle worker, or a new one.
func (p *wsWorkers) run(c *wsConn) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		w.ch <- c
		return
	}
	reap := !p.reaping && !p.closed
	p.reaping = p.reaping || reap
	p.mu.Unlock()
	if reap {
		go p.reap()
	}
	go p.work(&wsWorker{ch: make(chan *wsConn, 1)}, c)
}

func (p *wsWorkers) work(w *wsWorker, c *wsConn) {
	for c != nil {
		c.drain()
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return
		}
		w.lastUsed = time.Now()
		p.idle = append(p.idle, w)
		p.mu.Unlock()
		c = <-w.ch
	}
}

// reap retires workers idle for wsWorkerIdle, checking every wsWorkerIdle.
func (p *wsWorkers) reap() {
	t := time.NewTicker(wsWorkerIdle)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			p.retire(time.Now().Add(-wsWorkerIdle))
		case <-p.stop:
			return
		}
	}
}

// retire ends the idle workers last used before cutoff: the oldest sit at
// the bottom of the LIFO.
func (p *wsWorkers) retire(cutoff time.Time) {
	p.mu.Lock()
	n := 0
	for n < len(p.idle) && p.idle[n].lastUsed.Before(cutoff) {
		n++
	}
	old := append([]*wsWorker(nil), p.idle[:n]...)
	p.idle = append(p.idle[:0], p.idle[n:]...)
	p.mu.Unlock()
	for _, w := range old {
		w.ch <- nil
	}
}

// close retires every idle worker once the hub has shut down; busy ones
// exit when done.
func (p *wsWorkers) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	close(p.stop)
	for _, w := range idle {
		w.ch <- nil
	}
}
