package llamacpp

import "github.com/llmbench/llmbench/config"

// name is the model's name in errors: its configured name, else the file.
func name(m config.Model, path string) string {
	if m.Name != "" {
		return m.Name
	}
	return path
}
