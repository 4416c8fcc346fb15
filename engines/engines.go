// Package engines links in every engine llmbench ships, for programs that offer
// them all: the benchmark suite and the llmbench command import it blank
// (`import _ "github.com/llmbench/llmbench/engines"`). Each engine registers
// itself with package backends; docs/engines.md says how to add one.
package engines

import (
	_ "github.com/llmbench/llmbench/backends/llamacpp"
	_ "github.com/llmbench/llmbench/backends/ollama"
	_ "github.com/llmbench/llmbench/backends/openai"
	_ "github.com/llmbench/llmbench/backends/transformers"
)
