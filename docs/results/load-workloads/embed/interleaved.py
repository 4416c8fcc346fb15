# Interleaved A/B of Ollama's /api/embed and /v1/embeddings on one loaded runner
# (neither request carries options, so the runner is never reloaded between
# them): pairs of the same batch, native then /v1, client wall time per request.
# Run against a server with the synthetic distilgpt2 registered, e.g. the one
# llmbench run leaves in models/ollama:
#   OLLAMA_MODELS=models/ollama OLLAMA_HOST=127.0.0.1:18734 bin/ollama serve &
#   python3 docs/results/load-workloads/embed/interleaved.py
import json, os, time, urllib.request

HOST = os.environ.get("HOST", "http://127.0.0.1:18734")
MODEL = "llmbench-distilgpt2-f16"
here = os.path.dirname(os.path.abspath(__file__))
texts = [json.loads(l)["prompt"] for l in open(os.path.join(here, "inputs.jsonl"))]


def post(path, body):
    t = time.monotonic()
    req = urllib.request.Request(HOST + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    json.load(urllib.request.urlopen(req))
    return (time.monotonic() - t) * 1000


post("/api/embed", {"model": MODEL, "input": texts[:4]})  # load the runner
for batch in (1, 4):
    native, v1 = [], []
    for i in range(10):
        inputs = [texts[(i * batch + j) % len(texts)] for j in range(batch)]
        native.append(post("/api/embed", {"model": MODEL, "input": inputs}))
        v1.append(post("/v1/embeddings", {"model": MODEL, "input": inputs, "encoding_format": "float"}))
    ratio = sorted(b / a for a, b in zip(native, v1))
    print(f"batch {batch}: median native {sorted(native)[5]:.0f} ms, /v1 {sorted(v1)[5]:.0f} ms; "
          f"per-pair /v1 ÷ native: median {ratio[5]:.2f}, range {ratio[0]:.2f}-{ratio[-1]:.2f}")
