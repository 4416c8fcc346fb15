package memwatch

import "errors"

// ErrNoMatch is wrapped by [FindDescendant]'s error when no descendant matches.
var ErrNoMatch = errors.New("no matching descendant process")

// ErrNoListener is wrapped by [PIDByListenPort]'s error when no local process
// listens on the port.
var ErrNoListener = errors.New("no process listens on the port")
