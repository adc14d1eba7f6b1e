package bridge

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/fasthttp/websocket"
)

// action is one operation of docs/control-api.md, as posted to the control
// API or carried by a handler's response envelope.
type action struct {
	Op         string          `json:"op"`
	FD         *uint64         `json:"fd"`
	FDs        []uint64        `json:"fds"`
	Data       *string         `json:"data"`
	DataBase64 *string         `json:"data_base64"`
	Opcode     string          `json:"opcode"`
	Exclude    []uint64        `json:"exclude"`
	Group      *string         `json:"group"`
	Groups     []string        `json:"groups"`
	UID        json.RawMessage `json:"uid"`
	UIDs       json.RawMessage `json:"uids"`
	Session    json.RawMessage `json:"session"`
	Code       int             `json:"code"`
	Reason     string          `json:"reason"`
}

// result is one action's answer: "ok" plus the action's values, or "ok":
// false and "error".
type result map[string]any

func fail(format string, args ...any) result {
	return result{"ok": false, "error": fmt.Sprintf(format, args...)}
}

func okResult(kv ...any) result {
	r := result{"ok": true}
	for i := 0; i+1 < len(kv); i += 2 {
		r[kv[i].(string)] = kv[i+1]
	}
	return r
}

// maxNameBytes bounds a group name or uid: a uid travels to PHP in WS_UID
// on every event, and both are map keys held for the connection's life.
const maxNameBytes = 1024

var (
	errSessionTooLarge  = fmt.Errorf("the session is over %d bytes of JSON (it is sent to PHP with every event)", maxSessionBytes)
	errSessionNotObject = errors.New("session must be a JSON object")
	notFound            = result{"ok": false, "error": "not found"}
)

// hubOps is what actions need from the WebSocket side: delivering to and
// closing connections by fd. *wsHub implements it.
type hubOps interface {
	pushTo(fd uint64, pm *websocket.PreparedMessage) bool
	disconnectFD(fd uint64, code int, reason string) bool
	established(fd uint64) (exists, established bool)
	liveFDs() []uint64
	lastActivity(fd uint64) int64
	closesFailed() int64
}

// actor runs actions against the hub and the registry.
type actor struct {
	hub  hubOps
	reg  *registry
	node int // ws-node-id, reported by info
}

// run executes one action. It never panics on bad input and never stops a
// batch: problems are results.
func (x *actor) run(a *action) result {
	switch a.Op {
	case "push":
		return x.send(a, x.targets(a))
	case "broadcast":
		return x.send(a, x.hub.liveFDs())
	case "sendToGroup":
		groups := a.Groups
		if a.Group != nil {
			groups = append(groups, *a.Group)
		}
		if len(groups) == 0 {
			return fail("sendToGroup needs group or groups")
		}
		var fds []uint64
		for _, g := range groups {
			fds = append(fds, x.reg.groupMembers(g)...)
		}
		return x.send(a, dedupe(fds))
	case "sendToUid":
		uids, err := uidList(a)
		if err != nil {
			return fail("%v", err)
		}
		var fds []uint64
		for _, u := range uids {
			fds = append(fds, x.reg.uidFds(u)...)
		}
		return x.send(a, dedupe(fds))
	case "disconnect":
		code := a.Code
		if code == 0 {
			code = 1000
		}
		if !sendableCloseCode(code) {
			return fail("code %d is not a close code a server may send (1000-1003, 1007-1014, 3000-4999)", code)
		}
		if len(a.Reason) > maxCloseReason || !utf8.ValidString(a.Reason) {
			return fail("reason must be valid UTF-8 of at most %d bytes", maxCloseReason)
		}
		n := 0
		for _, fd := range x.targets(a) {
			if x.hub.disconnectFD(fd, code, a.Reason) {
				n++
			}
		}
		if n == 0 {
			return notFound
		}
		return okResult("closed", n)
	case "exist":
		if a.FD == nil {
			return fail("exist needs fd")
		}
		e, est := x.hub.established(*a.FD)
		return okResult("exist", e, "established", est)
	case "info":
		if a.FD == nil {
			return fail("info needs fd")
		}
		in, ok := x.reg.info(*a.FD)
		if !ok {
			return notFound
		}
		return okResult("fd", in.FD, "remote_addr", in.RemoteAddr, "connect_time", in.ConnectTime,
			"last_activity", x.hub.lastActivity(*a.FD), "groups", in.Groups, "uid", in.UID, "node", x.node)
	case "connections":
		if a.Group != nil {
			return okResult("fds", nonNil(x.reg.groupMembers(*a.Group)))
		}
		return okResult("fds", nonNil(x.hub.liveFDs()))
	case "count":
		return okResult("count", len(x.hub.liveFDs()))
	case "joinGroup", "leaveGroup":
		if a.Group == nil || *a.Group == "" {
			return fail("%s needs a non-empty group", a.Op)
		}
		if len(*a.Group) > maxNameBytes {
			return fail("%s: group names are at most %d bytes", a.Op, maxNameBytes)
		}
		return x.each(a, func(fd uint64) bool {
			if a.Op == "joinGroup" {
				return x.reg.joinGroup(fd, *a.Group)
			}
			return x.reg.leaveGroup(fd, *a.Group)
		})
	case "ungroup":
		if a.Group == nil {
			return fail("ungroup needs group")
		}
		x.reg.ungroup(*a.Group)
		return okResult()
	case "groupMembers":
		if a.Group == nil {
			return fail("groupMembers needs group")
		}
		return okResult("fds", nonNil(x.reg.groupMembers(*a.Group)))
	case "groupCount":
		if a.Group == nil {
			return fail("groupCount needs group")
		}
		return okResult("count", x.reg.groupCount(*a.Group))
	case "groups":
		return okResult("groups", x.reg.groupCounts())
	case "bindUid", "unbindUid":
		uid, err := uidString(a.UID)
		if err != nil || uid == "" {
			return fail("%s needs a non-empty uid (string or integer)", a.Op)
		}
		return x.each(a, func(fd uint64) bool {
			if a.Op == "bindUid" {
				return x.reg.bindUid(fd, uid)
			}
			return x.reg.unbindUid(fd, uid)
		})
	case "uidFds":
		uid, err := uidString(a.UID)
		if err != nil {
			return fail("%v", err)
		}
		return okResult("fds", nonNil(x.reg.uidFds(uid)))
	case "fdUid":
		if a.FD == nil {
			return fail("fdUid needs fd")
		}
		uid, ok := x.reg.uidOf(*a.FD)
		if !ok {
			return notFound
		}
		if uid == "" {
			return okResult("uid", nil)
		}
		return okResult("uid", uid)
	case "isUidOnline":
		uid, err := uidString(a.UID)
		if err != nil {
			return fail("%v", err)
		}
		return okResult("online", len(x.reg.uidFds(uid)) > 0)
	case "uidCount":
		return okResult("count", x.reg.uidCount())
	case "setSession", "updateSession":
		if a.FD == nil {
			return fail("%s needs fd", a.Op)
		}
		found, err := x.reg.setSession(*a.FD, a.Session, a.Op == "updateSession")
		if err != nil {
			return fail("%s: %v", a.Op, err)
		}
		if !found {
			return notFound
		}
		return okResult()
	case "getSession":
		if a.FD == nil {
			return fail("getSession needs fd")
		}
		s, ok := x.reg.session(*a.FD)
		if !ok {
			return notFound
		}
		return okResult("session", s)
	case "":
		return fail("missing op")
	}
	return fail("unsupported op %q", a.Op)
}

// targets are the fds an action names, with fd and fds both allowed.
func (x *actor) targets(a *action) []uint64 {
	fds := a.FDs
	if a.FD != nil {
		fds = append(fds, *a.FD)
	}
	return fds
}

// each applies fn to the action's fds and answers "not found" only when
// none was known.
func (x *actor) each(a *action, fn func(fd uint64) bool) result {
	fds := x.targets(a)
	if len(fds) == 0 {
		return fail("%s needs fd or fds", a.Op)
	}
	n := 0
	for _, fd := range fds {
		if fn(fd) {
			n++
		}
	}
	if n == 0 {
		return notFound
	}
	return okResult()
}

// send delivers the action's payload to fds minus its exclusions.
func (x *actor) send(a *action, fds []uint64) result {
	data, binary, err := payload(a)
	if err != nil {
		return fail("%v", err)
	}
	if a.Op == "push" && len(fds) == 0 {
		return fail("push needs fd or fds")
	}
	kind := websocket.TextMessage
	if binary {
		kind = websocket.BinaryMessage
	}
	// One message for every target: its frame is built once, and no
	// connection holds a copy of the payload.
	pm, err := websocket.NewPreparedMessage(kind, data)
	if err != nil {
		return fail("%v", err)
	}
	excluded := excludeSet(a.Exclude)
	sent := 0
	for _, fd := range fds {
		if excluded(fd) {
			continue
		}
		if x.hub.pushTo(fd, pm) {
			sent++
		}
	}
	if a.Op == "push" && sent == 0 {
		return notFound
	}
	return okResult("sent", sent)
}

// payload decodes data / data_base64 / opcode.
func payload(a *action) (data []byte, binary bool, err error) {
	switch a.Opcode {
	case "", "text":
	case "binary":
		binary = true
	default:
		return nil, false, fmt.Errorf("opcode %q is not text or binary", a.Opcode)
	}
	switch {
	case a.DataBase64 != nil:
		data, err = base64.StdEncoding.DecodeString(*a.DataBase64)
		if err != nil {
			return nil, false, fmt.Errorf("data_base64 is not standard base64: %v", err)
		}
		if a.Opcode == "" {
			binary = true
		}
	case a.Data != nil:
		data = []byte(*a.Data)
	default:
		return nil, false, errors.New("missing data (or data_base64)")
	}
	if !binary && !utf8.Valid(data) {
		return nil, false, errors.New("text messages must be valid UTF-8; send binary (opcode \"binary\" or data_base64)")
	}
	return data, binary, nil
}

// uidString accepts a uid as a JSON string or integer (PHP apps use both).
func uidString(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", errors.New("missing uid")
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("uid: %v", err)
		}
		if len(s) > maxNameBytes {
			return "", fmt.Errorf("uid: at most %d bytes", maxNameBytes)
		}
		return s, nil
	}
	if _, err := strconv.ParseInt(string(raw), 10, 64); err != nil {
		return "", errors.New("uid must be a string or an integer")
	}
	return string(raw), nil
}

// uidList reads uid or uids (each a string or integer).
func uidList(a *action) ([]string, error) {
	var out []string
	if len(a.UID) > 0 {
		u, err := uidString(a.UID)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	if len(a.UIDs) > 0 {
		var raws []json.RawMessage
		if err := json.Unmarshal(a.UIDs, &raws); err != nil {
			return nil, errors.New("uids must be an array")
		}
		for _, r := range raws {
			u, err := uidString(r)
			if err != nil {
				return nil, err
			}
			out = append(out, u)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("missing uid (or uids)")
	}
	return out, nil
}

// excludeSet answers "is fd excluded?": by a scan for a short list, by a
// map for a long one (a broadcast excluding thousands would be quadratic).
func excludeSet(list []uint64) func(uint64) bool {
	if len(list) <= 16 {
		return func(fd uint64) bool { return containsFD(list, fd) }
	}
	set := make(map[uint64]struct{}, len(list))
	for _, fd := range list {
		set[fd] = struct{}{}
	}
	return func(fd uint64) bool { _, ok := set[fd]; return ok }
}

func containsFD(list []uint64, fd uint64) bool {
	for _, x := range list {
		if x == fd {
			return true
		}
	}
	return false
}

func dedupe(fds []uint64) []uint64 {
	seen := make(map[uint64]struct{}, len(fds))
	out := fds[:0]
	for _, fd := range fds {
		if _, ok := seen[fd]; !ok {
			seen[fd] = struct{}{}
			out = append(out, fd)
		}
	}
	return out
}

func nonNil(fds []uint64) []uint64 {
	if fds == nil {
		return []uint64{}
	}
	return fds
}
