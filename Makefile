# llmbench: `make bench` runs the default benchmark, `make test` runs every test.
SHELL := /bin/bash
GO ?= go
export LLMBENCH_OLLAMA := $(CURDIR)/bin/ollama
# Tests that need the real engine fail (rather than skip) when it is missing.
export LLMBENCH_REQUIRE_ENGINE := 1

.PHONY: all bench bench-smoke fuzz-smoke load test chromium test-llamacpp test-slurm slurm-up slurm-down ollama ollama-cuda gpu-bundle build vet lint clean image test-image

all: build

## ollama: the pinned Ollama built from the Go module proxy into ./bin/ollama (idempotent)
ollama: bin/ollama

bin/ollama: scripts/build-ollama.sh
	./scripts/build-ollama.sh

## ollama-cuda: Ollama's CUDA backend next to ./bin/ollama (where nvcc and cmake exist)
ollama-cuda:
	./scripts/build-ollama-cuda.sh

## gpu-bundle: binaries and sources for a GPU machine without Go, in .carry/ (docs/gpu.md)
gpu-bundle: ollama
	./scripts/gpu-bundle.sh

## build: the llmbench command into ./bin/llmbench
build:
	$(GO) build -o bin/llmbench ./cmd/llmbench

## bench: the default benchmark (configs/benchmark.yaml) on a private Ollama server
bench: ollama build
	./bin/llmbench run

## load: a concurrency sweep through Ollama's OpenAI-compatible API (configs/load.yaml)
load: ollama build
	./bin/llmbench run --config configs/load.yaml

## test: vet, lint the workflow, every test (the real-engine ones included), the
## Go-native benchmark path on tiny models, read back by stock benchstat, and the
## container image built and run
test: ollama vet lint chromium
	LLMBENCH_REQUIRE_BROWSER=1 $(GO) test -count=1 -timeout 25m ./...
	$(MAKE) test-llamacpp
	$(MAKE) bench-smoke
	$(MAKE) fuzz-smoke
	$(MAKE) test-slurm
	$(MAKE) test-image

## chromium: Debian's browser for the HTML report's browser test (apt-get as root, once)
chromium:
	command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

## test-llamacpp: the in-process llama.cpp engine, built with the flags of make ollama
CGO_LLAMA := CGO_CPPFLAGS="-I$(CURDIR)/bin/.include" CGO_CFLAGS="-O3 -march=native" CGO_CXXFLAGS="-O3 -march=native"
test-llamacpp: ollama
	$(CGO_LLAMA) $(GO) test -count=1 -timeout 15m -tags llamacpp ./backends/llamacpp/...

## test-slurm: a one-node Slurm cluster on this machine (slurm-wlm and munge installed with
## apt-get when missing, as root), a two-task array over the tiny models, merged and read by
## benchstat, a killed task; the cluster is stopped afterwards, also on failure
test-slurm: ollama build
	LLMBENCH_BIN=$(CURDIR)/bin/llmbench GO=$(GO) ./scripts/slurm-local.sh test

## image: the container image (Dockerfile) built with podman into localhost/llmbench:latest;
## base images are pulled, or made here with debootstrap where no registry answers (docs/container.md)
image:
	GO=$(GO) ./scripts/image.sh build

## test-image: the image built, configs/ci.yaml run in it twice with configs/, data/, outputs/ and
## models mounted (by podman run, or under chroot where podman run is refused), its outputs checked
test-image:
	GO=$(GO) ./scripts/image.sh test

## slurm-up, slurm-down: start or stop that cluster by hand (then: eval $$(scripts/slurm-local.sh env))
slurm-up:
	./scripts/slurm-local.sh start
slurm-down:
	./scripts/slurm-local.sh stop

bench-smoke:
	mkdir -p outputs/smoke
	set -o pipefail; $(GO) test -run '^$$' -bench . -benchtime 2x -llmbench.config testdata/tiny.yaml . | tee outputs/smoke/gotest.txt
	$(GO) tool benchstat outputs/smoke/gotest.txt | tee outputs/smoke/benchstat.txt
	grep -q 'model=tiny-llama/prompt=hello' outputs/smoke/benchstat.txt
	grep -q 'model=tiny-gpt2/prompt=unicode' outputs/smoke/benchstat.txt
	set -o pipefail; $(GO) test -run '^$$' -bench Embed -benchtime 2x -llmbench.config testdata/embed.yaml . | tee outputs/smoke/embed.txt
	$(GO) tool benchstat outputs/smoke/embed.txt | tee outputs/smoke/embed-benchstat.txt
	grep -q 'model=tiny-llama-embed/batch=4' outputs/smoke/embed-benchstat.txt
	grep -q 'model=tiny-gpt2-embed-v1/batch=4' outputs/smoke/embed-benchstat.txt
	LLMBENCH_SMOKE_GOTEST=$(CURDIR)/outputs/smoke/gotest.txt LLMBENCH_SMOKE_DIR=$(CURDIR) LLMBENCH_SMOKE_CONFIG=testdata/tiny.yaml \
		$(GO) test -count=1 -run '^TestDriversAgree$$' ./cmd/llmbench
	LLMBENCH_SMOKE_GOTEST=$(CURDIR)/outputs/smoke/embed.txt LLMBENCH_SMOKE_DIR=$(CURDIR) LLMBENCH_SMOKE_CONFIG=testdata/embed.yaml \
		$(GO) test -count=1 -run '^TestDriversAgree$$' ./cmd/llmbench

## fuzz-smoke: every fuzz target for FUZZTIME each, one after another (Go fuzzes
## one target per invocation); the seed corpora in testdata/fuzz run in plain
## go test too. Record runs: docs/results/fuzz.md.
FUZZTIME ?= 5s
FUZZ_TARGETS := config:FuzzParse config:FuzzParsePrompts backends/openai:FuzzParseChunk \
	backends/openai:FuzzGenerateSSE backends/ollama:FuzzGenerateNDJSON reports:FuzzParse reports:FuzzReadBenchstatCSV
fuzz-smoke:
	set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t%%:*} $${t##*:}"; \
		$(GO) test -run '^$$' -fuzz "^$${t##*:}\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 0 -parallel 1 ./$${t%%:*}/; \
	done

vet:
	$(GO) vet ./...
	$(GO) mod tidy -diff

lint:
	$(GO) tool actionlint

clean:
	rm -rf outputs
