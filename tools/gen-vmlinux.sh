#!/usr/bin/env bash
# Regenerates vmlinux/ARCH/vmlinux.h (the CO-RE header the BPF objects are
# compiled against) with `bpftool btf dump file BTF format c`.
#
#   x86    BTF from /sys/kernel/btf/vmlinux of the running x86_64 kernel
#          (the checked-in header came from the host's 6.18 kernel).
#   arm64  BTF carved out of a Debian arm64 kernel image: Debian's arm64
#          Image is uncompressed and carries the raw .BTF blob (magic
#          9f eb 01 00, header length 24). Default kernel: arm64-6.12 from
#          tools/vm/kernels.conf (newest pinned arm64 kernel, so every type
#          mmlock uses exists; CO-RE relocates field offsets for 6.1).
#
# Usage: tools/gen-vmlinux.sh ARCH [--btf FILE | --kernel ID | --image FILE] [--out FILE]
#   --btf FILE     dump this raw BTF file instead (any arch)
#   --kernel ID    arm64: carve from the cached kernel of this kernels.conf id
#   --image FILE   arm64: carve from this uncompressed arm64 Image
#   --out FILE     write here instead of vmlinux/ARCH/vmlinux.h
# The output is deterministic: rerun and `git diff --exit-code vmlinux/` to check.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "gen-vmlinux: error: $*" >&2; exit 1; }

[ $# -ge 1 ] || { sed -n '2,/^set -e/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }
arch=$1
shift
btf="" kernel_id="" image="" out=""
while [ $# -gt 0 ]; do
	case "$1" in
	--btf) btf=$2; shift 2 ;;
	--kernel) kernel_id=$2; shift 2 ;;
	--image) image=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) die "unknown argument $1" ;;
	esac
done
case "$arch" in x86|arm64) ;; *) die "ARCH must be x86 or arm64" ;; esac
[ -n "$out" ] || out=$top/vmlinux/$arch/vmlinux.h
command -v bpftool >/dev/null || die "bpftool not found (tools/install-deps.sh)"

tmp=$(mktemp -d /tmp/gen-vmlinux.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# carve_btf IMAGE OUT: copy the kernel's BTF blob out of an uncompressed image.
carve_btf() {
	python3 - "$1" "$2" <<'EOF'
import struct, sys
data = open(sys.argv[1], 'rb').read()
best = None
pos = data.find(b'\x9f\xeb\x01\x00')
while pos >= 0:
    if pos + 24 <= len(data):
        hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from('<IIIII', data, pos + 4)
        size = hdr_len + str_off + str_len
        # A real vmlinux BTF: 24-byte header, types then strings, megabytes long.
        if (hdr_len == 24 and type_off == 0 and str_off == type_len and
                type_len > 1 << 20 and pos + size <= len(data) and
                data[pos + size - 1] == 0 and (best is None or size > best[1])):
            best = (pos, size)
    pos = data.find(b'\x9f\xeb\x01\x00', pos + 1)
if best is None:
    sys.exit('no BTF blob (magic 9f eb 01 00, header 24) found in ' + sys.argv[1] +
             ' (compressed image? CONFIG_DEBUG_INFO_BTF off?)')
open(sys.argv[2], 'wb').write(data[best[0]:best[0] + best[1]])
print('gen-vmlinux: BTF at offset %#x, %d bytes' % best, file=sys.stderr)
EOF
}

if [ -z "$btf" ]; then
	case "$arch" in
	x86)
		[ "$(uname -m)" = x86_64 ] || die "x86: not on an x86_64 host; pass --btf FILE"
		btf=/sys/kernel/btf/vmlinux
		[ -r "$btf" ] || die "$btf not readable (kernel without CONFIG_DEBUG_INFO_BTF?)"
		echo "gen-vmlinux: x86 from $btf ($(uname -r))" >&2
		;;
	arm64)
		if [ -z "$image" ]; then
			kernel_id=${kernel_id:-arm64-6.12}
			"$top/tools/vm/fetch-kernel.sh" "$kernel_id"
			. "$top/tools/vm/lib.sh"
			image=$(vm_kdir "$kernel_id")/kernel
			echo "gen-vmlinux: arm64 from $kernel_id ($(cat "$(vm_kdir "$kernel_id")/release"))" >&2
		fi
		[ -r "$image" ] || die "$image not readable"
		carve_btf "$image" "$tmp/btf"
		btf=$tmp/btf
		;;
	esac
fi

bpftool btf dump file "$btf" format c >"$tmp/vmlinux.h" || die "bpftool could not dump $btf"
# Sanity: the header must declare what the BPF side and bpf_tracing.h need.
need=(task_struct mm_struct vm_area_struct)
[ "$arch" = arm64 ] && need+=(user_pt_regs)
[ "$arch" = x86 ] && need+=(pt_regs)
for t in "${need[@]}"; do
	grep -q "^struct $t {" "$tmp/vmlinux.h" || die "generated header lacks struct $t"
done
mkdir -p "$(dirname "$out")"
if [ -f "$out" ] && cmp -s "$tmp/vmlinux.h" "$out"; then
	echo "gen-vmlinux: $out unchanged" >&2
else
	mv "$tmp/vmlinux.h" "$out"
	echo "gen-vmlinux: wrote $out ($(wc -l <"$out") lines)" >&2
fi
