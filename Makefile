# llmbench: `make bench` runs the default benchmark, `make test` runs every test.
SHELL := /bin/bash
GO ?= go
export LLMBENCH_OLLAMA := $(CURDIR)/bin/ollama
# Tests that need the real engine fail (rather than skip) when it is missing.
export LLMBENCH_REQUIRE_ENGINE := 1

.PHONY: all bench test ollama ollama-cuda gpu-bundle build vet lint clean

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

## test: vet, lint the workflow, and every test, the real-engine ones included
test: ollama vet lint
	$(GO) test -count=1 -timeout 25m ./...

vet:
	$(GO) vet ./...

lint:
	$(GO) tool actionlint

clean:
	rm -rf outputs
