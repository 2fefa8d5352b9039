#!/usr/bin/env bash
# The Perfetto exporter on the fixed synthetic recording built by
# tests/unit/test_perfetto.c (2 processes, 3 threads, nested and clamped
# slices, histograms, samples, stacks): bytes equal tests/perfetto/golden.pftrace,
# protoc's decoding equals tests/perfetto/golden.txt, and the semantic checks
# of tests/perfetto/check_trace.py hold. Then the checker must reject broken
# variants of the same trace. With Perfetto's trace processor found
# (tests/lib.sh find_trace_processor), tests/perfetto/tp_check.py too. No root needed.
# Regenerate both golden files after an intended change:
#   MMLOCK_UPDATE_GOLDEN=1 $OUT/tests/test_perfetto && protoc \
#     --proto_path=tests/perfetto --decode=perfetto.protos.Trace mini.proto \
#     < tests/perfetto/golden.pftrace > tests/perfetto/golden.txt
. "$(dirname "$0")/../lib.sh"
PF=$TOP/tests/perfetto
T=perfetto_synthetic
if ! command -v protoc >/dev/null; then
	fail "$T: protoc not installed (tools/install-deps.sh installs protobuf-compiler)"; exit 0
fi
if [ ! -x "$OUT/tests/test_perfetto" ]; then
	fail "$T: $OUT/tests/test_perfetto not built"; exit 0
fi
if ! "$OUT/tests/test_perfetto" --write "$TMP/s.pftrace"; then
	fail "$T: writing the synthetic trace failed"; exit 0
fi
check "$T: bytes equal golden.pftrace" cmp "$PF/golden.pftrace" "$TMP/s.pftrace"
decode() { protoc --proto_path="$PF" --decode=perfetto.protos.Trace mini.proto; }
if decode <"$TMP/s.pftrace" >"$TMP/s.txt"; then
	check "$T: protoc text equals golden.txt" diff -u "$PF/golden.txt" "$TMP/s.txt"
else
	fail "$T: protoc --decode failed"
fi
CHK=(python3 "$PF/check_trace.py")
check "$T: semantic checks" "${CHK[@]}" "$TMP/s.pftrace" --slices 11 \
	--thread 1000=ui --thread 1003=HeapTaskDaemon --thread 2000=kswapd0 \
	--worst-wait "1000=anon_vma write" --worst-wait "2000=folio lock"

# The checker must catch each of these (it reads protoc text with --text).
rejects() {	# NAME: the checker fails on $TMP/bad.txt
	if "${CHK[@]}" --text "$TMP/bad.txt" --slices 11 >"$TMP/bad.out" 2>&1; then
		fail "$T: checker accepted $1"
	else
		pass "$T: checker rejects $1"
	fi
}
# Drop the first SLICE_END packet: unbalanced.
awk 'BEGIN{RS="\npacket {"; ORS=""} NR==1{print; next}
     !done && /TYPE_SLICE_END/{done=1; next} {print "\npacket {" $0}' \
	"$TMP/s.txt" >"$TMP/bad.txt"
rejects "a missing SLICE_END"
# An event on a track nobody declared.
sed '0,/track_uuid: /s/track_uuid: [0-9]*/track_uuid: 12345/' "$TMP/s.txt" >"$TMP/bad.txt"
rejects "an undeclared track_uuid"
# Time going back on the slice sequence.
sed '0,/timestamp: 5000011000000/s//timestamp: 4000000000000/' "$TMP/s.txt" >"$TMP/bad.txt"
rejects "a timestamp going back"
# No BOOTTIME in the clock snapshot.
sed 's/clock_id: 6$/clock_id: 7/' "$TMP/s.txt" >"$TMP/bad.txt"
rejects "a missing BOOTTIME clock"
# Interned names without SEQ_INCREMENTAL_STATE_CLEARED.
sed -e 's/sequence_flags: 1$/sequence_flags: 0/' \
    -e '0,/name: "UFFDIO_MOVE"/s//name_iid: 1/' "$TMP/s.txt" >"$TMP/bad.txt"
rejects "interning without SEQ_INCREMENTAL_STATE_CLEARED"

# Perfetto's own trace processor on the same trace (tests/perfetto/tp_check.py:
# import stats, 11 slices on their threads, nesting, the clamped slice, the
# histogram args, the series counters, tracks per thread), and it must
# notice a trace cut short.
tp_check "$T tp" "$TMP/s.pftrace" --slices 11
if [ -n "${TRACE_PROCESSOR:-}" ]; then
	head -c $(($(stat -c %s "$TMP/s.pftrace") * 2 / 3)) "$TMP/s.pftrace" >"$TMP/cut.pftrace"
	if tp_check "$T cut" "$TMP/cut.pftrace" --slices 11 | grep -q '^FAIL: '; then
		pass "$T: trace processor check rejects a trace cut at 2/3"
	else
		fail "$T: trace processor check accepted a trace cut at 2/3"
	fi
fi
exit 0
