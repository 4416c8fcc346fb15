package bench

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/llmbench/llmbench/config"
)

// ConfigEnv is the environment variable that names the configuration file when no
// flag does.
const ConfigEnv = "LLMBENCH_CONFIG"

// LoadConfig reads the configuration and its prompts. path is the file a flag named;
// when empty, $LLMBENCH_CONFIG, else def on disk, else def in the embedded defaults.
// A configuration read from defaults reads its prompts from defaults too when they
// are not on disk.
func LoadConfig(path string, defaults fs.FS, def string) (*config.Config, []config.Prompt, error) {
	if path == "" {
		path = os.Getenv(ConfigEnv)
	}
	var (
		cfg      *config.Config
		err      error
		embedded bool
	)
	switch {
	case path != "":
		cfg, err = config.Load(path)
	case exists(def):
		cfg, err = config.Load(def)
	default:
		cfg, err = config.LoadFS(defaults, def)
		embedded = true
	}
	if err != nil {
		return nil, nil, err
	}
	var prompts []config.Prompt
	if embedded && !exists(cfg.Prompts) {
		prompts, err = config.LoadPromptsFS(defaults, cfg.Prompts)
		if err == nil {
			cfg.File = "(embedded) " + cfg.File
		}
	} else {
		prompts, err = config.LoadPrompts(cfg.Prompts)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: prompts: %w", cfg.File, err)
	}
	return cfg, prompts, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}
