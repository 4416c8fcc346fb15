package ollama

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/ollama/ollama/api"
)

// Register makes the GGUF file at path available on the server at host as model
// name (e.g. "llmbench-tiny-llama:f16"). It uploads the file as a blob and creates
// the model from it, unless the server already has name built from the same file.
// The file's digest is cached next to it in PATH.sha256.
func Register(ctx context.Context, host *url.URL, name, path string) error {
	digest, err := fileDigest(path)
	if err != nil {
		return fmt.Errorf("ollama: registering %s: %w", path, err)
	}
	c := api.NewClient(host, &http.Client{})
	if has(ctx, c, name, digest) {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("ollama: registering %s: %w", path, err)
	}
	defer f.Close()
	if err := c.CreateBlob(ctx, digest, f); err != nil {
		return fmt.Errorf("ollama: uploading %s to %s: %w", path, host, err)
	}
	stream := false
	req := &api.CreateRequest{Model: name, Files: map[string]string{"model.gguf": digest}, Stream: &stream}
	if err := c.Create(ctx, req, func(api.ProgressResponse) error { return nil }); err != nil {
		return fmt.Errorf("ollama: creating model %s from %s: %w", name, path, err)
	}
	return nil
}

// has reports whether the server has model name whose weights are the blob digest.
func has(ctx context.Context, c *api.Client, name, digest string) bool {
	show, err := c.Show(ctx, &api.ShowRequest{Model: name})
	if err != nil {
		return false
	}
	// The modelfile names the weights blob by its digest.
	return strings.Contains(show.Modelfile, strings.TrimPrefix(digest, "sha256:"))
}

// fileDigest returns "sha256:HEX" of the file, cached in path.sha256 (trusted while
// it is newer than the file).
func fileDigest(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	cache := path + ".sha256"
	if cs, err := os.Stat(cache); err == nil && !cs.ModTime().Before(st.ModTime()) {
		if b, err := os.ReadFile(cache); err == nil && strings.HasPrefix(string(b), "sha256:") {
			return strings.TrimSpace(string(b)), nil
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	d := "sha256:" + hex.EncodeToString(h.Sum(nil))
	_ = os.WriteFile(cache, []byte(d+"\n"), 0o644) // a cache: failing to write it costs only time
	return d, nil
}
