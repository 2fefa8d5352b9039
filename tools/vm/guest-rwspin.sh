#!/bin/sh
# Runs INSIDE a VM-lab guest (busybox sh, /test.sh, cwd /mmlock) for
# tests/integration/vm_rwspin.sh: the breakdown's rwsem_spin part
# (docs/breakdown.md). One gcsim load (4 GC threads moving pages) recorded by
# two mmlock instances at once: "with" gets the rwsem_spin probe (the
# ladder's choice, or its kprobe rung with RWSPIN_RUNG=kprobe), "without" has
# it refused (MMLOCK_REFUSE_ATTACH), so its optimistic spinning stays in
# on_cpu. Both recordings go back to the host between markers; the host
# checks them (no python here).
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

echo "guest: ${MMLOCK_VM_ID:-?} $(uname -r) $(uname -m), $(nproc) cpus"
refuse_with=
[ "${RWSPIN_RUNG:-auto}" = kprobe ] && refuse_with=rwsem_spin_fentry
rm -f /tmp/go && mkfifo /tmp/go
gcsim --space-mb 16 --gc-threads 4 --mutators 0 --no-ui --duration 3 --go-fd 3 \
	3<>/tmp/go >/tmp/g.out 2>&1 &
gpid=$!
# Few events and no samples: the recordings cross a slow serial console.
R="mmlock record -p $gpid -v --max-events 50 --sample-hz 0"
MMLOCK_REFUSE_ATTACH=$refuse_with $R --json /tmp/with.json >/tmp/with.out 2>&1 &
t1=$!
MMLOCK_REFUSE_ATTACH=rwsem_spin_fentry,rwsem_spin_kprobe $R --json /tmp/without.json >/tmp/without.out 2>&1 &
t2=$!
# Two verifier runs of every program under TCG, on a loaded host: minutes,
# not a hang. Said every 10 s (the host's console-silence limit).
i=0
until grep -q 'recording' /tmp/with.out && grep -q 'recording' /tmp/without.out; do
	i=$((i + 1))
	[ $i -gt 2400 ] && { fail "recorders not ready after 240 s"; break; }
	[ $((i % 100)) -eq 0 ] && echo "    waiting for the recorders ($((i / 10)) s)"
	sleep 0.1
done
echo "    recorders ready after $((i / 10)).$((i % 10)) s"
echo go >/tmp/go
wait $gpid || fail "gcsim exited $?"
wait $t1 || { fail "recorder 'with' exited $?"; tail -n 20 /tmp/with.out; }
wait $t2 || { fail "recorder 'without' exited $?"; tail -n 20 /tmp/without.out; }
grep -i 'rwsem_spin' /tmp/with.out /tmp/without.out | sed 's/^/    /'
# Kernel messages would land inside the JSON lines: only emergencies from
# here on, the poweroff's own messages included (the tty may still drain).
echo 1 >/proc/sys/kernel/printk 2>/dev/null
for r in with without; do
	echo "MMLOCK-JSON-BEGIN $r"
	cat /tmp/$r.json
	echo "MMLOCK-JSON-END"
done
sleep 1
exit $fails
