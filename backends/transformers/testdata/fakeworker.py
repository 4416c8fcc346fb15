#!/usr/bin/env python3
"""A fake transformers worker for llmbench's tests: it speaks worker.py's protocol
with the standard library alone (no torch), and misbehaves on request.

The load op's model picks the worker's behaviour:
  fake               a well-behaved model
  fake:slow-load     answers load only after 30 s
  fake:load-error    answers load with {"error": ...}
  fake:exit-on-load  writes a traceback to stderr and exits with status 3
  fake:deaf          ignores shutdown and the end of stdin (must be killed)
The generate op's prompt picks the generation's:
  crash    3 tokens, then an out-of-memory message on stderr and exit status 1
  garbage  a line that is not JSON after 2 tokens, then carries on
  short    2 tokens fewer than min_new_tokens
  slow     50 ms between tokens (for cancellation)
  error    {"error": ...} at once
  anything else: max_new_tokens tokens, 1 ms apart
$FAKE_PID_FILE, when set, receives the worker's process id at start.
"""

import json
import os
import queue
import sys
import threading
import time

out = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
lock = threading.Lock()
state = {"cancel": None, "deaf": False}


def send(obj):
    with lock:
        out.write(json.dumps(obj) + "\n")
        out.flush()


def reader(ops):
    for raw in sys.stdin:
        raw = raw.strip()
        if not raw:
            continue
        req = json.loads(raw)
        if req.get("op") == "cancel":
            state["cancel"] = req.get("id")
            continue
        ops.put(req)
    ops.put({"op": "shutdown"})


def generate(req):
    prompt = req.get("prompt", "")
    n = int(req.get("max_new_tokens") or 8)
    want_min = int(req.get("min_new_tokens") or 0)
    gid = req.get("id")
    if prompt == "error":
        send({"error": "generate: ValueError: prompt too long (fake)"})
        return
    if prompt == "short":
        n = max(0, want_min - 2)
    gap = 0.05 if prompt == "slow" else 0.001
    t0 = time.perf_counter()
    first = last = None
    count = 0
    cancelled = False
    for i in range(n):
        time.sleep(gap)
        t = time.perf_counter()
        first = first if first is not None else t
        last = t
        send({"token": 100 + i, "text": "tok%d " % i, "t": t})
        count += 1
        if prompt == "crash" and count == 3:
            sys.stderr.write("Traceback (most recent call last):\n  File \"worker.py\", line 1\n")
            sys.stderr.write("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (fake)\n")
            sys.stderr.flush()
            os._exit(1)
        if prompt == "garbage" and count == 2:
            with lock:
                out.write("this is not json\n")
                out.flush()
        if gid is not None and state["cancel"] == gid:
            cancelled = True
            break
    done = {
        "done": True,
        "prompt_tokens": len(prompt.encode()),
        "output_tokens": count,
        "total_s": time.perf_counter() - t0,
        "max_memory_allocated": 1234567,
    }
    if first is not None:
        done["prefill_s"] = first - t0
        done["decode_s"] = last - first
    if cancelled:
        done["cancelled"] = True
    send(done)


def main():
    if os.environ.get("FAKE_PID_FILE"):
        with open(os.environ["FAKE_PID_FILE"], "w") as f:
            f.write(str(os.getpid()))
    ops = queue.Queue()
    threading.Thread(target=reader, args=(ops,), daemon=True).start()
    while True:
        req = ops.get()
        op = req.get("op")
        if op == "shutdown":
            if state["deaf"]:
                continue
            return
        if op == "load":
            model = req.get("model")
            if model == "fake:slow-load":
                time.sleep(30)
            if model == "fake:load-error":
                send({"error": "load: OSError: fake is not a local folder or a Hub id (fake)"})
                continue
            if model == "fake:exit-on-load":
                sys.stderr.write("Traceback (most recent call last):\n")
                sys.stderr.write("ModuleNotFoundError: No module named 'torch' (fake)\n")
                sys.stderr.flush()
                sys.exit(3)
            state["deaf"] = model == "fake:deaf"
            send({"ok": True, "protocol": 1, "load_s": 0.25, "warmup_s": 0.01, "params": 1000,
                  "arch": "FakeForCausalLM", "torch": "0.0-fake", "transformers": "0.0-fake",
                  "python": "3", "device": req.get("device"), "device_name": "Fake CPU",
                  "dtype": req.get("dtype"), "threads": 1, "tokenizer": "bytes+4", "decode": req.get("decode"),
                  "memory_allocated": None})
        elif op == "generate":
            generate(req)
        elif op == "baseline":
            n = int(req.get("max_new_tokens") or 8)
            send({"done": True, "op": "baseline", "prompt_tokens": 5, "output_tokens": n,
                  "generate_tokens": n, "repeats": 3, "generate_s": [1.0, 1.1, 0.9],
                  "generate1_s": [0.1, 0.1, 0.1], "loop_s": [0.95, 0.95, 0.95],
                  "loop_first_s": [0.05, 0.05, 0.05], "tokens_per_s": n / 1.0,
                  "decode_tokens_per_s": (n - 1) / 0.9, "loop_tokens_per_s": n / 0.95,
                  "loop_decode_tokens_per_s": (n - 1) / 0.9, "same_tokens": True})
        else:
            send({"error": "unknown op %r" % op})


main()
