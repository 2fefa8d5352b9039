#!/usr/bin/env bash
# gcsim: the workload runs, names its threads, and writes ground-truth JSON
# that other tests rely on. Keeps total time around 15 s.
set -u
. "$TOP/tests/lib.sh"

if [ ! -x "$GCSIM" ]; then
	fail "gcsim_basic: $GCSIM not built (make $GCSIM)"
	exit 0
fi
if ! "$GCSIM" --duration 0.1 --space-mb 4 --gc-threads 1 --no-ui --mutators 0 \
		>/dev/null 2>"$TMP/probe.err"; then
	if grep -q 'userfaultfd' "$TMP/probe.err"; then
		skip "gcsim_basic: userfaultfd not usable here: $(tail -n1 "$TMP/probe.err")"
		exit 0
	fi
fi

# jcheck NAME FILE PYTHON: runs PYTHON with d = the parsed JSON; it must
# raise AssertionError("why") on failure.
jcheck() {
	local name=$1 file=$2 code=$3 out
	if out=$(python3 - "$file" 2>&1 <<PY
import json, sys
d = json.load(open(sys.argv[1]))
def ioc(t, k):
    return t["ioctls"].get(k, {"count": 0, "errors": 0, "eexist": 0})
$code
PY
	); then
		pass "$name"
	else
		fail "$name: $(echo "$out" | tail -n1)"
	fi
}

# 1. Default shape (smaller space, 2 s): names, tids, counts, percentiles.
J=$TMP/default.json
"$GCSIM" --duration 2 --space-mb 16 --json "$J" --ready-fd 3 --start-delay-ms 200 \
	2>"$TMP/default.err" 3>"$TMP/ready" &
pid=$!
# All threads carry their final names once "ready PID" is written.
for _ in $(seq 100); do [ -s "$TMP/ready" ] && break; sleep 0.1; done
tasks=""
for round in 1 2; do
	for t in /proc/$pid/task/*; do
		c=$(cat "$t/comm" 2>/dev/null) && [ -n "$c" ] && tasks+="$(basename "$t") $c;"
	done
	sleep 0.3
done
wait $pid
rc=$?
check "gcsim_basic: default run exits 0" [ "$rc" -eq 0 ]
check "gcsim_basic: --ready-fd wrote 'ready PID'" [ "$(cat "$TMP/ready")" = "ready $pid" ]
check "gcsim_basic: prints pid first" \
	[ "$(head -n1 "$TMP/default.err")" = "gcsim: pid $pid" ]
jcheck "gcsim_basic: default JSON header" "$J" "
assert d['tool'] == 'gcsim' and d['version'] == 1, 'tool/version'
assert d['pid'] == $pid, 'pid %r' % d['pid']
assert d['ioctl_mode'] == 'move' and d['fallback'] is False, 'mode'
assert isinstance(d['sigbus'], bool) and d['pressure'] == 'none', 'sigbus/pressure'
assert 1.5e9 < d['duration_ns'] < 6e9, 'duration %r' % d['duration_ns']
assert d['kernel'], 'kernel'
"
jcheck "gcsim_basic: thread names, roles and tids" "$J" "
names = {t['name'] for t in d['threads']}
want = {'HeapTaskDaemon', 'GCWorker-1', 'GCWorker-2', 'GCWorker-3', 'ui', 'mutator-1'}
assert want <= names, 'names %r' % names
roles = {t['name']: t['role'] for t in d['threads']}
assert roles['HeapTaskDaemon'] == 'gc' and roles['ui'] == 'ui' and roles['mutator-1'] == 'mutator', roles
tids = [t['tid'] for t in d['threads']]
assert all(isinstance(x, int) and x > 0 for x in tids) and len(set(tids)) == len(tids), tids
live = dict(x.split(' ', 1) for x in '''$tasks'''.split(';') if x)
for t in d['threads']:
    assert live.get(str(t['tid'])) == t['name'], 'tid %d was %r in /proc, %r in JSON' % (t['tid'], live.get(str(t['tid'])), t['name'])
"
jcheck "gcsim_basic: MOVE counts and max >= p99 >= p50" "$J" "
for t in d['threads']:
    for k, s in t['ioctls'].items():
        for f in ('count', 'errors', 'eexist', 'total_ns', 'max_ns', 'p50_ns', 'p90_ns', 'p99_ns'):
            assert isinstance(s[f], int), (t['name'], k, f)
        if s['count']:
            assert s['max_ns'] >= s['p99_ns'] >= s['p90_ns'] >= s['p50_ns'] > 0, (t['name'], k, s)
            assert s['total_ns'] >= s['max_ns'], (t['name'], k, s)
    if t['role'] in ('gc', 'ui'):
        assert ioc(t, 'UFFDIO_MOVE')['count'] > 0, 'no MOVE by %s' % t['name']
"
jcheck "gcsim_basic: ui frames" "$J" "
u = d['ui']
assert u['frames'] > 30, u
assert u['budget_ns'] == 16666666, u
assert u['worst_frame_ns'] >= u['p99_frame_ns'] > 0, u
assert u['frames'] >= u['janky'] >= u['stalled_30ms'] >= 0, u
"
jcheck "gcsim_basic: faults recorded" "$J" "
f = sum(t['faults'] for t in d['threads'] if t['role'] in ('ui', 'mutator'))
assert f > 0, 'no faults'
for t in d['threads']:
    assert t['fault_blocked_ns'] >= t['fault_max_ns'] >= 0, t
"

# 2. --ioctl copy.
J=$TMP/copy.json
"$GCSIM" --ioctl copy --duration 1 --space-mb 16 --gc-threads 2 --json "$J" 2>/dev/null
check "gcsim_basic: --ioctl copy exits 0" [ $? -eq 0 ]
jcheck "gcsim_basic: --ioctl copy JSON" "$J" "
assert d['ioctl_mode'] == 'copy' and d['fallback'] is False, (d['ioctl_mode'], d['fallback'])
gc = [t for t in d['threads'] if t['role'] == 'gc']
assert all(ioc(t, 'UFFDIO_COPY')['count'] > 0 for t in gc), 'COPY counts'
assert all(ioc(t, 'UFFDIO_MOVE')['count'] == 0 for t in d['threads']), 'MOVE in copy mode'
assert sum(ioc(t, 'UFFDIO_ZEROPAGE')['count'] for t in d['threads']) > 0, 'no ZEROPAGE'
"

# 3. Fallback path as on kernels without UFFDIO_MOVE.
J=$TMP/fallback.json
"$GCSIM" --force-fallback --duration 0.5 --space-mb 8 --gc-threads 1 --json "$J" 2>"$TMP/fb.err"
check "gcsim_basic: fallback prints a note" grep -q 'falling back to UFFDIO_COPY' "$TMP/fb.err"
jcheck "gcsim_basic: fallback JSON" "$J" "
assert d['ioctl_mode'] == 'copy' and d['fallback'] is True, (d['ioctl_mode'], d['fallback'])
"

# 4. Bad options: exit 2, exactly one line on stderr.
for bad in "--bogus" "--gc-threads=zero" "--ioctl=splice" "--pressure=lots" "stray" "--gc-cpus=1-0"; do
	"$GCSIM" $bad >"$TMP/bad.out" 2>"$TMP/bad.err"
	rc=$?
	if [ "$rc" -eq 2 ] && [ "$(wc -l <"$TMP/bad.err")" -eq 1 ] && [ ! -s "$TMP/bad.out" ]; then
		pass "gcsim_basic: bad option '$bad' exits 2 with one line"
	else
		fail "gcsim_basic: bad option '$bad': rc=$rc, stderr: $(head -c 200 "$TMP/bad.err")"
	fi
done

# 5. SIGTERM mid-run still writes valid JSON.
J=$TMP/term.json
"$GCSIM" --duration 60 --space-mb 16 --json "$J" 2>/dev/null &
pid=$!
sleep 1
kill -TERM $pid
t0=$SECONDS
wait $pid
rc=$?
check "gcsim_basic: SIGTERM stops promptly with exit 0" [ "$rc" -eq 0 -a $((SECONDS - t0)) -lt 5 ]
jcheck "gcsim_basic: SIGTERM JSON" "$J" "
assert 0.5e9 < d['duration_ns'] < 10e9, d['duration_ns']
assert d['ui']['frames'] > 0 and len(d['threads']) >= 6, 'content'
"
check "gcsim_basic: no temp file left" bash -c "! ls '$TMP'/term.json.tmp.* 2>/dev/null"

# 6. -EEXIST is counted and verified, never fatal (injected: real EEXIST
#    from a pre-mapped destination page).
J=$TMP/eexist.json
"$GCSIM" --inject-eexist 50 --duration 1 --space-mb 16 --json "$J" 2>/dev/null
check "gcsim_basic: -EEXIST run exits 0" [ $? -eq 0 ]
jcheck "gcsim_basic: -EEXIST counted, not errors" "$J" "
e = sum(ioc(t, 'UFFDIO_MOVE')['eexist'] for t in d['threads'])
err = sum(s['errors'] for t in d['threads'] for s in t['ioctls'].values())
assert e > 0, 'no eexist counted'
assert err == 0, 'errors %d' % err
assert d['cycles'] >= 1, 'no full cycle despite EEXIST: %r' % d['cycles']
"

# 7. MISSING faults served by uffd-handler; --moves ends the run.
J=$TMP/missing.json
"$GCSIM" --no-sigbus --moves 20000 --space-mb 8 --gc-threads 2 --json "$J" 2>/dev/null
check "gcsim_basic: --no-sigbus --moves exits 0" [ $? -eq 0 ]
jcheck "gcsim_basic: uffd-handler and --moves" "$J" "
assert d['sigbus'] is False, 'sigbus'
h = [t for t in d['threads'] if t['name'] == 'uffd-handler']
assert h and h[0]['role'] == 'handler', 'no handler thread'
assert d['pages_mapped'] >= 20000, d['pages_mapped']
assert d['cycles'] >= 9, d['cycles']
"

# 8. --gc-cpus / --app-cpus: each thread runs only where it was put.
if [ "$(nproc)" -ge 2 ]; then
	"$GCSIM" --gc-cpus 0 --app-cpus 1 --gc-threads 2 --duration 1 --space-mb 8 --ready-fd 3 \
		--start-delay-ms 300 2>/dev/null 3>"$TMP/pin.ready" &
	pid=$!
	poll_until 10 test -s "$TMP/pin.ready"
	# Each thread pins itself once named; the ready line follows all of that.
	pins=$(for t in /proc/$pid/task/*; do
		echo "$(cat "$t/comm") $(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$t/status")"
	done 2>/dev/null | sort)
	wait $pid
	check "gcsim_basic: --gc-cpus/--app-cpus run exits 0" [ $? -eq 0 ]
	pins_ok() {
		echo "$pins" | awk '/^(HeapTaskDaemon|GCWorker)/ { n++; if ($2 != "0") bad = 1 }
			/^(ui|mutator)/ { n++; if ($2 != "1") bad = 1 } END { exit bad || n < 4 }'
	}
	check "gcsim_basic: GC threads on CPU 0, ui and mutator on CPU 1 ($(echo $pins))" pins_ok
else
	skip "gcsim_basic: --gc-cpus/--app-cpus need 2 CPUs, $(nproc) here"
fi

# 9. Waiting for --go-fd, gcsim is idle: its threads do not run. A tracer
# that attached before the go must see nothing of it that a later one would
# miss (the 1 ms polling workers once did: the timer interrupts that hit them
# gave the earlier of two side-by-side recorders waits the other never saw).
mkfifo "$TMP/idle.go"
"$GCSIM" --gc-threads 2 --duration 0.5 --space-mb 8 --ready-fd 3 --go-fd 4 \
	3>"$TMP/idle.ready" 4<>"$TMP/idle.go" >/dev/null 2>&1 &
pid=$!
poll_until 10 test -s "$TMP/idle.ready"
# switches PID: the voluntary and involuntary context switches of all its threads.
switches() {
	cat /proc/"$1"/task/*/status 2>/dev/null |
		awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { n += $2 } END { print n + 0 }'
}
ntask=$(ls /proc/$pid/task | wc -l)
s0=$(switches $pid)
sleep 0.5
s1=$(switches $pid)
echo go >"$TMP/idle.go"
wait $pid
check "gcsim_basic: --go-fd run exits 0" [ $? -eq 0 ]
# One wakeup per thread is tolerated (a thread still on its way to sleep).
check "gcsim_basic: idle before the go ($ntask threads switched $((s1 - s0)) times in 0.5 s)" \
	[ $((s1 - s0)) -le "$ntask" ]
