#!/usr/bin/env bash
# The VM lab's safety runs (`make vmstress`): per kernel, boot once and loop
# tools/vm/guest-stress.sh inside (mmlock --min-slice 0, two recorders at
# once, mmlock next to a second BPF user of the contention tracepoints), with
# the host kept busy meanwhile: a freeze needs a vCPU descheduled by the host
# while it holds a lock, which a quiet host rarely does (docs/vm-lab.md).
# A hung guest is caught by run.sh's watchdogs; its console tail and the
# symbolized vCPU stacks are printed. Prints per kernel:
#   PASS: vmstress/ID (release): N iterations x MODES, 0 freezes, Ts
#   FAIL: vmstress/ID (release): FROZE in iteration I (MODE) after Ts ...
# Exit status: non-zero if any kernel failed.
#
# Usage: tools/vm/vmstress.sh [--no-build] [ID...]
#   ID...        run ids (default: $VMSTRESS_KERNELS or
#                x86-6.1-nohv x86-6.12-nohv arm64-6.1 arm64-6.12)
#   --no-build   use the binaries already in build/ARCH-static/
# Environment:
#   VMSTRESS_ITERS      iterations per kernel (default 50)
#   VMSTRESS_MODES      phases per iteration (default "min0 two peer"; also "attach",
#                       and "toggle": no mmlock, tracefs enables the same tracepoints)
#   VMSTRESS_LOAD_S     gcsim seconds per phase (default 2)
#   VMSTRESS_HOST_LOAD  busy (default: two busy loops), make (two compile
#                       loops over mmlock's sources), none
#   MMLOCK_VM_TCG_THREAD  multi (default) or single. Multi-threaded TCG runs
#                       the vCPUs truly in parallel (what catches a lock-order
#                       freeze), but executes stale int3s of x86 text
#                       patching: a guest killed by it ("Oops: int3", an
#                       int3 loop, in the handler or at its site, or a soft
#                       lockup on a jump label) is booted
#                       again and the iteration re-run (counted, not a freeze;
#                       the toggle mode shows the Oops with no BPF loaded;
#                       docs/vm-lab.md). Single-threaded TCG has no such Oops
#                       but hid the old ring-buffer deadlock in 5 iterations.
#   VMSTRESS_LOGDIR     where consoles and stacks are kept (default
#                       $MMLOCK_VM_CACHE/logs; a freeze's are also copied to /tmp)
set -uo pipefail
# shellcheck source=tools/vm/lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"	# and the artifact rules, tools/vm/tcg-artifact.sh

build=1 ids=()
while [ $# -gt 0 ]; do
	case "$1" in
	--no-build) build=""; shift ;;
	-h|--help) sed -n '2,/^set -uo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "usage: $0 [--no-build] [ID...] (-h for help)" >&2; exit 2 ;;
	*) ids+=("$1"); shift ;;
	esac
done
# shellcheck disable=SC2206
[ ${#ids[@]} -gt 0 ] || ids=(${VMSTRESS_KERNELS:-x86-6.1-nohv x86-6.12-nohv arm64-6.1 arm64-6.12})
iters=${VMSTRESS_ITERS:-50}
modes=${VMSTRESS_MODES:-min0 two peer}
load_s=${VMSTRESS_LOAD_S:-2}
host_load=${VMSTRESS_HOST_LOAD:-busy}
logdir=${VMSTRESS_LOGDIR:-$VM_LOGS}
case "$iters" in ''|*[!0-9]*|0) echo "vmstress: VMSTRESS_ITERS must be a positive integer" >&2; exit 2 ;; esac
for m in $modes; do
	case "$m" in min0|two|peer|attach|toggle) ;; *) echo "vmstress: unknown mode '$m' (min0 two peer attach toggle)" >&2; exit 2 ;; esac
done
case "$host_load" in busy|make|none) ;; *) echo "vmstress: VMSTRESS_HOST_LOAD must be busy, make or none" >&2; exit 2 ;; esac
mkdir -p "$logdir" || vm_die "cannot create $logdir"
t_start=$SECONDS

archs=()
for id in "${ids[@]}"; do
	vm_check_id "$id"
	a=$(vm_arch "$(vm_base_id "$id")")
	[[ " ${archs[*]} " == *" $a "* ]] || archs+=("$a")
done
dep_args=(--vm)
[[ " ${archs[*]} " == *" arm64 "* ]] && dep_args+=(--arm64)
"$VM_TOP/tools/install-deps.sh" "${dep_args[@]}" || vm_die "tools/install-deps.sh ${dep_args[*]} failed"

bins=(mmlock gcsim)
[[ " $modes " == *" peer "* ]] && bins+=(peer/contention_peer)
declare -A files
for a in "${archs[@]}"; do
	if [ -n "$build" ]; then
		vm_build "$a" "$logdir" "${bins[@]}" || vm_die "build for $a failed"
	fi
	files[$a]=""
	for b in "${bins[@]}"; do
		f=$VM_TOP/build/$a-static/$b
		file -L "$f" 2>/dev/null | grep -q 'statically linked' || vm_die "$f missing or not static (drop --no-build)"
		files[$a]+=" $f"
	done
done

# Host load, ended on every exit path.
load_pids=()
stop_load() {
	local p
	for p in "${load_pids[@]+"${load_pids[@]}"}"; do
		kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null
	done
	load_pids=()
}
trap stop_load EXIT
trap 'exit 130' INT TERM
start_load() {
	case "$host_load" in
	busy)
		# Two spinning shells: each vCPU thread of qemu shares a host CPU.
		for _ in 1 2; do
			setsid bash -c 'while :; do :; done' &
			load_pids+=($!)
		done
		;;
	make)
		# Two compile loops (mmlock's userspace sources, output discarded).
		for _ in 1 2; do
			setsid bash -c 'while :; do for f in "$1"/src/*.c; do
				gcc -O2 -I"$1"/include -I"$1"/src -I"$1"/build/x86-static -c "$f" -o /dev/null 2>/dev/null
				done; done' _ "$VM_TOP" &
			load_pids+=($!)
		done
		;;
	none) ;;
	esac
}

echo "vmstress: kernels: ${ids[*]}; $iters iterations of: $modes; host load: $host_load"
fail=0
for id in "${ids[@]}"; do
	a=$(vm_arch "$(vm_base_id "$id")")
	log=$logdir/stress-$id.log out=$logdir/stress-$id.guest sum=$logdir/stress-$id.summary
	rm -f "$sum" "$log.stacks" "$log.gdb"
	# Per-phase bound in the guest, and the wall clock on the host: generous
	# (TCG under host load), yet a freeze is caught by the 30 s silence limit.
	phase_s=$((60 + 20 * load_s))
	nmodes=$(wc -w <<<"$modes")
	tcg=${MMLOCK_VM_TCG_THREAD:-multi}
	last_mode=${modes##* }
	done_iters=0 artifacts=0 rc=0 secs=0
	: >"$out.all"
	# Boot, run the iterations still owed; a guest killed by a stale-int3
	# Oops (qemu's, see below) is booted again and the iteration it died in
	# is run again. Anything else ends this kernel's run.
	while [ "$done_iters" -lt "$iters" ]; do
		left=$((iters - done_iters))
		wall=$((120 + left * nmodes * phase_s))
		start_load
		t0=$SECONDS
		# oops=panic: an Oops ends the boot at once, so a later hang is never
		# taken for the Oops that came first.
		# shellcheck disable=SC2086
		MMLOCK_VM_TCG_THREAD=$tcg "$VM_DIR/run.sh" -t "$wall" -w 30 -a oops=panic -o "$sum" -l "$log" \
			-e "VMSTRESS_ITERS=$left" -e "VMSTRESS_MODES=$modes" -e "VMSTRESS_LOAD_S=$load_s" \
			-e "VMSTRESS_PHASE_S=$phase_s" \
			"$id" "$VM_DIR/guest-stress.sh" ${files[$a]} >"$out" 2>"$log.err"
		rc=$?
		stop_load
		secs=$((secs + SECONDS - t0))
		cat "$out" >>"$out.all"
		done_iters=$((done_iters + $(grep -c "^ITER [0-9]*/[0-9]* $last_mode ok " "$out")))
		[ "$rc" = 0 ] && break
		# Multi-threaded TCG can execute a translation of code another vCPU
		# already re-patched: the kernel takes an int3 memory no longer holds
		# and dies ("Oops: int3"), with or without mmlock (the toggle mode
		# shows it with no BPF loaded; docs/vm-lab.md, "Stale int3"). Not a
		# freeze of the guest's making: counted, and the run goes on.
		# On 6.1 the same stale int3 hangs instead: the kernel's int3 handler
		# finds no int3 in memory, takes it for one another CPU just removed
		# and re-executes it, for ever (with the runqueue lock held: the other
		# vCPU may spin on it). Told by the vCPU stacks, see stale_int3_hang,
		# or, when the dump catches the loop at the site itself rather than in
		# the handler, by the code bytes there (stale_patch_hang).
		int3=""
		[ "$rc" = 124 ] && { int3=$(tcg_artifact "$log") || int3=""; }
		if [ -n "$int3" ] && [ "$artifacts" -lt 25 ]; then
			artifacts=$((artifacts + 1))
			cp "$log" "$logdir/stress-$id.int3-$artifacts.log"
			echo "ITER $((done_iters + 1)) TCG-ARTIFACT: $int3 (stale translation of patched text), guest booted again" >>"$out.all"
			[ -r "$log.stacks" ] && cp "$log.stacks" "$logdir/stress-$id.int3-$artifacts.stacks"
			continue
		fi
		break
	done
	mv "$out.all" "$out"
	release=$(sed -n 's/^release=//p' "$sum" 2>/dev/null)
	status=$(sed -n 's/^status=//p' "$sum" 2>/dev/null)
	ok_phases=$(grep -c '^ITER .* ok ' "$out")
	last_start=$(grep '^ITER .* start$' "$out" | tail -n1 | awk '{ print $2, $3 }')
	what="vmstress/$id (${release:-?}, TCG $tcg)"
	extra=""
	[ "$artifacts" -gt 0 ] && extra=", $artifacts guest reboots after a TCG stale int3 (Oops or int3 loop; not freezes: docs/vm-lab.md)"
	if [ "$rc" = 0 ] && [ "$done_iters" -ge "$iters" ]; then
		echo "PASS: $what: $iters iterations x ($modes), 0 freezes$extra, ${secs}s"
	elif [ "$rc" = 124 ]; then
		keep=/tmp/vmstress-$id-$(date +%Y%m%d-%H%M%S)
		mkdir -p "$keep" && cp "$log" "$log.err" "$out" "$keep/" && cp "$log".stacks "$log".gdb "$keep/" 2>/dev/null
		[ -n "$int3" ] && status="$status: $int3 again, after $artifacts reboots"
		echo "FAIL: $what: FROZE ($status) in iteration ${last_start:-? ?} after ${secs}s, $ok_phases phases passed before$extra; logs: $keep"
		fail=$((fail + 1))
	else
		echo "FAIL: $what: guest stress exited $rc ($status), $(grep -c '^ITER .* FAIL ' "$out") failed phases$extra, ${secs}s"
		fail=$((fail + 1))
	fi
	# Per-phase lines and the guest's own notes, indented; the heartbeat is noise.
	grep -v -e '^stress: alive' -e '^ITER .* start$' "$out" | sed 's/^/    /' | tail -n 400
	if [ "$rc" != 0 ]; then sed 's/^/    ! /' "$log.err"; fi
done
echo
echo "vmstress: ${#ids[@]} kernels, $fail failed ($((SECONDS - t_start))s total; logs in $logdir)"
[ "$fail" -eq 0 ]
