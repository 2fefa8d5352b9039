# Shared helpers for integration tests (sourced). Each test prints
# PASS:/FAIL:/SKIP: lines that tests/run.sh counts.
# $OUT is the build directory, $TOP the source tree.
: "${OUT:?run through tests/run.sh}" "${TOP:?}"
MMLOCK=$OUT/mmlock
GCSIM=$OUT/gcsim
TMP=$(mktemp -d /tmp/mmlock-it.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; }
skip() { echo "SKIP: $*"; }
# check NAME CMD...: PASS if CMD succeeds, else FAIL.
check() { local n=$1; shift; if "$@"; then pass "$n"; else fail "$n"; fi; }

# check_invariants NAME FILE.json: what every recording must satisfy
# (tests/invariants.py); one PASS or FAIL line per invariant.
check_invariants() { python3 "$TOP/tests/invariants.py" --name "$1" "$2"; }

# Returns non-zero (with a loud SKIP line) when BPF cannot be used here.
need_bpf() {
	if [ "$(id -u)" -ne 0 ]; then skip "$1: needs root for BPF"; return 1; fi
	if [ ! -r /sys/kernel/btf/vmlinux ]; then skip "$1: no /sys/kernel/btf/vmlinux"; return 1; fi
	return 0
}
