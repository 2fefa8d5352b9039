#!/bin/sh
# Runs INSIDE a VM-lab guest (busybox sh, as /test.sh) under tools/vm/ab.sh:
# AB_RUNS recordings of the same gcsim load, each printed between
#   MMLOCK-JSON-BEGIN runI   ...   MMLOCK-JSON-END
# for the host to keep and diff. Prints a PASS/FAIL line per run and exits
# with the number of failed runs.
# Environment: AB_RUNS (default 5), AB_SECONDS (gcsim --duration, default 2),
# MMLOCK_VM_ID, MMLOCK_VM_RELEASE.

n=${AB_RUNS:-5} secs=${AB_SECONDS:-2}
# The VM matrix's load (guest-test.sh): two GC threads moving pages of one
# VMA contend for its anon_vma where UFFDIO_MOVE still takes that lock.
G="gcsim --space-mb 16 --gc-threads 2 --mutators 0 --no-ui --duration $secs"
fails=0
echo "guest: ${MMLOCK_VM_ID:-?} $(uname -r), $(nproc) cpus: $n runs of: $G"
# Kernel messages on the console could land inside a JSON line (the host
# drops them, leaving a cut string): only emergencies while we print.
lvl=$(cut -f1 /proc/sys/kernel/printk 2>/dev/null)
echo 1 >/proc/sys/kernel/printk 2>/dev/null
i=1
while [ "$i" -le "$n" ]; do
	# Histograms are what the diff reads: no events (--max-events 0) keeps the console short.
	# shellcheck disable=SC2086 # $G is a word list
	mmlock record -q --max-events 0 --json /tmp/ab.json -- $G --json /tmp/g.json >/tmp/ab.out 2>&1
	rc=$?
	if [ $rc -eq 0 ] && [ -s /tmp/ab.json ]; then
		echo "PASS: run $i: record -- gcsim ($(wc -c </tmp/ab.json) bytes)"
		echo "MMLOCK-JSON-BEGIN run$i"
		cat /tmp/ab.json
		echo "MMLOCK-JSON-END"
	else
		echo "FAIL: run $i: mmlock record exited $rc"
		tail -n 20 /tmp/ab.out
		fails=$((fails + 1))
	fi
	i=$((i + 1))
done
[ -n "$lvl" ] && echo "$lvl" >/proc/sys/kernel/printk 2>/dev/null
exit $fails
