#!/usr/bin/env python3
"""The fleet verdict computed directly from raw recording JSONs (not from the
export), to hold DuckDB and ClickHouse to. Prints, sorted:
  p99 KERNEL THREAD COUNT P99_NS MAX_NS   anon_vma write waits at uffd_move,
                                          buckets merged per kernel x thread
  share KERNEL STALLED DEVICES            devices whose ui thread had a lock
                                          wait or D-state period >= 30 ms
--self-check: also check that the Python percentile rule gives every
histogram's own p50/p90/p99 as mmlock wrote them (real recordings only).
Usage: reference.py [--self-check] RECORDING.json...
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hist_layout as L  # noqa: E402

STALL_NS = 30_000_000


def main():
    args = sys.argv[1:]
    self_check = "--self-check" in args
    files = [a for a in args if a != "--self-check"]
    merged, devices, stalled = {}, {}, {}
    checked = 0
    for path in files:
        r = json.load(open(path))
        k, dev = r["kernel"], r.get("device")
        devices.setdefault(k, set()).add(dev)
        for t in r["threads"]:
            for h in t["hists"]:
                b = {lo: (hi, c) for lo, hi, c in h["hist"]}
                if self_check:
                    for p in (50, 90, 99):
                        got = L.percentile(b, h["max_ns"], p)
                        if got != h["p%d_ns" % p]:
                            sys.exit("%s: %s %s: rule gives p%d %d, mmlock wrote %d"
                                     % (path, t["comm"], h["kind"], p, got, h["p%d_ns" % p]))
                        checked += 1
                if h["kind"] in ("lock", "dstate") and t["comm"] == "ui" and h["max_ns"] >= STALL_NS:
                    stalled.setdefault(k, set()).add(dev)
                if (h["kind"], h.get("class"), h["site"]) != ("lock", "anon_vma_write", "uffd_move"):
                    continue
                m = merged.setdefault((k, t["comm"]), [{}, 0])
                for lo, (hi, c) in b.items():
                    m[0][lo] = (hi, m[0].get(lo, (hi, 0))[1] + c)
                m[1] = max(m[1], h["max_ns"])
    out = []
    for (k, thread), (b, mx) in merged.items():
        n = sum(c for _, c in b.values())
        out.append("p99\t%s\t%s\t%d\t%d\t%d" % (k, thread, n, L.percentile(b, mx, 99), mx))
    for k, devs in devices.items():
        devs = devs - {None}
        out.append("share\t%s\t%d\t%d" % (k, len(stalled.get(k, set()) & devs), len(devs)))
    print("\n".join(sorted(out)))
    if self_check:
        print("self-check: %d percentiles as mmlock wrote them" % checked, file=sys.stderr)


if __name__ == "__main__":
    main()
