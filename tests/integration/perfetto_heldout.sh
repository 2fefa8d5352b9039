#!/usr/bin/env bash
# [perfetto] The held-out stress (tests/heldout/uffd_churn: UFFDIO_MOVE
# movers of random lengths, a MADV_PAGEOUT walker, an mprotect splitter; a
# workload mmlock was not tuned on) recorded straight to a Perfetto trace,
# briefly. Perfetto's trace processor must import it with no error and no
# data loss, with one slice per event on the right threads, nested, and its
# histograms and counters queryable (tests/perfetto/tp_check.py).
. "$(dirname "$0")/../lib.sh"
T=perfetto_heldout
need_bpf "$T" || exit 0
CHURN=$OUT/heldout/uffd_churn
if [ ! -x "$CHURN" ]; then
	fail "$T: $CHURN not built (make test builds it)"; exit 0
fi
find_trace_processor "$T" || exit 0
"$MMLOCK" record -q --min-slice 0 --perfetto "$TMP/h.pftrace" --json "$TMP/r.json" -- \
	"$CHURN" --movers 2 --seconds 1 --json "$TMP/g.json" >"$TMP/out" 2>&1
rc=$?
if [ $rc -eq 3 ] || grep -q 'lacks UFFDIO_MOVE' "$TMP/out"; then
	skip "$T: this kernel lacks UFFDIO_MOVE: $(tail -n 1 "$TMP/out")"; exit 0
fi
check "$T: record exits 0" [ $rc -eq 0 ]
if [ ! -s "$TMP/h.pftrace" ] || [ ! -s "$TMP/r.json" ]; then
	fail "$T: no trace or recording: $(tail -n 3 "$TMP/out")"; exit 0
fi
tp_check "$T" "$TMP/h.pftrace" --json "$TMP/r.json"
exit 0
