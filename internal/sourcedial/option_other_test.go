//go:build !linux

package sourcedial

import (
	"net"
	"testing"
)

func checkNoPortOption(*testing.T, *net.TCPConn) {}
