#!/bin/sh
# Build the hostnet test guest: Debian's cloud kernel plus a busybox-static initramfs whose
# /init (test/guest/init) loads virtio-net and 802.1Q, configures NICs from the kernel command
# line and runs a test script. Everything comes from installed Debian packages:
# linux-image-cloud-amd64 (kernel and modules) and busybox-static.
#
#   build.sh OUTDIR      write OUTDIR/vmlinuz and OUTDIR/initrd.gz
#   build.sh --inputs    print what the build reads (kernel version, file sizes and times), so a
#                        caller can tell when a cached build is stale
#
# KVER=... picks a kernel version (default: the newest installed *-cloud-amd64).
set -eu

here=$(cd "$(dirname "$0")" && pwd)

kver=${KVER:-}
if [ -z "$kver" ]; then
	for d in /lib/modules/*-cloud-amd64; do
		[ -f "/boot/vmlinuz-${d##*/}" ] && kver=${d##*/}
	done
fi
if [ -z "$kver" ]; then
	echo "build.sh: no cloud kernel found (/boot/vmlinuz-*-cloud-amd64 with /lib/modules/*-cloud-amd64); install linux-image-cloud-amd64" >&2
	exit 1
fi
kernel=/boot/vmlinuz-$kver
moddir=/lib/modules/$kver
busybox=/bin/busybox
[ -x "$busybox" ] || busybox=/usr/bin/busybox

# Load order matters: insmod does not resolve dependencies.
modules="
kernel/drivers/virtio/virtio_ring
kernel/drivers/virtio/virtio
kernel/drivers/virtio/virtio_pci_modern_dev
kernel/drivers/virtio/virtio_pci_legacy_dev
kernel/drivers/virtio/virtio_pci
kernel/net/core/failover
kernel/drivers/net/net_failover
kernel/drivers/net/virtio_net
kernel/net/llc/llc
kernel/net/802/stp
kernel/net/802/garp
kernel/net/802/mrp
kernel/net/8021q/8021q
"

if [ "${1:-}" = "--inputs" ]; then
	echo "kver $kver"
	stat -L -c '%n %s %Y' "$kernel" "$busybox" "$here/init"
	for m in $modules; do
		for f in "$moddir/$m.ko" "$moddir/$m.ko.xz"; do
			[ -f "$f" ] && stat -c '%n %s %Y' "$f"
		done
	done
	exit 0
fi

if [ $# -ne 1 ]; then
	echo "usage: build.sh OUTDIR | build.sh --inputs" >&2
	exit 2
fi
out=$1
# A dynamic busybox would find no libc in the initramfs.
if ldd "$busybox" >/dev/null 2>&1; then
	echo "build.sh: $busybox is dynamically linked; install busybox-static" >&2
	exit 1
fi

mkdir -p "$out"
stage=$(mktemp -d "$out/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage/bin" "$stage/dev" "$stage/proc" "$stage/sys" "$stage/tmp" "$stage/lib/modules"
cp "$busybox" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
cp "$here/init" "$stage/init"
chmod 0755 "$stage/init" "$stage/bin/busybox"
# The kernel opens /dev/console before running /init; without it the guest prints nothing.
mknod "$stage/dev/console" c 5 1 2>/dev/null || true

: >"$stage/lib/modules/order"
for m in $modules; do
	name=${m##*/}
	if [ -f "$moddir/$m.ko" ]; then
		cp "$moddir/$m.ko" "$stage/lib/modules/$name.ko"
	elif [ -f "$moddir/$m.ko.xz" ]; then
		xz -dc "$moddir/$m.ko.xz" >"$stage/lib/modules/$name.ko"
	else
		echo "build.sh: module $moddir/$m.ko missing; reinstall linux-image-$kver" >&2
		exit 1
	fi
	echo "$name" >>"$stage/lib/modules/order"
done

(cd "$stage" && find . | sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$out/.initrd.gz.tmp"
cp "$kernel" "$out/.vmlinuz.tmp"
mv -f "$out/.initrd.gz.tmp" "$out/initrd.gz"
mv -f "$out/.vmlinuz.tmp" "$out/vmlinuz"
echo "build.sh: $out/vmlinuz ($kver) and $out/initrd.gz" >&2
