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
# A hung guest fails fast: the run stops when the console stays silent for the
# silence limit (-w), when the wall clock passes the timeout (-t), or soon
# after the kernel prints a soft lockup / RCU stall / hung task report. Before
# qemu is killed, tools/vm/vcpu-stacks.sh reads every vCPU's registers and raw
# stack through qemu's gdbstub (-gdb tcp:127.0.0.1:PORT, on in every run) and
# symbolizes them (kallsyms of a nokaslr boot of the same kernel); the console
# tail and the stacks go to stderr and to LOG.stacks. Every guest boots with
# `nokaslr softlockup_all_cpu_backtrace=1 softlockup_panic=1` and without
# `quiet`: a lockup with interrupts on prints every CPU's backtrace and
# panics (panic=-1: qemu exits at once); one with interrupts off prints
# nothing, which is what the silence watchdog and the gdbstub are for.
#
# Usage: tools/vm/run.sh [options] ID GUEST_SCRIPT [FILE|DIR...]
#   ID           a kernels.conf id; x86 ids may end in -nohv (-cpu max,-hypervisor)
#   -t SECS      wall-clock limit for the whole boot+run (default $MMLOCK_VM_TIMEOUT or 180),
#                at this host's load. TCG runs a guest as fast as the host's
#                CPUs are free, so the limit stretches with the highest 1-min
#                load average seen per host CPU during the run (x1 up to x4;
#                MMLOCK_VM_TIMEOUT_SCALE=N fixes the factor): a loaded host
#                makes a guest slow, not hung. Hangs are still caught as fast
#                as before, by the silence limit and the lockup reports.
#   -w SECS      console-silence limit once booted (default $MMLOCK_VM_SILENCE or 120;
#                0 = off). The guest script must print something at least that often.
#   -e VAR=VAL   environment for the guest script (repeatable)
#   -m MB        guest memory (default 1024)      -s N   vCPUs (default 2)
#   -a ARGS      extra kernel command line
#   -l LOG       console log file (default $MMLOCK_VM_LOGS/ID.log, $MMLOCK_VM_CACHE/logs)
#   -o FILE      write a key=value summary (id, release, rc, status, boot_s, total_s...)
#   -q           do not echo the guest script's output
# Console lines starting with MMLOCK-VM-KSYM (BPF symbols a guest script dumps
# for the symbolizer) and kernel messages ("[ 12.3] ...") go to LOG only.
# Environment: MMLOCK_VM_CACHE (default /var/cache/mmlock-vm), MMLOCK_VM_TIMEOUT,
#   MMLOCK_VM_SILENCE, MMLOCK_VM_ALLOW_WARN, MMLOCK_VM_QEMU_ARGS (extra qemu arguments),
#   MMLOCK_VM_TCG_THREAD (multi, the default: one host thread per vCPU; single:
#   one host thread runs all vCPUs in turn, which rules out races of qemu's
#   own cross-modifying-code handling: see docs/vm-lab.md, "Stale int3").
set -euo pipefail
# shellcheck source=tools/vm/lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

timeout_s=${MMLOCK_VM_TIMEOUT:-180} silence_s=${MMLOCK_VM_SILENCE:-120}
mem=1024 smp=2 append_extra="" log="" summary="" quiet=""
scale_fixed=${MMLOCK_VM_TIMEOUT_SCALE:-}
case "$scale_fixed" in ''|[1-9]|[1-9][0-9]) ;; *) echo "run.sh: MMLOCK_VM_TIMEOUT_SCALE must be an integer from 1 to 99" >&2; exit 2 ;; esac
host_cpus=$(nproc)
envs=()
while getopts "t:w:e:m:s:a:l:o:qh" opt; do
	case "$opt" in
	t) timeout_s=$OPTARG ;;
	w) silence_s=$OPTARG ;;
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
[ $# -ge 2 ] || { echo "usage: $0 [-t SECS] [-w SECS] [-e VAR=VAL] [-l LOG] ID GUEST_SCRIPT [FILE|DIR...] (-h for help)" >&2; exit 2; }
id=$1 script=$2
shift 2
vm_check_id "$id"
base=$(vm_base_id "$id")
arch=$(vm_arch "$base")

"$VM_DIR/fetch-kernel.sh" "$base" 2>/dev/null || "$VM_DIR/fetch-kernel.sh" "$base"
kdir=$(vm_kdir "$base")
release=$(cat "$kdir/release")

work=$(mktemp -d /tmp/mmlock-vm.XXXXXX)
qpid=""
# Every exit path takes qemu down with it (and its `timeout` parent).
cleanup() {
	if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
		kill "$qpid" 2>/dev/null || true
		sleep 1
		kill -9 "$qpid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$VM_DIR/mkinitramfs.sh" "${envs[@]+"${envs[@]}"}" -e "MMLOCK_VM_ID=$id" -e "MMLOCK_VM_RELEASE=$release" \
	"$arch" "$work/initrd.gz" "$script" "$@"

cpu=max
tcg_thread=${MMLOCK_VM_TCG_THREAD:-multi}
case "$tcg_thread" in multi|single) ;; *) vm_die "MMLOCK_VM_TCG_THREAD must be multi or single" ;; esac
tcg=tcg,thread=$tcg_thread
case "$arch" in
x86)
	vm_nohv "$id" && cpu=max,-hypervisor
	qemu=(qemu-system-x86_64 -accel "$tcg" -cpu "$cpu" -machine q35)
	console=ttyS0
	;;
arm64)
	# pauth-impdef=on: pointer authentication with QEMU's cheap algorithm (3.9 s vs 10.5 s boot).
	cpu=max,pauth-impdef=on
	qemu=(qemu-system-aarch64 -M virt -accel "$tcg" -cpu "$cpu")
	console=ttyAMA0
	;;
esac
command -v "${qemu[0]}" >/dev/null || vm_die "${qemu[0]} not found (tools/install-deps.sh --vm)"
gdb_port=$(vm_free_port)
cmdline="console=$console panic=-1 nokaslr softlockup_all_cpu_backtrace=1 softlockup_panic=1 $append_extra"
qemu+=(-m "$mem" -smp "$smp" -nodefaults -no-user-config -display none -monitor none
       -serial stdio -no-reboot -gdb "tcp:127.0.0.1:$gdb_port"
       -kernel "$kdir/kernel" -initrd "$work/initrd.gz" -append "$cmdline")
# shellcheck disable=SC2206
[ -n "${MMLOCK_VM_QEMU_ARGS:-}" ] && qemu+=($MMLOCK_VM_QEMU_ARGS)

[ -n "$log" ] || log=$VM_LOGS/$id.log
mkdir -p "$(dirname "$log")"
: >"$log"
rm -f "$log.stacks" "$log.gdb"
vm_log "$id: booting $release, -cpu $cpu, TCG $tcg_thread-threaded (timeout ${timeout_s}s times ${scale_fixed:-the host load factor 1-4}, silence ${silence_s}s, gdb :$gdb_port, console log $log)"
echo "MMLOCK-VM-HOST id=$id release=$release cpu=$cpu tcg=$tcg_thread cmdline=$cmdline" >>"$log"

# qemu writes the console into a FIFO that this shell reads with a 1 s
# timeout, so the watchdogs run even when the guest prints nothing.
mkfifo "$work/console"
# timeout: a backstop in case this shell dies without its EXIT trap.
timeout -k 5 $((timeout_s * ${scale_fixed:-4} + 60)) "${qemu[@]}" </dev/null >"$work/console" 2>&1 &
qpid=$!
exec 3<"$work/console" 4>>"$log"

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
t0=$EPOCHREALTIME
last=$t0 scale=1
boot_s="" result_s="" rc_line="" hang="" lockup=""
state=boot partial=""
kmsg_re='^\[ *[0-9]+\.[0-9]+\] '
handle_line() {
	local line=${1%$'\r'}
	printf '%s\n' "$line" >&4
	case "$line" in
	*MMLOCK-VM-BEGIN*)
		boot_s=$(since "$t0")
		state=run
		return
		;;
	*MMLOCK-VM-RESULT\ rc=*)
		result_s=$(since "$t0")
		rc_line=$line
		state=dmesg
		return
		;;
	MMLOCK-VM-KSYM*) return ;;
	*"soft lockup"*|*"rcu_sched self-detected stall"*|*"rcu: INFO: "*"detected stall"*|*"blocked for more than"*|*"Kernel panic"*)
		[ -n "$lockup" ] || lockup=$(sed 's/^\[ *[0-9.]*\] //' <<<"$line")
		;;
	esac
	if [ "$state" = run ] && [ -z "$quiet" ] && ! [[ $line =~ $kmsg_re ]]; then
		printf '%s\n' "$line"
	fi
}
while :; do
	chunk="" rrc=0
	IFS= read -r -t 1 -u 3 chunk || rrc=$?
	if [ "$rrc" = 0 ]; then
		handle_line "$partial$chunk"
		partial="" last=$EPOCHREALTIME
		continue
	fi
	if [ "$rrc" -le 128 ]; then		# EOF: qemu exited
		[ -n "$partial$chunk" ] && handle_line "$partial$chunk"
		break
	fi
	if [ -n "$chunk" ]; then partial+=$chunk; last=$EPOCHREALTIME; fi
	# A lockup report is followed by backtraces, then (softlockup_panic) a
	# panic and qemu's exit; an RCU stall or hung task is not: give the
	# report 10 s to finish, then treat the guest as hung.
	lim=$silence_s
	[ -n "$lockup" ] && lim=10
	if [ "$state" != dmesg ] && [ "$lim" != 0 ] && [ "$state" != boot ] &&
		awk -v a="$last" -v b="$EPOCHREALTIME" -v l="$lim" 'BEGIN { exit !(b - a > l) }'; then
		hang="console silent for ${lim}s${lockup:+ after: $lockup}"
		break
	fi
	if [ -n "$scale_fixed" ]; then
		scale=$scale_fixed
	else
		# /proc/loadavg prints hundredths ("13.16"): integer math, no
		# process spawned each second for it.
		read -r load1 _ </proc/loadavg
		load1=${load1/./}
		f=$(((10#$load1 + 100 * host_cpus - 1) / (100 * host_cpus)))
		[ "$f" -gt 4 ] && f=4
		[ "$f" -gt "$scale" ] && scale=$f
	fi
	if awk -v a="$t0" -v b="$EPOCHREALTIME" -v l="$((timeout_s * scale))" 'BEGIN { exit !(b - a > l) }'; then
		hang="timeout after $((timeout_s * scale))s (${timeout_s}s x$scale for the host's load)${lockup:+ after: $lockup}"
		break
	fi
done
if [ -n "$hang" ]; then
	echo "MMLOCK-VM-HANG $hang" >>"$log"
	vm_log "$id: FAIL: HANG: $hang; reading the vCPUs through the gdbstub"
	MMLOCK_VM_STACKS=raw "$VM_DIR/vcpu-stacks.sh" "$id" "$gdb_port" "$log" >&2 || true
fi
exec 3<&- 4>&-
if kill -0 "$qpid" 2>/dev/null; then
	kill "$qpid" 2>/dev/null || true
	sleep 1
	kill -9 "$qpid" 2>/dev/null || true
fi
qemu_rc=0
wait "$qpid" || qemu_rc=$?
# Symbolizing may boot the same kernel once to capture its kallsyms: only
# now that this guest is gone (VM runs stay sequential).
if [ -n "$hang" ]; then
	MMLOCK_VM_STACKS=symbolize "$VM_DIR/vcpu-stacks.sh" "$id" "$gdb_port" "$log" >"$log.stacks" 2>&1 || true
fi
total_s=$(since "$t0")

warn=$(vm_console_problems "$log")

rc=""
if [ -n "$rc_line" ]; then rc=$(sed 's/.*rc=\([0-9]*\).*/\1/' <<<"$rc_line"); fi
status=ok
if [ -n "$hang" ] || [ -z "$rc" ]; then
	status=no-marker
	if [ -n "$hang" ]; then
		status=hang
	elif [ -n "$lockup" ]; then
		status=lockup
		vm_log "$id: FAIL: guest died after: $lockup (qemu exit $qemu_rc)"
	else
		vm_log "$id: FAIL: no result marker (qemu exit $qemu_rc)"
	fi
	vm_log "$id: last console lines:"
	grep -v '^MMLOCK-VM-KSYM' "$log" | tail -n 40 | sed 's/^/    | /' >&2
	if [ -s "$log.stacks" ]; then
		vm_log "$id: vCPU stacks ($log.stacks; raw gdb output in $log.gdb):"
		sed -e '/^--- raw gdb output ---/,$d' -e 's/^/    | /' "$log.stacks" >&2
	fi
	rc=124
elif [ -n "$warn" ]; then
	vm_log "$id: guest kernel reported problems:"
	printf '%s\n' "$warn" | sort -u | sed 's/^/    | /' >&2
	if [ "$rc" = 0 ] && [ "${MMLOCK_VM_ALLOW_WARN:-0}" != 1 ]; then
		status=dmesg-warning
		vm_log "$id: FAIL: guest dmesg shows WARNING/BUG/Oops (MMLOCK_VM_ALLOW_WARN=1 to ignore)"
		rc=125
	fi
fi
vm_log "$id: $release rc=$rc boot=${boot_s:-?}s run_end=${result_s:-?}s total=${total_s}s, time limit x$scale ($status)"
if [ -n "$summary" ]; then
	cat >"$summary" <<EOS
id=$id
release=$release
cpu=$cpu
rc=$rc
status=$status
hang=$hang
lockup=$lockup
boot_s=${boot_s:-}
result_s=${result_s:-}
total_s=$total_s
timeout_scale=$scale
qemu_pid=$qpid
log=$log
EOS
fi
exit "$rc"
