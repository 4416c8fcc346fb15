package llamacpp

import "github.com/llmbench/llmbench/backends"

// name is the model's name in errors: its configured name, else the file.
func name(m backends.Spec, path string) string {
	if m.Name != "" {
		return m.Name
	}
	return path
}
