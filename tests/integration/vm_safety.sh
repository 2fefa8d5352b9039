#!/usr/bin/env bash
# [safety] mmlock never freezes the kernel it measures (issue #17): the short
# version of `make vmstress`. First the hang detector itself: a guest that
# goes silent must be stopped by run.sh's silence watchdog, with both vCPUs'
# registers and stacks read through qemu's gdbstub and symbolized. Then
# tools/vm/vmstress.sh on x86 6.1 and 6.12 without the hypervisor bit (the
# real spinlock slow path: spin waits reach the contention tracepoints) and
# arm64 6.12, with two busy loops on the host: VMSAFETY_ITERS iterations
# (default 1) of two recorders at once (both --min-slice 0) and of a
# system-wide mmlock --min-slice 0 next to a second BPF user of the contention
# tracepoints (modes "two peer"; `make vmstress` adds a lone min0 recorder and
# runs 50). A frozen guest fails its kernel's line, with the console tail and
# the vCPU stacks.
# The wall-clock limit of run.sh stretches with the host load; checked here
# with the factor fixed.
# Knobs: VMSAFETY_ITERS, VMSAFETY_KERNELS, MMLOCK_NO_VM (skip, loudly).
. "$(dirname "$0")/../lib.sh"
if [ "$(id -u)" -ne 0 ]; then skip "vm_safety: needs root (packages, kernel cache)"; exit 0; fi
if [ -n "${MMLOCK_NO_VM:-}" ]; then skip "vm_safety: MMLOCK_NO_VM is set"; exit 0; fi
cd "$TOP" || exit 1
# This run's own consoles and guest outputs (tools/vm/lib.sh, MMLOCK_VM_LOGS):
# a second suite or `make vmstress` on this machine uses the same kernel ids.
export MMLOCK_VM_LOGS=$TMP/vmlogs
tools/install-deps.sh --vm --arm64 || { fail "vm_safety: tools/install-deps.sh --vm --arm64 failed"; exit 0; }

# The detector: a guest script that prints once, then nothing.
printf 'echo "detector: going silent"\nsleep 100000\n' >"$TMP/silent.sh"
t0=$SECONDS
tools/vm/run.sh -w 10 -t 240 -l "$TMP/silent.log" -o "$TMP/silent.sum" x86-6.1 "$TMP/silent.sh" \
	>"$TMP/silent.out" 2>"$TMP/silent.err"
rc=$?
secs=$((SECONDS - t0))
check "a silent guest is stopped as hung (run.sh exit 124, status=hang) in ${secs}s" \
	grep -qx 'status=hang' "$TMP/silent.sum"
[ "$rc" -eq 124 ] || fail "silent guest: run.sh exited $rc, expected 124"
check "both vCPUs read through the gdbstub, pc symbolized against nokaslr kallsyms" \
	eval '[ "$(grep -cE "^vCPU [0-9]+: rip=0x[0-9a-f]+ <[a-z_0-9.]+\+0x[0-9a-f]+>" "$TMP/silent.log.stacks")" -eq 2 ]'
check "a vCPU stack is symbolized (kernel text words listed)" \
	grep -qE '^    ffffffff[0-9a-f]{8} [a-z_0-9.]+\+0x' "$TMP/silent.log.stacks"
qpid=$(sed -n 's/^qemu_pid=//p' "$TMP/silent.sum")
check "the hung guest's qemu (pid ${qpid:-?}) is gone" eval '[ -n "$qpid" ] && ! kill -0 "$qpid" 2>/dev/null'
sed 's/^/    /' "$TMP/silent.log.stacks" 2>/dev/null | head -12

# The wall-clock limit stretches with the host's load (a loaded host makes a
# guest slow, not hung). A guest that keeps talking must be stopped by the
# wall clock at -t times the factor, whatever the host's speed; the factor is
# fixed here so that the test does not depend on this machine's load.
printf 'while :; do echo "slow: alive"; sleep 2; done\n' >"$TMP/slow.sh"
for x in 3 1; do
	MMLOCK_VM_TIMEOUT_SCALE=$x tools/vm/run.sh -w 10 -t 15 -l "$TMP/slow$x.log" -o "$TMP/slow$x.sum" \
		x86-6.1 "$TMP/slow.sh" >/dev/null 2>"$TMP/slow$x.err"
	rc=$? lim=$((15 * x)) tot=$(sed -n 's/^total_s=//p' "$TMP/slow$x.sum")
	check "a talking guest is stopped by the wall clock at -t 15 x$x = ${lim}s, not before (exit $rc, ${tot:-?}s)" \
		eval '[ "$rc" -eq 124 ] && grep -q "^hang=timeout after ${lim}s " "$TMP/slow$x.sum" &&
			awk -v t="$tot" -v l="$lim" "BEGIN { exit !(t >= l) }"'
done

# The safety loop itself.
# shellcheck disable=SC2086
VMSTRESS_ITERS=${VMSAFETY_ITERS:-1} VMSTRESS_MODES="two peer" VMSTRESS_LOAD_S=1 VMSTRESS_HOST_LOAD=busy \
	tools/vm/vmstress.sh ${VMSAFETY_KERNELS:-x86-6.1-nohv x86-6.12-nohv arm64-6.12}
check "the stress consoles are this run's own (MMLOCK_VM_LOGS=$TMP/vmlogs)" \
	bash -c 'ls "$1"/stress-*.log >/dev/null 2>&1' _ "$TMP/vmlogs"
