#!/usr/bin/env bash
# Boots a pinned Debian kernel (tools/vm/kernels.conf) under qemu TCG with a
# busybox initramfs, runs GUEST_SCRIPT in it as /test.sh (cwd /mmlock, FILES in
# /mmlock/ which is on PATH), and prints the script's output on stdout.
#
# Exit status: the script's exit code; 124 if the guest timed out or never
# printed the result marker; 125 if the script passed but the guest dmesg shows
# a WARNING/BUG/Oops/Call Trace (set MMLOCK_VM_ALLOW_WARN=1 to only report it).
# The whole console goes to a log (path printed on stderr).
#
# Usage: tools/vm/run.sh [options] ID GUEST_SCRIPT [FILE|DIR...]
#   -t SECS      timeout for the whole boot+run (default $MMLOCK_VM_TIMEOUT or 180)
#   -e VAR=VAL   environment for the guest script (repeatable)
#   -m MB        guest memory (default 1024)      -s N   vCPUs (default 2)
#   -a ARGS      extra kernel command line
#   -l LOG       console log file (default $MMLOCK_VM_CACHE/logs/ID.log)
#   -o FILE      write a key=value summary (id, release, rc, boot_s, total_s...)
#   -q           do not echo the guest script's output
# Environment: MMLOCK_VM_CACHE (default /var/cache/mmlock-vm), MMLOCK_VM_TIMEOUT,
#   MMLOCK_VM_ALLOW_WARN, MMLOCK_VM_QEMU_ARGS (extra qemu arguments).
set -euo pipefail
# shellcheck source=tools/vm/lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

timeout_s=${MMLOCK_VM_TIMEOUT:-180} mem=1024 smp=2 append_extra="" log="" summary="" quiet=""
envs=()
while getopts "t:e:m:s:a:l:o:qh" opt; do
	case "$opt" in
	t) timeout_s=$OPTARG ;;
	e) envs+=(-e "$OPTARG") ;;
	m) mem=$OPTARG ;;
	s) smp=$OPTARG ;;
	a) append_extra=$OPTARG ;;
	l) log=$OPTARG ;;
	o) summary=$OPTARG ;;
	q) quiet=1 ;;
	*) sed -n '2,/^set -e/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { echo "usage: $0 [-t SECS] [-e VAR=VAL] [-l LOG] ID GUEST_SCRIPT [FILE|DIR...] (-h for help)" >&2; exit 2; }
id=$1 script=$2
shift 2
arch=$(vm_arch "$id")

"$VM_DIR/fetch-kernel.sh" "$id" 2>/dev/null || "$VM_DIR/fetch-kernel.sh" "$id"
kdir=$(vm_kdir "$id")
release=$(cat "$kdir/release")

work=$(mktemp -d /tmp/mmlock-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$VM_DIR/mkinitramfs.sh" "${envs[@]+"${envs[@]}"}" -e "MMLOCK_VM_ID=$id" -e "MMLOCK_VM_RELEASE=$release" \
	"$arch" "$work/initrd.gz" "$script" "$@"

case "$arch" in
x86)
	qemu=(qemu-system-x86_64 -accel tcg -cpu max -machine q35)
	console=ttyS0
	;;
arm64)
	# pauth-impdef=on: pointer authentication with QEMU's cheap algorithm (3.9 s vs 10.5 s boot).
	# shellcheck disable=SC2054
	qemu=(qemu-system-aarch64 -M virt -accel tcg -cpu max,pauth-impdef=on)
	console=ttyAMA0
	;;
esac
command -v "${qemu[0]}" >/dev/null || vm_die "${qemu[0]} not found (tools/install-deps.sh --vm)"
qemu+=(-m "$mem" -smp "$smp" -nodefaults -no-user-config -display none -monitor none
       -serial stdio -no-reboot
       -kernel "$kdir/kernel" -initrd "$work/initrd.gz"
       -append "console=$console panic=-1 quiet $append_extra")
# shellcheck disable=SC2206
[ -n "${MMLOCK_VM_QEMU_ARGS:-}" ] && qemu+=($MMLOCK_VM_QEMU_ARGS)

[ -n "$log" ] || log=$VM_CACHE/logs/$id.log
mkdir -p "$(dirname "$log")"
: >"$log"
vm_log "$id: booting $release (timeout ${timeout_s}s, console log $log)"

# Stream the console: timestamp the begin/result markers, echo the script's
# output live (so a hang shows where it hung).
t0=$EPOCHREALTIME
boot_s="" result_s="" rc_line=""
state=boot
while IFS= read -r line; do
	line=${line%$'\r'}
	printf '%s\n' "$line" >>"$log"
	case "$line" in
	*MMLOCK-VM-BEGIN*)
		boot_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
		state=run
		continue
		;;
	MMLOCK-VM-QEMU-EXIT*) continue ;;
	*MMLOCK-VM-RESULT\ rc=*)
		result_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
		rc_line=$line
		state=dmesg
		continue
		;;
	esac
	if [ "$state" = run ] && [ -z "$quiet" ]; then printf '%s\n' "$line"; fi
done < <(qrc=0; timeout -k 5 "$timeout_s" "${qemu[@]}" </dev/null 2>&1 || qrc=$?; echo "MMLOCK-VM-QEMU-EXIT rc=$qrc")
total_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
qemu_rc=$(sed -n 's/^MMLOCK-VM-QEMU-EXIT rc=\([0-9]*\).*/\1/p' "$log" | tail -n1)

# Guest dmesg problems, reported by /init between the DMESG markers.
warn=$(sed -n '/^MMLOCK-VM-DMESG-BEGIN/,/^MMLOCK-VM-DMESG-END/p' "$log" | grep -v '^MMLOCK-VM-DMESG-' || true)
# Kernel messages printed straight on the console (e.g. a panic before /init).
# Only before the begin marker: later ones are in the dmesg dump, and the
# script's own output may legitimately contain these words.
panic=$(sed '/MMLOCK-VM-BEGIN/,$d' "$log" | grep -E 'Kernel panic|BUG:|Oops|WARNING:' || true)

rc=""
if [ -n "$rc_line" ]; then rc=$(sed 's/.*rc=\([0-9]*\).*/\1/' <<<"$rc_line"); fi
status=ok
if [ -z "$rc" ]; then
	status=no-marker
	if [ "$qemu_rc" = 124 ]; then
		vm_log "$id: FAIL: TIMEOUT after ${timeout_s}s, no result marker (last console lines follow)"
	else
		vm_log "$id: FAIL: no result marker (qemu exit $qemu_rc; last console lines follow)"
	fi
	tail -n 25 "$log" | sed 's/^/    | /' >&2
	rc=124
elif [ -n "$warn" ] || [ -n "$panic" ]; then
	vm_log "$id: guest kernel reported problems:"
	printf '%s\n' "$warn" "$panic" | sed '/^$/d' | sort -u | sed 's/^/    | /' >&2
	if [ "$rc" = 0 ] && [ "${MMLOCK_VM_ALLOW_WARN:-0}" != 1 ]; then
		status=dmesg-warning
		vm_log "$id: FAIL: guest dmesg shows WARNING/BUG/Oops (MMLOCK_VM_ALLOW_WARN=1 to ignore)"
		rc=125
	fi
fi
vm_log "$id: $release rc=$rc boot=${boot_s:-?}s run_end=${result_s:-?}s total=${total_s}s ($status)"
if [ -n "$summary" ]; then
	cat >"$summary" <<EOS
id=$id
release=$release
rc=$rc
status=$status
boot_s=${boot_s:-}
result_s=${result_s:-}
total_s=$total_s
log=$log
EOS
fi
exit "$rc"
