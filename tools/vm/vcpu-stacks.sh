#!/usr/bin/env bash
# Reads every vCPU of a running (typically hung) VM-lab guest through qemu's
# gdbstub: registers, the 16 code bytes at each pc and raw stack words,
# symbolized against the kernel's kallsyms (tools/vm/kallsyms.sh, nokaslr)
# and the BPF symbols the guest printed as MMLOCK-VM-KSYM lines in its
# console LOG. The code bytes tell a vCPU caught on a text-patch site
# (tools/vm/tcg-artifact.sh) from one in a loop. A CPU spinning with
# interrupts off prints nothing on the console; this is how its stack is seen.
# The kernel has no frame pointers on x86 (ORC): the "stack" list is every
# word on the stack that points into kernel or BPF text, innermost first,
# i.e. return addresses plus some stale ones. Read it as a candidate chain.
#
# Usage: tools/vm/vcpu-stacks.sh ID PORT [LOG]
#   Raw gdb output goes to LOG.gdb when LOG is given. Symbolizing may boot the
#   kernel once more to capture kallsyms (cached): call it after qemu is gone
#   with MMLOCK_VM_STACKS=symbolize ..., or before with =raw; default both
#   when no other VM runs (run.sh does raw, kills qemu, then symbolize).
# Environment: MMLOCK_VM_STACK_WORDS (stack words per vCPU, default 96).
set -euo pipefail
# shellcheck source=tools/vm/lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"
[ $# -ge 2 ] || { echo "usage: $0 ID PORT [LOG]" >&2; exit 2; }
id=$1 port=$2 log=${3:-}
vm_check_id "$id"
arch=$(vm_arch "$(vm_base_id "$id")")
words=${MMLOCK_VM_STACK_WORDS:-96}
what=${MMLOCK_VM_STACKS:-both}
raw=${log:+$log.gdb}
[ -n "$raw" ] || raw=$(mktemp /tmp/mmlock-gdb.XXXXXX)

if [ "$what" != symbolize ]; then
	case "$arch" in
	x86) gdb=gdb gdbarch=i386:x86-64 regs="rip rsp eflags cs" ;;
	arm64) gdb=gdb-multiarch gdbarch=aarch64 regs="pc sp x29 x30 cpsr" ;;
	esac
	command -v "$gdb" >/dev/null || vm_die "$gdb not found (tools/install-deps.sh --vm)"
	# gdb's own Python reads each vCPU (thread) in turn, one stack word at a
	# time up to the first unreadable one (the guard page past the stack's
	# top): a failed `x/96gx` would lose the whole dump. The gdbstub stops the
	# guest while gdb is attached: what is read is one moment of all vCPUs.
	gdbcmds=$(mktemp /tmp/mmlock-gdbcmds.XXXXXX)
	cat >"$gdbcmds" <<EOG
set pagination off
set confirm off
set architecture $gdbarch
target remote 127.0.0.1:$port
info threads
python
import gdb
for t in sorted(gdb.selected_inferior().threads(), key=lambda t: t.num):
    t.switch()
    print("Thread %d (%s):" % (t.num, t.name or ""))
    gdb.execute("info registers $regs")
    mem = gdb.selected_inferior()
    # The bytes memory holds at the pc (what the vCPU would execute on
    # hardware; TCG may run a stale translation of other bytes there).
    pc = int(gdb.parse_and_eval("\$pc")) & (2**64 - 1)
    try:
        code = " ".join("%02x" % b for b in mem.read_memory(pc, 16).tobytes())
    except gdb.MemoryError:
        code = "unreadable"
    print("code at pc 0x%016x: %s" % (pc, code))
    sp = int(gdb.parse_and_eval("\$sp")) & (2**64 - 1)
    for i in range($words):
        try:
            w = int.from_bytes(mem.read_memory(sp + 8 * i, 8).tobytes(), "little")
        except gdb.MemoryError:
            break
        print("0x%016x:\t0x%016x" % (sp + 8 * i, w))
end
detach
EOG
	timeout 60 "$gdb" -nx -batch -x "$gdbcmds" >"$raw" 2>&1 || echo "(gdb exited $?)" >>"$raw"
	rm -f "$gdbcmds"
fi
[ "$what" = raw ] && exit 0
ksyms=$("$VM_DIR/kallsyms.sh" "$id") || ksyms=""
python3 "$VM_DIR/symbolize.py" "$arch" "${ksyms:-/dev/null}" "${log:-/dev/null}" <"$raw"
