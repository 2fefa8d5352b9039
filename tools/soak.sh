#!/usr/bin/env bash
# Soak: a system-wide recording under process churn (a new gcsim process,
# with uffd ioctls and anon_vma waits, every fraction of a second), its RSS
# sampled over time. Prints the growth after a warm-up and, with
# SOAK_MAX_GROWTH_KB set, fails (exit 1) above it; fails too if the recording
# holds counter samples of idle processes (the growth RSS shows only later).
#
# Usage: tools/soak.sh OUT_DIR      (make soak; as root)
#   SOAK_SECONDS=1800     how long to record (default 30 minutes)
#   SOAK_WARMUP=20        seconds before the baseline RSS is taken
#   SOAK_STEP=5           seconds between RSS samples
#   SOAK_MAX_GROWTH_KB=   fail above this growth (unset: only report)
#   SOAK_ARGS="--max-events 2000"  mmlock record options. Kept events cost
#                         ~100 bytes each (plus their stack's strings) up to
#                         --max-events (default 100000): a small cap reaches
#                         it during the warm-up, so that the growth measured is
#                         everything else (samples, tables, caches, leaks).
set -u
out=${1:?usage: tools/soak.sh OUT_DIR}
MMLOCK=$out/mmlock GCSIM=$out/gcsim
secs=${SOAK_SECONDS:-1800} warm=${SOAK_WARMUP:-20} step=${SOAK_STEP:-5}
tmp=$(mktemp -d /tmp/mmlock-soak.XXXXXX)
churn=
rec=
cleanup() {
	[ -n "$churn" ] && kill "$churn" 2>/dev/null
	[ -n "$rec" ] && kill -9 "$rec" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

args=${SOAK_ARGS---max-events 2000}
# shellcheck disable=SC2086
"$MMLOCK" record -q --json "$tmp/soak.json" $args 2>"$tmp/err" &
rec=$!
# Churn: short-lived processes, each a new pid with ioctls and lock waits.
(
	trap 'exit 0' TERM
	while :; do
		"$GCSIM" --duration 0.3 --space-mb 4 --gc-threads 2 --no-ui >/dev/null 2>&1
		sh -c 'exit 0'
	done
) &
churn=$!

t0=$SECONDS base= max=0 spawned0=$(awk '/^processes/ { print $2 }' /proc/stat)
echo "soak: ${secs}s system-wide (mmlock record $args), warm-up ${warm}s, RSS every ${step}s (KiB)"
while [ $((SECONDS - t0)) -lt "$secs" ]; do
	sleep "$step"
	kill -0 "$rec" 2>/dev/null || { echo "soak: mmlock died: $(cat "$tmp/err")"; exit 2; }
	r=$(rss_kb "$rec")
	el=$((SECONDS - t0))
	[ "$r" -gt "$max" ] && max=$r
	if [ -z "$base" ] && [ "$el" -ge "$warm" ]; then
		base=$r
		echo "t=${el}s rss=$r (baseline)"
	else
		echo "t=${el}s rss=$r"
	fi
done
kill "$churn" 2>/dev/null
wait "$churn" 2>/dev/null
churn=
end=$(rss_kb "$rec")
spawned=$(( $(awk '/^processes/ { print $2 }' /proc/stat) - spawned0 ))
kill -INT "$rec"
for _ in $(seq 600); do kill -0 "$rec" 2>/dev/null || break; sleep 0.1; done
wait "$rec"
rc=$?
rec=
[ -z "$base" ] && base=$end
growth=$((end - base))
# Samples are kept only for active processes: a zero sample must sit next to
# a non-zero one of its process (closing it, or just before it wakes up).
kept=$(python3 - "$tmp/soak.json" <<'PY' 2>/dev/null
import json, sys
r = json.load(open(sys.argv[1]))
c, by = r["counters"], {}
for s in r["samples"]:
    by.setdefault(s["pid"], []).append(s["ioctls"] + sum(s["waits"].values()))
idle = 0
for v in by.values():
    for i, x in enumerate(v):
        if not x and not (i and v[i - 1]) and not (i + 1 < len(v) and v[i + 1]):
            idle += 1
print("%d counter samples kept (%d not, %d idle), %d events kept (%d not)" % (len(r["samples"]),
      c.get("samples_not_kept", 0), idle, len(r["events"]), c["events_not_kept"]))
PY
)
echo "soak: baseline ${base} KiB, end ${end} KiB, growth ${growth} KiB, max ${max} KiB;" \
     "${spawned} processes started on the machine; ${kept:-recording unreadable}; mmlock exit $rc"
if [ "$rc" -ne 0 ]; then
	echo "soak: mmlock failed: $(cat "$tmp/err")"
	exit 2
fi
if ! "$MMLOCK" report "$tmp/soak.json" >/dev/null; then
	echo "soak: the recording does not read back"
	exit 2
fi
if [ -n "${SOAK_MAX_GROWTH_KB:-}" ] && [ "$growth" -gt "$SOAK_MAX_GROWTH_KB" ]; then
	echo "soak: RSS grew by ${growth} KiB (limit ${SOAK_MAX_GROWTH_KB} KiB)"
	exit 1
fi
# RSS alone is slow to show growth: the heap holds a few MiB freed by the
# BPF load, which new allocations reuse first. Idle samples show it early.
case $kept in
*", 0 idle)"*) ;;
*) echo "soak: samples kept for idle processes"; exit 1 ;;
esac
exit 0
