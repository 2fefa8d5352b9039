#!/usr/bin/env bash
# tests/lib.sh tracefs_sweep: a test killed outright (SIGKILL, a CI timeout)
# leaves its private tracefs instance (perfetto_merge, breakdown), which goes
# on tracing sched events on every CPU until someone removes it. The next
# run sweeps it: an instance whose pid is gone is removed; one whose pid
# lives, and a name that ends in no pid, are left. Real tracefs instances,
# under a prefix of this test's own.
. "$(dirname "$0")/../lib.sh"
T=tracefs_sweep
if [ "$(id -u)" -ne 0 ]; then skip "$T: needs root for tracefs"; exit 0; fi
TR=/sys/kernel/tracing
[ -d "$TR/instances" ] || mount -t tracefs nodev "$TR" 2>/dev/null
if [ ! -d "$TR/instances" ]; then skip "$T: no tracefs at $TR"; exit 0; fi
P=mmlock-sweeptest
sleep 60 &
live=$!
true &
dead=$!
wait "$dead"
cleanup() {
	local d
	kill "$live" 2>/dev/null
	for d in "$TR/instances/$P"-*; do rmdir "$d" 2>/dev/null; done
	tmp_done
}
trap cleanup EXIT

for n in "$dead" "$live" x; do
	mkdir "$TR/instances/$P-$n" || { fail "$T: cannot create a tracefs instance"; exit 0; }
done
# As a killed perfetto_merge leaves it: sched_switch traced, tracing on.
echo 1 >"$TR/instances/$P-$dead/events/sched/sched_switch/enable"
echo 1 >"$TR/instances/$P-$dead/tracing_on"
check "$T: the left instance traces (sched_switch lines in its buffer)" \
	poll_until 5 grep -q 'sched_switch:' "$TR/instances/$P-$dead/trace"

tracefs_sweep "$TR/instances" "$P" >"$TMP/out"
check "$T: the instance of a gone pid ($dead) is removed" [ ! -e "$TR/instances/$P-$dead" ]
check "$T: ... and said so" grep -q "removed the tracefs instance .*/$P-$dead, left by a killed run" "$TMP/out"
check "$T: the instance of a live pid ($live) is left" [ -d "$TR/instances/$P-$live" ]
check "$T: a name that ends in no pid is left" [ -d "$TR/instances/$P-x" ]
exit 0
