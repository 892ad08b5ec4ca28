//go:build !linux

package staff

import "net"

// peerAllowed relies on the socket's mode (0600) where peer credentials are
// not available.
func peerAllowed(net.Conn) bool { return true }
