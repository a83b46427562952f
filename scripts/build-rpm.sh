#!/bin/sh
# Build hostnet's RPM with rpmbuild (Debian's rpm package works) from
# binaries already built (make build), through rpm.spec's prebuilt_bindir.
# Usage: build-rpm.sh VERSION BINDIR OUTDIR
#   Writes OUTDIR/hostnet-VERSION.tar.gz (the spec's Source0: the working
#   tree's tracked and new files, for a builder that compiles from source)
#   and OUTDIR/hostnet-VERSION-1.ARCH.rpm, and prints the RPM's path.
set -eu

if [ $# -ne 3 ]; then
	echo "usage: build-rpm.sh VERSION BINDIR OUTDIR" >&2
	exit 2
fi
version=$1
bindir=$(cd "$2" && pwd)
outdir=$3
root=$(cd "$(dirname "$0")/.." && pwd)

for b in hostprep hostnet-plug hostnet; do
	if [ ! -x "$bindir/$b" ]; then
		echo "build-rpm: $bindir/$b is missing (run make build)" >&2
		exit 1
	fi
done
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

top=$(mktemp -d "${TMPDIR:-/tmp}/hostnet-rpm.XXXXXX")
trap 'rm -rf "$top"' EXIT
mkdir -p "$top/SOURCES" "$top/BUILD" "$top/RPMS" "$top/SRPMS" "$top/SPECS" "$top/BUILDROOT"

# Source0: what git tracks plus new files it does not ignore, as they are now.
tarball=$outdir/hostnet-$version.tar.gz
(cd "$root" && git ls-files -z --cached --others --exclude-standard |
	xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
	tar --null -T - --transform "s,^,hostnet-$version/," --owner=0 --group=0 -czf "$tarball")
cp "$tarball" "$top/SOURCES/"

rpmbuild -bb --quiet \
	--define "_topdir $top" \
	--define "_dbpath $top/rpmdb" \
	--define "hostnet_version $version" \
	--define "prebuilt_bindir $bindir" \
	"$root/rpm.spec" >&2

rpm=$(find "$top/RPMS" -name "hostnet-$version-*.rpm" | head -n 1)
if [ -z "$rpm" ]; then
	echo "build-rpm: rpmbuild wrote no package" >&2
	exit 1
fi
cp "$rpm" "$outdir/"
echo "$outdir/$(basename "$rpm")"
