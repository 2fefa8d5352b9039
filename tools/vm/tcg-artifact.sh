# shellcheck shell=bash
# Tells a guest killed by qemu's multi-threaded TCG (a vCPU executing a stale
# translation of kernel text another vCPU re-patched: docs/vm-lab.md, "Stale
# int3") from a freeze of the guest's own making. Sourced by vmstress.sh;
# tested on kept consoles and vCPU dumps by tests/integration/vm_artifact.sh.
# Each rule requires that no BPF program is on any stack: every lock freeze
# mmlock ever caused had its programs there.

# stale_int3_hang STACKS: the gdbstub dump of a hung guest shows the TCG
# stale-int3 loop (docs/vm-lab.md), not a BPF lock: a vCPU in the int3
# handler (its pc, or the innermost word of its stack), the others in it too
# or spinning on a lock that one holds (the runqueue lock: the patch site is
# in __schedule), and no BPF program (bpf_prog_*) on any vCPU's stack.
stale_int3_hang() {
	[ -r "$1" ] || return 1
	grep -q 'bpf_prog_' "$1" && return 1
	awk '/^vCPU [0-9]+: / { cpu++; first = 1; if ($0 ~ /<(asm_)?exc_int3\+/) hit = 1; next }
	     first && /^    [0-9a-f]+ / { first = 0; if ($2 ~ /^(asm_)?exc_int3\+/) hit = 1 }
	     END { exit !(cpu > 0 && hit) }' "$1"
}

# stale_patch_hang STACKS: the same loop caught between two turns, at the
# patch site itself rather than in the int3 handler (x86 6.1: the kernel's
# handler sets the pc back to the site, and TCG runs its stale int3 there
# again; docs/vm-lab.md, "Stale int3 caught at the site"). Needs the code
# bytes the dump prints at each pc (tools/vm/vcpu-stacks.sh); an older dump
# without them never matches. Every vCPU is one of:
#  - at a site: interrupts off and the bytes memory holds at its pc are what
#    a jump label leaves there, a 5- or 2-byte nop or a forward jmp. None of
#    them brings a vCPU back to that pc by itself; a backward jmp (a loop's
#    back-edge, which a spinning vCPU passes every turn) or anything else
#    can, and is refused;
#  - spinning in a spinlock or rwlock slow path (on the lock the vCPU at the
#    site holds: the runqueue lock, in __schedule);
# with at least one of each, and no BPF program on any stack (every lock
# freeze mmlock ever caused had its programs there). What it cannot tell
# apart: a real freeze whose looping vCPU is caught exactly on a nop or
# forward jmp inside its loop, with no BPF anywhere and the others on a lock.
stale_patch_hang() {
	[ -r "$1" ] || return 1
	grep -q 'bpf_prog_' "$1" && return 1
	awk 'function site(c,   b, n) {
		n = split(c, b, " ")
		if (c ~ /^0f 1f 44 00 00( |$)/ || c ~ /^66 90( |$)/)
			return 1
		# jmp rel32 / rel8: the sign bit of the little-endian offset.
		if (b[1] == "e9" && n >= 5)
			return b[5] ~ /^[0-7]/
		if (b[1] == "eb" && n >= 2)
			return b[2] ~ /^[0-7]/
		return 0
	     }
	     function end_cpu() {
		if (!cpu)
			return
		if (pc ~ /^((native_|__pv_)?queued_spin_lock_slowpath|queued_(read|write)_lock_slowpath)\+/)
			spins++
		else if (irqoff && site(code))
			sites++
		else
			other++
	     }
	     /^--- raw gdb output ---/ { raw = 1 }
	     raw { next }
	     /^vCPU [0-9]+: / {
		end_cpu(); cpu++; code = ""; pc = ""
		irqoff = $0 ~ /\(interrupts OFF\)$/
		if (match($0, / (rip|pc)=0x[0-9a-f]+ <[^>]*>/)) {
			pc = substr($0, RSTART, RLENGTH); sub(/^[^<]*</, "", pc); sub(/>$/, "", pc)
		}
		next
	     }
	     /^  code at pc: / { code = $0; sub(/^  code at pc: /, "", code) }
	     END { end_cpu(); exit !(cpu >= 2 && sites >= 1 && spins >= 1 && other == 0) }' "$1"
}

# stale_patch_lockup LOG: the soft-lockup form of the same artifact (6.1,
# seen with interrupts on, at a static-key site in the syscall entry): after
# the "soft lockup" report, every CPU's last kernel-mode RIP (its task
# context, below any interrupt that took the backtrace) is one and the same
# patch site, the instruction there is a jump label's (jmp rel8/rel32, a 2- or
# 5-byte nop, or the int3 of a patch in progress) that cannot loop by itself,
# and no BPF program is on any backtrace. A CPU caught in the int3 handler
# itself reports the byte after the site (the trap's return address; its
# code line reads "eb <63>"): it counts as at the site. A lock freeze spins in
# a lock's slow path instead, with interrupts off: no report at all.
stale_patch_lockup() {
	[ -r "$1" ] || return 1
	awk 'function hex(s,   i, v) { v = 0; s = tolower(s); sub(/^0x/, "", s)
		for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v }
	     function jl(b) { return b ~ /^(eb|e9|cc|66|0f)$/ }
	     function site(   f, o, pre, at, k, n) {
		# rip: "func+0xOFF/0xLEN"; code: the bytes, the one at RIP in <>.
		f = rip; sub(/\+.*/, "", f); o = rip; sub(/^[^+]*\+/, "", o); sub(/\/.*/, "", o)
		pre = code; sub(/<.*/, "", pre); n = split(pre, k, " "); at = code; sub(/.*</, "", at); sub(/>.*/, "", at)
		if (jl(at) && (at != "66" || code ~ /<66> 90/) && (at != "0f" || code ~ /<0f> 1f 44 00 00/))
			return f "+" hex(o)
		if (int3 && n > 0 && jl(k[n]))
			return f "+" (hex(o) - 1)
		return "!" rip
	     }
	     /soft lockup - CPU#/ { on = 1 }
	     !on || /MMLOCK-VM-KSYM/ { next }
	     /bpf_prog_/ { bpf = 1 }
	     / CPU: [0-9]+ PID: / { if (cur != "") last[n++] = cur; cur = ""; int3 = 0 }
	     / RIP: 0010:/ { rip = $0; sub(/.* RIP: 0010:/, "", rip); want = 1; next }
	     want && / Code: / {
		want = 0; code = $0; sub(/.* Code: /, "", code)
		if (rip ~ /^(asm_)?exc_int3\+/) { int3 = 1; next }
		cur = site()
	     }
	     END {
		if (cur != "") last[n++] = cur
		if (bpf || n < 2) exit 1
		for (i = 0; i < n; i++) if (last[i] ~ /^!/ || last[i] != last[0]) exit 1
		exit 0
	     }' "$1"
}

# tcg_artifact LOG: whether the failed guest whose run.sh console is LOG (its
# vCPU dump, if it hung, in LOG.stacks) died of the artifact, in any of its
# forms; prints the form. The one verdict behind vmstress's reboots and
# vm_run_retry's retry (tools/vm/lib.sh).
tcg_artifact() {
	if grep -q 'Oops: int3' "$1" 2>/dev/null; then
		echo 'Oops: int3'
	elif stale_int3_hang "$1.stacks"; then
		echo 'stale-int3 loop, no BPF on any stack'
	elif stale_patch_hang "$1.stacks"; then
		echo 'int3 loop caught at its jump-label site, the other vCPUs on a spinlock, no BPF'
	elif stale_patch_lockup "$1"; then
		echo 'soft lockup on a jump label, same RIP on every CPU, no BPF'
	else
		return 1
	fi
}
