package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/llmbench/llmbench/synth"
)

func init() { commands["synth"] = runSynth }

const synthUsage = `usage: llmbench synth [-dir DIR] PRESET[:TYPE] …
       llmbench synth -list

Writes random-weight GGUF models of real shapes into DIR, one file per spec, named
PRESET-TYPE.gguf, and prints each path. A file that exists with the right size is kept.
TYPE is f16 (default), q8_0, q4_0 or f32.

flags:
`

// runSynth is "llmbench synth": write the files of the specs in args.
func runSynth(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := flag.NewFlagSet("synth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "models", "directory to write the files into")
	list := fs.Bool("list", false, "list the presets: shape, parameters, file size per type")
	fs.Usage = func() {
		fmt.Fprint(stderr, synthUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &exitError{code: 2, err: fmt.Errorf("synth: %w", err)}
	}
	if *list {
		return listPresets(stdout)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return &exitError{code: 2, err: errors.New("synth: no PRESET[:TYPE] given (presets: llmbench synth -list)")}
	}
	// Every spec is checked before anything is written.
	specs := make([]synth.Spec, fs.NArg())
	for i, arg := range fs.Args() {
		s, err := synth.ParseSpec(arg)
		if err != nil {
			return &exitError{code: 2, err: err}
		}
		specs[i] = s
	}
	for _, s := range specs {
		start := time.Now()
		path, err := synth.WriteFileContext(ctx, *dir, s)
		if err != nil {
			return &exitError{code: 1, err: err}
		}
		fmt.Fprintf(stderr, "synth: %s: %s, %d parameters, in %v\n",
			s, iec(s.Size()), s.Params(), time.Since(start).Round(time.Millisecond))
		fmt.Fprintln(stdout, path)
	}
	return nil
}

// listPresets prints the presets table.
func listPresets(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprint(tw, "PRESET\tARCH\tLAYERS\tEMBD\tHEADS\tKV\tFFN\tVOCAB\tCTX\tPARAMS")
	for _, t := range synth.Types {
		fmt.Fprintf(tw, "\t%s", t)
	}
	fmt.Fprintln(tw)
	for _, p := range synth.Presets {
		kv := p.KVHeads
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d", p.Name, p.Arch, p.Layers,
			p.Embedding, p.Heads, kv, p.FFN, p.Vocab, p.Context, synth.Spec{Preset: p, Type: synth.F16}.Params())
		for _, t := range synth.Types {
			fmt.Fprintf(tw, "\t%s", iec(synth.Spec{Preset: p, Type: t}.Size()))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// iec formats a byte count with binary prefixes: "1.5 GiB".
func iec(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
