package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/llmbench/llmbench/backends"
)

var _ backends.Embedder = (*Backend)(nil)

// ServesEmbeddings implements backends.EmbedEngine: /v1/embeddings.
func (engine) ServesEmbeddings() {}

// EmbedPath is the endpoint Embed posts to, below the base URL; the model's
// endpoint: option (chat or completions) is for generations only.
const EmbedPath = "/v1/embeddings"

// embedRequest and embedResponse are /v1/embeddings' bodies, as far as Embed
// reads them.
type embedRequest struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	EncodingFormat string   `json:"encoding_format"`
}

type embedResponse struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
	Usage *struct {
		PromptTokens int `json:"prompt_tokens"`
	} `json:"usage"`
}

// Embed implements backends.Embedder: one POST of every input to
// /v1/embeddings (float encoding; extra_body is not sent, it is for
// generations). The vectors are put in input order by their index; the token
// count is usage.prompt_tokens. The whole request must finish within the stall
// timeout. Failures are *Error, as Generate's: KindStatus, KindMalformed (a body
// that is not an embedding list, or the wrong number of vectors), KindStall,
// KindCanceled, KindConnection.
func (b *Backend) Embed(ctx context.Context, inputs []string) (*backends.EmbedResult, error) {
	res, err := b.embed(ctx, inputs)
	return res, b.redact(err)
}

func (b *Backend) embed(ctx context.Context, inputs []string) (*backends.EmbedResult, error) {
	res := &backends.EmbedResult{}
	body, err := json.Marshal(embedRequest{Model: b.spec.Model, Input: inputs, EncodingFormat: "float"})
	if err != nil {
		return res, b.fail(KindRequest, err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if b.stall > 0 {
		t := time.AfterFunc(b.stall, func() { cancel(errStall) })
		defer t.Stop()
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, b.base+EmbedPath, bytes.NewReader(body))
	if err != nil {
		return res, b.fail(KindRequest, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	if b.auth != "" {
		hreq.Header.Set("Authorization", b.auth)
	}
	res.Sent = time.Now()
	resp, err := b.client.Do(hreq)
	if err != nil {
		return res, b.readError(ctx, err, 0)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		res.Done = time.Now()
		return res, b.readError(ctx, err, 0)
	}
	if resp.StatusCode != http.StatusOK {
		res.Done = time.Now()
		return res, &Error{Model: b.spec.Name, Kind: KindStatus, Status: resp.StatusCode, Snippet: b.snippet(bytes.TrimSpace(data))}
	}
	// Done after decoding, as Ollama's client decodes /api/embed's answer
	// before it returns: both APIs' latencies then span the same work.
	var er embedResponse
	err = json.Unmarshal(data, &er)
	res.Done = time.Now()
	if err != nil {
		return res, &Error{Model: b.spec.Name, Kind: KindMalformed, Err: fmt.Errorf("%s: %w", EmbedPath, err), Snippet: b.snippet(data)}
	}
	res.Vectors = make([][]float32, len(er.Data))
	for _, d := range er.Data {
		if d.Index < 0 || d.Index >= len(er.Data) || res.Vectors[d.Index] != nil {
			return res, b.fail(KindMalformed, fmt.Errorf("%s: index %d out of range or repeated among %d embeddings", EmbedPath, d.Index, len(er.Data)))
		}
		res.Vectors[d.Index] = d.Embedding
	}
	if er.Usage != nil {
		res.InputTokens = er.Usage.PromptTokens
	}
	if _, err := res.CheckVectors(len(inputs)); err != nil {
		return res, b.fail(KindMalformed, fmt.Errorf("%s: %w", EmbedPath, err))
	}
	return res, nil
}
