#!/usr/bin/env bash
# [perfetto] mmlock's trace merged with a kernel scheduler trace of the same
# run, as a user merges it with an Android system trace: the test captures
# sched_switch / sched_wakeup itself through tracefs (a private instance
# under /sys/kernel/tracing/instances/, trace_clock boot: the clock mmlock
# and Android's ftrace use), zips that text capture with mmlock's trace and
# loads the zip into Perfetto's trace processor. Must hold:
#   * mmlock's trace alone passes tests/perfetto/tp_check.py, and the zip
#     imports with no error or data loss beyond those of the ftrace text
#     alone (Perfetto's text parser reports "mismatched_sched_switch_tids"
#     on text captures: an artifact of the text format, not of merging);
#   * every workload thread with mmlock slices has them on the same utid as
#     its sched data (thread_state rows), one utid per tid, named as gcsim
#     names it;
#   * each mmlock D-state slice lies on a D (uninterruptible) thread_state
#     of that utid: both clocks agree, and mmlock's D-state is the kernel's.
. "$(dirname "$0")/../lib.sh"
T=perfetto_merge
need_bpf "$T" || exit 0
find_trace_processor "$T" || exit 0
if ! command -v zip >/dev/null; then
	fail "$T: zip not installed (tools/install-deps.sh installs it)"; exit 0
fi
TR=/sys/kernel/tracing
[ -d "$TR/instances" ] || mount -t tracefs nodev "$TR" 2>/dev/null
if [ ! -d "$TR/instances" ]; then
	skip "$T: no tracefs at $TR"; exit 0
fi
tracefs_sweep "$TR/instances" mmlock-merge
INST=$TR/instances/mmlock-merge-$$
trap 'echo 0 >"$INST/tracing_on" 2>/dev/null; echo 0 >"$INST/events/enable" 2>/dev/null; rmdir "$INST" 2>/dev/null; tmp_done' EXIT
if ! mkdir "$INST"; then
	fail "$T: cannot create the tracefs instance $INST"; exit 0
fi
echo boot >"$INST/trace_clock" && echo 16384 >"$INST/buffer_size_kb" &&
	echo 1 >"$INST/events/sched/sched_switch/enable" &&
	echo 1 >"$INST/events/sched/sched_wakeup/enable" ||
	{ fail "$T: cannot set up the tracefs instance"; exit 0; }
echo 1 >"$INST/tracing_on"
"$MMLOCK" record -q --perfetto "$TMP/mmlock.pftrace" --json "$TMP/r.json" --min-slice 0 -- \
	"$GCSIM" --gc-threads 2 --duration 2 --json "$TMP/g.json" >/dev/null 2>"$TMP/err"
rc=$?
echo 0 >"$INST/tracing_on"
check "$T: record exits 0" [ $rc -eq 0 ]
cp "$INST/trace" "$TMP/sched.txt"
overrun=$(grep -h '^overrun:' "$INST"/per_cpu/cpu*/stats | awk '{ s += $2 } END { print s + 0 }')
check "$T: ftrace capture has sched_switch lines (overrun $overrun)" grep -q 'sched_switch:' "$TMP/sched.txt"
if [ ! -s "$TMP/mmlock.pftrace" ] || [ ! -s "$TMP/g.json" ]; then
	fail "$T: no trace or workload JSON: $(tail -n 3 "$TMP/err")"; exit 0
fi
(cd "$TMP" && zip -q merged.zip mmlock.pftrace sched.txt)
tp_check "$T mmlock" "$TMP/mmlock.pftrace" --json "$TMP/r.json"
[ -n "${KEEP:-}" ] && cp "$TMP/merged.zip" "$TMP/r.json" "$KEEP/"

cat >"$TMP/q.sql" <<'SQL'
SELECT name, idx, severity, value FROM stats
WHERE value > 0 AND severity IN ('error', 'data_loss');
SELECT t.utid, t.tid, t.name,
       (SELECT COUNT(*) FROM thread_state ts WHERE ts.utid = t.utid) AS states,
       (SELECT COUNT(*) FROM slice s JOIN thread_track tt ON s.track_id = tt.id
        WHERE tt.utid = t.utid AND s.category GLOB 'mmlock.*') AS slices
FROM thread t;
-- The ftrace text has microseconds: 2 us of slack at both ends.
SELECT s.id, s.ts, s.dur, t.tid,
       (SELECT COUNT(*) FROM thread_state ts
        WHERE ts.utid = tt.utid AND ts.state = 'D'
          AND ts.ts <= s.ts + 2000 AND ts.ts + ts.dur + 2000 >= s.ts + s.dur) AS in_d,
       (SELECT GROUP_CONCAT(ts.state || '@' || (ts.ts - s.ts) || '+' || ts.dur, ' ')
        FROM thread_state ts WHERE ts.utid = tt.utid
          AND ts.ts < s.ts + s.dur + 100000 AND ts.ts + ts.dur > s.ts - 100000) AS around
FROM slice s JOIN thread_track tt ON s.track_id = tt.id JOIN thread t USING (utid)
WHERE s.category = 'mmlock.dstate' AND s.dur > 0;
SQL
if ! "$TRACE_PROCESSOR" -q "$TMP/q.sql" "$TMP/merged.zip" >"$TMP/out.csv" 2>"$TMP/tp.err"; then
	fail "$T: trace processor cannot load the zip: $(tail -n 2 "$TMP/tp.err")"; exit 0
fi
sed -n '1,/^SELECT t.utid/{/^SELECT t.utid/d;p}' "$TMP/q.sql" >"$TMP/stats.sql"
"$TRACE_PROCESSOR" -q "$TMP/stats.sql" "$TMP/sched.txt" >"$TMP/text.csv" 2>"$TMP/tp.err" ||
	fail "$T: trace processor cannot load the ftrace text: $(tail -n 2 "$TMP/tp.err")"
python3 - "$TMP/out.csv" "$TMP/g.json" "$overrun" "$TMP/text.csv" <<'PY'
import csv, io, json, sys
blocks = open(sys.argv[1]).read().strip('\n').split('\n\n')
stats, threads, dstate = [list(csv.DictReader(io.StringIO(b))) for b in blocks]
g = json.load(open(sys.argv[2]))
overrun = int(sys.argv[3])
text = list(csv.DictReader(io.StringIO(open(sys.argv[4]).read())))
def res(ok, what, why=''):
    print(('PASS: ' if ok else 'FAIL: ') + 'perfetto_merge: ' + what + ('' if ok else ': ' + why))
key = lambda rows: sorted((r['name'], r['idx'], r['severity'], r['value']) for r in rows)
res(key(stats) == key(text),
    'the zip imports with no error or data loss but the ftrace text\'s own (%s)'
    % (', '.join('%s=%s' % (r['name'], r['value']) for r in text) or 'none'),
    'zip: %s; text alone: %s' % (key(stats), key(text)))
by_tid = {}
for t in threads:
    by_tid.setdefault(int(t['tid']), []).append(t)
bad, seen = [], 0
for w in g['threads']:
    rows = by_tid.get(w['tid'], [])
    with_slices = [r for r in rows if int(r['slices'])]
    if not with_slices:
        continue
    seen += 1
    with_states = [r for r in rows if int(r['states'])]
    if len(with_slices) != 1 or with_states != with_slices:
        bad.append('tid %d: slices on utids %s, sched states on utids %s' % (
            w['tid'], [r['utid'] for r in with_slices], [r['utid'] for r in with_states]))
    elif with_slices[0]['name'] != w['name'][:15]:
        bad.append('tid %d named %r, gcsim says %r' % (w['tid'], with_slices[0]['name'], w['name']))
res(seen > 0 and not bad, '%d workload threads: mmlock slices and sched states on one utid each' % seen,
    '; '.join(bad[:3]) or 'no workload thread has slices')
# A thread state of duration -1 is one whose end the ftrace text did not show
# (the importer's mismatched_sched_switch_tids: a switch-in it could not pair).
# Where such a state touches a slice, when the thread woke is unknown: that
# slice cannot be checked against the capture, and is counted, not judged.
def open_state(r):
    return any(a.rsplit('+', 1)[-1] == '-1' for a in (r['around'] or '').split())
unsure = [r for r in dstate if open_state(r)]
sure = [r for r in dstate if not open_state(r)]
out = [r for r in sure if r['in_d'] == '0']
if overrun:
    print('SKIP: perfetto_merge: D-state slices vs thread_state: ftrace overran %d events' % overrun)
else:
    res(not out and sure, '%d mmlock D-state slices each inside a D thread_state of its utid '
        '(%d more next to a state the ftrace text left open: not checkable)' % (len(sure), len(unsure)),
        '%d outside, e.g. tid %s at %s (%s ns); its thread states (relative ns): %s'
        % (len(out), out[0]['tid'], out[0]['ts'], out[0]['dur'], out[0]['around'])
        if out else 'no slice checkable')
PY
exit 0
