#!/usr/bin/env bash
# The VM lab's stress runs reboot a guest killed by qemu's stale-int3
# artifact and fail on anything else (tools/vm/tcg-artifact.sh,
# docs/vm-lab.md "Stale int3"). A rule that is too wide would hide a real
# freeze, so it is checked both ways on consoles and vCPU dumps kept from real
# runs (tests/fixtures/tcg/): the artifact's forms must match, the
# ring-buffer deadlocks mmlock once caused must not, nor the artifact's
# console turned into a lock spin or given a BPF frame. No root, no VM.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tools/vm/tcg-artifact.sh"
T=vm_artifact
fx=$TOP/tests/fixtures/tcg

is() { # NAME WANT(0 match, 1 no match) CMD...
	local n=$1 want=$2 rc
	shift 2
	"$@"; rc=$?
	[ "$rc" -ne 0 ] && rc=1
	if [ "$rc" = "$want" ]; then pass "$T: $n"; else fail "$T: $n: $* returned $rc, want $want"; fi
}

is "int3 loop (x86 6.1, gdbstub dump) is the artifact" 0 \
	stale_int3_hang "$fx/int3-loop-x86-6.1.stacks"
is "ring-buffer deadlock (x86 6.12) is not" 1 \
	stale_int3_hang "$fx/ringbuf-deadlock-x86-6.12.stacks"
is "ring-buffer deadlock (arm64 6.12) is not" 1 \
	stale_int3_hang "$fx/ringbuf-deadlock-arm64-6.12.stacks"
# The same int3 loop with one BPF program on a stack is no longer ours to dismiss.
sed '0,/__schedule+0x524/s//bpf_prog_0123456789abcdef_contention_end_btf+0x10/' \
	"$fx/int3-loop-x86-6.1.stacks" >"$TMP/int3-bpf.stacks"
is "int3 loop with a BPF frame is not" 1 stale_int3_hang "$TMP/int3-bpf.stacks"

c=$fx/jump-label-lockup-x86-6.1.console
is "soft lockup on a jump label (x86 6.1) is the artifact" 0 stale_patch_lockup "$c"
sed 's/<eb> 63/<f3> 90/' "$c" >"$TMP/pause.console"
is "same lockup on a pause (a spin loop) is not" 1 stale_patch_lockup "$TMP/pause.console"
awk '{ print } /do_syscall_64\+0x3e/ && !done { print "[ 1.0]  bpf_prog_0123456789abcdef_contention_end+0x10/0x20"; done = 1 }' \
	"$c" >"$TMP/bpf.console"
is "same lockup with a BPF frame is not" 1 stale_patch_lockup "$TMP/bpf.console"
awk '/RIP: 0010:syscall_trace_enter/ && ++n == 2 { sub(/syscall_trace_enter[^ ]*/, "native_queued_spin_lock_slowpath+0x50/0x1e0") } { print }' \
	"$c" >"$TMP/split.console"
is "CPUs at different RIPs is not" 1 stale_patch_lockup "$TMP/split.console"
c2=$fx/jump-label-lockup-int3-x86-6.1.console
is "soft lockup, the other CPU trapped in the int3 handler one byte past the site, is the artifact" 0 \
	stale_patch_lockup "$c2"
sed 's/ff eb <63>/ff 90 <63>/' "$c2" >"$TMP/int3-nojump.console"
is "same, but the byte before the trap is no jump label, is not" 1 stale_patch_lockup "$TMP/int3-nojump.console"
grep -v 'RIP: 0010:asm_exc_int3' "$c2" >"$TMP/no-int3.console"
is "same, but no int3 taken (RIP one byte into an instruction), is not" 1 stale_patch_lockup "$TMP/no-int3.console"
is "a console with no lockup report is not" 1 \
	stale_patch_lockup "$fx/ringbuf-deadlock-x86-6.12.stacks"
