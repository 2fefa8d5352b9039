#!/bin/sh
# Runs INSIDE a VM-lab guest (busybox sh) under tools/vm/vmstress.sh: the
# safety loop. mmlock must never freeze the kernel it measures (issue #17);
# this loop gives a lock-order bug in its BPF programs every chance to show:
#   min0    one system-wide `mmlock record --min-slice 0` on a gcsim load
#           (every wait and ioctl becomes a ring-buffer event)
#   two     two recorders at once on one gcsim (--mode tracepoint and auto,
#           both --min-slice 0)
#   peer    mmlock (system-wide, --min-slice 0) next to contention_peer, a
#           second BPF user of lock:contention_begin/end and sched_switch that
#           reserves from its own ring buffer there (tests/peer/)
#   attach  load + attach of the auto recorder, then stop, with gcsim held
#           at its start fence (the phase of the "second hang" in issue #17)
#   toggle  no mmlock, no BPF: the tracepoints mmlock attaches to enabled and
#           disabled through tracefs 20 times on a gcsim load. Each first
#           enable / last disable patches kernel text (static keys), as
#           mmlock's attach and detach do: a hang here is not mmlock's.
# Binaries in /mmlock (on PATH): mmlock, gcsim, contention_peer.
# Environment: VMSTRESS_ITERS (default 50), VMSTRESS_MODES (default
#   "min0 two peer"), VMSTRESS_LOAD_S (gcsim seconds per phase, default 2),
#   VMSTRESS_PHASE_S (bound on one phase, default 180).
# Output: "ITER i/N MODE ok|FAIL Ts (recording after Rs)" per phase (R: when
# the last recorder of the phase was attached), "stress: alive" every 3 s,
# MMLOCK-VM-KSYM lines (BPF symbols, for the host's symbolizer), and at the
# end "STRESS-DONE iterations=I failed=F". A phase that outlives its bound
# prints "STUCK", asks the kernel for all CPUs' backtraces (sysrq l) and then
# goes silent, so the host's silence watchdog reads the vCPUs through the
# gdbstub. Exit status: number of failed phases.

iters=${VMSTRESS_ITERS:-50}
modes=${VMSTRESS_MODES:-min0 two peer}
dur=${VMSTRESS_LOAD_S:-2}
bound=${VMSTRESS_PHASE_S:-180}
fails=0

echo "stress: ${MMLOCK_VM_ID:-?} $(uname -r), $(nproc) cpus, $iters iterations of: $modes (gcsim ${dur}s)"
for b in mmlock gcsim; do
	command -v $b >/dev/null 2>&1 || { echo "FAIL: $b missing in the guest"; exit 1; }
done
case " $modes " in *" peer "*)
	command -v contention_peer >/dev/null 2>&1 || { echo "FAIL: contention_peer missing in the guest"; exit 1; } ;;
esac
echo 1 >/proc/sys/kernel/sysrq 2>/dev/null

# The host's silence watchdog needs a line every few seconds while the
# kernel still runs; a kernel spinning with interrupts off stops this too.
(while sleep 3; do echo "stress: alive $(cut -d' ' -f1 /proc/uptime)"; done) &
heartbeat=$!

uptime_s() { cut -d' ' -f1 /proc/uptime; }

# stuck WHAT: a phase outlived its bound. Backtraces of every CPU (the
# kernel prints them if it can), then silence for the host's gdbstub dump.
stuck() {
	echo "STUCK: $1 after ${bound}s"
	echo l >/proc/sysrq-trigger 2>/dev/null
	sleep 5
	kill "$heartbeat" 2>/dev/null
	sleep 100000
}

# wait_for FILE PATTERN PID: until FILE shows PATTERN; fails if PID died.
wait_for() {
	n=0
	until grep -q "$2" "$1" 2>/dev/null; do
		kill -0 "$3" 2>/dev/null || return 1
		n=$((n + 1))
		[ $n -gt $((bound * 5)) ] && stuck "waiting for '$2' in $1"
		sleep 0.2
	done
	ready=$(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }')
}

# reap PID: its exit status, bounded.
reap() {
	n=0
	while kill -0 "$1" 2>/dev/null; do
		n=$((n + 1))
		[ $n -gt $((bound * 5)) ] && stuck "waiting for pid $1 to exit"
		sleep 0.2
	done
	wait "$1"
}

# BPF programs and trampolines loaded now: their addresses name the frames of
# a hung vCPU (tools/vm/symbolize.py takes the last dump).
dump_bpf_ksyms() {
	echo "MMLOCK-VM-KSYM-BEGIN"
	awk '$4 == "[bpf]" { print "MMLOCK-VM-KSYM", $1, $3 }' /proc/kallsyms
}

# gcsim held at its start fence (/tmp/go) until `go`.
start_load() {
	rm -f /tmp/go && mkfifo /tmp/go
	gcsim --space-mb 16 --gc-threads 2 --mutators 0 --no-ui --duration "$dur" --go-fd 3 \
		3<>/tmp/go >/tmp/gcsim.out 2>&1 &
	gpid=$!
}
go() { echo go >/tmp/go; }

# recorder NAME ARGS...: mmlock record in the background, output in /tmp/NAME.out.
recorder() {
	n=$1
	shift
	# The last phase's output must be gone before wait_for looks: the
	# background job's own redirection may come later, and a stale
	# "recording" line once let a phase stop mmlock while it still loaded.
	: >/tmp/$n.out
	mmlock record "$@" --json /tmp/$n.json >/tmp/$n.out 2>&1 &
	eval "pid_$n=\$!"
}

# ok_rc WHAT RC FILE: a failed exit is a failed phase (tail shown).
ok_rc() {
	[ "$2" -eq 0 ] && return 0
	echo "  $1 exited $2:"
	tail -n 8 "$3" | sed 's/^/    /'
	return 1
}

phase_min0() {
	start_load
	recorder a -v --min-slice 0
	wait_for /tmp/a.out 'recording' "$pid_a" || { go; reap $gpid; reap $pid_a; ok_rc "mmlock" $? /tmp/a.out; return 1; }
	dump_bpf_ksyms
	go
	reap $gpid; g=$?
	kill -INT "$pid_a"
	reap "$pid_a"; r=$?
	ok_rc gcsim $g /tmp/gcsim.out && ok_rc "mmlock --min-slice 0" $r /tmp/a.out
}

phase_two() {
	start_load
	recorder a -p $gpid --mode tracepoint --min-slice 0
	recorder b -p $gpid --min-slice 0
	wait_for /tmp/a.out 'recording' "$pid_a" && wait_for /tmp/b.out 'recording' "$pid_b"
	w=$?
	[ $w -eq 0 ] && dump_bpf_ksyms
	go
	reap $gpid; g=$?
	reap "$pid_a"; r1=$?
	reap "$pid_b"; r2=$?
	ok_rc gcsim $g /tmp/gcsim.out && ok_rc "mmlock --mode tracepoint" $r1 /tmp/a.out &&
		ok_rc "mmlock (auto)" $r2 /tmp/b.out && [ $w -eq 0 ]
}

phase_peer() {
	start_load
	: >/tmp/peer.out	# as in recorder(): no stale "attached"
	contention_peer >/tmp/peer.out 2>&1 &
	ppid=$!
	recorder a --min-slice 0
	wait_for /tmp/peer.out 'attached' "$ppid" && wait_for /tmp/a.out 'recording' "$pid_a"
	w=$?
	[ $w -eq 0 ] && dump_bpf_ksyms
	go
	reap $gpid; g=$?
	kill -INT "$pid_a" "$ppid" 2>/dev/null
	reap "$pid_a"; r=$?
	reap "$ppid"; p=$?
	grep '^peer: events' /tmp/peer.out | sed 's/^/  /'
	# A peer that saw nothing would make this phase the min0 one again.
	pe=$(awk '/^peer: events/ { print $3 }' /tmp/peer.out)
	[ "${pe:-0}" -gt 0 ] || { echo "  contention_peer recorded no events"; w=1; }
	ok_rc gcsim $g /tmp/gcsim.out && ok_rc "mmlock --min-slice 0" $r /tmp/a.out &&
		ok_rc contention_peer $p /tmp/peer.out && [ $w -eq 0 ]
}

phase_toggle() {
	tr=/sys/kernel/tracing
	[ -d $tr/events ] || mount -t tracefs nodev $tr 2>/dev/null
	[ -d $tr/events/sched/sched_switch ] || { echo "  no tracefs events"; return 1; }
	echo 0 >$tr/tracing_on	# the events run, nothing is kept
	start_load
	go
	k=0
	while [ $k -lt 20 ]; do
		for ev in sched/sched_switch sched/sched_wakeup lock/contention_begin lock/contention_end \
			raw_syscalls/sys_enter raw_syscalls/sys_exit; do
			echo 1 >$tr/events/$ev/enable 2>/dev/null
		done
		sleep 0.1
		for ev in sched/sched_switch sched/sched_wakeup lock/contention_begin lock/contention_end \
			raw_syscalls/sys_enter raw_syscalls/sys_exit; do
			echo 0 >$tr/events/$ev/enable 2>/dev/null
		done
		k=$((k + 1))
	done
	reap $gpid; g=$?
	ok_rc gcsim $g /tmp/gcsim.out
}

phase_attach() {
	start_load
	recorder a -p $gpid
	wait_for /tmp/a.out 'recording' "$pid_a"
	w=$?
	kill -INT "$pid_a" 2>/dev/null
	reap "$pid_a"; r=$?
	go
	reap $gpid; g=$?
	ok_rc "mmlock (auto) load/attach/stop" $r /tmp/a.out && ok_rc gcsim $g /tmp/gcsim.out && [ $w -eq 0 ]
}

t_all=$(uptime_s)
i=1 done_iters=0
while [ $i -le "$iters" ]; do
	for m in $modes; do
		t0=$(uptime_s) ready="?"
		echo "ITER $i/$iters $m start"
		if "phase_$m"; then res=ok; else res=FAIL; fails=$((fails + 1)); fi
		echo "ITER $i/$iters $m $res $(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { printf "%.1fs", b - a }') (recording after ${ready}s)"
	done
	done_iters=$i
	i=$((i + 1))
done
kill "$heartbeat" 2>/dev/null
echo "STRESS-DONE iterations=$done_iters failed=$fails guest_s=$(awk -v a="$t_all" -v b="$(uptime_s)" 'BEGIN { printf "%.0f", b - a }')"
exit $fails
