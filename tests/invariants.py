#!/usr/bin/env python3
"""What every mmlock recording must satisfy, whatever the workload.

Usage: tests/invariants.py [--name NAME] FILE.json
Prints one "PASS: NAME: invariant" or "FAIL: NAME: invariant: why" line per
invariant (tests/run.sh counts them) and exits 1 if any failed.

 - every lock wait and D-state period at a uffd site lies inside a uffd ioctl
   of the same thread (not a blocker's wait from outside the filter,
   "outside": its thread's ioctls are not recorded). Checked on events: they exist only for periods
   >= --min-slice, but an ioctl is at least as long as a wait inside it, so it
   is an event too, unless events were lost. events_not_kept drops every
   event after the cap, in arrival order, and an ioctl arrives after the
   waits inside it: then only waits that end before the thread's last kept
   ioctl ends are checked (the ioctl around such a wait was kept). With
   ringbuf_drop (holes anywhere) containment cannot be checked.
 - no wait is longer than the ioctl that contains it: per thread, the longest
   lock wait and D-state period at a uffd site is no longer than its longest
   uffd ioctl (histograms: every wait counts, not only events).
 - a thread's D-state time (blocked + runnable after wakeup) is no longer than
   the recording, the longest any thread can have lived in it.
 The two containment invariants do not apply to a low-tax recording
 (uffd_probes "none": no ioctl is recorded, a wait's uffd site comes from
 its stack): a plain line says so.
 - every histogram's bucket counts sum to its count.
 - every event lies inside the recording's time window.
 - every uffd ioctl's parts (its breakdown) sum to its dur_ns, and every
   thread x command's to its total_ns; "unexplained" is always there.
 - every on-CPU sample lies inside the recording, after the start of the
   ioctl it names, has a stack, and belongs to a thread x command with
   ioctls; each kept ioctl's oncpu_samples counts the kept samples in it.
"""
import argparse
import bisect
import json
import sys

UFFD_SITES = {"uffd_move", "uffd_copy", "uffd_other"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="invariants")
    ap.add_argument("json")
    a = ap.parse_args()
    failed = []

    def res(what, ok, why=""):
        print(("PASS: " if ok else "FAIL: ") + "%s: %s" % (a.name, what) + ("" if ok else ": " + why))
        if not ok:
            failed.append(what)

    try:
        rec = json.load(open(a.json))
    except (OSError, ValueError) as e:
        res("recording readable", False, str(e))
        return 1
    start, end = rec["start_ns"], rec["end_ns"]
    duration = end - start
    c = rec["counters"]
    complete = not c.get("ringbuf_drop") and not c.get("events_not_kept")
    holes = bool(c.get("ringbuf_drop"))
    ioctls = {}
    for e in rec["events"]:
        if e["kind"] == "ioctl":
            ioctls.setdefault(e["tid"], []).append((e["ts_ns"], e["ts_ns"] + e["dur_ns"]))
    for v in ioctls.values():
        v.sort()

    def containing(tid, lo, hi):
        iv = ioctls.get(tid, [])
        i = bisect.bisect_right(iv, (lo, float("inf"))) - 1
        return iv[i] if i >= 0 and iv[i][0] <= lo and hi <= iv[i][1] else None

    lowtax = rec.get("uffd_probes") == "none"
    outside, checked = [], 0
    for e in rec["events"] if not lowtax else []:
        # A blocker's wait from outside the filter: its thread's ioctls are not recorded.
        if e["kind"] not in ("lock", "dstate") or e["site"] not in UFFD_SITES or e.get("outside"):
            continue
        if holes:
            continue
        if not complete and (e["tid"] not in ioctls or e["ts_ns"] + e["dur_ns"] > ioctls[e["tid"]][-1][1]):
            continue
        checked += 1
        lo, hi = e["ts_ns"], e["ts_ns"] + e["dur_ns"]
        if not containing(e["tid"], lo, hi):
            outside.append("%s %s tid %d at +%.3f ms, %.3f ms" % (e["kind"], e.get("class"), e["tid"],
                           (lo - start) / 1e6, e["dur_ns"] / 1e6))
    if lowtax:
        print("%s: containment in ioctls not checked: --uffd-probes none records no ioctl" % a.name)
    else:
        res("every wait at a uffd site lies inside an ioctl of its thread (%d checked%s)"
            % (checked, "" if complete else ", ring buffer drops: not checkable" if holes
               else ", events past the cap: only waits before the thread's last kept ioctl"),
            not outside, "%d outside: %s" % (len(outside), outside[:5]))

    longer, over, badsum = [], [], []
    for t in rec["threads"]:
        hs = t["hists"]
        io_max = max([h["max_ns"] for h in hs if h["kind"] == "ioctl"] or [0])
        for h in hs:
            if h["kind"] in ("lock", "dstate") and h["site"] in UFFD_SITES and h["max_ns"] > io_max:
                longer.append("%s %s %s: %.3f ms > ioctl %.3f ms" % (t["comm"], h["kind"], h["class"],
                              h["max_ns"] / 1e6, io_max / 1e6))
            s = sum(b[2] for b in h["hist"])
            if s != h["count"]:
                badsum.append("%s %s: %d in buckets, count %d" % (t["comm"], h["kind"], s, h["count"]))
        ds = sum(h["total_ns"] + h.get("runnable_ns", 0) for h in hs if h["kind"] == "dstate")
        if ds > duration:
            over.append("%s (tid %d): %.3f ms in a %.3f ms recording" % (t["comm"], t["tid"], ds / 1e6,
                        duration / 1e6))
    if not lowtax:
        res("no wait at a uffd site longer than its thread's longest ioctl", not longer, "; ".join(longer[:5]))
    res("no thread's D-state time exceeds the recording", not over, "; ".join(over[:5]))
    res("histogram buckets sum to count", not badsum, "; ".join(badsum[:5]))
    parts = [("event", e["tid"], e["dur_ns"], e.get("parts")) for e in rec["events"] if e["kind"] == "ioctl"]
    parts += [("hist", t["tid"], h["total_ns"], h.get("parts")) for t in rec["threads"]
              for h in t["hists"] if h["kind"] == "ioctl"]
    badparts = ["%s of tid %d: %s, %s" % (w, tid, p and sum(p.values()), total) for w, tid, total, p in parts
                if not p or "unexplained" not in p or sum(p.values()) != total]
    res("every ioctl's and thread x command's parts sum to its time (%d)" % len(parts), not badparts,
        "; ".join(badparts[:5]))
    late = [e for e in rec["events"] if e["ts_ns"] < start or e["ts_ns"] + e["dur_ns"] > end]
    res("every event lies inside the recording", not late,
        "%d outside, first: %s" % (len(late), late[:1]))
    # On-CPU samples (--sample-hz): taken inside the recording, inside their ioctl
    # (which began first, and was an ioctl of that thread and command), and
    # every kept ioctl's count is that of the kept samples taken in it.
    cs = rec.get("cpu_samples", [])
    if cs:
        hists = {(t["tid"], h["command"]) for t in rec["threads"] for h in t["hists"] if h["kind"] == "ioctl"}
        bad = [s for s in cs if not (start <= s["ioctl_ts_ns"] <= s["ts_ns"] <= end) or
               (s["tid"], s["command"]) not in hists or not s["stack"]]
        res("every on-CPU sample lies inside the recording, after its ioctl's start, "
            "with a stack, under a thread x command with ioctls (%d)" % len(cs), not bad,
            "%d not, first: %s" % (len(bad), bad[:1]))
        ev = {(e["tid"], e["ts_ns"]): e for e in rec["events"] if e["kind"] == "ioctl"}
        n = {}
        for s in cs:
            if (s["tid"], s["ioctl_ts_ns"]) in ev:
                n[(s["tid"], s["ioctl_ts_ns"])] = n.get((s["tid"], s["ioctl_ts_ns"]), 0) + 1
        got = {k: e["oncpu_samples"] for k, e in ev.items() if e.get("oncpu_samples")}
        res("every kept ioctl's oncpu_samples counts the kept samples taken in it (%d)" % len(n), got == n,
            "%s vs %s" % (sorted(got.items())[:2], sorted(n.items())[:2]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
