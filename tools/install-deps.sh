#!/usr/bin/env bash
# Installs the Debian packages mmlock needs to build, test and demo, if any
# are missing. `--arm64` adds the cross toolchain and arm64 libraries,
# `--vm` what the VM lab (tools/vm/, `make vmtest`) needs on the host.
# Flags combine. Idempotent and quiet when everything is present.
# Never installs busybox-static:arm64 or arm64 kernels: the VM lab only
# `apt-get download`s those into its cache.
set -eu
# libprotobuf32 and zip: Perfetto's trace processor (no Debian package; tests
# find it in ../shared/tools or $MMLOCK_TRACE_PROCESSOR) links the system
# protobuf, and the merge test zips an mmlock trace with an ftrace capture.
pkgs=(make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libzstd-dev
      pkg-config protobuf-compiler bpftrace linux-perf libprotobuf32 zip)
want_arm64="" want_vm=""
for a in "$@"; do
	case "$a" in
	--arm64) want_arm64=1 ;;
	--vm) want_vm=1 ;;
	*) echo "usage: $0 [--arm64] [--vm]" >&2; exit 2 ;;
	esac
done
if [ -n "$want_vm" ]; then
	# qemu-system-arm provides qemu-system-aarch64.
	pkgs+=(qemu-system-x86 qemu-system-arm busybox-static cpio xz-utils gzip curl file python3)
fi
if [ -n "$want_arm64" ]; then
	pkgs+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross
	       libbpf-dev:arm64 libelf-dev:arm64 zlib1g-dev:arm64 libzstd-dev:arm64)
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		dpkg --add-architecture arm64
		need_update=1
	fi
fi
# gdb talks to qemu's gdbstub when a guest hangs silently (tools/vm/vcpu-stacks.sh):
# gdb for x86 guests, gdb-multiarch for arm64 ones.
[ -n "$want_vm" ] && pkgs+=(gdb gdb-multiarch)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && [ -z "${need_update:-}" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "mmlock: missing packages: ${missing[*]} (run as root, or: apt-get install ${missing[*]})" >&2
	exit 2
fi
echo "mmlock: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
