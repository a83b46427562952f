#!/bin/sh
# Build hostnet's .deb with dpkg-deb from binaries already built (make build).
# Usage: build-deb.sh VERSION BINDIR OUTDIR
#   BINDIR holds hostprep, hostnet-plug and hostnet (the hook); the package is
#   written to OUTDIR/hostnet_VERSION_ARCH.deb and its path printed.
# The control template and maintainer scripts are in packaging/deb/; rpm.spec
# installs the same files (test/pkg checks that the two packages agree).
set -eu

if [ $# -ne 3 ]; then
	echo "usage: build-deb.sh VERSION BINDIR OUTDIR" >&2
	exit 2
fi
version=$1
bindir=$2
outdir=$3
root=$(cd "$(dirname "$0")/.." && pwd)
pkg=$root/packaging

case $version in
[0-9]*) ;;
*)
	echo "build-deb: version \"$version\" must start with a digit" >&2
	exit 1
	;;
esac
for b in hostprep hostnet-plug hostnet; do
	if [ ! -x "$bindir/$b" ]; then
		echo "build-deb: $bindir/$b is missing (run make build)" >&2
		exit 1
	fi
done

# The Debian architecture of the binaries (Go's name for it).
goarch=$(go env GOARCH 2>/dev/null || uname -m)
case $goarch in
amd64 | x86_64) arch=amd64 ;;
arm64 | aarch64) arch=arm64 ;;
386) arch=i386 ;;
arm) arch=armhf ;;
ppc64le) arch=ppc64el ;;
*) arch=$goarch ;;
esac

stage=$(mktemp -d "${TMPDIR:-/tmp}/hostnet-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage" # the package's "./": mktemp made it 0700
umask 022

install -D -m 0755 "$bindir/hostprep" "$stage/usr/sbin/hostprep"
install -D -m 0755 "$bindir/hostnet-plug" "$stage/usr/sbin/hostnet-plug"
# The hook is a program, not configuration: it is deliberately not a
# conffile, so an upgrade replaces it and a removal takes it away (a conffile
# would stay behind after removal and libvirtd would keep running it).
install -D -m 0755 "$bindir/hostnet" "$stage/etc/libvirt/hooks/qemu.d/hostnet"
install -D -m 0644 "$pkg/host.conf" "$stage/etc/hostnet/host.conf"
for unit in hostprep.service hostnet-gc.service hostnet-reconcile.service hostnet-watch.service; do
	install -D -m 0644 "$pkg/systemd/$unit" "$stage/usr/lib/systemd/system/$unit"
done

mkdir -p "$stage/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
	-e "s/@MAINTAINER@/${MAINTAINER:-hostnet maintainers <hostnet@localhost>}/" \
	"$pkg/deb/control.in" >"$stage/DEBIAN/control"
# Only the operator's config is a conffile: never overwritten by an upgrade,
# kept on removal, deleted by purge.
echo /etc/hostnet/host.conf >"$stage/DEBIAN/conffiles"
for script in postinst prerm postrm; do
	install -m 0755 "$pkg/deb/$script" "$stage/DEBIAN/$script"
done
(cd "$stage" && find usr etc -type f | LC_ALL=C sort | xargs md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"

mkdir -p "$outdir"
out=$outdir/hostnet_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out" >/dev/null
echo "$out"
