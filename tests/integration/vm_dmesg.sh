#!/usr/bin/env bash
# The VM lab's dmesg gate (tools/vm/run.sh, vm_console_problems in
# tools/vm/lib.sh): a guest whose kernel printed a WARNING/BUG/Oops fails
# its run (exit 125), and nothing else does. The kernel prints on the console
# at any time; a fresh-clone run on a loaded host failed vm_safety when a
# starved vCPU's "hrtimer: interrupt took 67968210 ns" landed between /init's
# DMESG markers and was taken for a dmesg problem line. Since then /init tags
# its dmesg lines and only tagged lines count.
# Real guests (x86 6.1): one floods the console with that hrtimer line while
# /init dumps dmesg and its script prints "WARNING:" on stdout (must pass),
# one plants a WARNING in the kernel log (must fail). Then the first guest's
# own console, read back with a planted tagged line, both ways, and a console
# whose markers a kernel message split.
. "$(dirname "$0")/../lib.sh"
if [ "$(id -u)" -ne 0 ]; then skip "vm_dmesg: needs root (packages, kernel cache)"; exit 0; fi
if [ -n "${MMLOCK_NO_VM:-}" ]; then skip "vm_dmesg: MMLOCK_NO_VM is set"; exit 0; fi
cd "$TOP" || exit 1
. "$TOP/tools/vm/lib.sh"
export MMLOCK_VM_LOGS=$TMP/vmlogs
tools/install-deps.sh --vm || { fail "vm_dmesg: tools/install-deps.sh --vm failed"; exit 0; }
T=vm_dmesg
hr='hrtimer: interrupt took 67968210 ns'

# Guest 1: from the script's last line until poweroff, a background loop
# writes the hrtimer line to the kernel log every millisecond, so the kernel
# prints it on the console while /init dumps dmesg between the markers.
cat >"$TMP/noise.sh" <<EOF
echo on >/proc/sys/kernel/printk_devkmsg
echo "WARNING: this is the script's own output, not the kernel's"
( while :; do echo "<4>$hr" >/dev/kmsg; usleep 1000; done ) &
exit 0
EOF
tools/vm/run.sh -w 30 -t 300 -l "$TMP/noise.log" -o "$TMP/noise.sum" x86-6.1 "$TMP/noise.sh" \
	>"$TMP/noise.out" 2>"$TMP/noise.err"
rc=$?
# From /init's dmesg dump on (its BEGIN marker may itself be split by one).
between=$(sed -n '/MMLOCK-VM-DM/,$p' "$TMP/noise.log" | grep -c "$hr")
check "$T: the hrtimer line reached the console during /init's dmesg dump or after ($between times)" \
	[ "$between" -gt 0 ]
check "$T: ... and the run passes (exit $rc, $(sed -n 's/^status=//p' "$TMP/noise.sum"))" \
	eval '[ "$rc" -eq 0 ] && grep -qx "status=ok" "$TMP/noise.sum"'
[ "$rc" -eq 0 ] || sed 's/^/    /' "$TMP/noise.err" | tail -n 15

# Guest 2: a WARNING in the kernel log fails the run and is printed.
printf '%s\n' 'echo on >/proc/sys/kernel/printk_devkmsg' \
	'echo "<4>WARNING: CPU: 0 PID: 1 at vm_dmesg: planted by the test" >/dev/kmsg' >"$TMP/warn.sh"
tools/vm/run.sh -w 30 -t 300 -l "$TMP/warn.log" -o "$TMP/warn.sum" x86-6.1 "$TMP/warn.sh" \
	>"$TMP/warn.out" 2>"$TMP/warn.err"
rc=$?
check "$T: a WARNING in the guest's kernel log fails the run with 125, status dmesg-warning (exit $rc)" \
	eval '[ "$rc" -eq 125 ] && grep -qx "status=dmesg-warning" "$TMP/warn.sum"'
check "$T: ... and the warning is printed" grep -q '| .*WARNING: CPU: 0 PID: 1 at vm_dmesg: planted' "$TMP/warn.err"

# The first guest's console read back: the gate's function alone.
check "$T: vm_console_problems finds nothing in the noisy console" \
	eval '[ -z "$(vm_console_problems "$TMP/noise.log")" ]'
# Planted before the console's last line, not before a marker: a kernel
# message may split a marker's line (the likely cause of this check's one
# failure in a fresh-clone run, whose console was lost).
sed '$i MMLOCK-VM-DMESG: [    9.123456] BUG: planted by the test' "$TMP/noise.log" >"$TMP/bug.log"
check "$T: ... a tagged line planted in it is found" \
	eval '[ "$(vm_console_problems "$TMP/bug.log")" = "[    9.123456] BUG: planted by the test" ]'
sed '/^MMLOCK-VM-BEGIN/i [    1.234567] Kernel panic - not syncing: planted by the test' "$TMP/noise.log" >"$TMP/panic.log"
check "$T: ... a panic printed before /init began is found" \
	eval 'vm_console_problems "$TMP/panic.log" | grep -q "Kernel panic - not syncing: planted"'

# A kernel message printed in the middle of a marker's line splits it. A
# tagged line after a split DMESG-BEGIN must still count (the old range
# began at a whole BEGIN line and saw nothing), and the message itself never.
printf '%s\n' "MMLOCK-VM-BEGIN id=x86-6.1" "MMLOCK-VM-RESULT rc=0" \
	"MMLOCK-VM-DMESG-BE[    2.950000] $hr" "GIN" \
	"MMLOCK-VM-DMESG: [    1.500000] WARNING: CPU: 0 PID: 1 at planted by the test" \
	"MMLOCK-VM-DMESG-EN[    2.960000] $hr" "D" >"$TMP/split.log"
check "$T: markers split by a kernel message: the tagged line is found, the message is not" \
	eval '[ "$(vm_console_problems "$TMP/split.log")" = "[    1.500000] WARNING: CPU: 0 PID: 1 at planted by the test" ]'
grep -v '^MMLOCK-VM-DMESG: ' "$TMP/split.log" >"$TMP/split-clean.log"
check "$T: ... and without it nothing is" eval '[ -z "$(vm_console_problems "$TMP/split-clean.log")" ]'
