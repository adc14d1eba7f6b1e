package bridge

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/fasthttp/websocket"
	"github.com/phpbridge/phpbridge/fastcgi"
)

// envelopeContentType marks a handler response whose body is not the reply
// itself but {"reply": …, "actions": […]} (docs/control-api.md), so that
// the common handler case — reply, join a group, bind the user — needs no
// round trip to the control API.
const envelopeContentType = "application/vnd.phpbridge+json"

type envelope struct {
	Reply *struct {
		Data       *string `json:"data"`
		DataBase64 *string `json:"data_base64"`
		Opcode     string  `json:"opcode"`
	} `json:"reply"`
	Actions []action `json:"actions"`
}

func isEnvelope(resp *fastcgi.Response) bool {
	ct := resp.Header.ContentType()
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return bytes.EqualFold(bytes.TrimSpace(ct), []byte(envelopeContentType))
}

// decodeEnvelope splits an envelope body into the reply (nil when none),
// its opcode (0: keep the event's) and the actions.
func decodeEnvelope(body []byte) (reply []byte, opcode int, actions []action, err error) {
	var e envelope
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, 0, nil, fmt.Errorf("%s body is not a valid envelope: %w", envelopeContentType, err)
	}
	if e.Reply != nil {
		switch e.Reply.Opcode {
		case "text":
			opcode = websocket.TextMessage
		case "binary":
			opcode = websocket.BinaryMessage
		case "":
		default:
			return nil, 0, nil, fmt.Errorf("reply opcode %q is not text or binary", e.Reply.Opcode)
		}
		switch {
		case e.Reply.DataBase64 != nil:
			reply, err = base64.StdEncoding.DecodeString(*e.Reply.DataBase64)
			if err != nil {
				return nil, 0, nil, fmt.Errorf("reply data_base64: %w", err)
			}
			if opcode == 0 {
				opcode = websocket.BinaryMessage
			}
		case e.Reply.Data != nil:
			reply = []byte(*e.Reply.Data)
		}
	}
	return reply, opcode, e.Actions, nil
}

// runActions executes a handler's envelope actions for connection fd,
// logging the ones that failed (the handler has already returned).
func (h *wsHub) runActions(fd uint64, actions []action) {
	for i := range actions {
		if res := h.s.act.run(&actions[i]); res["ok"] != true {
			h.log.Warn("websocket handler action failed", "fd", fd, "op", actions[i].Op, "error", res["error"])
		}
	}
}
