package bridge

import (
	"encoding/json"
	"maps"
	"slices"
	"sync"
	"time"
)

// registry is this node's view of who is where: the groups and uids
// connections joined, and each connection's session data. It is what the
// GatewayWorker-style calls (joinGroup, bindUid, setSession…) act on, from
// the control API or from a handler's response envelope. Connections are
// identified by their WS_FD; the registry never touches sockets.
type registry struct {
	mu     sync.RWMutex
	groups map[string]map[uint64]struct{}
	uids   map[string]map[uint64]struct{}
	fds    map[uint64]*fdState
}

// fdState is what the registry knows of one connection.
type fdState struct {
	remoteAddr  string
	connectedAt time.Time
	groups      map[string]struct{}
	uid         string
	session     json.RawMessage // a JSON object, or nil
	leaving     bool            // its close event is queued: out of every group and uid
}

// maxSessionBytes bounds a connection's session (JSON): it travels to PHP
// in a FastCGI param (WS_SESSION) on every event, and PHP-FPM refuses a
// param near 64 KiB, which would make every later event fail.
const maxSessionBytes = 32 << 10

func newRegistry() *registry {
	return &registry{
		groups: make(map[string]map[uint64]struct{}),
		uids:   make(map[string]map[uint64]struct{}),
		fds:    make(map[uint64]*fdState),
	}
}

// add records a connection once it is established.
func (r *registry) add(fd uint64, remoteAddr string) {
	r.mu.Lock()
	r.fds[fd] = &fdState{remoteAddr: remoteAddr, connectedAt: time.Now()}
	r.mu.Unlock()
}

// remove forgets a connection after its close event reached PHP, so that
// handlers still see its groups and uid in onClose.
func (r *registry) remove(fd uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.fds[fd]
	if st == nil {
		return
	}
	for g := range st.groups {
		removeMember(r.groups, g, fd)
	}
	if st.uid != "" {
		removeMember(r.uids, st.uid, fd)
	}
	delete(r.fds, fd)
}

func addMember(index map[string]map[uint64]struct{}, key string, fd uint64) {
	set := index[key]
	if set == nil {
		set = make(map[uint64]struct{})
		index[key] = set
	}
	set[fd] = struct{}{}
}

func removeMember(index map[string]map[uint64]struct{}, key string, fd uint64) {
	if set := index[key]; set != nil {
		delete(set, fd)
		if len(set) == 0 {
			delete(index, key)
		}
	}
}

// leaving takes a connection whose close event is queued out of its groups
// and uid, as GatewayWorker does before onClose: counts and isUidOnline in
// the close handler no longer include it, while the handler still gets its
// uid and session (WS_UID, WS_SESSION) and getClientInfo still lists them.
// Later joins and binds for it are refused.
func (r *registry) leaving(fd uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.fds[fd]
	if st == nil {
		return
	}
	st.leaving = true
	for g := range st.groups {
		removeMember(r.groups, g, fd)
	}
	if st.uid != "" {
		removeMember(r.uids, st.uid, fd)
	}
}

// joinGroup reports false when fd is unknown or leaving.
func (r *registry) joinGroup(fd uint64, group string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.fds[fd]
	if st == nil || st.leaving {
		return false
	}
	if st.groups == nil {
		st.groups = make(map[string]struct{})
	}
	st.groups[group] = struct{}{}
	addMember(r.groups, group, fd)
	return true
}

func (r *registry) leaveGroup(fd uint64, group string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.fds[fd]
	if st == nil {
		return false
	}
	delete(st.groups, group)
	removeMember(r.groups, group, fd)
	return true
}

// ungroup empties a group; its members stay connected.
func (r *registry) ungroup(group string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for fd := range r.groups[group] {
		if st := r.fds[fd]; st != nil {
			delete(st.groups, group)
		}
	}
	delete(r.groups, group)
}

// members lists the fds of a group (or of a uid), sorted for stable output.
func (r *registry) members(index map[string]map[uint64]struct{}, key string) []uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := slices.Collect(maps.Keys(index[key]))
	slices.Sort(out)
	return out
}

func (r *registry) groupMembers(group string) []uint64 { return r.members(r.groups, group) }
func (r *registry) uidFds(uid string) []uint64         { return r.members(r.uids, uid) }

func (r *registry) groupCount(group string) int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.groups[group])
}

// groupCounts maps every non-empty group to its size.
func (r *registry) groupCounts() map[string]int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[string]int, len(r.groups))
	for g, set := range r.groups {
		out[g] = len(set)
	}
	return out
}

// bindUid binds fd to uid, replacing an earlier binding (a connection has
// one user, a user may have many connections), like GatewayWorker.
func (r *registry) bindUid(fd uint64, uid string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.fds[fd]
	if st == nil || st.leaving {
		return false
	}
	if st.uid != "" {
		removeMember(r.uids, st.uid, fd)
	}
	st.uid = uid
	addMember(r.uids, uid, fd)
	return true
}

// unbindUid undoes bindUid when fd is bound to uid.
func (r *registry) unbindUid(fd uint64, uid string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.fds[fd]
	if st == nil {
		return false
	}
	if st.uid == uid {
		st.uid = ""
		removeMember(r.uids, uid, fd)
	}
	return true
}

func (r *registry) uidOf(fd uint64) (string, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	st := r.fds[fd]
	if st == nil {
		return "", false
	}
	return st.uid, true
}

func (r *registry) uidCount() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.uids)
}

// setSession replaces (merge=false) or merges into (merge=true) the
// session object of fd.
func (r *registry) setSession(fd uint64, session json.RawMessage, merge bool) (found bool, err error) {
	var incoming map[string]json.RawMessage
	if err := json.Unmarshal(session, &incoming); err != nil || incoming == nil {
		return false, errSessionNotObject
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.fds[fd]
	if st == nil {
		return false, nil
	}
	if merge && len(st.session) > 0 {
		var cur map[string]json.RawMessage
		_ = json.Unmarshal(st.session, &cur)
		if cur == nil {
			cur = make(map[string]json.RawMessage)
		}
		maps.Copy(cur, incoming)
		incoming = cur
	}
	b, err := json.Marshal(incoming)
	if err != nil {
		return true, err
	}
	if len(b) > maxSessionBytes {
		return true, errSessionTooLarge
	}
	st.session = b
	return true, nil
}

// session returns fd's session object ({} when none was set).
func (r *registry) session(fd uint64) (json.RawMessage, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	st := r.fds[fd]
	if st == nil {
		return nil, false
	}
	if len(st.session) == 0 {
		return json.RawMessage("{}"), true
	}
	return st.session, true
}

// fdInfo is getClientInfo's answer.
type fdInfo struct {
	FD          uint64   `json:"fd"`
	RemoteAddr  string   `json:"remote_addr"`
	ConnectTime int64    `json:"connect_time"`
	Groups      []string `json:"groups"`
	UID         *string  `json:"uid"`
}

func (r *registry) info(fd uint64) (fdInfo, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	st := r.fds[fd]
	if st == nil {
		return fdInfo{}, false
	}
	in := fdInfo{FD: fd, RemoteAddr: st.remoteAddr, ConnectTime: st.connectedAt.Unix(),
		Groups: slices.Sorted(maps.Keys(st.groups))}
	if in.Groups == nil {
		in.Groups = []string{}
	}
	if st.uid != "" {
		uid := st.uid
		in.UID = &uid
	}
	return in, true
}

// eventState is what travels to PHP with each event: WS_UID and WS_SESSION.
func (r *registry) eventState(fd uint64) (uid string, session json.RawMessage) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if st := r.fds[fd]; st != nil {
		return st.uid, st.session
	}
	return "", nil
}
