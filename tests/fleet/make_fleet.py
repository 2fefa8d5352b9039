#!/usr/bin/env python3
"""A synthetic fleet from real recordings, for tests/integration/fleet.sh and
`make fleet`: N devices, each with a "before" recording (derived from a
UFFDIO_MOVE recording) and an "after" one (from a UFFDIO_COPY recording).

Held out from the export and the engines: it writes recordings the way
`mmlock record` does (the strict reader must take them) and nothing else.
Deterministic from --seed. Per recording: a new id (UUID form), the device
("fleet-dev-NNNN"), labels arm/fleet_seed, and for the after arm the kernel
"<source kernel>+copy-arm" (the OTA under test). Lock and D-state histograms
are perturbed: every bucket's count scaled by a factor in [0.5, 1.5] (some
drop to zero), now and then one sample moved to the next bucket; count,
total, max and the percentiles follow. Some devices' ui thread gets a stall
in [30, 60) ms: an anon_vma write wait at uffd_move (before) or a folio_lock
D-state period at fault (after), so that the verdict has both answers.

Usage: make_fleet.py --seed S --devices N --move A.json[,B.json] --copy C.json[,D.json] --out DIR
"""
import argparse
import copy
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hist_layout as L  # noqa: E402

STALL_LO, STALL_HI = 30_000_000, 60_000_000


def set_hist(h, buckets):
    """buckets {lo: [hi, count]} into h, with count/total/max/percentiles that fit."""
    buckets = {lo: v for lo, v in buckets.items() if v[1] > 0}
    h["hist"] = [[lo, hi, c] for lo, (hi, c) in sorted(buckets.items())]
    h["count"] = sum(c for _, c in buckets.values())
    if not buckets:
        h["total_ns"] = h["max_ns"] = 0
    else:
        top = max(buckets)
        hi = buckets[top][0]
        if not (top <= h.get("max_ns", 0) < hi):
            h["max_ns"] = top + (hi - top) // 3
        h["total_ns"] = max(sum(c * ((lo + hi) // 2) for lo, (hi, c) in buckets.items()), h["max_ns"])
    b = {lo: (hi, c) for lo, (hi, c) in buckets.items()}
    for p in (50, 90, 99):
        h["p%d_ns" % p] = L.percentile(b, h["max_ns"], p)


def perturb(h, rnd):
    buckets = {}
    for lo, hi, c in h["hist"]:
        n = int(c * rnd.uniform(0.5, 1.5) + 0.5)
        buckets.setdefault(lo, [hi, 0])[1] += n
    if buckets and rnd.random() < 0.3:
        lo = rnd.choice(sorted(buckets))
        s = L.slot(lo)
        if buckets[lo][1] > 0 and s + 1 < L.SLOTS:
            buckets[lo][1] -= 1
            nlo = L.slot_lo(s + 1)
            buckets.setdefault(nlo, [L.slot_hi(s + 1), 0])[1] += 1
    set_hist(h, buckets)


def add_stall(thread, kind, cls, site, rnd):
    v = rnd.randrange(STALL_LO, STALL_HI)
    h = next((h for h in thread["hists"] if h["kind"] == kind and h.get("class") == cls
              and h["site"] == site), None)
    if h is None:
        h = {"kind": kind, "class": cls, "site": site, "hist": [], "max_ns": 0}
        if kind == "dstate":
            h["runnable_ns"] = 0
        thread["hists"].append(h)
    b = {lo: [hi, c] for lo, hi, c in h["hist"]}
    s = L.slot(v)
    b.setdefault(L.slot_lo(s), [L.slot_hi(s), 0])[1] += 1
    h["max_ns"] = max(h.get("max_ns", 0), v)
    set_hist(h, b)


def derive(src, dev, arm, seed, rnd):
    r = copy.deepcopy(src)
    r["id"] = "%08x-%04x-4%03x-%04x-%012x" % (rnd.getrandbits(32), rnd.getrandbits(16),
                                              rnd.getrandbits(12), 0x8000 | rnd.getrandbits(14),
                                              rnd.getrandbits(48))
    r["device"] = "fleet-dev-%04d" % dev
    r["labels"] = {"arm": arm, "fleet_seed": str(seed)}
    r["hist_layout"] = "log2x4-v1"
    if arm == "after":
        r["kernel"] = src["kernel"] + "+copy-arm"
    r["clock"]["realtime_ns"] += dev * 1_000_000_000
    # Device 0 always stalls, so that even a small fleet has both answers.
    stall = dev == 0 or rnd.random() < (0.3 if arm == "before" else 0.05)
    for t in r["threads"]:
        t["hists"] = [h for h in t["hists"]]
        for h in t["hists"]:
            if h["kind"] in ("lock", "dstate"):
                perturb(h, rnd)
        if stall and t["comm"] == "ui":
            if arm == "before":
                add_stall(t, "lock", "anon_vma_write", "uffd_move", rnd)
            else:
                add_stall(t, "dstate", "folio_lock", "fault", rnd)
        t["hists"] = [h for h in t["hists"] if h["count"] or h["kind"] not in ("lock", "dstate")]
        t["worst_ns"] = max([h["max_ns"] for h in t["hists"] if h["kind"] in ("lock", "dstate")] or [0])
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--devices", type=int, required=True)
    ap.add_argument("--move", required=True)
    ap.add_argument("--copy", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    srcs = {arm: [json.load(open(p)) for p in files.split(",")]
            for arm, files in (("before", a.move), ("after", a.copy))}
    os.makedirs(a.out, exist_ok=True)
    rnd = random.Random(a.seed)
    for dev in range(a.devices):
        for arm in ("before", "after"):
            src = srcs[arm][rnd.randrange(len(srcs[arm]))]
            r = derive(src, dev, arm, a.seed, rnd)
            with open(os.path.join(a.out, "dev%04d-%s.json" % (dev, arm)), "w") as f:
                json.dump(r, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
