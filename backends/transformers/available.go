package transformers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// ErrUnavailable is wrapped by the error of [Available] (and of [New]) when the
// Python interpreter, torch or transformers is missing.
var ErrUnavailable = errors.New("transformers engine unavailable")

// DefaultPython returns the interpreter the worker runs under when no [WithPython]
// option is given: $LLMBENCH_PYTHON, else python3.
func DefaultPython() string {
	if p := os.Getenv("LLMBENCH_PYTHON"); p != "" {
		return p
	}
	return "python3"
}

// probe imports each module on its own, so the message names every one missing.
const probe = `
import sys
missing = []
for m in ("torch", "transformers"):
    try:
        __import__(m)
    except Exception as e:
        missing.append("%s (%s: %s)" % (m, type(e).__name__, " ".join(str(e).split())))
if missing:
    print("cannot import " + "; ".join(missing))
    sys.exit(1)
import torch, transformers
print("torch %s, transformers %s" % (torch.__version__, transformers.__version__))
`

var availability sync.Map // python path → *availResult

type availResult struct {
	once sync.Once
	err  error
}

// Available reports whether the default interpreter ([DefaultPython]) can import
// torch and transformers. The error wraps [ErrUnavailable] and says exactly what is
// missing: the interpreter, or which module and why. The check runs once per
// process (importing torch takes seconds); later calls return the cached answer.
func Available() error { return availableFor(DefaultPython()) }

func availableFor(python string) error {
	v, _ := availability.LoadOrStore(python, &availResult{})
	r := v.(*availResult)
	r.once.Do(func() { r.err = checkPython(python) })
	return r.err
}

func checkPython(python string) error {
	path, err := exec.LookPath(python)
	if err != nil {
		return fmt.Errorf("%w: %s not found (install Python 3 with torch and transformers, or set LLMBENCH_PYTHON)", ErrUnavailable, python)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-c", probe)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if msg == "" {
			msg = err.Error()
		}
		if path != python {
			python += " (" + path + ")"
		}
		return fmt.Errorf("%w: %s %s", ErrUnavailable, python, msg)
	}
	return nil
}
