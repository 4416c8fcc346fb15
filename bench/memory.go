package bench

import (
	"context"
	"net/url"

	"github.com/llmbench/llmbench/backends/ollama"
)

// findOllamaProcess tells b how to find the runner process of its model.
func (s *Suite) findOllamaProcess(b *ollama.Backend, host *url.URL) {}

// watchMemory starts watching the memory of the process that holds m.
func (s *Suite) watchMemory(ctx context.Context, m *Model) {}
