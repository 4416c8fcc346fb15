package transformers

import "encoding/json"

// The JSON-lines protocol spoken with worker.py; docs/transformers.md describes it.

// loadRequest is {"op":"load",...}.
type loadRequest struct {
	Op      string `json:"op"`
	Model   string `json:"model"`
	DType   string `json:"dtype,omitempty"`
	Device  string `json:"device,omitempty"`
	Decode  string `json:"decode,omitempty"`
	Threads int    `json:"threads,omitempty"`
	Seed    int    `json:"seed"`
}

// generateRequest is {"op":"generate",...} and, with Repeats, {"op":"baseline",...}.
type generateRequest struct {
	Op           string  `json:"op"`
	ID           int64   `json:"id,omitempty"`
	Prompt       string  `json:"prompt,omitempty"`
	InputIDs     []int   `json:"input_ids,omitempty"`
	MaxNewTokens int     `json:"max_new_tokens"`
	MinNewTokens int     `json:"min_new_tokens,omitempty"`
	Temperature  float64 `json:"temperature"`
	Seed         int     `json:"seed"`
	Repeats      int     `json:"repeats,omitempty"`
	Warmup       *int    `json:"warmup,omitempty"`
}

// opRequest is a request with no arguments but an id: cancel, shutdown.
type opRequest struct {
	Op string `json:"op"`
	ID int64  `json:"id,omitempty"`
}

// reply is any line the worker writes: a token, a final message, a load answer or
// an error. Which fields are set says which it is.
type reply struct {
	// Error, when set, is the worker's message for a failed request.
	Error *string `json:"error"`

	// A token line.
	Token *int    `json:"token"`
	Text  string  `json:"text"`
	T     float64 `json:"t"`

	// The final line of a generation (and of a baseline).
	Done               bool    `json:"done"`
	Cancelled          bool    `json:"cancelled"`
	PromptTokens       int     `json:"prompt_tokens"`
	OutputTokens       int     `json:"output_tokens"`
	PrefillS           float64 `json:"prefill_s"`
	DecodeS            float64 `json:"decode_s"`
	TotalS             float64 `json:"total_s"`
	MaxMemoryAllocated *int64  `json:"max_memory_allocated"`
	MaxRSS             *int64  `json:"max_rss"`
	Raw                []byte  `json:"-"`

	// The load answer.
	OK bool `json:"ok"`
}

// loadReply is the worker's answer to load.
type loadReply struct {
	OK              bool    `json:"ok"`
	Protocol        int     `json:"protocol"`
	LoadS           float64 `json:"load_s"`
	WarmupS         float64 `json:"warmup_s"`
	Params          int64   `json:"params"`
	Arch            string  `json:"arch"`
	ModelType       string  `json:"model_type"`
	Torch           string  `json:"torch"`
	Transformers    string  `json:"transformers"`
	Python          string  `json:"python"`
	Device          string  `json:"device"`
	DeviceName      string  `json:"device_name"`
	DType           string  `json:"dtype"`
	Threads         int     `json:"threads"`
	Vocab           int     `json:"vocab"`
	MaxPositions    int     `json:"max_positions"`
	Tokenizer       string  `json:"tokenizer"`
	Decode          string  `json:"decode"`
	MemoryAllocated *int64  `json:"memory_allocated"`
}

// baselineReply is the final line of a baseline op.
type baselineReply struct {
	PromptTokens         int       `json:"prompt_tokens"`
	OutputTokens         int       `json:"output_tokens"`
	GenerateTokens       int       `json:"generate_tokens"`
	Repeats              int       `json:"repeats"`
	GenerateS            []float64 `json:"generate_s"`
	Generate1S           []float64 `json:"generate1_s"`
	LoopS                []float64 `json:"loop_s"`
	LoopFirstS           []float64 `json:"loop_first_s"`
	TokensPerS           float64   `json:"tokens_per_s"`
	DecodeTokensPerS     *float64  `json:"decode_tokens_per_s"`
	LoopTokensPerS       float64   `json:"loop_tokens_per_s"`
	LoopDecodeTokensPerS *float64  `json:"loop_decode_tokens_per_s"`
	SameTokens           bool      `json:"same_tokens"`
}

// parseReply decodes one line from the worker.
func parseReply(line []byte) (*reply, error) {
	var r reply
	if err := json.Unmarshal(line, &r); err != nil {
		return nil, err
	}
	r.Raw = line
	return &r, nil
}
