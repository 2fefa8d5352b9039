#!/usr/bin/env bash
# Installs the Debian packages mmlock needs to build, test and demo, if any
# are missing. `--arm64` adds the cross toolchain and arm64 libraries.
# Idempotent and quiet when everything is present.
set -eu
pkgs=(make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libzstd-dev
      pkg-config protobuf-compiler bpftrace linux-perf)
if [ "${1:-}" = --arm64 ]; then
	pkgs+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross
	       libbpf-dev:arm64 libelf-dev:arm64 zlib1g-dev:arm64 libzstd-dev:arm64)
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		dpkg --add-architecture arm64
		need_update=1
	fi
fi
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
