//go:build !llamacpp

package llamacpp

import (
	"context"
	"fmt"
	"time"

	"github.com/llmbench/llmbench/backends"
)

// Backend is one GGUF model loaded in this process. In this build (no llamacpp
// tag) none can be made: [New] returns an error wrapping [ErrNotBuilt].
type Backend struct{ synthetic bool }

// New returns an error wrapping [ErrNotBuilt]: this binary was built without the
// llamacpp tag.
func New(ctx context.Context, path string, m backends.Spec, opts ...Option) (*Backend, error) {
	return nil, fmt.Errorf("llamacpp: model %s: %w", name(m, path), ErrNotBuilt)
}

// Generate implements [backends.Backend]; it fails with [ErrNotBuilt].
func (b *Backend) Generate(ctx context.Context, req backends.Request) (*backends.Result, error) {
	return nil, ErrNotBuilt
}

// Close implements [backends.Backend].
func (b *Backend) Close() error { return nil }

// Load implements [backends.Loader]; it fails with [ErrNotBuilt].
func (b *Backend) Load(ctx context.Context) (time.Duration, error) { return 0, ErrNotBuilt }

// Describe implements [backends.Describer]; it fails with [ErrNotBuilt].
func (b *Backend) Describe(ctx context.Context) (backends.Description, error) {
	return backends.Description{}, ErrNotBuilt
}

// EnginePID implements [backends.ProcessFinder]; it fails with [ErrNotBuilt].
func (b *Backend) EnginePID(ctx context.Context) (int, error) { return 0, ErrNotBuilt }

// Info returns nothing in this build.
func (b *Backend) Info() ModelInfo { return ModelInfo{} }

// Tokenize fails with [ErrNotBuilt].
func (b *Backend) Tokenize(prompt string) ([]int, error) { return nil, ErrNotBuilt }

// PP fails with [ErrNotBuilt].
func (b *Backend) PP(ctx context.Context, n int) (time.Duration, error) { return 0, ErrNotBuilt }

// TG fails with [ErrNotBuilt].
func (b *Backend) TG(ctx context.Context, n int) (time.Duration, error) { return 0, ErrNotBuilt }
