#!/usr/bin/env bash
# Builds the guest initramfs (gzip'd newc cpio): a static busybox of the guest
# architecture, an /init, the guest script as /test.sh and extra files in
# /mmlock/ (on PATH). /init mounts proc, sysfs, devtmpfs, tracefs, debugfs,
# bpffs and a tmpfs, runs /test.sh, then prints on the console:
#   MMLOCK-VM-BEGIN id=ID release=R uptime=S
#   ... output of /test.sh ...
#   MMLOCK-VM-RESULT rc=N
#   MMLOCK-VM-DMESG-BEGIN
#   MMLOCK-VM-DMESG: <a dmesg line with WARNING:/BUG:/Oops/Call Trace/panic>
#   ... (one per such line, if any) ...
#   MMLOCK-VM-DMESG-END
# and powers off (poweroff -f; reboot -f as fallback, qemu runs with -no-reboot).
# Needs no root (no device nodes: /init reopens /dev/console after devtmpfs).
#
# Usage: tools/vm/mkinitramfs.sh [-e VAR=VALUE]... ARCH OUT.cpio.gz GUEST_SCRIPT [FILE|DIR...]
#   ARCH     x86 | arm64
#   -e       exported in the guest before /test.sh runs (repeatable)
#   FILE     copied to /mmlock/<basename>; a DIR is copied as /mmlock/<basename>/
#            Guest binaries must be static.
set -euo pipefail
# shellcheck source=tools/vm/lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

envs=()
while [ $# -gt 0 ]; do
	case "$1" in
	-e) envs+=("$2"); shift 2 ;;
	-e*) envs+=("${1#-e}"); shift ;;
	--) shift; break ;;
	-*) vm_die "unknown option $1" ;;
	*) break ;;
	esac
done
[ $# -ge 3 ] || { echo "usage: $0 [-e VAR=VALUE]... x86|arm64 OUT.cpio.gz GUEST_SCRIPT [FILE|DIR...]" >&2; exit 2; }
arch=$1 out=$2 script=$3
shift 3
[ -f "$script" ] || vm_die "guest script $script not found"

# busybox_for ARCH: path of a static busybox that runs in the guest.
busybox_for() {
	case "$1" in
	x86)
		local bb=${MMLOCK_VM_BUSYBOX_X86:-/bin/busybox}
		file -L "$bb" 2>/dev/null | grep -q 'x86-64.*statically linked' ||
			vm_die "$bb is not a static x86-64 busybox (apt-get install busybox-static)"
		echo "$bb"
		;;
	arm64)
		# Never `apt-get install busybox-static:arm64`: it would replace the host's
		# /bin/busybox. Download the .deb and unpack it in the cache instead.
		local dir=$VM_CACHE/busybox/arm64 bb
		bb=$dir/bin/busybox
		if [ ! -x "$bb" ]; then
			mkdir -p "$VM_CACHE/debs"
			local deb
			deb=$(ls "$VM_CACHE"/debs/busybox-static_*_arm64.deb 2>/dev/null | head -n1 || true)
			if [ -z "$deb" ]; then
				vm_log "apt-get download busybox-static:arm64"
				(cd "$VM_CACHE/debs" && apt-get download -q busybox-static:arm64 >&2 2>/dev/null) ||
					vm_die "apt-get download busybox-static:arm64 failed (dpkg --add-architecture arm64 && apt-get update?)"
				deb=$(ls "$VM_CACHE"/debs/busybox-static_*_arm64.deb | head -n1)
			fi
			rm -rf "$dir" && mkdir -p "$dir"
			dpkg -x "$deb" "$dir"
		fi
		file -L "$bb" | grep -q 'ARM aarch64.*statically linked' || vm_die "$bb is not a static aarch64 busybox"
		echo "$bb"
		;;
	*) vm_die "ARCH must be x86 or arm64, not '$1'" ;;
	esac
}

bb=$(busybox_for "$arch")
root=$(mktemp -d /tmp/mmlock-initramfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,etc,root,mmlock,usr/bin,usr/sbin}
cp "$bb" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$script" "$root/test.sh"
chmod 755 "$root/test.sh"
for f in "$@"; do
	[ -e "$f" ] || vm_die "guest file $f not found"
	cp -a "$f" "$root/mmlock/"
done
{
	echo "# written by tools/vm/mkinitramfs.sh"
	echo "export MMLOCK_VM_ARCH='$arch'"
	for e in "${envs[@]+"${envs[@]}"}"; do
		printf "export %s='%s'\n" "${e%%=*}" "${e#*=}"
	done
} >"$root/etc/mmlock-vm.env"

cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/mmlock:/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=dumb
mount -t devtmpfs devtmpfs /dev 2>/dev/null
# The initramfs has no /dev/console node: reopen stdio on the real console.
[ -c /dev/console ] && exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || echo "mmlock-vm: no tracefs"
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || echo "mmlock-vm: no debugfs"
mkdir -p /sys/fs/bpf && mount -t bpf bpf /sys/fs/bpf 2>/dev/null || echo "mmlock-vm: no bpffs"
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /dev/shm
ip link set lo up 2>/dev/null
echo 0 >/proc/sys/kernel/printk_ratelimit 2>/dev/null
. /etc/mmlock-vm.env
ulimit -l unlimited 2>/dev/null
echo "MMLOCK-VM-BEGIN id=${MMLOCK_VM_ID:-?} release=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)"
cd /mmlock
sh /test.sh
rc=$?
cd /
echo "MMLOCK-VM-RESULT rc=$rc uptime=$(cut -d' ' -f1 /proc/uptime)"
echo "MMLOCK-VM-DMESG-BEGIN"
# Each line tagged: the kernel may print on the console while this runs (a
# starved vCPU's "hrtimer: interrupt took N ns"), and such a line, landing
# between the markers, is not one of these.
dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace|Kernel panic|general protection fault|Unable to handle kernel' |
	sed 's/^/MMLOCK-VM-DMESG: /'
echo "MMLOCK-VM-DMESG-END"
sync
poweroff -f
sleep 1
reboot -f
EOF
chmod 755 "$root/init"

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
