"""gcsim's own clock as ground truth for mmlock's uffd ioctl events.

gcsim reads CLOCK_MONOTONIC right before and after each ioctl(); mmlock times
the ioctl from its entry to the return to user space. So each mmlock ioctl
lies inside gcsim's window for the same call and is no longer. The window
also holds any preemption in user space next to the call, which no kernel
tracer sees: on a loaded machine gcsim's slowest window can be such a
preemption around a short ioctl, and mmlock's slowest ioctl is then another
of gcsim's slowest calls (gcsim lists its 8 slowest per thread × command).
"""


def boot_offset(rec):
    """Add to a CLOCK_MONOTONIC time to get the recording's boot-clock time."""
    return rec["clock"]["boottime_ns"] - rec["clock"]["monotonic_ns"]


def ioctl_events(rec, tid):
    return [e for e in rec["events"] if e["kind"] == "ioctl" and e["tid"] == tid]


def inside(ev, at, dur, slack):
    return at - slack <= ev["ts_ns"] and ev["ts_ns"] + ev["dur_ns"] <= at + dur + slack


def slowest_agrees(rec, tid, gi, slack):
    """(ok, why): mmlock's slowest ioctl event of tid agrees with gcsim.

    Agreement is either gcsim's slowest call found inside its window with at
    least half its length (the call was slow in the kernel), or mmlock's
    slowest ioctl lying inside the window of one of gcsim's slowest calls and
    no longer than it (gcsim's slowest was slowed in user space)."""
    off = boot_offset(rec)
    evs = ioctl_events(rec, tid)
    at, dur = gi["max_at_ns"] + off, gi["max_ns"]
    hit = [e for e in evs if inside(e, at, dur, slack)]
    if hit and max(e["dur_ns"] for e in hit) >= 0.5 * dur:
        return True, "gcsim's slowest call found: mmlock %.3f of %.3f ms" % (
            max(e["dur_ns"] for e in hit) / 1e6, dur / 1e6)
    if not evs:
        return False, "no ioctl event of tid %d; gcsim's slowest %.3f ms" % (tid, dur / 1e6)
    m = max(evs, key=lambda e: e["dur_ns"])
    for rank, (a, d) in enumerate(gi.get("slowest", [])):
        if inside(m, a + off, d, slack) and m["dur_ns"] <= d + slack:
            return True, ("gcsim's slowest call (%.3f ms) has no long ioctl inside: slowed in user "
                          "space; mmlock's slowest (%.3f ms) is gcsim's #%d (%.3f ms)"
                          % (dur / 1e6, m["dur_ns"] / 1e6, rank + 1, d / 1e6))
    return False, ("gcsim's slowest %.3f ms has %s inside; mmlock's slowest %.3f ms at %d is in "
                   "none of gcsim's %d slowest windows"
                   % (dur / 1e6, [round(e["dur_ns"] / 1e6, 3) for e in hit] or "no event",
                      m["dur_ns"] / 1e6, m["ts_ns"], len(gi.get("slowest", []))))
