package memwatch

import "errors"

// ErrNoRunner is wrapped by [FindOllamaRunner]'s error when the server has no
// runner child: no model is loaded.
var ErrNoRunner = errors.New("no ollama runner process")

// ErrNoListener is wrapped by [PIDByListenPort]'s error when no local process
// listens on the port.
var ErrNoListener = errors.New("no process listens on the port")
