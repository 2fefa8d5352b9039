#!/usr/bin/env bash
# [ladder]/[android]: the VM matrix (tools/vm/vmtest.sh, six kernels): static x86 and
# arm64 builds booted on Debian's 6.1, 6.12 (x86 and arm64), 6.17 and 7.2
# kernels under qemu TCG; per kernel the mechanism each probe got, the
# classification against the tracepoint path, a clean dmesg. Then the
# before/after pair of the anon_vma change: `mmlock diff` of the 6.17 and 7.2
# recordings must show UFFDIO_MOVE's anon_vma write trylocks (and their
# failures) gone.
. "$(dirname "$0")/../lib.sh"
if [ "$(id -u)" -ne 0 ]; then skip "vm_matrix: needs root (packages, kernel cache)"; exit 0; fi
if [ -n "${MMLOCK_NO_VM:-}" ]; then skip "vm_matrix: MMLOCK_NO_VM is set"; exit 0; fi

cd "$TOP" || exit 1
# This run's own consoles and guest outputs: another suite or `make vmstress`
# on this machine writes the shared ones (tools/vm/lib.sh, MMLOCK_VM_LOGS).
export MMLOCK_VM_LOGS=$TMP/vmlogs
# The six kernels, with the hypervisor bit (the -nohv runs and their safety
# loop are tests/integration/vm_safety.sh; `tools/vm/vmtest.sh --all` has both).
tools/vm/vmtest.sh x86-6.1 x86-6.12 arm64-6.1 arm64-6.12 x86-6.17 x86-7.2
# x86 guests boot on single-threaded TCG, out of reach of qemu's stale-int3
# Oops (it struck a fresh-clone run's 6.17 guest twice in a row; vmtest.sh).
tcg_of() { # ID: the TCG threading its console header names
	sed -n "s/^MMLOCK-VM-HOST id=$1 .* tcg=\([a-z]*\) .*/\1/p" "$MMLOCK_VM_LOGS/$1.log"
}
check "the x86 guests ran on single-threaded TCG, the arm64 ones multi-threaded" \
	[ "$(for id in x86-6.1 x86-6.12 x86-6.17 x86-7.2 arm64-6.1 arm64-6.12; do tcg_of $id; done | tr '\n' ' ')" \
	= "single single single single multi multi " ]
tools/vm/guest-json.sh x86-6.17 >"$TMP/before.json" 2>"$TMP/err" || { fail "6.17 recording: $(cat "$TMP/err")"; exit 0; }
tools/vm/guest-json.sh x86-7.2 >"$TMP/after.json" 2>"$TMP/err" || { fail "7.2 recording: $(cat "$TMP/err")"; exit 0; }
"$MMLOCK" diff "$TMP/before.json" "$TMP/after.json" >"$TMP/diff.txt" 2>&1
check "mmlock diff of the 6.17 and 7.2 recordings exits 0" [ $? -eq 0 ]
sed 's/^/    /' "$TMP/diff.txt" | head -30
python3 - "$TMP" <<'PY'
import json, sys
d = sys.argv[1]
def res(name, ok, why=""):
    print(("PASS: " if ok else "FAIL: ") + name + ("" if ok else ": " + why))
def trylocks(path):
    r = json.load(open(path)); n = f = 0
    for t in r["threads"]:
        for h in t["hists"]:
            if h["kind"] == "trylock" and h["class"] == "anon_vma_write" and h["site"] == "uffd_move":
                n += h["count"]; f += h["failed"]
    return r, n, f
b, bn, bf = trylocks(d + "/before.json")
a, an, af = trylocks(d + "/after.json")
res("before (6.17): UFFDIO_MOVE takes the anon_vma write lock, some trylocks fail", bn > 0 and bf > 0, "%d/%d" % (bf, bn))
res("after (7.2): no anon_vma write trylock in UFFDIO_MOVE", an == 0, "%d" % an)
res("the two recordings are from the two kernels", b["kernel"].startswith("6.17") and a["kernel"].startswith("7.2"),
    b["kernel"] + " / " + a["kernel"])
PY
check "the diff lists the anon_vma trylock row" grep -q "trylock .*anon_vma write .*uffd_move" "$TMP/diff.txt"
