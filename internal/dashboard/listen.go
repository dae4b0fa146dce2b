package dashboard

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// DefaultPort is the port of a --listen address given without one.
const DefaultPort = "8080"

// MinTokenLength is the shortest bearer token accepted: shorter ones can be
// guessed by anyone who can reach the port.
const MinTokenLength = 16

// Address is a checked listen address.
type Address struct {
	// HostPort is what to listen on (a port added when none was given).
	HostPort string
	// Loopback is true when only this machine can connect: 127.0.0.0/8,
	// ::1 or "localhost".
	Loopback bool
}

// ParseAddress checks a --listen value: HOST:PORT, [IPv6]:PORT, :PORT, or a
// host alone (port 8080). An empty host (":8080") means every interface.
func ParseAddress(s string) (Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Address{}, fmt.Errorf("the address is empty; use HOST:PORT, e.g. 127.0.0.1:8080")
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// A host alone: "127.0.0.1", "localhost", "[::1]", "::1".
		h, bracketed := strings.CutPrefix(s, "[")
		if bracketed {
			var closed bool
			if h, closed = strings.CutSuffix(h, "]"); !closed {
				h = "[" // refused below
			}
		}
		if strings.ContainsAny(h, "[]") || (strings.Contains(h, ":") && !isIP(h)) {
			return Address{}, fmt.Errorf("%q is not HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080): %v", s, err)
		}
		host, port = h, DefaultPort
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return Address{}, fmt.Errorf("%q: the port must be a number from 0 to 65535", s)
	}
	return Address{HostPort: net.JoinHostPort(host, port), Loopback: isLoopback(host)}, nil
}

func isIP(h string) bool {
	_, err := netip.ParseAddr(h)
	return err == nil
}

// isLoopback reports whether host names only this machine. Any other name is
// taken as reachable from the network: it could resolve to anything.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return a.Unmap().IsLoopback()
}

// tokenMatches compares a presented token with the expected one in constant
// time: both are hashed first, so neither their content nor their length
// shows in the time taken.
func tokenMatches(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
