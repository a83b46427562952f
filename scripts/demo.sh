#!/bin/bash
# hostnet demo lab, without touching this machine's own network, OVS or libvirt.
#
#   demo.sh up     build the lab, run hostprep and boot three VMs, print what happened
#   demo.sh down   remove all of it (also after an interrupted "up")
#
# The lab (every name starts with hnd-, every file lives in $DEMO_DIR):
#
#   hnd-switch   the "physical switch": its own Open vSwitch with two bridges,
#                mgmt (untagged: the host's management network, gateway 10.0.0.1)
#                pub  (a trunk: peer100 on VLAN 100, peer200 on VLAN 200, same subnet)
#   hnd-host     the hypervisor: eth0 cabled to mgmt (carries 10.0.0.10), eth1 to pub;
#                a private Open vSwitch, a private libvirtd with the hostnet hook
#   hnd-gw, hnd-peer100, hnd-peer200   machines on the switch
#
# host.conf says eth0/br0/10.0.0.10 (IP form) and eth1/brpub/wire1 (wire form). Three tiny
# VMs (Debian's cloud kernel and a busybox initramfs) plug into wire1: vm1 and vm2 on VLAN
# 100, vm3 on VLAN 200; vm2 has source checks on and tries to send from an address it does
# not own.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
DEMO_DIR=${DEMO_DIR:-/run/hostnet-demo}
bin=$root/build
guest=$root/test/guest/out
P=hnd

ovs_schema=/usr/share/openvswitch/vswitch.ovsschema
virsh_uri="qemu:///system?socket=$DEMO_DIR/libvirt/run/libvirt-sock"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() {
	echo "demo: $*" >&2
	exit 1
}
in_ns() {
	local ns=$1
	shift
	ip netns exec "$P-$ns" "$@"
}

# --- building blocks -------------------------------------------------------------------------

# start_ovs NS DIR: a private ovsdb-server + ovs-vswitchd inside namespace NS, files in DIR.
start_ovs() {
	local ns=$1 dir=$2
	mkdir -p "$dir"
	ovsdb-tool create "$dir/conf.db" "$ovs_schema"
	in_ns "$ns" env OVS_RUNDIR="$dir" OVS_LOGDIR="$dir" OVS_DBDIR="$dir" \
		ovsdb-server "$dir/conf.db" --remote="punix:$dir/db.sock" --pidfile --detach --log-file
	OVS_RUNDIR=$dir ovs-vsctl --db="unix:$dir/db.sock" --no-wait init
	in_ns "$ns" env OVS_RUNDIR="$dir" OVS_LOGDIR="$dir" \
		ovs-vswitchd "unix:$dir/db.sock" --pidfile --detach --log-file
}

sw_vsctl() { OVS_RUNDIR=$DEMO_DIR/switch-ovs ovs-vsctl --timeout=10 "$@"; }
host_vsctl() { OVS_RUNDIR=$DEMO_DIR/host-ovs ovs-vsctl --timeout=10 "$@"; }
host_ofctl() { OVS_RUNDIR=$DEMO_DIR/host-ovs ovs-ofctl "$@"; }

# cable NS NIC BRIDGE PORT [SETTINGS...]: a veth from NIC in namespace NS to PORT on a
# bridge of the switch.
cable() {
	local ns=$1 nic=$2 br=$3 port=$4
	shift 4
	ip link add "$port" netns "$P-switch" type veth peer name "$nic" netns "$P-$ns"
	in_ns switch ip link set "$port" up
	in_ns "$ns" ip link set "$nic" up
	if [ $# -gt 0 ]; then
		sw_vsctl add-port "$br" "$port" -- set port "$port" "$@"
	else
		sw_vsctl add-port "$br" "$port"
	fi
}

# start_libvirtd: libvirtd + virtlogd inside hnd-host and a private mount namespace whose
# /etc/libvirt, /run/libvirt, /var/lib/libvirt, ... are directories of the lab, and whose
# /etc/hostnet and /var/log/hostnet are the lab's: the hook finds its config at the default
# path, as on a real host.
start_libvirtd() {
	local lv=$DEMO_DIR/libvirt
	mkdir -p "$lv"/{run,lib,log,cache,etc/hooks/qemu.d}
	cat >"$lv/etc/qemu.conf" <<-'EOF'
		# demo libvirtd: qemu runs as root, unconfined, in the lab's namespace
		user = "root"
		group = "root"
		dynamic_ownership = 0
		namespaces = [ ]
		security_driver = "none"
		cgroup_controllers = [ ]
	EOF
	cat >"$lv/etc/libvirtd.conf" <<-'EOF'
		log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
		auth_unix_ro = "none"
		auth_unix_rw = "none"
		unix_sock_rw_perms = "0700"
	EOF
	# Hooks are read when libvirtd starts: install first.
	install -m 0755 "$bin/hostnet" "$lv/etc/hooks/qemu.d/hostnet"
	# Mount points for the bind mounts below; the ones the lab creates, down removes.
	local d
	for d in /etc/libvirt /etc/hostnet /var/log/hostnet /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt; do
		if [ ! -e "$d" ]; then
			mkdir -p "$d"
			echo "$d" >>"$DEMO_DIR/made-dirs"
		fi
	done
	in_ns host unshare -m --propagation private sh -c "
		set -e
		mount --bind $lv/run /run/libvirt
		mount --bind $lv/lib /var/lib/libvirt
		mount --bind $lv/log /var/log/libvirt
		mount --bind $lv/cache /var/cache/libvirt
		mount --bind $lv/etc /etc/libvirt
		mount --bind $DEMO_DIR/etc /etc/hostnet
		mount --bind $DEMO_DIR/log /var/log/hostnet
		virtlogd -d -p $lv/virtlogd.pid
		libvirtd -d -p $lv/libvirtd.pid
	"
	local i
	for i in $(seq 1 600); do
		virsh -q -c "$virsh_uri" version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	tail -20 "$lv/log/libvirtd.log" >&2 || true
	die "libvirtd did not come up in 60 s (log above)"
}

# vm NAME MAC IP HOSTNET-ATTRS SCRIPT: define and start a tiny VM with one NIC (tap NAME-0).
vm() {
	local name=$1 mac=$2 ip=$3 attrs=$4 script=$5 ipxml=""
	case $attrs in *src-check=*) ipxml="<hostnet:ip address=\"${ip%/*}\"/>" ;; esac
	local cmdline
	cmdline="console=ttyS0 quiet panic=-1 hn.ip=eth0:$ip hn.script=$(printf '%s' "$script" | base64 -w0)"
	cat >"$DEMO_DIR/$name.xml" <<-EOF
		<domain type='qemu'>
		  <name>$name</name>
		  <metadata>
		    <hostnet:interfaces xmlns:hostnet="urn:hostnet:domain:1">
		      <hostnet:interface mac="$mac" $attrs>$ipxml</hostnet:interface>
		    </hostnet:interfaces>
		  </metadata>
		  <memory unit='MiB'>128</memory>
		  <vcpu>1</vcpu>
		  <os>
		    <type arch='x86_64' machine='pc'>hvm</type>
		    <kernel>$guest/vmlinuz</kernel>
		    <initrd>$guest/initrd.gz</initrd>
		    <cmdline>$cmdline</cmdline>
		  </os>
		  <on_poweroff>destroy</on_poweroff>
		  <on_reboot>destroy</on_reboot>
		  <devices>
		    <interface type='ethernet'>
		      <mac address='$mac'/>
		      <target dev='$name-0'/>
		      <model type='virtio'/>
		      <rom enabled='no'/>
		    </interface>
		    <serial type='file'>
		      <source path='$DEMO_DIR/$name.console'/>
		      <target port='0'/>
		    </serial>
		    <controller type='usb' model='none'/>
		    <memballoon model='none'/>
		  </devices>
		</domain>
	EOF
	virsh -q -c "$virsh_uri" define "$DEMO_DIR/$name.xml" >/dev/null
	virsh -q -c "$virsh_uri" start "$name" >/dev/null
	echo "started $name ($ip, $attrs)"
}

# gap PINGLOG: the longest silence between two replies of a `ping -D -i 0.01` log, and its
# summary line.
gap() {
	awk '/bytes from/ { t = substr($1, 2, length($1) - 2) + 0; if (last && t - last > max) max = t - last; last = t }
		END { printf "longest gap between two replies: %.0f ms (pinging every 10 ms)\n", max * 1000 }' "$1"
	grep 'packets transmitted' "$1" || true
}

wait_console() {
	local f=$1 i
	for i in $(seq 1 1200); do
		grep -q HN-DONE "$f" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$f" >&2 || true
	die "$f: the VM did not finish its script in 120 s"
}

# --- up and down -----------------------------------------------------------------------------

up() {
	[ "$(id -u)" -eq 0 ] || die "run as root (the lab creates network namespaces, OVS instances and VMs)"
	[ ! -e "$DEMO_DIR" ] || die "$DEMO_DIR exists: a lab is up already; run 'make demo-clean' first"
	for b in hostprep hostnet-plug hostnet; do
		[ -x "$bin/$b" ] || die "$bin/$b is missing: run 'make build' first"
	done
	mkdir -p "$DEMO_DIR"/{etc,log,state}

	say "Building the test guest (Debian cloud kernel + busybox initramfs)"
	"$root/test/guest/build.sh" "$guest"

	say "Cabling the lab: a switch, a hypervisor with two uplinks, a gateway, two peers"
	for ns in switch host gw peer100 peer200; do
		ip netns add "$P-$ns"
		in_ns "$ns" ip link set lo up
	done
	start_ovs switch "$DEMO_DIR/switch-ovs"
	sw_vsctl add-br mgmt -- set bridge mgmt datapath_type=netdev
	sw_vsctl add-br pub -- set bridge pub datapath_type=netdev
	cable host eth0 mgmt mgmt-host
	cable host eth1 pub pub-host
	cable gw eth0 mgmt mgmt-gw
	cable peer100 eth0 pub pub-p100 tag=100
	cable peer200 eth0 pub pub-p200 tag=200
	in_ns gw ip addr add 10.0.0.1/24 dev eth0
	in_ns peer100 ip addr add 10.100.0.100/24 dev eth0
	in_ns peer200 ip addr add 10.100.0.200/24 dev eth0
	# The hypervisor as the installer left it: its address and default route on eth0.
	in_ns host ip addr add 10.0.0.10/24 dev eth0
	in_ns host ip route add default via 10.0.0.1 dev eth0
	start_ovs host "$DEMO_DIR/host-ovs"
	echo "hnd-host: eth0 10.0.0.10/24 (default via 10.0.0.1), eth1 no address"

	cat >"$DEMO_DIR/etc/host.conf" <<-EOF
		# hostnet demo host.conf
		networks:
		  - eth0/br0/10.0.0.10   # IP form: the host's address and routes move onto br0
		  - eth1/brpub/wire1     # wire form: brpub serves the L2 network "wire1"
		ovs_datapath_type: netdev
		ovs_rundir: $DEMO_DIR/host-ovs
		state_dir: $DEMO_DIR/state
	EOF
	say "host.conf"
	cat "$DEMO_DIR/etc/host.conf"

	say "hostprep check (validates and prints the plan; changes nothing)"
	in_ns host env HOSTNET_CONFIG="$DEMO_DIR/etc/host.conf" "$bin/hostprep" check
	say "hostprep apply (what systemd runs at boot), with the gateway pinging the host every 10 ms"
	# Started without the in_ns function: a backgrounded function is a subshell, and the
	# SIGINT that makes ping print its summary would go to that shell, which ignores it.
	ip netns exec "$P-gw" ping -D -n -i 0.01 10.0.0.10 >"$DEMO_DIR/gw-ping.txt" 2>&1 &
	local pinger=$!
	sleep 0.5
	in_ns host env HOSTNET_CONFIG="$DEMO_DIR/etc/host.conf" "$bin/hostprep" apply
	sleep 0.3
	kill -INT "$pinger" 2>/dev/null || true
	timeout 5 tail --pid="$pinger" -f /dev/null || kill -9 "$pinger" 2>/dev/null || true
	gap "$DEMO_DIR/gw-ping.txt"
	say "hostprep apply again (a converged host: nothing to do)"
	in_ns host env HOSTNET_CONFIG="$DEMO_DIR/etc/host.conf" "$bin/hostprep" apply

	say "Starting libvirtd with the hostnet hook in its /etc/libvirt/hooks/qemu.d/ (the lab's $DEMO_DIR/libvirt/etc)"
	start_libvirtd
	echo "libvirtd is up: virsh -c '$virsh_uri'"

	# Watch peer100 for anything from the address vm2 does not own.
	ip netns exec "$P-peer100" tcpdump -n -l -i eth0 "host 10.100.0.99" >"$DEMO_DIR/peer100-spoof.txt" 2>/dev/null &
	echo $! >"$DEMO_DIR/tcpdump.pid"
	sleep 0.5

	say "Booting three VMs whose NICs carry hostnet metadata"
	vm vm1 52:54:00:de:00:01 10.100.0.11/24 'wire="wire1" vlan="100"' \
		"hn_ping 10.100.0.100
hn_ping 10.100.0.12
HN_PING_TRIES=3 hn_ping 10.100.0.200
HN_PING_TRIES=3 hn_ping 10.100.0.13"
	vm vm2 52:54:00:de:00:02 10.100.0.12/24 'wire="wire1" vlan="100" src-check="on"' \
		"hn_ping 10.100.0.100
hn_ping 10.100.0.11
ip addr add 10.100.0.99/24 dev eth0
echo HN-SPOOF-START
HN_PING_TRIES=3 hn_ping 10.100.0.100 10.100.0.99
echo HN-SPOOF-END"
	vm vm3 52:54:00:de:00:03 10.100.0.13/24 'wire="wire1" vlan="200"' \
		"hn_ping 10.100.0.200
HN_PING_TRIES=3 hn_ping 10.100.0.100
HN_PING_TRIES=3 hn_ping 10.100.0.11"
	for v in vm1 vm2 vm3; do
		wait_console "$DEMO_DIR/$v.console"
	done
	kill "$(cat "$DEMO_DIR/tcpdump.pid")" 2>/dev/null || true

	report
}

# report prints what happened and exits non-zero when the lab does not behave as it should.
report() {
	local bad=0
	say "hostprep status"
	in_ns host env HOSTNET_CONFIG="$DEMO_DIR/etc/host.conf" "$bin/hostprep" status || bad=1

	say "hostnet-plug show (the ports the hook plugged)"
	in_ns host "$bin/hostnet-plug" --config "$DEMO_DIR/etc/host.conf" show || bad=1

	say "Who reached whom (each VM pinged from inside; expected in brackets)"
	declare -A name=([10.100.0.100]=peer100 [10.100.0.200]=peer200 [10.100.0.11]=vm1 [10.100.0.12]=vm2 [10.100.0.13]=vm3)
	declare -A want=(
		[vm1 10.100.0.100]=OK [vm1 10.100.0.12]=OK [vm1 10.100.0.200]=FAIL [vm1 10.100.0.13]=FAIL
		[vm2 10.100.0.100]=OK [vm2 10.100.0.11]=OK
		[vm3 10.100.0.200]=OK [vm3 10.100.0.100]=FAIL [vm3 10.100.0.11]=FAIL
	)
	local v line result target verdict
	for v in vm1 vm2 vm3; do
		# vm2's spoofed ping is reported separately below.
		while read -r line; do
			result=${line%% *}
			target=${line#* }
			[ -n "${want[$v $target]:-}" ] || continue
			verdict="as expected"
			if [ "$result" != "${want[$v $target]}" ]; then
				verdict="WRONG"
				bad=1
			fi
			printf '  %-4s -> %-8s %-13s %s\n' "$v" "${name[$target]}" \
				"$([ "$result" = OK ] && echo reached || echo 'not reached')" "[$verdict]"
		done < <(sed -n '/HN-SPOOF-START/q; s/\r//; s/^HN-PING-\(OK\|FAIL\) /\1 /p' "$DEMO_DIR/$v.console")
	done

	say "Source check: vm2 sent from 10.100.0.99, an address it does not own"
	local seen dropped cookie
	seen=$(grep -c . "$DEMO_DIR/peer100-spoof.txt" || true)
	# hostnet's flow cookie: "HN" in the top 16 bits, the NIC's MAC (52:54:00:de:00:02) below.
	cookie=0x484e525400de0002
	dropped=$(host_ofctl dump-flows brpub "cookie=$cookie/-1" |
		awk '/actions=drop/ { if (match($0, /n_packets=[0-9]+/)) n += substr($0, RSTART + 10, RLENGTH - 10) } END { print n + 0 }')
	if sed -n '/HN-SPOOF-START/,/HN-SPOOF-END/p' "$DEMO_DIR/vm2.console" | grep -q 'HN-PING-FAIL'; then
		echo "  vm2 got no answer from peer100 when sending from 10.100.0.99"
	else
		echo "  vm2 got an answer from peer100 from a spoofed address [WRONG]"
		bad=1
	fi
	echo "  peer100 saw $seen packet(s) from or about 10.100.0.99 (tcpdump)"
	echo "  vm2's drop flows on brpub counted ${dropped:-0} packet(s)"
	if [ "$seen" -ne 0 ] || [ "${dropped:-0}" -eq 0 ]; then
		bad=1
		echo "  [WRONG: the spoofed packets should have been dropped at vm2's port]"
	else
		echo "  [as expected: dropped at vm2's port]"
	fi

	say "Explore"
	cat <<-EOF
		  ip netns exec $P-host ip addr show br0              # the host's address, moved onto br0
		  ip netns exec $P-host env HOSTNET_CONFIG=$DEMO_DIR/etc/host.conf $bin/hostprep status
		  ip netns exec $P-host $bin/hostnet-plug --config $DEMO_DIR/etc/host.conf show
		  ip netns exec $P-host $bin/hostnet-plug --config $DEMO_DIR/etc/host.conf sync --libvirt-state $DEMO_DIR/libvirt/run/qemu
		  OVS_RUNDIR=$DEMO_DIR/host-ovs ovs-vsctl show
		  OVS_RUNDIR=$DEMO_DIR/host-ovs ovs-ofctl dump-flows brpub   # vm2's source checks
		  virsh -c '$virsh_uri' list
		  cat $DEMO_DIR/vm1.console                           # a VM's serial console
		  cat $DEMO_DIR/log/hostnet.log                       # what the hook did (JSON lines)
		  make demo-clean                                     # remove the lab
	EOF
	if [ "$bad" -ne 0 ]; then
		echo >&2
		echo "demo: the lab did not behave as expected (see WRONG above)" >&2
		return 1
	fi
	say "The demo behaved as expected"
}

# alive PID: the process runs (an exited one its parent has not reaped yet is gone).
alive() {
	case $(ps -o stat= -p "$1" 2>/dev/null) in
	"" | Z*) return 1 ;;
	esac
}

# pids_in_mntns NS: the processes in mount namespace NS (libvirtd, virtlogd, qemu).
pids_in_mntns() {
	local want=$1 p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$want" ] && echo "${p#/proc/}"
	done
	return 0
}

down() {
	[ "$(id -u)" -eq 0 ] || die "run as root"
	local lv=$DEMO_DIR/libvirt pid mnt
	if [ ! -e "$DEMO_DIR" ] && ! ip netns list | grep -q "^$P-"; then
		echo "no demo lab to remove"
		return 0
	fi
	if [ -f "$lv/libvirtd.pid" ]; then
		pid=$(cat "$lv/libvirtd.pid")
		mnt=$(readlink "/proc/$pid/ns/mnt" 2>/dev/null || true)
		# Kill libvirtd's whole mount namespace (libvirtd, virtlogd, qemu) at once: the lab goes
		# away whole, so there is nothing for the hook to unplug.
		if [ -n "$mnt" ]; then
			pids_in_mntns "$mnt" | xargs -r kill -9
		fi
	fi
	[ -f "$DEMO_DIR/tcpdump.pid" ] && kill "$(cat "$DEMO_DIR/tcpdump.pid")" 2>/dev/null || true
	local ovs_pids="" i
	for d in host-ovs switch-ovs; do
		for daemon in ovs-vswitchd ovsdb-server; do
			[ -f "$DEMO_DIR/$d/$daemon.pid" ] && ovs_pids="$ovs_pids $(cat "$DEMO_DIR/$d/$daemon.pid")"
		done
	done
	# shellcheck disable=SC2086 # a list of pids
	[ -n "$ovs_pids" ] && kill $ovs_pids 2>/dev/null || true
	# They exit within a second; "removed" must mean gone.
	for i in $(seq 50); do
		pid=""
		for pid in $ovs_pids; do alive "$pid" && break; pid=""; done
		[ -z "$pid" ] && break
		sleep 0.1
	done
	# Whatever still runs in the lab's namespaces (pingers, leftovers) goes too.
	local ns
	for ns in $(ip netns list | awk '{print $1}' | grep "^$P-" || true); do
		ip netns pids "$ns" | xargs -r kill -9
		ip netns del "$ns"
	done
	# Mount points the lab created on this machine (empty again now).
	if [ -f "$DEMO_DIR/made-dirs" ]; then
		while read -r d; do rmdir "$d" 2>/dev/null || true; done <"$DEMO_DIR/made-dirs"
	fi
	rm -rf "$DEMO_DIR"
	echo "demo lab removed"
}

case ${1:-up} in
up) up ;;
down) down ;;
*)
	echo "usage: $0 up|down" >&2
	exit 2
	;;
esac
