#!/bin/sh
# Install what hostnet's build, tests and demo need on Debian 12, as root.
# Idempotent: when everything is there it only checks, in well under a second.
# Daemons are never started by the install (tests and the demo start private ones).
set -eu

packages="
openvswitch-switch
openvswitch-common
ovn-central
ovn-host
iproute2
iputils-ping
arping
tcpdump
libvirt-daemon-system
libvirt-daemon-driver-qemu
libvirt-clients
qemu-system-x86
busybox-static
linux-image-cloud-amd64
cpio
gzip
jq
make
rpm
systemd
init-system-helpers
"

missing=""
for p in $packages; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: missing packages:$missing; run as root (sudo make deps)" >&2
		exit 1
	fi
	echo "install-deps: installing$missing"
	# Keep package scripts from starting OVS, OVN or libvirtd on this machine.
	policy=/usr/sbin/policy-rc.d
	restore=""
	if [ -e "$policy" ]; then
		restore=$(mktemp)
		cp -p "$policy" "$restore"
	fi
	printf '#!/bin/sh\nexit 101\n' > "$policy"
	chmod 755 "$policy"
	trap 'if [ -n "$restore" ]; then mv "$restore" "$policy"; else rm -f "$policy"; fi' EXIT
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi

if command -v go >/dev/null 2>&1; then
	go mod download
else
	echo "install-deps: go not found in PATH (Go 1.26 is expected at /usr/local/go/bin)" >&2
	exit 1
fi
