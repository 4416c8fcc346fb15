package config

// LoadSpec describes load generation for one model (openai backend). The zero value is
// sequential: one request at a time.
type LoadSpec struct{}

func (l *LoadSpec) check() error { return nil }
