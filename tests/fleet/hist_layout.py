# The log2x4-v1 bucket layout and mmlock's percentile rule, in Python, for
# the fleet generator and the reference verdict (tests/fleet/). Written from
# include/hist_slot.h and src/model/hist.c; reference.py --self-check holds it
# to the p50/p90/p99 that mmlock itself wrote.
SUB_BITS, SUB, MAX_POW = 2, 4, 39
SLOTS = MAX_POW * SUB


def slot(v):
    if v < SUB:
        return v
    m = v.bit_length() - 1
    s = (m - 1) * SUB + ((v >> (m - SUB_BITS)) & (SUB - 1))
    return min(s, SLOTS - 1)


def slot_lo(s):
    if s < SUB:
        return s
    m, sub = s // SUB + 1, s % SUB
    return (1 << m) + (sub << (m - SUB_BITS))


def slot_hi(s):
    if s < SUB:
        return s + 1
    m = s // SUB + 1
    return slot_lo(s) + (1 << (m - SUB_BITS))


def percentile(buckets, max_ns, pct):
    """buckets: {lo: (hi, count)}. Nearest rank (rounded up), read at the
    bucket's midpoint, at most max_ns (when max_ns is not 0): hist_percentile()."""
    total = sum(c for _, c in buckets.values())
    if not total:
        return 0
    want = max(1, (pct * total + 99) // 100)	# integer ceil(pct/100 * total)
    seen = 0
    for lo in sorted(buckets):
        hi, c = buckets[lo]
        seen += c
        if seen >= want:
            mid = (lo + hi) // 2
            return max_ns if max_ns and mid > max_ns else mid
    raise ValueError("buckets do not add up")
