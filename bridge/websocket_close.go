package bridge

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Close codes the bridge sends or reports in WS_CLOSE_CODE (RFC 6455
// section 7.4.1).
const (
	closeNormal        = 1000
	closeGoingAway     = 1001 // shutdown, idle timeout
	closeProtocolError = 1002 // unmasked frame, reserved bits, bad opcode, bad control frame
	closeNoStatus      = 1005 // the client's close frame had no code
	closeAbnormal      = 1006 // the peer vanished without a close frame
	closeInvalidData   = 1007 // invalid UTF-8 in a text message, corrupt deflate data
	closePolicy        = 1008 // the client does not read (send queue full, write timeout)
	closeTooBig        = 1009 // message above ws-max-message-size
	closeInternalError = 1011 // PHP failed and ws-on-php-error is "close"
)

// maxCloseReason is the room for a reason in a close frame: a control
// frame carries at most 125 bytes, two of them the code.
const maxCloseReason = 123

// wsCloseCause is why a connection ended: the code and reason its close
// event reports. The first cause recorded wins, so a server-initiated close
// keeps its code even though the client echoes another.
type wsCloseCause struct {
	code   int
	reason string
}

// sendableCloseCode reports whether a server may put code in a close frame:
// 1000-1003 and 1007-1014 of the registry, 3000-4999 for libraries and
// applications. 1005, 1006 and 1015 only describe a close, they are never
// sent.
func sendableCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// parseCloseHeader reads PHP's "X-Phpbridge-Close: <code> [reason]". A
// missing or unsendable code becomes 1000 and ok reports false so the
// caller can warn; the reason is made sendable (cleanCloseReason).
func parseCloseHeader(v string) (code int, reason string, ok bool) {
	v = strings.TrimSpace(v)
	num, rest, _ := strings.Cut(v, " ")
	code, err := strconv.Atoi(num)
	ok = err == nil && sendableCloseCode(code)
	if !ok {
		code = closeNormal
		if err != nil {
			rest = v // no code: the whole value is the reason
		}
	}
	return code, cleanCloseReason(strings.TrimSpace(rest)), ok
}

// cleanCloseReason makes s fit a close frame: valid UTF-8 (invalid bytes
// become U+FFFD, as a client would otherwise fail the connection with 1007)
// and at most maxCloseReason bytes, cut at a rune boundary.
func cleanCloseReason(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return truncateUTF8(s, maxCloseReason)
}

// truncateUTF8 cuts valid UTF-8 s to at most n bytes without splitting a
// rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
