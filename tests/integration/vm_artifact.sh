#!/usr/bin/env bash
# The VM lab's stress runs reboot a guest killed by qemu's stale-int3
# artifact and fail on anything else (tools/vm/tcg-artifact.sh,
# docs/vm-lab.md "Stale int3"). A rule that is too wide would hide a real
# freeze, so it is checked both ways on consoles and vCPU dumps kept from real
# runs (tests/fixtures/tcg/): the artifact's forms must match, the
# ring-buffer deadlocks mmlock once caused must not, nor the artifact's
# console turned into a lock spin or given a BPF frame. No root, no VM.
. "$(dirname "$0")/../lib.sh"
# The VM lab's helpers, and through them its artifact rules (tcg-artifact.sh).
. "$TOP/tools/vm/lib.sh"
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
# The lockup at an fentry site's +0x0, kept from `make vmstress`'s attach
# mode (x86-6.1-nohv, 2026-12-01, iteration 29 of 60): CPU 1 stuck 26 s at
# up_write+0x0, a nop5 in memory; CPU 0 trapped on an int3 at up_write+0x0
# that memory no longer holds. The form a lost console of an earlier final
# run (down_write+0x0) is thought to have had.
f=$fx/fentry-site-lockup-x86-6.1.console
is "soft lockup at an fentry site (up_write+0x0), the other CPU's int3 one byte in, is the artifact" 0 \
	stale_patch_lockup "$f"
awk '{ print } /dup_mmap\+0x422/ && !done { print "[ 1.0]  bpf_prog_0123456789abcdef_anon_vma_up_write+0x10/0x20"; done = 1 }' \
	"$f" >"$TMP/fentry-bpf.console"
is "same with a BPF frame is not" 1 stale_patch_lockup "$TMP/fentry-bpf.console"
sed 's/cc e8 45 74 93 00 0f 1f 44 00 00 <0f> 1f 44 00 00 65/cc e8 45 74 93 00 0f 1f 44 00 00 <48> 89 e5 00 00 65/' \
	"$f" >"$TMP/fentry-mov.console"
is "same with a mov at the stuck RIP is not" 1 stale_patch_lockup "$TMP/fentry-mov.console"
is "a console with no lockup report is not" 1 \
	stale_patch_lockup "$fx/ringbuf-deadlock-x86-6.12.stacks"

# The int3 loop caught at the patch site itself (stale_patch_hang): a vCPU
# whose pc is the sched_switch jump label in __schedule, interrupts off, the
# other spinning on its runqueue lock. The fixture's "code at pc" lines were
# taken from the kernel image (the dump predates them; see its header).
h=$fx/patch-site-hang-x86-6.1.stacks
is "hang at a jump-label site, the other vCPU on a spinlock (x86 6.1) is the artifact" 0 stale_patch_hang "$h"
grep -v '^  code at pc: ' "$h" >"$TMP/nocode.stacks"
is "same dump without code bytes (as captured) is not" 1 stale_patch_hang "$TMP/nocode.stacks"
sed '0,/__static_call_update+0x51/s//bpf_prog_0123456789abcdef_sched_switch_btf+0x51/' "$h" >"$TMP/site-bpf.stacks"
is "same with a BPF frame is not" 1 stale_patch_hang "$TMP/site-bpf.stacks"
sed 's/^  code at pc: 0f 1f 44 00 00 /  code at pc: f3 90 44 00 00 /' "$h" >"$TMP/site-pause.stacks"
is "same with a pause at the pc (a spin loop) is not" 1 stale_patch_hang "$TMP/site-pause.stacks"
sed 's/^  code at pc: 0f 1f 44 00 00 /  code at pc: e9 fb ff ff ff /' "$h" >"$TMP/site-self.stacks"
is "same with a jmp to itself at the pc is not" 1 stale_patch_hang "$TMP/site-self.stacks"
sed 's/^  code at pc: 0f 1f 44 00 00 /  code at pc: eb e3 44 00 00 /' "$h" >"$TMP/site-back.stacks"
is "same with a loop's back-edge (jmp backwards) at the pc is not" 1 stale_patch_hang "$TMP/site-back.stacks"
sed 's/^  code at pc: 0f 1f 44 00 00 /  code at pc: e9 f7 02 00 00 /' "$h" >"$TMP/site-jmp.stacks"
is "same with the jump label enabled (forward jmp) is the artifact" 0 stale_patch_hang "$TMP/site-jmp.stacks"
sed '/^vCPU 2: /s/(interrupts OFF)$/(interrupts on)/' "$h" >"$TMP/site-irq.stacks"
is "same with interrupts on at the site is not" 1 stale_patch_hang "$TMP/site-irq.stacks"
sed '/^vCPU 1: /s/<native_queued_spin_lock_slowpath+0x30>/<smp_call_function_many_cond+0x120>/' "$h" >"$TMP/site-nolock.stacks"
is "same with the other vCPU not in a lock slow path is not" 1 stale_patch_hang "$TMP/site-nolock.stacks"
is "ring-buffer deadlock (x86 6.12) is not a patch-site hang" 1 \
	stale_patch_hang "$fx/ringbuf-deadlock-x86-6.12.stacks"
is "ring-buffer deadlock (arm64 6.12) is not a patch-site hang" 1 \
	stale_patch_hang "$fx/ringbuf-deadlock-arm64-6.12.stacks"
# Not only the BPF frames keep it out: with them gone, and even given nop5
# bytes at every pc, both vCPUs spin in the lock slow path and none counts
# as at a site.
awk '!/bpf_prog_/ { print } /^vCPU [0-9]+: / { print "  code at pc: 0f 1f 44 00 00 90 90 90" }' \
	"$fx/ringbuf-deadlock-x86-6.12.stacks" >"$TMP/ringbuf-nobpf.stacks"
is "ring-buffer deadlock (x86 6.12) without its BPF frames is not a patch-site hang" 1 \
	stale_patch_hang "$TMP/ringbuf-nobpf.stacks"

# vm_run_retry (tools/vm/lib.sh): the one more boot a VM test gives a guest
# that failed in a way no code under test can have caused. A stand-in for
# run.sh writes a kept console on its first boot and a clean result on its
# second. The consoles: the artifact's Oops at an fentry patch site (kept
# from vm_rwspin, which failed a fresh-clone run for want of this retry), a
# kernel that panicked before /init's MMLOCK-VM-BEGIN (vm_matrix's x86-6.12
# in a fresh-clone run; that console was lost with the test's tmp, so this
# one is the kept console cut before /init, a panic appended), and the same panic after the marker (the test had begun).
export MMLOCK_VM_CACHE=$TMP/cache VM_CACHE=$TMP/cache
fake_boot() { # LOG CONSOLE...: one boot per call; the Nth call writes the Nth console
	local log=$1 n
	shift
	n=$(($(cat "$TMP/boots" 2>/dev/null || echo 0) + 1))
	echo $n >"$TMP/boots"
	eval "c=\${$n:-}"
	# shellcheck disable=SC2154
	rm -f "$log.stacks"
	if [ -z "$c" ] || [ "$c" = clean ]; then echo "boot $n: ok" >"$log"; echo "out $n"; return 0; fi
	# A hang's vCPU dump, as run.sh leaves it beside the console.
	[ -e "$c.stacks" ] && cp "$c.stacks" "$log.stacks"
	cp "$c" "$log"; echo "out $n"; return 124
}
boots() { # LOG CONSOLE...: vm_run_retry with fake_boot; prints rc/boots
	local rc
	rm -f "$TMP/boots"
	vm_run_retry "$1" "$1.out" fake_boot "$@" 2>"$1.err"
	rc=$?
	echo "$rc/$(cat "$TMP/boots")"
}
oops=$fx/int3-oops-fentry-x86-6.12.console
{ sed -n '1,/Run \/init as init process/p' "$oops"
  echo "[    2.501234] Kernel panic - not syncing: Fatal exception in interrupt"; } >"$TMP/early.console"
{ sed -n '1,/^MMLOCK-VM-BEGIN/p' "$oops"
  echo "[   10.501234] Kernel panic - not syncing: Fatal exception in interrupt"; } >"$TMP/late.console"
is "Oops: int3, then clean: one more boot, rc 0" 0 [ "$(boots "$TMP/a.log" "$oops" clean)" = 0/2 ]
is "the first console kept as LOG.retry" 0 grep -q 'Oops: int3' "$TMP/a.log.retry"
is "... and under \$VM_CACHE/logs/retried (the tests' logs are temporary)" 0 \
	grep -rq 'Oops: int3' "$TMP/cache/logs/retried"
is "OUT holds only the second boot's output" 0 [ "$(cat "$TMP/a.log.out")" = "out 2" ]
is "a line says why it booted once more" 0 grep -q 'TCG text-poke int3.*booting once more' "$TMP/a.log.err"
is "Oops twice: one retry only, the failure returned" 0 [ "$(boots "$TMP/b.log" "$oops" "$oops" clean)" = 124/2 ]
is "a panic before MMLOCK-VM-BEGIN: one more boot" 0 [ "$(boots "$TMP/c.log" "$TMP/early.console" clean)" = 0/2 ]
is "... the line names the panic" 0 grep -q 'died before the test began: Kernel panic - not syncing' "$TMP/c.log.err"
is "a panic after MMLOCK-VM-BEGIN: no retry" 0 [ "$(boots "$TMP/d.log" "$TMP/late.console" clean)" = 124/1 ]
is "a soft lockup after the test began, on a pause (a spin loop): no retry" 0 \
	[ "$(boots "$TMP/e.log" "$TMP/pause.console" clean)" = 124/1 ]
is "... and nothing kept as LOG.retry" 1 [ -e "$TMP/e.log.retry" ]
# The artifact's hang and lockup forms, as `make vmstress` tells them: one
# more boot. The int3 loop is vm_matrix's x86-6.1 guest of a fresh-clone run
# (its console tail and vCPU dump, kept from the test log).
is "a soft lockup on a jump label (stale_patch_lockup): one more boot" 0 \
	[ "$(boots "$TMP/g.log" "$fx/jump-label-lockup-x86-6.1.console" clean)" = 0/2 ]
is "the soft lockup at an fentry site: one more boot" 0 \
	[ "$(boots "$TMP/k.log" "$fx/fentry-site-lockup-x86-6.1.console" clean)" = 0/2 ]
loop=$fx/int3-loop-vmtest-x86-6.1.console
is "an int3 loop, the other vCPU patching (vm_matrix, x86 6.1): one more boot" 0 \
	[ "$(boots "$TMP/h.log" "$loop" clean)" = 0/2 ]
is "... its vCPU dump kept as LOG.retry.stacks" 0 grep -q '<exc_int3+' "$TMP/h.log.retry.stacks"
is "... a line says why" 0 grep -q 'stale-int3 loop, no BPF on any stack.*booting once more' "$TMP/h.log.err"
cp "$loop" "$TMP/loop-bpf.console"
sed 's/__bpf_trace_sched_switch+0x0/bpf_prog_0123456789abcdef_sched_switch_btf+0x10/' "$loop.stacks" >"$TMP/loop-bpf.console.stacks"
is "the same with a BPF program on a stack: no retry" 0 [ "$(boots "$TMP/i.log" "$TMP/loop-bpf.console" clean)" = 124/1 ]
cp "$loop" "$TMP/loop-nodump.console"
is "the same console without its vCPU dump: no retry" 0 [ "$(boots "$TMP/j.log" "$TMP/loop-nodump.console" clean)" = 124/1 ]
is "run.sh failing before qemu (no console at all): no retry" 0 [ "$(boots "$TMP/f.log" /dev/null clean)" = 124/1 ]

# The console of a boot that finally failed outlives the test's temporary log
# directory (vm_keep_console): a fresh-clone run's double "Oops: int3" on
# x86-6.17 lost its second console with it.
failed=$TMP/cache/logs/failed
nfailed() { find "$failed" -maxdepth 1 -type f ! -name '*.stacks' 2>/dev/null | wc -l; }
is "boots that ended clean kept no console under \$VM_CACHE/logs/failed" 0 \
	[ ! -e "$failed/"*-a.log ] && [ ! -e "$failed/"*-g.log ] && [ ! -e "$failed/"*-h.log ]
is "Oops twice: the second console kept under \$VM_CACHE/logs/failed" 0 grep -q 'Oops: int3' "$failed/"*-b.log
is "... and named on stderr" 0 grep -q "console kept: $failed/.*-b.log" "$TMP/b.log.err"
is "a panic after the test began: its console kept" 0 grep -q 'Fatal exception in interrupt' "$failed/"*-d.log
is "a hang with a BPF frame: console and vCPU dump kept" 0 grep -q 'bpf_prog_0123456789abcdef' "$failed/"*-i.log.stacks
is "run.sh failing before qemu (no console): nothing kept" 1 [ -e "$failed/"*-f.log ]
before=$(nfailed)
# Only the newest VM_KEEP_MAX consoles stay, each with its dump.
for k in 1 2 3 4 5; do
	VM_KEEP_MAX=2 boots "$TMP/keep$k.log" "$TMP/loop-bpf.console" >/dev/null
done
is "VM_KEEP_MAX=2 after 5 more failures (and $before before): two kept" 0 [ "$(nfailed)" -eq 2 ]
is "... the newest two, each with its dump" 0 \
	eval '[ -e "$failed/"*-keep4.log.stacks ] && [ -e "$failed/"*-keep5.log.stacks ]'
is "... no dump left without its console" 0 [ "$(find "$failed" -name '*.stacks' | wc -l)" -eq 2 ]
