# llmbench in a container: the pinned Ollama engine built from source, the llmbench
# command, and the default configurations, on Debian bookworm slim, run as a non-root
# user (docs/container.md).
#
#   docker build -t llmbench .
#   docker run --rm -v $PWD/configs:/app/configs -v $PWD/data:/app/data -v $PWD/outputs:/app/outputs \
#     -v llmbench-models:/app/models llmbench run --config configs/benchmark.yaml
#
# Build arguments:
#   OLLAMA_VERSION  the Ollama release built from the Go module proxy (as `make ollama`).
#   MARCH           the CPU level llama.cpp is compiled for. ggml picks its CPU kernels at
#                   compile time from -march, and Go's build of Ollama has no run-time
#                   dispatch between variants: -march=native (what `make ollama` uses for
#                   ./bin/ollama) would bake in the build machine's instructions (AVX-512,
#                   say), and the image would die with SIGILL on another machine. An image
#                   travels, so the default is x86-64-v3 (AVX2, FMA, F16C: Intel Haswell and
#                   AMD Zen onwards), which keeps the AVX2 kernels llama.cpp's speed rests
#                   on. Set MARCH=native for an image that only ever runs where it is built.
#
# Targets: the default is the CPU image; `--target cuda` adds Ollama's CUDA backend (as
# `make ollama-cuda` builds it) for `docker run --gpus all` (docs/container.md).

ARG CUDA_IMAGE=nvidia/cuda:13.0.2-devel-ubuntu22.04

# The engine, built by the same script as `make ollama`; only that script decides this
# layer, so editing llmbench does not rebuild Ollama.
FROM golang:1.26-bookworm AS ollama
ARG OLLAMA_VERSION=v0.17.4
ARG MARCH=x86-64-v3
# GOPROXY, GOSUMDB: where Go fetches modules, when not Go's defaults (a company's
# proxy; CI here, which reaches no proxy from inside a build, passes file:///… of the
# host's module cache: docs/container.md).
ARG GOPROXY
ARG GOSUMDB
WORKDIR /src
COPY scripts/build-ollama.sh scripts/
RUN --mount=type=cache,target=/root/.cache/go-build \
    OLLAMA_VERSION=$OLLAMA_VERSION OLLAMA_CFLAGS="-O3 -march=$MARCH" OLLAMA_CXXFLAGS="-O3 -march=$MARCH" \
    ./scripts/build-ollama.sh

# The llmbench command (cgo on: NVML is opened at run time for the GPU metrics).
FROM golang:1.26-bookworm AS llmbench
ARG GOPROXY
ARG GOSUMDB
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -buildvcs=false -o /out/llmbench ./cmd/llmbench

FROM debian:bookworm-slim AS cpu
ARG OLLAMA_VERSION=v0.17.4
ARG MARCH=x86-64-v3
LABEL org.opencontainers.image.title="llmbench" \
      org.opencontainers.image.description="LLM inference benchmarks, go test -bench native, with a pinned Ollama" \
      org.opencontainers.image.source="https://github.com/llmbench/llmbench" \
      io.llmbench.ollama-version="$OLLAMA_VERSION" \
      io.llmbench.march="$MARCH"
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# uid 1000, the first user on most machines, so a bind-mounted outputs/ of the host's
# user is writable as it is; /app/outputs, /app/models and the home folder are open to
# any uid for `docker run --user $(id -u):$(id -g)`.
RUN groupadd --gid 1000 llmbench \
    && useradd --uid 1000 --gid 1000 --home-dir /home/llmbench --create-home --shell /usr/sbin/nologin llmbench \
    && mkdir -p /app/outputs /app/models \
    && chown llmbench:llmbench /app/outputs /app/models \
    && chmod 1777 /app/outputs /app/models /home/llmbench
COPY --from=ollama /src/bin/ollama /usr/local/bin/ollama
COPY --from=llmbench /out/llmbench /usr/local/bin/llmbench
COPY configs/ /app/configs/
COPY data/ /app/data/
# HOME: ollama serve keeps its key in $HOME/.ollama. LLMBENCH_OLLAMA: the engine
# llmbench starts, on 127.0.0.1 only, with its models under /app/models.
ENV HOME=/home/llmbench LLMBENCH_OLLAMA=/usr/local/bin/ollama
WORKDIR /app
USER llmbench
# Synthetic GGUF files and the private server's models: a named volume keeps them
# between runs (-v llmbench-models:/app/models), so a second run makes none again.
VOLUME ["/app/models"]
ENTRYPOINT ["llmbench"]
CMD ["run"]

# GPU variant: docker build --target cuda -t llmbench:cuda . (CUDA_ARCHITECTURES=90 is
# Hopper; 80 Ampere, 89 Ada; a list such as "80;90" builds several).
FROM ${CUDA_IMAGE} AS cuda-backend
ARG OLLAMA_VERSION=v0.17.4
ARG CUDA_ARCHITECTURES=90
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends cmake make g++ \
    && rm -rf /var/lib/apt/lists/*
COPY --from=ollama /go/pkg/mod/github.com/ollama/ollama@${OLLAMA_VERSION} /ollama-src
WORKDIR /src
COPY scripts/build-ollama-cuda.sh scripts/
RUN mkdir -p build && OLLAMA_SRC=/ollama-src OLLAMA_VERSION=$OLLAMA_VERSION CUDA_ARCHITECTURES=$CUDA_ARCHITECTURES \
    ./scripts/build-ollama-cuda.sh \
    && cp -a /usr/local/cuda/lib64/libcudart.so.* /usr/local/cuda/lib64/libcublas.so.* \
       /usr/local/cuda/lib64/libcublasLt.so.* lib/ollama/cuda_v13/

FROM cpu AS cuda
ARG CUDA_ARCHITECTURES=90
LABEL io.llmbench.cuda-architectures="$CUDA_ARCHITECTURES"
# ollama looks for its GPU backends in ../lib/ollama beside its binary; the NVIDIA
# container toolkit (--gpus all) adds the driver's libcuda and libnvidia-ml.
COPY --from=cuda-backend /src/lib/ollama /usr/local/lib/ollama
ENV NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility

# The default target: the CPU image.
FROM cpu
