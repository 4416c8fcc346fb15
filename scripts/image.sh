#!/usr/bin/env bash
# The container image (the Dockerfile at the root) built with podman and proven on a
# machine that reaches no container registry (docs/container.md).
#
#   scripts/image.sh bases   podman (apt-get, as root) and the Dockerfile's two base images
#                            when missing: pulled where a registry answers, else made here
#                            and tagged under the official names, so the committed Dockerfile
#                            builds unchanged: debian:bookworm-slim by debootstrap from the
#                            Debian mirror apt is configured with, golang:1.26-bookworm from
#                            it plus Debian's compilers and this machine's Go toolchain
#   scripts/image.sh build   bases, then podman build of the Dockerfile into $IMAGE
#   scripts/image.sh test    build, run configs/ci.yaml in the image twice (the second with
#                            the models the first made) with configs/, data/, outputs/ and
#                            a models folder mounted, and check what it wrote (TestImageRun)
#
# Where podman run is refused (on these machines crun fails to set rlimits and cgroups),
# builds run their steps with --isolation chroot, and the test runs the image's entrypoint,
# user, working folder and environment, read from the image, under chroot of its exported
# root filesystem with the same mounts, in new mount, PID and network namespaces (loopback
# only). It says which way it ran.
#
# Go modules inside the build: GO_MODULES=proxy fetches them from the module proxy, as a
# user's docker build does; GO_MODULES=host feeds the build this machine's module cache as
# GOPROXY=file:// (a read-only volume), for machines where a build container cannot verify
# the proxy's certificate. Default: host when the golang base was made here, else proxy.
set -euo pipefail

cd "$(dirname "$0")/.."
IMAGE=${IMAGE:-localhost/llmbench:latest}
GO=${GO:-go}
WORK=${IMAGE_WORK:-$PWD/outputs/image-test}
GOLANG=docker.io/library/golang:1.26-bookworm
SLIM=docker.io/library/debian:bookworm-slim
OLLAMA_VERSION=$(sed -n 's/^ARG OLLAMA_VERSION=//p' Dockerfile | head -1)
MALGO_VERSION=$(sed -n 's/^MALGO_VERSION=${MALGO_VERSION:-\(.*\)}$/\1/p' scripts/build-ollama.sh)

log() { echo "image: $*" >&2; }
die() { log "$*"; exit 1; }
t0=$SECONDS
took() { echo "$((SECONDS - t0))s"; }

install_tools() {
	local need=()
	command -v podman >/dev/null || need+=(podman)
	command -v debootstrap >/dev/null || need+=(debootstrap)
	[ ${#need[@]} = 0 ] && return
	[ "$(id -u)" = 0 ] || die "${need[*]} not installed, and only root can install them (apt-get install ${need[*]})"
	log "installing ${need[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

# apt_uri SUITE: the first URI apt is configured with for SUITE (deb822 .sources files,
# then one-line sources.list entries).
apt_uri() {
	local suite=$1 f
	{
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -f "$f" ] || continue
			awk -v s="$suite" 'BEGIN { RS = ""; FS = "\n" } {
				uri = ""; ok = 0
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); uri = a[2] }
					if ($i ~ /^Suites:/) { n = split($i, b, /[ \t]+/); for (j = 2; j <= n; j++) if (b[j] == s) ok = 1 }
				}
				if (uri != "" && ok && $0 !~ /Enabled: *no/) print uri
			}' "$f"
		done
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[ -f "$f" ] || continue
			awk -v s="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }; if ($(i + 1) == s) print $i }' "$f"
		done
	} | head -1
}

exists() { podman image exists "$1"; }

# made_here IMAGE: the image was made by this script (not pulled).
made_here() { [ "$(podman image inspect --format '{{index .Config.Labels "io.llmbench.base"}}' "$1" 2>/dev/null)" = local ]; }

# The Debian root filesystem: debootstrap's minbase, the variant the official slim image
# is made from, with apt's lists and downloads removed.
make_slim() {
	local mirror security dir
	mirror=$(apt_uri bookworm)
	[ -n "$mirror" ] || die "apt has no mirror for bookworm configured: debootstrap needs one"
	security=$(apt_uri bookworm-security)
	dir=$(mktemp -d /var/tmp/llmbench-rootfs.XXXXXX)
	log "debootstrap bookworm (minbase) from $mirror"
	if ! debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$dir.log" 2>&1; then
		tail -20 "$dir.log" >&2
		rm -rf "$dir" "$dir.log"
		die "debootstrap failed (log above)"
	fi
	{
		echo "deb $mirror bookworm main"
		echo "deb $mirror bookworm-updates main"
		[ -z "$security" ] || echo "deb $security bookworm-security main"
	} >"$dir/etc/apt/sources.list"
	rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/debootstrap
	tar -C "$dir" --numeric-owner -c . | podman import \
		--change 'CMD ["bash"]' --change 'LABEL io.llmbench.base=local' \
		--change "LABEL io.llmbench.mirror=$mirror" - "$SLIM" >/dev/null
	rm -rf "$dir" "$dir.log"
	log "made $SLIM ($(took))"
}

# golang:1.26-bookworm as the official one is: bookworm with the C and C++ compilers for
# cgo, git, and Go in /usr/local/go (this machine's toolchain), GOPATH=/go.
make_golang() {
	local goroot version ctx
	goroot=$($GO env GOROOT)
	version=$($GO env GOVERSION)
	[[ $version == go1.26.* ]] || die "this machine's Go is $version; golang:1.26-bookworm needs go1.26.x"
	ctx=$(mktemp -d)
	cat >"$ctx/Containerfile" <<EOF
FROM $SLIM
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
      ca-certificates git gcc g++ libc6-dev make pkg-config \\
    && rm -rf /var/lib/apt/lists/*
COPY go /usr/local/go
ENV GOLANG_VERSION=${version#go} GOTOOLCHAIN=local GOPATH=/go \\
    PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p /go/bin /go/src && chmod -R 1777 /go
WORKDIR /go
LABEL io.llmbench.base=local io.llmbench.go=$version
EOF
	cp -a "$goroot" "$ctx/go"
	log "making $GOLANG from $SLIM and $goroot ($version)"
	podman build -q "${ISOLATION[@]}" -t "$GOLANG" -f "$ctx/Containerfile" "$ctx" >/dev/null
	rm -rf "$ctx"
	log "made $GOLANG ($(took))"
}

# get IMAGE MAKER: the image as it is, else pulled, else made by MAKER.
get() {
	exists "$1" && return
	if podman pull -q "$1" >/dev/null 2>&1; then
		log "pulled $1"
		return
	fi
	log "$1: not here and no registry answers; making it"
	"$2"
}

# run_refused: why podman run fails on this machine (empty when it works).
run_refused() {
	local err
	if err=$(podman run --rm --entrypoint true "$SLIM" 2>&1); then
		return
	fi
	echo "$err" | grep -v '^$' | tail -1
}

bases() {
	install_tools
	get "$SLIM" make_slim
	REFUSED=$(run_refused)
	ISOLATION=()
	[ -z "$REFUSED" ] || ISOLATION=(--isolation chroot)
	get "$GOLANG" make_golang
}

# host_modules: this machine's module cache holds every module the image's build needs.
host_modules() {
	GOFLAGS= $GO mod download
	GOFLAGS= $GO mod download "github.com/gen2brain/malgo@$MALGO_VERSION"
	(cd / && GOFLAGS= $GO install -n "github.com/ollama/ollama@$OLLAMA_VERSION" >/dev/null 2>&1) ||
		die "could not fetch the modules of ollama $OLLAMA_VERSION into this machine's module cache"
}

build() {
	bases
	local modules=${GO_MODULES:-} args=()
	if [ -z "$modules" ]; then
		modules=proxy
		made_here "$GOLANG" && modules=host
	fi
	if [ "$modules" = host ]; then
		host_modules
		args=(-v "$($GO env GOMODCACHE)/cache/download:/goproxy:ro" --build-arg GOPROXY=file:///goproxy --build-arg GOSUMDB=off)
	fi
	log "podman build ${ISOLATION[*]} -t $IMAGE . (Go modules: $modules)"
	local b=$SECONDS
	podman build --jobs 2 "${ISOLATION[@]}" "${args[@]}" ${IMAGE_BUILD_ARGS:-} -t "$IMAGE" . >"$WORK/build.log" 2>&1 ||
		{ tail -40 "$WORK/build.log" >&2; die "podman build failed (log: $WORK/build.log)"; }
	log "built $IMAGE in $((SECONDS - b))s (log: $WORK/build.log)"
}

# image_field FORMAT: a field of the image's configuration, one value a line.
image_field() { podman image inspect --format "$1" "$IMAGE" | sed "/^$/d"; }

# run_image NAME OUT DATA ARGS...: the image run with configs/, DATA as data/, OUT as
# outputs/ and $WORK/models as models/, by podman run where it works, else under chroot.
run_image() {
	local name=$1 out=$2 data=$3
	shift 3
	mkdir -p "$out"
	chown "$UIDGID" "$out" "$WORK/models"
	local b=$SECONDS rc=0
	if [ "$MODE" = "podman run" ]; then
		podman run --rm -v "$PWD/configs:/app/configs" -v "$data:/app/data" \
			-v "$out:/app/outputs" -v "$WORK/models:/app/models" "$IMAGE" "$@" >"$out.log" 2>&1 || rc=$?
	else
		run_chroot "$out" "$data" "$@" >"$out.log" 2>&1 || rc=$?
	fi
	log "$name: llmbench $* in the image ($MODE): exit $rc in $((SECONDS - b))s (log: $out.log)"
	[ $rc = 0 ] || { tail -30 "$out.log" >&2; die "$name failed"; }
}

# run_chroot OUT DATA ARGS...: what podman run does with the image's configuration, by hand.
run_chroot() {
	local out=$1 data=$2
	shift 2
	local root=$WORK/rootfs wd entry env=()
	wd=$(image_field '{{.Config.WorkingDir}}')
	mapfile -t entry < <(image_field '{{range .Config.Entrypoint}}{{println .}}{{end}}')
	mapfile -t env < <(image_field '{{range .Config.Env}}{{println .}}{{end}}')
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount --propagation private --pid --fork --net -- bash -euc '
		root=$1 out=$2 data=$3 wd=$4 ids=$5 pwd=$6; shift 6
		ip link set lo up
		mount --bind "$pwd/configs" "$root/app/configs"
		mount --bind "$data" "$root/app/data"
		mount --bind "$out" "$root/app/outputs"
		mount --bind "$WORK_MODELS" "$root/app/models"
		mount -t proc proc "$root/proc"
		mount --rbind /dev "$root/dev"
		mount -t tmpfs tmpfs "$root/tmp"
		cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
		exec chroot --userspec="$ids" --groups="${ids#*:}" "$root" /usr/bin/env -i "${@}"
	' run-chroot "$root" "$out" "$data" "$wd" "$UIDGID" "$PWD" "${env[@]}" /bin/sh -c 'cd "$0" && exec "$@"' "$wd" "${entry[@]}" "$@"
}

test_image() {
	mkdir -p "$WORK"
	build
	local root=$WORK/rootfs user ctr
	# The image's root filesystem: the user's uid from its passwd, and the chroot's root.
	rm -rf "$root" && mkdir -p "$root"
	ctr=$(podman create "$IMAGE")
	podman export "$ctr" | tar -C "$root" -x
	podman rm "$ctr" >/dev/null
	podman image inspect "$IMAGE" >"$WORK/image.json"
	user=$(image_field '{{.Config.User}}')
	UIDGID=$(awk -F: -v u="${user%%:*}" '$1 == u || $3 == u { print $3 ":" $4 }' "$root/etc/passwd")
	[ -n "$UIDGID" ] || die "the image's user ${user:-root} is not in its /etc/passwd"
	if [ -z "$REFUSED" ]; then
		MODE="podman run"
	else
		MODE=chroot
		log "podman run is refused here ($REFUSED): running the image's entrypoint under chroot of its exported root filesystem"
	fi
	export WORK_MODELS=$WORK/models
	rm -rf "$WORK/models" "$WORK/outputs" "$WORK/outputs2" "$WORK"/outputs*.log "$WORK/data2"
	mkdir -p "$WORK/models" "$WORK/data2"
	run_image "first run" "$WORK/outputs" "$PWD/data" run --config configs/ci.yaml
	# The second run: the same configuration on the first two prompts, one iteration.
	head -2 data/prompts.jsonl >"$WORK/data2/prompts.jsonl"
	touch "$WORK/second-run.stamp"
	sleep 1 # a model rewritten now gets a later modification time than the stamp
	run_image "second run" "$WORK/outputs2" "$WORK/data2" run --config configs/ci.yaml --iterations 1
	LLMBENCH_IMAGE_WORK=$WORK LLMBENCH_IMAGE_MODE=$MODE \
		$GO test -count=1 -run '^TestImageRun$' -v ./cmd/llmbench/ 2>&1 | tee "$WORK/check.log" | grep -v '^=== RUN'
	grep -q -- '--- PASS: TestImageRun' "$WORK/check.log" || die "TestImageRun did not pass (log: $WORK/check.log)"
	log "image test passed ($MODE) in $(took)"
}

case ${1:-} in
bases) mkdir -p "$WORK" && bases ;;
build) mkdir -p "$WORK" && build ;;
test) test_image ;;
*)
	echo "usage: $0 bases|build|test" >&2
	exit 2
	;;
esac
