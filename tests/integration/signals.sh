#!/usr/bin/env bash
# Signals stop a recording promptly at any moment, start-up included, and
# leave nothing behind: no temp file, no workload running on without mmlock.
# Workloads are `sleep N.<unique>` so that pgrep -f finds only ours.
. "$(dirname "$0")/../lib.sh"
need_bpf signals || exit 0

tag=$$$RANDOM
# wait_gone PID LIMIT_S: polls until PID has exited; prints the seconds it took.
wait_gone() {
	local pid=$1 limit=$2 t0=$EPOCHREALTIME i
	for ((i = 0; i < limit * 20; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'
			return 0
		fi
		sleep 0.05
	done
	echo "$limit+"
	return 1
}
# workload_gone PATTERN: polls (3 s) until no process runs PATTERN.
workload_gone() {
	local i
	for ((i = 0; i < 60; i++)); do
		pgrep -f "$1" >/dev/null || return 0
		sleep 0.05
	done
	return 1
}
# kill_workload PATTERN: SIGKILL, by pid, the processes running our tagged workload.
kill_workload() { local p; for p in $(pgrep -f "$1"); do kill -9 "$p" 2>/dev/null; done; }
leftovers() { ls -A "$TMP/out" 2>/dev/null | grep -E '\.tmp\.|\.spool\.' ; }

# A child slow to exec (a PATH of 6000 missing directories): before the fix
# it inherited mmlock's handler and swallowed the SIGTERM sent to it.
slowpath=$(for i in $(seq 6000); do printf '/nonexistent/%d:' "$i"; done)
for sig in INT TERM; do
	for delay in 0.2 1 2; do
		name="SIG$sig at ${delay}s"
		mkdir -p "$TMP/out" && rm -f "$TMP/out"/*
		w="sleep 6.$tag$delay"
		PATH="$slowpath$PATH" "$MMLOCK" record -q --json "$TMP/out/r.json" \
			--perfetto "$TMP/out/r.pftrace" -- $w 2>"$TMP/err" &
		pid=$!
		sleep "$delay"
		kill -"$sig" "$pid"
		took=$(wait_gone "$pid" 3) || {
			fail "$name: mmlock still running after 3 s"
			kill -9 "$pid" 2>/dev/null
			kill_workload "$w"
			continue
		}
		wait "$pid"
		rc=$?
		if ! workload_gone "$w"; then
			fail "$name: the workload runs on after mmlock exited"
			kill_workload "$w"
		elif [ -n "$(leftovers)" ]; then
			fail "$name: left $(leftovers)"
		elif [ "$rc" -ne 0 ] && [ "$rc" -ne $((128 + $(kill -l "$sig"))) ]; then
			fail "$name: exit $rc: $(head -c 300 "$TMP/err")"
		elif [ "$rc" -ne 0 ] && [ -e "$TMP/out/r.json" ]; then
			fail "$name: exit $rc (interrupted start-up) but r.json was written"
		else
			pass "$name: stopped within ${took}s, exit $rc"
			# A run stopped after start-up wrote both: the trace must import.
			[ -s "$TMP/out/r.pftrace" ] && [ -s "$TMP/out/r.json" ] &&
				tp_check "$name trace" "$TMP/out/r.pftrace" --json "$TMP/out/r.json"
		fi
	done
done

# SIGKILL of mmlock while recording: the kernel frees the BPF objects; the
# workload must die with it (PR_SET_PDEATHSIG) and no temp file may stay.
for delay in 0.3 3; do
	name="SIGKILL at ${delay}s"
	mkdir -p "$TMP/out" && rm -f "$TMP/out"/*
	w="sleep 30.$tag$delay"
	"$MMLOCK" record -q --json "$TMP/out/r.json" --perfetto "$TMP/out/r.pftrace" -- $w 2>"$TMP/err" &
	pid=$!
	sleep "$delay"
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	if ! workload_gone "$w"; then
		fail "$name: the workload runs on after mmlock was killed"
		kill_workload "$w"
	elif [ -n "$(leftovers)" ]; then
		fail "$name: left $(leftovers)"
	else
		pass "$name: workload gone, nothing left in the output directory"
	fi
done

# A second SIGINT while the outputs are being written exits at once: the
# half-written temp file goes too. (--min-slice 0 makes the JSON big enough to
# be caught being written: polled for a non-empty temp file, then two
# signals, apart so that they do not merge into one.) Up to 3 tries.
name="second SIGINT while writing"
result=
for try in 1 2 3; do
	mkdir -p "$TMP/out" && rm -f "$TMP/out"/*
	"$MMLOCK" record -q -d 2 --min-slice 0 --json "$TMP/out/r.json" -- \
		"$GCSIM" --duration 3 --space-mb 16 --gc-threads 2 >/dev/null 2>"$TMP/err" &
	pid=$!
	caught=
	for ((i = 0; i < 1000; i++)); do
		if [ -n "$(find "$TMP/out" -name 'r.json.tmp.*' -size +0 2>/dev/null)" ]; then
			kill -INT "$pid"; sleep 0.01; kill -INT "$pid"
			caught=1
			break
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	wait "$pid"
	rc=$?
	if [ -n "$caught" ] && [ $rc -eq 130 ]; then
		result=$( [ -n "$(leftovers)" ] && echo "left $(leftovers)" || echo ok)
		break
	fi
	result="not caught while writing (exit $rc) in $try tries"
done
case $result in
ok) pass "$name: exit 130, nothing left" ;;
not*) skip "$name: $result" ;;
*) fail "$name: $result" ;;
esac
