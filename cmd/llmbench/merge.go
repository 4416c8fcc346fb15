package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/llmbench/llmbench"
	"github.com/llmbench/llmbench/bench"
	"github.com/llmbench/llmbench/merge"
	"github.com/llmbench/llmbench/shard"
)

func init() { commands["merge"] = mergeCmd }

// mergeCmd is `llmbench merge -o DIR SHARD-OUTPUT…`: the outputs of the shards of
// one sharded run (`llmbench run --shard i/n`, each a bench.txt or its folder)
// joined into DIR/bench.txt, checked against the plan of the configuration the
// shards ran, and the report of it. Exit status 1 when the outputs are not
// exactly the plan's shards (nothing is written then), 2 on bad usage.
func mergeCmd(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	outDir := fs.String("o", "", "output `folder` for the merged bench.txt and its report (required)")
	cfgPath := fs.String("config", "", "the configuration the shards ran (default: the one their llmbench-config line names)")
	noReport := fs.Bool("no-report", false, "write bench.txt only, no report")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: llmbench merge -o DIR [--config FILE] SHARD-OUTPUT…")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 2}
	}
	if *outDir == "" || fs.NArg() == 0 {
		fs.Usage()
		return &exitError{code: 2, err: fmt.Errorf("merge: want -o DIR and at least one shard output")}
	}
	set, err := mergeShards(fs.Args(), *cfgPath)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	path, err := writeMerged(*outDir, set)
	if err != nil {
		return err
	}
	n := 0
	for _, f := range set.Files {
		n += len(f.Results)
	}
	fmt.Fprintf(stderr, "llmbench: merged %d results of %d shards (plan %s) into %s\n", n, set.Spec.Count, set.Hash, path)
	if *noReport {
		return nil
	}
	return writeReport(*outDir, path, stderr)
}

// mergeShards reads the shard outputs and checks them against the plan of the
// configuration at cfgPath, or the one the shards name.
func mergeShards(paths []string, cfgPath string) (*merge.Set, error) {
	set, err := merge.Read(paths)
	if err != nil {
		return nil, err
	}
	if cfgPath == "" {
		cfgPath = set.ConfigFile
		if strings.HasPrefix(cfgPath, "(embedded) ") {
			cfgPath = "" // the defaults, as run reads them
		}
	}
	cfg, prompts, err := bench.LoadConfig(cfgPath, llmbench.Defaults, llmbench.DefaultConfig)
	if err != nil {
		return nil, fmt.Errorf("merge: the shards' configuration: %w", err)
	}
	if err := set.Check(shard.CasesOf(cfg, prompts), bench.Sanitize); err != nil {
		return nil, fmt.Errorf("%w\n(checked against %s)", err, cfg.File)
	}
	return set, nil
}

// writeMerged writes dir/bench.txt.
func writeMerged(dir string, set *merge.Set) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "bench.txt")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := set.Write(f); err != nil {
		f.Close()
		return "", fmt.Errorf("merge: writing %s: %w", path, err)
	}
	return path, f.Close()
}
