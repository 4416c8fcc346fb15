package memwatch

import (
	"strings"
	"time"
)

// DefaultInterval is the sampling interval of the RSS fallback and of the GPU
// sampler when no [WithInterval] option is given.
const DefaultInterval = 10 * time.Millisecond

// Option configures [NewRSS] and [OpenGPU].
type Option func(*config)

type config struct {
	interval time.Duration // sampling interval; 0 means DefaultInterval
	sample   bool          // force the sampling fallback for RSS
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.interval <= 0 {
		c.interval = DefaultInterval
	}
	return c
}

// WithInterval sets the sampling interval (default [DefaultInterval]). A zero
// or negative d keeps the default.
func WithInterval(d time.Duration) Option {
	return func(c *config) { c.interval = d }
}

// WithSampling makes [NewRSS] sample RSS even where VmHWM could be reset and
// read. It is for tests and comparisons; [OpenGPU] ignores it.
func WithSampling() Option {
	return func(c *config) { c.sample = true }
}

// sampledMethod is the Method name of sampling at interval d: "sampled-10ms",
// "sampled-500us".
func sampledMethod(d time.Duration) string {
	return "sampled-" + strings.ReplaceAll(d.String(), "µ", "u")
}
