#!/usr/bin/env python3
"""llmbench's transformers worker: one model, driven by JSON lines on stdin.

llmbench (Go) starts this file with python3 and speaks one JSON object per line:
requests on our stdin, replies on our stdout, and anything else (warnings,
tracebacks) on stderr, which llmbench keeps for its error messages. Everything a
library prints to stdout is redirected to stderr so that stdout carries the
protocol alone. The protocol is in docs/transformers.md; in short:

  {"op":"load","model":M,"dtype":D,"device":"cpu"|"cuda","threads":N,"seed":S,
   "decode":"generate"|"loop"}
      -> {"ok":true,"load_s":..,"params":..,"arch":..,"torch":..,
          "transformers":..,"device_name":..,...}
  {"op":"generate","id":I,"prompt":P | "input_ids":[..],"max_new_tokens":N,
   "min_new_tokens":K,"temperature":T,"seed":S}
      -> {"token":ID,"text":"..","t":SECONDS} per token, then
         {"done":true,"prompt_tokens":..,"output_tokens":..,"prefill_s":..,
          "decode_s":..,"total_s":..,"max_memory_allocated":..}
  {"op":"cancel","id":I}      stops generation I after its current step
  {"op":"baseline",...}       times plain model.generate against our loop
  {"op":"shutdown"}           exits (so does the end of stdin, after queued ops)

A failed request answers {"error":"..."} and the worker carries on. M is a Hub
id, a local folder, or "synthetic:NAME" for a random-weight model built from
presets/NAME.json beside this file (or $LLMBENCH_PRESETS_DIR). Synthetic models
have no tokenizer: a prompt becomes its UTF-8 bytes, byte b as token id
b + BYTE_OFFSET; a generated id renders as that byte when it is one (Latin-1),
else as " " + its decimal number.

Only the standard library, torch and transformers are used.
"""

import gc
import json
import os
import platform
import queue
import sys
import threading
import time
import traceback

BYTE_OFFSET = 4  # ids 0..3 are special in OPT (pad, bos/eos, unk); GPT-2 uses 50256.
PROTOCOL = 1

now = time.perf_counter  # the worker's monotonic clock, in seconds

_out = None  # the protocol stream: a duplicate of the original stdout
_out_lock = threading.Lock()


def send(obj):
    line = json.dumps(obj, separators=(",", ":")) + "\n"
    with _out_lock:
        _out.write(line)
        _out.flush()


def log(*args):
    print("worker:", *args, file=sys.stderr, flush=True)


class Cancelled(Exception):
    pass


class Worker:
    def __init__(self):
        self.torch = None
        self.model = None
        self.tokenizer = None
        self.device = "cpu"
        self.eos = None
        self.pad = None
        self.bos = None
        self.max_positions = None
        self.logits_kw = None  # "logits_to_keep" / "num_logits_to_keep" when forward takes it
        self.info = {}
        self.truncated = 0  # prompt tokens dropped by the last encode
        self.cancel_id = None  # set by the reader thread
        self.current_id = None
        self.decode = "generate"  # or "loop": how generate ops make tokens

    # ---- load ---------------------------------------------------------------

    def load(self, req):
        t_import = now()
        import torch
        import transformers
        from transformers import AutoConfig, AutoModelForCausalLM

        t0 = now()  # the load time leaves out the first import of the libraries
        import_s = t0 - t_import
        self.torch = torch
        if self.model is not None:
            self.model = None
            self.tokenizer = None
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()

        device = req.get("device") or "cpu"
        if device not in ("cpu", "cuda"):
            raise ValueError("device %r: want cpu or cuda" % device)
        if device == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                "device cuda asked for, but torch %s sees no GPU (torch.cuda.is_available() is False)"
                % torch.__version__
            )
        dtype_name = req.get("dtype") or ("float16" if device == "cuda" else "float32")
        dtypes = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
        if dtype_name not in dtypes:
            raise ValueError("dtype %r: want float32, float16 or bfloat16" % dtype_name)
        dtype = dtypes[dtype_name]
        threads = int(req.get("threads") or 0)
        if threads > 0:
            torch.set_num_threads(threads)
        seed = int(req.get("seed") if req.get("seed") is not None else 42)
        torch.manual_seed(seed)
        self.device = device
        decode = req.get("decode") or "generate"
        if decode not in ("generate", "loop"):
            raise ValueError("decode %r: want generate or loop" % decode)
        self.decode = decode

        model_id = req.get("model") or ""
        if model_id.startswith("synthetic:"):
            name = model_id[len("synthetic:"):]
            path = os.path.join(presets_dir(), name + ".json")
            if not os.path.exists(path):
                have = sorted(f[:-5] for f in os.listdir(presets_dir()) if f.endswith(".json"))
                raise ValueError("no synthetic preset %r (have: %s)" % (name, ", ".join(have)))
            with open(path) as f:
                cfg_dict = json.load(f)
            model_type = cfg_dict.pop("model_type")
            cfg = AutoConfig.for_model(model_type, **cfg_dict)
            model = build_on_device(torch, AutoModelForCausalLM, cfg, dtype, device)
            init_weights(torch, model, seed)
            self.tokenizer = None
            tokenizer_name = "bytes+%d" % BYTE_OFFSET
        else:
            from transformers import AutoTokenizer

            model = from_pretrained(AutoModelForCausalLM, model_id, dtype)
            model.to(device)
            self.tokenizer = AutoTokenizer.from_pretrained(model_id)
            tokenizer_name = type(self.tokenizer).__name__
        model.eval()
        if device == "cuda":
            torch.cuda.synchronize()
        load_s = now() - t0

        cfg = model.config
        self.model = model
        self.eos = first_id(getattr(cfg, "eos_token_id", None))
        self.bos = first_id(getattr(cfg, "bos_token_id", None))
        self.pad = first_id(getattr(cfg, "pad_token_id", None))
        if self.pad is None:
            self.pad = self.eos
        self.max_positions = getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", None)
        self.logits_kw = None
        try:
            import inspect

            params = inspect.signature(model.forward).parameters
            for kw in ("logits_to_keep", "num_logits_to_keep"):
                if kw in params:
                    self.logits_kw = kw
                    break
        except (TypeError, ValueError):
            pass

        # One short untimed generation, so that kernel selection and library
        # handles are not charged to the first measured request.
        t1 = now()
        ids = self.encode({"prompt": "warm up"}, 2)
        self.decoder()(ids, 2, 2, 0.0, seed, None)
        warmup_s = now() - t1

        if device == "cuda":
            device_name = torch.cuda.get_device_name(0)
        else:
            device_name = cpu_name()
        self.info = {
            "ok": True,
            "protocol": PROTOCOL,
            "load_s": load_s,
            "import_s": import_s,
            "warmup_s": warmup_s,
            "params": sum(p.numel() for p in model.parameters()),
            "arch": (getattr(cfg, "architectures", None) or [type(model).__name__])[0],
            "model_type": getattr(cfg, "model_type", ""),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "python": platform.python_version(),
            "device": device,
            "device_name": device_name,
            "dtype": dtype_name,
            "threads": torch.get_num_threads(),
            "vocab": getattr(cfg, "vocab_size", None),
            "max_positions": self.max_positions,
            "tokenizer": tokenizer_name,
            "decode": self.decode,
            "memory_allocated": torch.cuda.memory_allocated() if device == "cuda" else None,
            "pid": os.getpid(),
        }
        send(self.info)

    # ---- tokens -------------------------------------------------------------

    def encode(self, req, max_new):
        if req.get("input_ids") is not None:
            ids = [int(i) for i in req["input_ids"]]
        elif self.tokenizer is not None:
            ids = list(self.tokenizer(req.get("prompt") or "").input_ids)
        else:
            ids = [b + BYTE_OFFSET for b in (req.get("prompt") or "").encode("utf-8")]
        if not ids:
            if self.bos is None:
                raise ValueError("empty prompt and the model has no bos token")
            ids = [self.bos]
        vocab = getattr(self.model.config, "vocab_size", None)
        if vocab and max(ids) >= vocab:
            raise ValueError("token id %d is outside the vocabulary of %d" % (max(ids), vocab))
        self.truncated = 0
        if self.max_positions and len(ids) + max_new > self.max_positions:
            keep = self.max_positions - max_new
            if self.tokenizer is None and req.get("input_ids") is None and keep > 0:
                # Byte-level ids are about four times as many as a real tokenizer's:
                # keep the prompt's end rather than fail a prompt a real model takes.
                self.truncated = len(ids) - keep
                ids = ids[-keep:]
                log("prompt of %d bytes cut to its last %d to leave room for %d new tokens"
                    % (len(ids) + self.truncated, keep, max_new))
                return ids
            raise ValueError(
                "prompt of %d tokens + %d new tokens exceeds the model's %d positions"
                % (len(ids), max_new, self.max_positions)
            )
        return ids

    def detok(self, out_ids, prev):
        """Returns (piece, new_prev): the text the newest token adds."""
        if self.tokenizer is None:
            tok = out_ids[-1]
            if BYTE_OFFSET <= tok < BYTE_OFFSET + 256:
                return bytes([tok - BYTE_OFFSET]).decode("latin-1"), prev
            return " %d" % tok, prev
        text = self.tokenizer.decode(out_ids, skip_special_tokens=True)
        if text.endswith("\ufffd"):
            return "", prev  # an incomplete UTF-8 sequence: wait for the next token
        return text[len(prev):], text

    # ---- decoding -----------------------------------------------------------

    def decoder(self):
        return self.hf_generate if self.decode == "generate" else self.loop

    def hf_generate(self, ids, max_new, min_new, temperature, seed, emit, gen_id=None):
        """model.generate, as users call it, with a streamer that stamps each
        token when it reaches the host: generate hands the streamer every new
        token as a tensor, which tolist() copies to the host after the step's
        device work is done (as transformers' own TextStreamer does). Greedy, or
        sampling from softmax(logits/T) (top_k 0, top_p 1: no truncation, as the
        loop). Same contract and return value as loop()."""
        torch = self.torch
        cuda = self.device == "cuda"
        w = self
        st = {"prompt": True, "out": [], "first": None, "last": None}

        class Stamp:  # the two methods of transformers.generation.BaseStreamer
            def put(self, value):
                if st["prompt"]:  # generate puts the prompt first
                    st["prompt"] = False
                    return
                toks = value.reshape(-1).tolist()
                t = now()
                if st["first"] is None:
                    st["first"] = t
                st["last"] = t
                for tok in toks:
                    st["out"].append(int(tok))
                    if emit is not None:
                        emit(int(tok), t)
                if gen_id is not None and w.cancel_id == gen_id:
                    raise Cancelled()

            def end(self):
                pass

        kw = {
            "max_new_tokens": max_new,
            "min_new_tokens": min_new,
            "num_beams": 1,
            "pad_token_id": self.pad,
            "streamer": Stamp(),
        }
        if temperature > 0:
            kw.update(do_sample=True, temperature=temperature, top_k=0, top_p=1.0)
        else:
            kw.update(do_sample=False)
        with torch.inference_mode():
            input_ids = torch.tensor([ids], dtype=torch.long, device=self.device)
            attn = torch.ones_like(input_ids)
            if temperature > 0:
                torch.manual_seed(int(seed))
            if cuda:
                torch.cuda.synchronize()
            t_start = now()
            self.model.generate(input_ids=input_ids, attention_mask=attn, **kw)
        return st["out"], t_start, st["first"], st["last"]

    def loop(self, ids, max_new, min_new, temperature, seed, emit, gen_id=None):
        """Greedy or sampled decoding with the KV cache, one forward per token.

        emit(token, t) is called as each token is known on the host (t on the
        worker's clock, after the step's device work is done). Returns
        (tokens, t_start, t_first, t_last)."""
        torch = self.torch
        model = self.model
        dev = self.device
        cuda = dev == "cuda"
        with torch.inference_mode():
            input_ids = torch.tensor([ids], dtype=torch.long, device=dev)
            n = len(ids)
            mask = torch.ones((1, n + max_new), dtype=torch.long, device=dev)
            gen = None
            if temperature > 0:
                gen = torch.Generator(device=dev)
                gen.manual_seed(int(seed))
            past = None
            cur = input_ids
            out = []
            t_first = t_last = None
            if cuda:
                torch.cuda.synchronize()
            t_start = now()
            for i in range(max_new):
                kw = {"input_ids": cur, "attention_mask": mask[:, : n + i], "use_cache": True}
                if past is not None:
                    kw["past_key_values"] = past
                if self.logits_kw:
                    kw[self.logits_kw] = 1
                res = model(**kw)
                past = res.past_key_values
                logits = res.logits[:, -1, :]
                if self.eos is not None and i < min_new:
                    logits[:, self.eos] = float("-inf")  # as generate's min_new_tokens does
                if temperature > 0:
                    probs = torch.softmax(logits.float() / temperature, dim=-1)
                    nxt = torch.multinomial(probs, 1, generator=gen)
                else:
                    nxt = logits.argmax(dim=-1, keepdim=True)
                tok = int(nxt.item())  # waits for the step's device work
                if cuda:
                    torch.cuda.synchronize()
                t = now()
                if t_first is None:
                    t_first = t
                t_last = t
                out.append(tok)
                if emit is not None:
                    emit(tok, t)
                cur = nxt
                if self.eos is not None and tok == self.eos and i + 1 >= min_new:
                    break
                if gen_id is not None and self.cancel_id == gen_id:
                    raise Cancelled()
        return out, t_start, t_first, t_last

    def generate(self, req):
        if self.model is None:
            raise RuntimeError("generate before load")
        t0 = now()
        torch = self.torch
        max_new = int(req.get("max_new_tokens") or 64)
        min_new = int(req.get("min_new_tokens") or 0)
        temperature = float(req.get("temperature") or 0.0)
        seed = int(req.get("seed") if req.get("seed") is not None else 42)
        gen_id = req.get("id")
        self.current_id = gen_id
        ids = self.encode(req, max_new)
        if self.device == "cuda":
            torch.cuda.reset_peak_memory_stats()  # max_memory_allocated: this generation's peak
        state = {"out": [], "prev": ""}

        def emit(tok, t):
            state["out"].append(tok)
            piece, state["prev"] = self.detok(state["out"], state["prev"])
            send({"token": tok, "text": piece, "t": t})

        cancelled = False
        try:
            out, t_start, t_first, t_last = self.decoder()(ids, max_new, min_new, temperature, seed, emit, gen_id)
        except Cancelled:
            cancelled = True
            out = state["out"]
            t_start = t_first = t_last = None
        t_done = now()
        done = {
            "done": True,
            "prompt_tokens": len(ids),
            "output_tokens": len(state["out"]),
            "total_s": t_done - t0,
            "t": t_done,
        }
        if not cancelled and t_first is not None:
            done["prefill_s"] = t_first - t_start
            done["decode_s"] = t_last - t_first
        if cancelled:
            done["cancelled"] = True
        if self.truncated:
            done["prompt_truncated"] = self.truncated
        if self.device == "cuda":
            done["max_memory_allocated"] = torch.cuda.max_memory_allocated()
        done["max_rss"] = max_rss()
        self.current_id = None
        send(done)

    # ---- baseline: plain model.generate -------------------------------------

    def baseline(self, req):
        """Times model.generate(min_new_tokens = max_new_tokens = N) for the same
        prompt, and the configured decoding (decode: generate with its
        streamer, or the loop) without streaming to llmbench, each repeated."""
        if self.model is None:
            raise RuntimeError("baseline before load")
        torch = self.torch
        n = int(req.get("max_new_tokens") or 64)
        repeats = max(1, int(req.get("repeats") or 5))
        warmup = int(req.get("warmup") if req.get("warmup") is not None else 1)
        ids = self.encode(req, n)
        cuda = self.device == "cuda"
        input_ids = torch.tensor([ids], dtype=torch.long, device=self.device)
        attn = torch.ones_like(input_ids)

        def plain(k):
            with torch.inference_mode():
                if cuda:
                    torch.cuda.synchronize()
                t = now()
                out = self.model.generate(
                    input_ids=input_ids,
                    attention_mask=attn,
                    max_new_tokens=k,
                    min_new_tokens=k,
                    do_sample=False,
                    num_beams=1,
                    pad_token_id=self.pad,
                )
                if cuda:
                    torch.cuda.synchronize()
                return now() - t, out[0, len(ids):].tolist()

        def ours():  # the configured decoding, without streaming to llmbench
            toks, t_start, t_first, t_last = self.decoder()(ids, n, n, 0.0, 0, None)
            return t_last - t_start, t_first - t_start, toks

        for _ in range(warmup):
            plain(n)
            ours()
        gen_s, gen1_s, loop_s, loop_first_s = [], [], [], []
        gen_toks = loop_toks = None
        for _ in range(repeats):
            s, gen_toks = plain(n)
            gen_s.append(s)
            gen1_s.append(plain(1)[0])
            s, first, loop_toks = ours()
            loop_s.append(s)
            loop_first_s.append(first)
        g, g1, lo, lf = median(gen_s), median(gen1_s), median(loop_s), median(loop_first_s)
        send({
            "done": True,
            "op": "baseline",
            "prompt_tokens": len(ids),
            "output_tokens": n,
            "generate_tokens": len(gen_toks),
            "repeats": repeats,
            "generate_s": gen_s,
            "generate1_s": gen1_s,
            "loop_s": loop_s,
            "loop_first_s": loop_first_s,
            "tokens_per_s": n / g,
            "decode_tokens_per_s": (n - 1) / (g - g1) if n > 1 and g > g1 else None,
            "loop_tokens_per_s": n / lo,
            "loop_decode_tokens_per_s": (n - 1) / (lo - lf) if n > 1 and lo > lf else None,
            "same_tokens": gen_toks == loop_toks,
        })


# ---- helpers ------------------------------------------------------------------


def presets_dir():
    return os.environ.get("LLMBENCH_PRESETS_DIR") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "presets"
    )


def first_id(v):
    if isinstance(v, (list, tuple)):
        return int(v[0]) if v else None
    return None if v is None else int(v)


def build_on_device(torch, auto, cfg, dtype, device):
    """Builds the model's modules directly on the device in the given dtype, so
    that a 1.3B-parameter model materialises on the GPU in seconds."""

    def make():
        try:
            return auto.from_config(cfg, dtype=dtype)  # transformers >= 4.56
        except TypeError:
            return auto.from_config(cfg, torch_dtype=dtype)

    try:
        with torch.device(device):  # torch >= 2.0
            model = make()
    except Exception as e:
        log("building under torch.device(%r) failed (%s); building on the CPU, then moving"
            % (device, error_text(e)))
        gc.collect()
        model = make()
    return model.to(device=device, dtype=dtype)


def init_weights(torch, model, seed):
    """N(0, 0.02) for every matrix and embedding, zero biases, unit norm scales:
    the published initialisation of GPT-2 and OPT, seeded so runs are repeatable."""
    gen = torch.Generator(device=next(model.parameters()).device)
    gen.manual_seed(int(seed))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.02, generator=gen)
            elif name.endswith("bias"):
                p.zero_()
            else:
                p.fill_(1.0)


def from_pretrained(auto, model_id, dtype):
    try:
        return auto.from_pretrained(model_id, dtype=dtype)
    except TypeError:
        return auto.from_pretrained(model_id, torch_dtype=dtype)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def max_rss():
    try:
        import resource

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return kb * (1 if sys.platform == "darwin" else 1024)
    except Exception:
        return None


def median(xs):
    s = sorted(xs)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def error_text(e):
    msg = " ".join(str(e).split())
    if len(msg) > 2000:
        msg = msg[:2000] + "..."
    return "%s: %s" % (type(e).__name__, msg) if msg else type(e).__name__


# ---- the loop over requests -------------------------------------------------------


def reader(w, ops):
    """Reads stdin on its own thread, so that a cancel reaches a running
    generation; everything else is queued in order. End of input queues a
    shutdown after whatever came before it."""
    for raw in sys.stdin:
        raw = raw.strip()
        if not raw:
            continue
        try:
            req = json.loads(raw)
        except ValueError as e:
            ops.put({"op": "_bad", "error": "malformed request %r: %s" % (raw[:200], e)})
            continue
        if isinstance(req, dict) and req.get("op") == "cancel":
            w.cancel_id = req.get("id")
            continue
        ops.put(req)
    ops.put({"op": "shutdown"})


def orphan_watch():
    """Exits when the process that started us is gone (we were re-parented)."""
    parent = os.getppid()
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(3)


def main():
    global _out
    # stdout is ours alone: keep a private copy of it for the protocol and send
    # the rest of the process's stdout (Python's and C libraries') to stderr.
    _out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

    w = Worker()
    ops = queue.Queue()
    threading.Thread(target=reader, args=(w, ops), daemon=True).start()
    threading.Thread(target=orphan_watch, daemon=True).start()
    handlers = {"load": w.load, "generate": w.generate, "baseline": w.baseline}
    while True:
        req = ops.get()
        if not isinstance(req, dict):
            send({"error": "request is not a JSON object"})
            continue
        op = req.get("op")
        if op == "shutdown":
            break
        if op == "_bad":
            send({"error": req["error"]})
            continue
        h = handlers.get(op)
        if h is None:
            send({"error": "unknown op %r" % op})
            continue
        try:
            h(req)
        except BaseException as e:  # report, keep serving (KeyboardInterrupt aside)
            if isinstance(e, KeyboardInterrupt):
                raise
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
            w.current_id = None
            if w.torch is not None and w.device == "cuda":
                try:
                    w.torch.cuda.empty_cache()
                except Exception:
                    pass
            send({"error": "%s: %s" % (op, error_text(e))})
    _out.flush()


if __name__ == "__main__":
    main()
