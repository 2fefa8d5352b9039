#!/usr/bin/env bash
# Installs the Debian packages mmlock needs to build, test and demo, if any
# are missing. `--arm64` adds the cross toolchain and arm64 libraries,
# `--vm` what the VM lab (tools/vm/, `make vmtest`) needs on the host,
# `--fleet` the fleet engines of tests/integration/fleet.sh and `make fleet`
# (Debian's clickhouse-server 18.16; DuckDB from npm into $MMLOCK_NPM_CACHE,
# default /var/cache/mmlock-npm). Flags combine. Idempotent and quiet when everything is present.
# Never installs busybox-static:arm64 or arm64 kernels: the VM lab only
# `apt-get download`s those into its cache.
set -eu
# libprotobuf32 and zip: Perfetto's trace processor (no Debian package; tests
# find it in ../shared/tools or $MMLOCK_TRACE_PROCESSOR) links the system
# protobuf, and the merge test zips an mmlock trace with an ftrace capture.
pkgs=(make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libzstd-dev
      pkg-config protobuf-compiler bpftrace linux-perf libprotobuf32 zip)
want_arm64="" want_vm="" want_fleet=""
for a in "$@"; do
	case "$a" in
	--arm64) want_arm64=1 ;;
	--vm) want_vm=1 ;;
	--fleet) want_fleet=1 ;;
	*) echo "usage: $0 [--arm64] [--vm] [--fleet]" >&2; exit 2 ;;
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
if [ -n "$want_fleet" ]; then
	pkgs+=(clickhouse-server clickhouse-client)
	# A node from elsewhere (nodesource's, which has npm inside) conflicts with Debian's npm.
	command -v node >/dev/null || pkgs+=(nodejs)
	command -v npm >/dev/null || pkgs+=(npm)
fi
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# DuckDB: the npm package ships its library (nothing else is downloaded).
# Pinned: the fleet SQL (docs/sql/) is tested against this version.
duckdb_npm() {
	local dir=${MMLOCK_NPM_CACHE:-/var/cache/mmlock-npm} want=1.5.6-r.1
	[ -n "$want_fleet" ] || return 0
	[ "$(node -p "require('$dir/node_modules/@duckdb/node-api/package.json').version" 2>/dev/null)" = "$want" ] &&
		return 0
	echo "mmlock: installing @duckdb/node-api@$want into $dir" >&2
	mkdir -p "$dir" &&
		npm install --silent --no-audit --no-fund --prefix "$dir" "@duckdb/node-api@$want" >&2
}
if [ ${#missing[@]} -eq 0 ] && [ -z "${need_update:-}" ]; then
	duckdb_npm
	exit
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "mmlock: missing packages: ${missing[*]} (run as root, or: apt-get install ${missing[*]})" >&2
	exit 2
fi
echo "mmlock: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# clickhouse-server's postinst would start the system's server on the default
# ports, to run for good: the tests start private ones (tests/fleet/clickhouse.sh).
# A policy-rc.d that refuses starts, only for this install, only if none is there.
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d &&
		policy=/usr/sbin/policy-rc.d
fi
rc=0
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
[ -n "$policy" ] && rm -f "$policy"
[ $rc -eq 0 ] || exit $rc
duckdb_npm
