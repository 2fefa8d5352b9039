#!/usr/bin/env bash
# Prints the path of the text symbols (/proc/kallsyms, t/T/w/W lines) of a
# VM-lab kernel booted with nokaslr, capturing them once with a boot of that
# kernel (tools/vm/run.sh boots every guest with nokaslr, so the addresses are
# those of any run of the same kernel). Used to symbolize the vCPU stacks of a
# hung guest (tools/vm/symbolize.py); BPF programs are not in it (their
# addresses change per load: guest scripts dump them as MMLOCK-VM-KSYM lines).
# Cached in $MMLOCK_VM_CACHE/kernels/ID/kallsyms.
#
# Usage: tools/vm/kallsyms.sh ID
set -euo pipefail
# shellcheck source=tools/vm/lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"
[ $# -eq 1 ] || { echo "usage: $0 ID" >&2; exit 2; }
vm_check_id "$1"
base=$(vm_base_id "$1")
"$VM_DIR/fetch-kernel.sh" "$base" >/dev/null 2>&1 || "$VM_DIR/fetch-kernel.sh" "$base" >&2
out=$(vm_kdir "$base")/kallsyms
release=$(cat "$(vm_kdir "$base")/release")
if [ -s "$out" ] && [ "$(head -n1 "$out")" = "# $release nokaslr" ]; then
	echo "$out"
	exit 0
fi
work=$(mktemp -d /tmp/mmlock-kallsyms.XXXXXX)
trap 'rm -rf "$work"' EXIT
cat >"$work/dump.sh" <<'EOS'
echo MMLOCK-KALLSYMS-BEGIN
awk '$2 ~ /^[tTwW]$/ && NF == 3 { print $1, $2, $3 }' /proc/kallsyms | gzip -1 | base64
echo MMLOCK-KALLSYMS-END
EOS
vm_log "$1: capturing /proc/kallsyms of $release (one boot, nokaslr)"
"$VM_DIR/run.sh" -q -t 300 -w 60 -l "$work/console.log" "$base" "$work/dump.sh" >&2 ||
	vm_die "kallsyms capture boot of $base failed (console: see above)"
{
	echo "# $release nokaslr"
	# gzip+base64: the serial console moves ~20 KB/s under TCG. Kernel
	# messages that interleave are not base64 lines of the full width.
	sed -n '/^MMLOCK-KALLSYMS-BEGIN/,/^MMLOCK-KALLSYMS-END/p' "$work/console.log" |
		tr -d '\r' | grep -E '^[A-Za-z0-9+/=]+$' | base64 -d | gunzip |
		grep -E '^[0-9a-f]{8,16} [tTwW] [^ ]+$'
} >"$out.tmp"
n=$(wc -l <"$out.tmp")
[ "$n" -gt 1000 ] || vm_die "kallsyms capture of $base gave only $n lines"
mv "$out.tmp" "$out"
vm_log "$1: $n text symbols -> $out"
echo "$out"
