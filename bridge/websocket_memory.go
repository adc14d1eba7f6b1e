package bridge

import (
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
)

// watchMemorySignal makes SIGUSR1 collect garbage, return free memory to
// the OS and log the heap, until stop is closed. An operator wondering what
// idle WebSocket connections really cost sees it, and the benchmark
// (bench/ws.sh) measures "RSS after GC" with it: between collections the
// runtime keeps up to twice the live heap, garbage from the handshakes
// included, which says nothing about a connection's footprint.
func (h *wsHub) watchMemorySignal(stop <-chan struct{}) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	go func() {
		defer signal.Stop(sig)
		for {
			select {
			case <-sig:
				runtime.GC()
				debug.FreeOSMemory()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				h.log.Info("memory after GC (SIGUSR1)", "websocket_connections", h.Count(),
					"heap_inuse_kib", m.HeapInuse>>10, "stack_inuse_kib", m.StackInuse>>10,
					"sys_kib", m.Sys>>10, "goroutines", runtime.NumGoroutine())
			case <-stop:
				return
			}
		}
	}()
}
