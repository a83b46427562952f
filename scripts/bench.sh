#!/bin/bash
# make bench: build what is measured, then run test/bench (as root). See test/bench/README.md.
#
#   BUILD           build directory (make's, with the shipped binaries already built)
#   LDFLAGS         the shipped binaries' link flags
#   BENCH_BASELINE  revision whose hook is measured as the "before" rows; empty: none
#   BENCH_QUICK     non-empty: a short smoke run
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BUILD:=build}" "${LDFLAGS:=-s -w}" "${BENCH_BASELINE=}" "${BENCH_QUICK:=}"

if [ "$(id -u)" -ne 0 ]; then
	echo "make bench: run as root (namespaces, Open vSwitch, libvirtd)" >&2
	exit 1
fi
out=$BUILD/bench
mkdir -p "$out"
hook() { # hook OUTPUT DIR [TAGS]: the hook as shipped, built in DIR
	(cd "$2" && CGO_ENABLED=0 go build -trimpath -ldflags "$LDFLAGS" ${3:+-tags "$3"} -o "$1" ./hooks)
}
go build -o "$out/hostnet-bench" ./test/bench
hook "$PWD/$out/hostnet-nowait" . benchnowait

args=(-bin "$BUILD" -out docs/BENCHMARKS.md)
if [ -n "$BENCH_BASELINE" ]; then
	rev=$(git rev-parse --short "$BENCH_BASELINE")
	rm -rf "$out/baseline" "$out/hostnet-baseline" "$out/hostnet-baseline-nowait"
	mkdir -p "$out/baseline"
	git archive "$rev" | tar -x -C "$out/baseline"
	hook "$PWD/$out/hostnet-baseline" "$out/baseline"
	# "up to the commit" has a before only if the baseline knows the tag.
	if [ -e "$out/baseline/internal/plug/wait_benchnowait.go" ]; then
		hook "$PWD/$out/hostnet-baseline-nowait" "$out/baseline" benchnowait
	fi
	args+=(-baseline-bin "$out/hostnet-baseline" -baseline-rev "$rev")
fi
if [ -n "$BENCH_QUICK" ]; then
	args+=(-quick)
fi
exec "$out/hostnet-bench" "${args[@]}"
