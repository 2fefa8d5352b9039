#!/usr/bin/env bash
# The VM-lab matrix (`make vmtest`): for each kernel id, build the static
# binaries of its architecture (make ARCH=... STATIC=1), boot the pinned Debian
# kernel under qemu TCG, run tools/vm/guest-test.sh in it, and print one line
# per kernel in the format tests/run.sh counts:
#   PASS: vm/ID (release): boot Bs, total Ts
#   FAIL: vm/ID (release): why          SKIP: vm/ID: why
# followed by the guest's own PASS/FAIL/SKIP lines, indented. The guest's
# recording is kept in $MMLOCK_VM_CACHE/logs/ID.guest between MMLOCK-JSON
# markers (tools/vm/guest-json.sh ID extracts it).
# Exit status: non-zero if any kernel FAILed (or, under CI=true, SKIPped).
#
# Usage: tools/vm/vmtest.sh [--no-build] [--guest SCRIPT] [ID...]
#   ID...          kernel ids from tools/vm/kernels.conf; an x86 id with -nohv
#                  appended runs without the CPUID hypervisor bit (real spinlock
#                  slow path: spin waits reach the contention tracepoints)
#                  (default: $MMLOCK_VM_KERNELS or x86-6.1 x86-6.12 x86-6.1-nohv
#                  x86-6.12-nohv arm64-6.1 arm64-6.12)
#   --all          every id (adds x86-6.17, x86-7.2 and their -nohv runs)
#   --no-build     use the binaries already in build/ARCH-static/
#   --guest FILE   guest script instead of tools/vm/guest-test.sh
# Environment: MMLOCK_VM_CACHE (kernels, logs; default /var/cache/mmlock-vm),
#   MMLOCK_VM_LOGS (consoles and guest outputs; default $MMLOCK_VM_CACHE/logs),
#   MMLOCK_VM_TIMEOUT (per guest, default 180 s, stretched x1-x4 by the host's
#   load: tools/vm/run.sh), MMLOCK_VM_TCG_THREAD (default: single for x86
#   guests, multi for arm64; see below), CI.
set -uo pipefail
# shellcheck source=tools/vm/lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

build=1 guest=$VM_DIR/guest-test.sh ids=()
while [ $# -gt 0 ]; do
	case "$1" in
	--no-build) build=""; shift ;;
	--guest) guest=$2; shift 2 ;;
	--all) mapfile -t ids < <(vm_all_ids); shift ;;
	-h|--help) sed -n '2,/^set -uo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	-*) vm_die "unknown option $1" ;;
	*) ids+=("$1"); shift ;;
	esac
done
# shellcheck disable=SC2206
[ ${#ids[@]} -gt 0 ] || ids=(${MMLOCK_VM_KERNELS:-x86-6.1 x86-6.12 x86-6.1-nohv x86-6.12-nohv arm64-6.1 arm64-6.12})
t_start=$SECONDS
logdir=$VM_LOGS
mkdir -p "$logdir" || vm_die "cannot create $logdir (run as root or set MMLOCK_VM_CACHE)"

# Which architectures the matrix needs.
archs=()
for id in "${ids[@]}"; do
	vm_check_id "$id"
	a=$(vm_arch "$id")
	[[ " ${archs[*]} " == *" $a "* ]] || archs+=("$a")
done

# Host packages: qemu, busybox-static, cpio (+ the arm64 cross toolchain).
dep_args=(--vm)
[[ " ${archs[*]} " == *" arm64 "* ]] && dep_args+=(--arm64)
"$VM_TOP/tools/install-deps.sh" "${dep_args[@]}" || vm_die "tools/install-deps.sh ${dep_args[*]} failed"

echo "vmtest: kernels: ${ids[*]}"
mapfile -t base_ids < <(for id in "${ids[@]}"; do vm_base_id "$id"; done | awk '!seen[$0]++')
"$VM_DIR/fetch-kernel.sh" "${base_ids[@]}" 2>&1 | grep -v ': cached ' | sed 's/^/  /'
[ "${PIPESTATUS[0]}" -eq 0 ] || vm_die "fetching kernels failed"

# Build the static binaries of each architecture. A binary that does not build
# is left out of the guest (guest-test.sh SKIPs what is missing) and the kernel
# line becomes a loud SKIP rather than a PASS.
declare -A files missing
for a in "${archs[@]}"; do
	out=build/$a-static
	files[$a]="" missing[$a]=""
	for bin in mmlock gcsim; do
		if [ -n "$build" ] && ! vm_build "$a" "$logdir" "$bin"; then
			echo "vmtest: guests run without $bin"
			missing[$a]+=" $bin"
			continue
		fi
		f=$VM_TOP/$out/$bin
		if [ ! -x "$f" ]; then
			missing[$a]+=" $bin"
			[ -n "$build" ] || echo "vmtest: *** $out/$bin does not exist (--no-build)"
		elif ! file -L "$f" | grep -q 'statically linked'; then
			echo "vmtest: *** $out/$bin is not statically linked; left out of the guest"
			missing[$a]+=" $bin"
		else
			files[$a]+=" $f"
		fi
	done
done

# sumval KEY: a value from run.sh's summary file ($sum), "?" if absent.
sumval() { local v; v=$(sed -n "s/^$1=//p" "$sum" 2>/dev/null); echo "${v:-?}"; }

pass=0 fail=0 skip=0
for id in "${ids[@]}"; do
	a=$(vm_arch "$id")
	sum=$logdir/$id.summary out=$logdir/$id.guest
	rm -f "$sum"
	note=""
	# x86 guests run their two vCPUs on one host thread. With one thread per
	# vCPU (qemu's default), a vCPU may run a stale translation of text that
	# the other vCPU is patching (a tracepoint's static key, an fentry nop5)
	# and die on an int3 no patch owns: qemu's artifact, not the kernel's nor
	# mmlock's (docs/vm-lab.md, "Stale int3"). Boots hit it 1 in 3 on 7.2, at
	# boot too, and a fresh-clone run's x86-6.17 guest hit it twice in a row
	# at up_write's fentry site, more than the one retry below absorbs.
	# Single-threaded TCG had none in 30 stress iterations. The matrix checks
	# mechanisms and classification; the moves still contend (6.17: 7201 of
	# 57806 anon_vma trylocks failed, single-threaded). Lock-order freezes,
	# which need vCPUs truly in parallel, are make vmstress's and vm_safety's,
	# and they keep multi-threaded TCG. arm64 patches its text with no int3.
	tcg=${MMLOCK_VM_TCG_THREAD:-}
	[ -n "$tcg" ] || case $a in x86) tcg=single ;; *) tcg=multi ;; esac
	# shellcheck disable=SC2086
	MMLOCK_VM_TCG_THREAD=$tcg vm_run_retry "$logdir/$id.log" "$out" \
		"$VM_DIR/run.sh" -o "$sum" -l "$logdir/$id.log" "$id" "$guest" ${files[$a]} 2>"$logdir/$id.run.err"
	rc=$?
	# vm_retry_reason: the stale-int3 Oops (7.2, 1 run in 3; vm_rwspin's
	# fentry attach) or a guest kernel that died before the test began.
	[ -e "$logdir/$id.log.retry" ] && note=" (booted twice: $(vm_retry_reason "$logdir/$id.log.retry"); first console $logdir/$id.log.retry)"
	release=$(sumval release) boot_s=$(sumval boot_s) total_s=$(sumval total_s)
	gfail=$(grep -c '^FAIL: ' "$out")
	what="vm/$id ($release)"
	timing="boot ${boot_s}s, total ${total_s}s"
	if [ "$rc" = 124 ]; then
		line="FAIL: $what: no result marker ($(sumval status)$(sed -n 's/^hang=\(..*\)/: \1/p; s/^lockup=\(..*\)/: \1/p' "$sum" | head -n1)), $timing; console: $logdir/$id.log, vCPU stacks: $logdir/$id.log.stacks"
	elif [ "$rc" = 125 ]; then
		line="FAIL: $what: guest dmesg shows WARNING/BUG/Oops, $timing; console: $logdir/$id.log"
	elif [ "$rc" != 0 ]; then
		line="FAIL: $what: guest test exited $rc ($gfail FAIL lines), $timing"
	elif [ -n "${missing[$a]}" ]; then
		line="SKIP: $what: booted and guest test ran ($timing) but${missing[$a]} not built for $a"
	else
		line="PASS: $what: $timing$note"
	fi
	case "$line" in PASS:*) pass=$((pass + 1)) ;; FAIL:*) fail=$((fail + 1)) ;; SKIP:*) skip=$((skip + 1)) ;; esac
	echo "$line"
	# The guest's own lines, indented so tests/run.sh counts one line per kernel.
	sed -e '/^MMLOCK-JSON-BEGIN/,/^MMLOCK-JSON-END/d' -e 's/^/    /' "$out"
	if [ "$rc" != 0 ]; then sed 's/^/    ! /' "$logdir/$id.run.err"; fi
done

echo
echo "vmtest: $pass passed, $fail failed, $skip skipped ($(( SECONDS - t_start ))s total; logs in $logdir)"
if [ -n "${CI:-}" ] && [ "$CI" != false ] && [ "$skip" -gt 0 ]; then
	echo "vmtest: CI: skips count as failures"
	fail=$((fail + skip))
fi
[ "$fail" -eq 0 ]
