package bridge

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// A connection whose close event is queued has left its groups and uid, as
// in GatewayWorker before onClose: counts and isUidOnline no longer see it,
// joins and binds are refused, but the close handler still gets its uid and
// session, and its info.
func TestLeavingConnectionIsOutOfGroupsAndUidsButKeepsItsState(t *testing.T) {
	r := newRegistry()
	r.add(1, "127.0.0.1:1")
	r.add(2, "127.0.0.1:2")
	for _, fd := range []uint64{1, 2} {
		r.joinGroup(fd, "room")
		r.bindUid(fd, "u"+string(rune('0'+fd)))
	}
	if _, err := r.setSession(1, json.RawMessage(`{"name":"ann"}`), false); err != nil {
		t.Fatal(err)
	}

	r.leaving(1)

	if n := r.groupCount("room"); n != 1 {
		t.Errorf("groupCount = %d, want 1 (the leaving connection excluded)", n)
	}
	if fds := r.uidFds("u1"); len(fds) != 0 {
		t.Errorf("uid u1 still online through %v", fds)
	}
	if r.joinGroup(1, "other") || r.bindUid(1, "u9") {
		t.Error("a leaving connection joined a group or bound a uid")
	}
	uid, session := r.eventState(1)
	if uid != "u1" || string(session) != `{"name":"ann"}` {
		t.Errorf("close handler state: uid %q session %s", uid, session)
	}
	if in, ok := r.info(1); !ok || len(in.Groups) != 1 {
		t.Errorf("info of the leaving connection: %+v %v", in, ok)
	}
	r.remove(1)
	if _, ok := r.info(1); ok {
		t.Error("removed connection still known")
	}
}

// A session travels to PHP with every event: one too big for a FastCGI
// param is refused instead of breaking every later event.
func TestSessionSizeIsBounded(t *testing.T) {
	r := newRegistry()
	r.add(1, "127.0.0.1:1")
	big := `{"blob":"` + strings.Repeat("x", maxSessionBytes) + `"}`
	if _, err := r.setSession(1, json.RawMessage(big), false); !errors.Is(err, errSessionTooLarge) {
		t.Fatalf("setSession of %d bytes: %v, want errSessionTooLarge", len(big), err)
	}
	if s, _ := r.session(1); string(s) != "{}" {
		t.Errorf("session after the refused set: %s", s)
	}
	x := &actor{reg: r}
	res := x.run(&action{Op: "joinGroup", FD: ptr(uint64(1)), Group: ptr(strings.Repeat("g", maxNameBytes+1))})
	if res["ok"] != false {
		t.Errorf("a %d-byte group name: %v", maxNameBytes+1, res)
	}
}

func ptr[T any](v T) *T { return &v }
