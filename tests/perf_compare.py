#!/usr/bin/env python3
"""Compare an mmlock recording with `perf lock contention -t -E N` of the same run.

Usage: tests/perf_compare.py [--name P] [--totals] PERF_STDERR RECORDING.json TID=NAME...

Used by tests/integration/perf_lock.sh (gcsim) and tools/heldout.sh (the
held-out uffd_churn). Prints PASS/FAIL lines and a per-thread table.

What is compared: the waits both tools see, those of the kernel's
lock:contention_begin/end tracepoints. mmlock also counts waits no lock
tracepoint shows, taken from D-state at a known blocking function (vma_lock
write/read: the per-VMA lock waits on an rcuwait since 6.15; folio lock:
a bit wait); perf cannot see those, so they are listed, not compared.
perf charges a wait taken in an interrupt to the interrupted thread; mmlock
files it under tid 0 by context (docs/safety.md). So per thread mmlock counts
at most perf's count (1% and the kernel's skipped runs of mmlock's programs
allowed), and what it counts fewer is at most tid 0's waits. Recorded with
--min-slice 0 (nothing lost), each interrupt wait is an event naming the
thread it interrupted (interrupted_tid), and the check is exact per thread:
mmlock's own + the interrupt waits that hit it = perf's, within 1%.
"""
import argparse
import json
import math
import re
import sys

UNIT = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}
ROW = re.compile(r"^\s*(\d+)\s+([\d.]+) (ns|us|ms|s)\s+([\d.]+) (ns|us|ms|s)\s+"
                 r"([\d.]+) (ns|us|ms|s)\s+(\d+)\s+(\S.*)$")
# Classes mmlock takes from D-state, not from the lock tracepoints.
NOT_TRACEPOINT = {"vma_lock_write", "vma_lock_read", "folio_lock"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="")
    ap.add_argument("--totals", action="store_true",
                    help="also check the total wait time is within [0.7, 1.05] x perf's")
    ap.add_argument("perf")
    ap.add_argument("recording")
    ap.add_argument("threads", nargs="+", help="TID=NAME")
    a = ap.parse_args()
    pre = a.name + ": " if a.name else ""

    def res(name, ok, why=""):
        print(("PASS: " if ok else "FAIL: ") + pre + name + ("" if ok else ": " + why))

    perf = {}
    for line in open(a.perf):
        m = ROW.match(line)
        if m:
            perf[int(m.group(8))] = (int(m.group(1)), float(m.group(2)) * UNIT[m.group(3)])
    rec = json.load(open(a.recording))
    misses = rec["counters"].get("bpf_prog_misses", 0)
    by_tid = {t["tid"]: t["hists"] for t in rec["threads"]}

    def locks(tid, seen_by_perf=True):
        hs = [h for h in by_tid.get(tid, []) if h["kind"] == "lock"
              and (h["class"] not in NOT_TRACEPOINT) == seen_by_perf]
        return sum(h["count"] for h in hs), sum(h["total_ns"] for h in hs)

    res("perf printed per-thread rows", len(perf) > 0, open(a.perf).read()[:300])
    irq, irq_t = locks(0)
    # With --min-slice 0 and nothing lost, every interrupt wait is an event
    # that names the thread it interrupted: then perf's count per thread is
    # exactly mmlock's own plus the interrupt waits that hit the thread.
    c = rec["counters"]
    hits = {}
    for e in rec.get("events", []):
        if e["tid"] == 0 and e["kind"] == "lock":
            hits[e.get("interrupted_tid", 0)] = hits.get(e.get("interrupted_tid", 0), 0) + 1
    exact = (rec["min_slice_ns"] == 0 and sum(hits.values()) == irq and
             not any(c.get(k, 0) for k in ("spin_event_lost", "events_not_kept", "ringbuf_drop")))
    print("  interrupt waits by the thread they interrupted: %s" %
          ("exact (every one is an event)" if exact else "not known (run with --min-slice 0): tid 0's total allowed"))
    print("  %-16s %8s %8s %8s %10s %12s" % ("thread", "perf", "mmlock", "diff", "+irq hits", "beyond perf"))
    waits = short = tot_mm = tot_perf = 0
    for spec in a.threads:
        tid, name = spec.split("=", 1)
        tid = int(tid)
        (pc, pt), (mc, mt) = perf.get(tid, (0, 0)), locks(tid)
        extra = locks(tid, seen_by_perf=False)[0]
        hit = hits.get(tid, 0)
        print("  %-16s %8d %8d %+8d %10d %12d" % (name, pc, mc, mc - pc, hit, extra))
        waits += pc
        short += max(pc - mc, 0)
        tot_mm += mt
        tot_perf += pt
        tol = math.ceil(0.01 * pc) + misses
        if exact:
            res("%s: lock waits, mmlock %d + %d interrupt waits that hit it = perf %d within 1%% + %d skipped runs"
                % (name, mc, hit, pc, misses), abs(mc + hit - pc) <= tol, "off by %d" % (mc + hit - pc))
        else:
            res("%s: lock waits, mmlock %d, perf %d (never above, within 1%% + %d skipped runs + %d interrupt waits)"
                % (name, mc, pc, misses, irq), mc <= pc + tol and pc - mc <= tol + irq,
                "mmlock %d, perf %d" % (mc, pc))
    print("  tid 0 [interrupts]: %d waits; kernel-skipped runs of mmlock's programs: %d" % (irq, misses))
    res("the threads waited at all (else nothing was compared): perf saw %d" % waits, waits > 0, "no waits")
    res("what mmlock counts fewer than perf is interrupt waits (tid 0): %d fewer, %d under tid 0" % (short, irq),
        short <= irq + math.ceil(0.01 * waits) + misses, "more missing than tid 0 explains")
    if a.totals:
        # perf charges an interrupt wait's time to the thread too, mmlock to
        # tid 0: with a dozen waits, three 50 us interrupt waits (a make loop
        # beside the run) are most of perf's total. The time mmlock may lack
        # is at most tid 0's, as for the counts; it is never above perf's.
        res("total wait close to perf's: mmlock %.2f ms (+ %.2f ms of interrupt waits under tid 0), perf %.2f ms"
            % (tot_mm / 1e6, irq_t / 1e6, tot_perf / 1e6),
            0.7 * tot_perf <= tot_mm + irq_t and tot_mm <= 1.05 * tot_perf,
            "outside [0.7, 1.05] x perf's")


if __name__ == "__main__":
    sys.exit(main())
