#!/usr/bin/env bash
# `make ab`: the same gcsim load N times on a "before" and an "after" kernel of
# the VM lab (default x86-6.17 -> x86-7.2, the anon_vma change of 6.19), one
# boot per kernel, then `mmlock diff` over the two sets: per row the per-run
# values, the Mann-Whitney test and a verdict (docs/verify.md), the ioctl
# breakdown side by side. The recordings are kept:
#   DIR/STAMP/before/runI.json, after/runI.json   the runs (mmlock report/diff)
#   DIR/STAMP/verdict.txt, verdict.json           mmlock diff, as text and --json
#   DIR/STAMP/{before,after}.guest, *.log         the guests' output and consoles
# Runs inside one boot share that boot's state: the spread is run to run, not
# boot to boot. qemu TCG is no phone: docs/vm-lab.md says what it tells.
#
# Usage: tools/vm/ab.sh [-n N] [-s SECS] [-o DIR] [--no-build] [BEFORE_ID [AFTER_ID]]
#   -n N         runs per kernel (default $AB_RUNS or 5; fewer than 4 a side can never be significant)
#   -s SECS      gcsim --duration per run (default $AB_SECONDS or 2)
#   -o DIR       where the results go (default $AB_DIR or ./mmlock-ab)
#   --no-build   use the binaries already in build/ARCH-static/ and build/ARCH/
#   BEFORE_ID AFTER_ID  kernel ids of tools/vm/kernels.conf, one architecture
#                (default x86-6.17 x86-7.2; x86-6.12 is a second "before")
# Exit status: 0 if both kernels gave N recordings and the diff ran (it asks
# no --max-regression: the verdict is printed, not judged); 1 if a guest
# failed or gave fewer recordings; 2 if mmlock diff refused the recordings.
set -uo pipefail
# shellcheck source=tools/vm/lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

n=${AB_RUNS:-5} secs=${AB_SECONDS:-2} dir=${AB_DIR:-mmlock-ab} build=1 ids=()
while [ $# -gt 0 ]; do
	case "$1" in
	-n) n=$2; shift 2 ;;
	-s) secs=$2; shift 2 ;;
	-o) dir=$2; shift 2 ;;
	--no-build) build=""; shift ;;
	-h|--help) sed -n '2,/^set -uo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	-*) vm_die "unknown option $1" ;;
	*) ids+=("$1"); shift ;;
	esac
done
[[ "$n" =~ ^[1-9][0-9]*$ ]] || vm_die "-n wants a number of runs, not '$n'"
[[ "$secs" =~ ^[1-9][0-9]*$ ]] || vm_die "-s wants whole seconds, not '$secs'"
before=${ids[0]:-x86-6.17} after=${ids[1]:-x86-7.2}
vm_check_id "$before"
vm_check_id "$after"
arch=$(vm_arch "$before")
[ "$(vm_arch "$after")" = "$arch" ] || vm_die "$before and $after are of different architectures"
host=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

out=$dir/$(date +%Y%m%d-%H%M%S)
mkdir -p "$out/before" "$out/after" || vm_die "cannot create $out"
t_start=$SECONDS
deps=(--vm)
[ "$arch" = arm64 ] && deps+=(--arm64)
"$VM_TOP/tools/install-deps.sh" "${deps[@]}" >/dev/null ||
	vm_die "tools/install-deps.sh --vm failed"
"$VM_DIR/fetch-kernel.sh" "$(vm_base_id "$before")" "$(vm_base_id "$after")" 2>&1 | grep -v ': cached ' | sed 's/^/  /'
if [ -n "$build" ]; then
	vm_build "$arch" "$out" mmlock gcsim || vm_die "static build failed (logs in $out)"
	make -C "$VM_TOP" --no-print-directory "build/$host/mmlock" >"$out/build-host.log" 2>&1 ||
		vm_die "host build of mmlock failed ($out/build-host.log)"
fi
mm=$VM_TOP/build/$host/mmlock
for f in "$VM_TOP/build/$arch-static/mmlock" "$VM_TOP/build/$arch-static/gcsim" "$mm"; do
	[ -x "$f" ] || vm_die "$f is missing (run without --no-build)"
done

# Boot, record, print: 35-50 s a run of 2 s under TCG on the loaded 2-core
# host (2026-11-30: 186 s for 5 runs on 6.17, 245 s on 7.2), plus the boot.
limit=$((120 + n * (secs + 60)))
rc_all=0
for side in before after; do
	id=$before
	[ $side = after ] && id=$after
	vm_run_retry "$out/$side.log" "$out/$side.guest" \
		"$VM_DIR/run.sh" -t "$limit" -o "$out/$side.summary" -l "$out/$side.log" \
		-e "AB_RUNS=$n" -e "AB_SECONDS=$secs" "$id" "$VM_DIR/guest-ab.sh" \
		"$VM_TOP/build/$arch-static/mmlock" "$VM_TOP/build/$arch-static/gcsim" 2>"$out/$side.err"
	rc=$?
	[ -e "$out/$side.log.retry" ] && echo "ab: $id: booted once more after $(vm_retry_reason "$out/$side.log.retry") ($out/$side.log.retry)"
	# One file per run, from between the markers.
	awk -v d="$out/$side" '
		/^MMLOCK-JSON-BEGIN / { f = d "/" $2 ".json"; next }
		/^MMLOCK-JSON-END/ { close(f); f = ""; next }
		f { print > f }' "$out/$side.guest"
	got=$(find "$out/$side" -name 'run*.json' | wc -l)
	echo "ab: $side = $id ($(sed -n 's/^release=//p' "$out/$side.summary" 2>/dev/null)): guest exit $rc, $got of $n recordings, $(sed -n 's/^total_s=//p' "$out/$side.summary" 2>/dev/null) s"
	grep -E '^(FAIL|SKIP): ' "$out/$side.guest" | sed 's/^/    /'
	if [ "$rc" != 0 ] || [ "$got" -ne "$n" ]; then
		rc_all=1
		sed 's/^/    ! /' "$out/$side.err" | tail -n 20
	fi
	[ "$got" -gt 0 ] || vm_die "no recording from $id: see $out/$side.guest and $out/$side.log"
done

"$mm" diff --json --before "$out/before" --after "$out/after" >"$out/verdict.json"
"$mm" diff --before "$out/before" --after "$out/after" | tee "$out/verdict.txt"
drc=${PIPESTATUS[0]}
# The headline: the anon_vma write trylocks UFFDIO_MOVE made, per run, each side.
python3 - "$out/verdict.json" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
t = [r for r in o["rows"] if r["kind"] == "trylock" and r["class"] == "anon_vma_write" and r["site"] == "uffd_move"]
def per_run(side, what):
    return [sum(r["per_run"][what][side][i] for r in t) for i in range(o[side]["runs"])]
print("\nanon_vma write trylocks at uffd_move per run (all threads): before %s (failed %s), after %s (failed %s)"
      % (per_run("before", "count"), per_run("before", "failed"), per_run("after", "count"), per_run("after", "failed")))
for r in t:
    print("  %-16s trylock rows: %s, p=%.4f" % (r["thread"], r["verdict"], r["p"]))
PY
echo "ab: recordings and verdict in $out ($((SECONDS - t_start)) s)"
[ "$drc" -le 1 ] || rc_all=$drc
exit "$rc_all"
