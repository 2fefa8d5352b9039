#!/usr/bin/env python3
"""Symbolizes the gdb dump of tools/vm/vcpu-stacks.sh (stdin).

Usage: symbolize.py ARCH KALLSYMS CONSOLE_LOG < gdb.txt

KALLSYMS: text symbols of the guest kernel booted with nokaslr
(tools/vm/kallsyms.sh). CONSOLE_LOG: the run's console; its MMLOCK-VM-KSYM
lines name the BPF programs and trampolines loaded at the time (the last
dump wins: JIT addresses are reused between loads).

Prints, per vCPU: pc, whether interrupts were off, the code bytes memory
holds at the pc, and every stack word that points into kernel or BPF text
(innermost first), then the raw gdb output.
"""
import bisect
import re
import sys

arch, ksyms_path, log_path = sys.argv[1:4]
HEX = re.compile(r"0x[0-9a-f]{16}")


def load(ksyms_path, log_path):
    syms = {}
    text_lo, text_hi = None, None
    with open(ksyms_path) as f:
        for line in f:
            p = line.split()
            if len(p) != 3 or line.startswith("#"):
                continue
            a = int(p[0], 16)
            syms[a] = p[2]
            if p[2] == "_stext":
                text_lo = a
            elif p[2] == "_etext":
                text_hi = a
    # arm64's _etext is not a text symbol: then the last one bounds the text.
    if syms:
        if text_lo is None:
            text_lo = min(syms)
        if text_hi is None:
            text_hi = max(syms) + 0x1000
    bpf = {}
    with open(log_path, errors="replace") as f:
        for line in f:
            if line.startswith("MMLOCK-VM-KSYM-BEGIN"):
                bpf = {}
            elif line.startswith("MMLOCK-VM-KSYM "):
                p = line.split()
                if len(p) >= 3:
                    bpf[int(p[1], 16)] = p[2] + " [bpf]"
    return syms, text_lo, text_hi, bpf


syms, text_lo, text_hi, bpf = load(ksyms_path, log_path)
addrs = sorted(syms)
baddrs = sorted(bpf)


def name(a):
    """sym+0xoff for an address in kernel or BPF text, else None."""
    if arch == "arm64" and (a >> 55) & 1:
        # Return addresses on an arm64 stack carry a pointer-authentication
        # code in the bits above the VA (48 bits on Debian's kernels): a
        # kernel pointer has them all set once stripped (bit 55 = TTBR1).
        a |= 0xffff << 48
    if text_lo is not None and text_lo <= a < text_hi:
        i = bisect.bisect_right(addrs, a) - 1
        if i >= 0:
            return "%s+0x%x" % (syms[addrs[i]], a - addrs[i])
    i = bisect.bisect_right(baddrs, a) - 1
    # A BPF image or trampoline is at most a few pages: farther is not it.
    if i >= 0 and a - baddrs[i] < 0x4000:
        return "%s+0x%x" % (bpf[baddrs[i]], a - baddrs[i])
    return None


raw = sys.stdin.read()
if not addrs:
    print("(no kallsyms: addresses left raw)")

# Split the dump per thread (= vCPU): gdb prints "Thread N (...):" headers.
cpus = {}
cur = None
for line in raw.splitlines():
    m = re.match(r"Thread (\d+)(?:\.\d+)? \(", line)
    if m:
        cur = cpus.setdefault(int(m.group(1)), {"regs": [], "stack": []})
        continue
    if cur is None:
        continue
    m = re.match(r"code at pc 0x[0-9a-f]+: (.*)", line)
    if m:
        cur["code"] = m.group(1).strip()
        continue
    m = re.match(r"(rip|pc|rsp|sp|eflags|cpsr|x29|x30|cs)\s+(\S+)\s*(.*)", line)
    if m:
        cur["regs"].append((m.group(1), m.group(2), m.group(3)))
        continue
    m = re.match(r"(0x[0-9a-f]+)(?: <[^>]*>)?:\s+(.*)", line)
    if m:
        for w in HEX.findall(m.group(2)):
            cur["stack"].append(int(w, 16))

for n in sorted(cpus):
    c = cpus[n]
    out = []
    irq = ""
    for r, v, rest in c["regs"]:
        if r in ("rip", "pc", "x30"):
            try:
                nm = name(int(v, 16))
            except ValueError:
                nm = None
            out.append("%s=%s%s" % (r, v, " <%s>" % nm if nm else ""))
        elif r == "eflags":
            irq = "interrupts %s" % ("on" if " IF " in " " + rest.strip("[] ") + " " else "OFF")
            out.append("eflags=%s" % rest)
        elif r == "cpsr":
            # PSTATE.I (bit 7) masks IRQs on arm64.
            try:
                irq = "interrupts %s" % ("OFF" if int(v, 16) & 0x80 else "on")
            except ValueError:
                pass
            out.append("cpsr=%s" % v)
        else:
            out.append("%s=%s" % (r, v))
    print("vCPU %d: %s%s" % (n, " ".join(out), ("  (" + irq + ")") if irq else ""))
    # Dumps older than the code bytes have none: then no line (a rule that
    # needs them must not match).
    if c.get("code"):
        print("  code at pc: %s" % c["code"])
    chain = [(w, name(w)) for w in c["stack"]]
    chain = [(w, nm) for w, nm in chain if nm]
    if chain:
        print("  stack words in kernel/BPF text, innermost first:")
        for w, nm in chain:
            print("    %016x %s" % (w, nm))
    else:
        print("  (no stack word points into kernel text)")
print()
print("--- raw gdb output ---")
print(raw, end="")
