package config

import (
	"fmt"
	"strings"

	"github.com/llmbench/llmbench/backends"
)

// checkEmbed checks a model's embed: section: valid, not beside a load:
// section, and for an engine that serves embeddings.
func (m *Model) checkEmbed() error {
	if m.Embed == nil {
		return nil
	}
	if m.Load != nil {
		return fmt.Errorf("a model has load: or embed:, not both: give the embedding benchmark a model entry of its own")
	}
	e, _ := backends.Lookup(m.Backend)
	if _, ok := e.(backends.EmbedEngine); !ok {
		return fmt.Errorf("the %s engine serves no embeddings: use backend %s", m.Backend, strings.Join(backends.EmbedEngines(), " or "))
	}
	return m.Embed.Check()
}
