package fastcgi

import "encoding/binary"

// Record types and constants of the FastCGI 1.0 specification.
const (
	fcgiVersion1 = 1

	typeBeginRequest    = 1
	typeAbortRequest    = 2
	typeEndRequest      = 3
	typeParams          = 4
	typeStdin           = 5
	typeStdout          = 6
	typeStderr          = 7
	typeData            = 8
	typeGetValues       = 9
	typeGetValuesResult = 10
	typeUnknownType     = 11

	roleResponder = 1
	flagKeepConn  = 1

	// Protocol statuses of FCGI_END_REQUEST.
	statusRequestComplete = 0
	statusCantMpxConn     = 1
	statusOverloaded      = 2
	statusUnknownRole     = 3

	headerLen = 8
	// maxContent is the largest content a record can carry.
	maxContent = 65535

	// requestID is the id every request uses: PHP-FPM serves one request at
	// a time per connection (it does not multiplex), so one id suffices.
	requestID = 1
)

// recordHeader is the fixed 8-byte prefix of every record.
type recordHeader struct {
	Version       uint8
	Type          uint8
	RequestID     uint16
	ContentLength uint16
	PaddingLength uint8
}

// appendHeader appends a record header for contentLen bytes of content with
// no padding (padding is optional; PHP-FPM accepts unpadded records).
func appendHeader(dst []byte, recType uint8, id uint16, contentLen int) []byte {
	return append(dst, fcgiVersion1, recType, byte(id>>8), byte(id), byte(contentLen>>8), byte(contentLen), 0, 0)
}

// parseHeader decodes a record header from b (len(b) >= headerLen).
func parseHeader(b []byte) recordHeader {
	return recordHeader{
		Version:       b[0],
		Type:          b[1],
		RequestID:     binary.BigEndian.Uint16(b[2:4]),
		ContentLength: binary.BigEndian.Uint16(b[4:6]),
		PaddingLength: b[6],
	}
}

// appendBeginRequest appends FCGI_BEGIN_REQUEST for the responder role with
// FCGI_KEEP_CONN, so PHP-FPM keeps the connection open for the next request.
func appendBeginRequest(dst []byte) []byte {
	dst = appendHeader(dst, typeBeginRequest, requestID, 8)
	return append(dst, 0, roleResponder, flagKeepConn, 0, 0, 0, 0, 0)
}

// appendRecords appends data split into records of at most maxContent bytes.
// An empty data appends nothing (the caller writes the terminating empty
// record explicitly).
func appendRecords(dst []byte, recType uint8, id uint16, data []byte) []byte {
	for len(data) > 0 {
		n := min(len(data), maxContent)
		dst = appendHeader(dst, recType, id, n)
		dst = append(dst, data[:n]...)
		data = data[n:]
	}
	return dst
}

// appendNameValue appends one name-value pair in FastCGI's length-prefixed
// encoding: lengths below 128 take one byte, longer ones four with the high
// bit set.
func appendNameValue[V string | []byte](dst []byte, name string, value V) []byte {
	dst = appendLength(dst, len(name))
	dst = appendLength(dst, len(value))
	dst = append(dst, name...)
	return append(dst, value...)
}

func appendLength(dst []byte, n int) []byte {
	if n < 128 {
		return append(dst, byte(n))
	}
	return append(dst, byte(n>>24)|0x80, byte(n>>16), byte(n>>8), byte(n))
}

// parseNameValues decodes FastCGI name-value pairs (as in
// FCGI_GET_VALUES_RESULT). It stops at the first malformed pair and reports
// ok=false.
func parseNameValues(b []byte, fn func(name, value string)) (ok bool) {
	for len(b) > 0 {
		nl, n, ok1 := readLength(b)
		if !ok1 {
			return false
		}
		b = b[n:]
		vl, n, ok2 := readLength(b)
		if !ok2 {
			return false
		}
		b = b[n:]
		if nl < 0 || vl < 0 || nl+vl > len(b) {
			return false
		}
		fn(string(b[:nl]), string(b[nl:nl+vl]))
		b = b[nl+vl:]
	}
	return true
}

func readLength(b []byte) (length, size int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	if b[0]&0x80 == 0 {
		return int(b[0]), 1, true
	}
	if len(b) < 4 {
		return 0, 0, false
	}
	return int(binary.BigEndian.Uint32(b) & 0x7fffffff), 4, true
}
