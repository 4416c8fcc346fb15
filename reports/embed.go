package reports

// embedMetrics are the columns of an embedding benchmark's table (docs/embed.md),
// when present: a table whose rows have inputs/s shows them instead of
// speedMetrics, which an embedding request has none of but latency and memory.
var embedMetrics = []string{
	"ns/op", "embed-p50-ns", "embed-p99-ns", "req/s", "inputs/s", "input-tokens/s",
	"input-tokens/op", "server-ns/op", "embed-dim", "peak-rss-B", "peak-vram-B",
}
