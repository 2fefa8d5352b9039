# Shared helpers for integration tests (sourced). Each test prints
# PASS:/FAIL:/SKIP: lines that tests/run.sh counts.
# $OUT is the build directory, $TOP the source tree.
: "${OUT:?run through tests/run.sh}" "${TOP:?}"
MMLOCK=$OUT/mmlock
GCSIM=$OUT/gcsim
TMP=$(mktemp -d /tmp/mmlock-it.XXXXXX)
trap tmp_done EXIT

# tmp_done: the end of $TMP. Under tests/run.sh it is handed over, not
# removed: run.sh alone knows whether the test failed (a FAIL line from a
# checker in Python counts too), and keeps a failed test's $TMP in
# OUT/test-logs/NAME.tmp/. A VM test's guest consoles live there, and a
# fresh-clone run's failed vm_dmesg check lost the one console that could
# explain it. A test with its own EXIT trap calls this last. The place is
# this test's alone: taken out of the environment, so that a test run by a
# test (sanitizers runs bad_input) does not take it first; such a parent
# passes its own MMLOCK_TEST_LEFT, inside its $TMP.
_tmp_left=${MMLOCK_TEST_LEFT:-}
unset MMLOCK_TEST_LEFT
tmp_done() {
	if [ -n "$_tmp_left" ] && mv -T "$TMP" "$_tmp_left" 2>/dev/null; then
		return 0
	fi
	rm -rf "$TMP"
}

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

# poll_until TIMEOUT CMD...: run CMD every 50 ms until it succeeds or TIMEOUT
# seconds (fractions allowed) have passed; returns CMD's last status. For
# anything the kernel or another process finishes asynchronously (BPF objects
# freed after an exit, a child reaped, a file written): looking once races it.
# POLL_TOOK is set to how long it took ("0.35 s"), for the PASS/FAIL line.
poll_until() {
	local limit_us t0 now
	limit_us=$(awk -v t="$1" 'BEGIN { printf "%d", t * 1e6 }'); shift
	t0=${EPOCHREALTIME/./}
	while :; do
		"$@" && { _poll_took "$t0"; return 0; }
		now=${EPOCHREALTIME/./}
		[ $((now - t0)) -ge "$limit_us" ] && { _poll_took "$t0"; return 1; }
		sleep 0.05
	done
}
_poll_took() { POLL_TOOK=$(awk -v d=$((${EPOCHREALTIME/./} - $1)) 'BEGIN { printf "%.2f s", d / 1e6 }'); }

# check_within TIMEOUT NAME CMD...: check for something asynchronous: PASS once
# CMD succeeds within TIMEOUT seconds, saying how long it took; else FAIL.
check_within() {
	local t=$1 n=$2; shift 2
	if poll_until "$t" "$@"; then pass "$n (after $POLL_TOOK)"; else fail "$n: not within $t s"; fi
}

# bpf_ids PID: the BPF objects PID holds fds of, one "prog:ID", "map:ID" or
# "link:ID" a line. Ids identify one process's objects among everyone else's.
bpf_ids() {
	grep -hE '^(prog|map|link)_id:' /proc/"$1"/fdinfo/* 2>/dev/null |
		awk '{ sub(/_id:$/, "", $1); print $1 ":" $2 }' | sort -u
}
# bpf_alive IDS...: those of the bpf_ids objects that the kernel still has.
bpf_alive() {
	local o
	for o in "$@"; do
		bpftool "${o%%:*}" show id "${o#*:}" >/dev/null 2>&1 && printf '%s ' "$o"
	done
}
bpf_released() { [ -z "$(bpf_alive "$@")" ]; }

# tracefs_sweep DIR PREFIX: removes the tracefs instances DIR/PREFIX-PID
# whose PID is gone. A test makes a private instance DIR/PREFIX-$$ and removes
# it at exit, but a test killed outright (SIGKILL, a CI timeout) leaves it,
# and it goes on tracing sched events on every CPU: a tax on the machine, and
# on every later run. An instance whose PID lives (or was reused) is left.
tracefs_sweep() {
	local d pid
	for d in "$1/$2"-*; do
		[ -d "$d" ] || continue
		pid=${d##*-}
		[[ $pid =~ ^[0-9]+$ ]] || continue
		kill -0 "$pid" 2>/dev/null && continue
		echo 0 >"$d/tracing_on" 2>/dev/null
		rmdir "$d" 2>/dev/null && echo "NOTE: removed the tracefs instance $d, left by a killed run"
	done
	return 0
}

# Perfetto's trace processor (trace_processor_shell: the importer and SQL
# engine of ui.perfetto.dev), found once per test: $MMLOCK_TRACE_PROCESSOR,
# else <repo>/../shared/tools/, else /work/shared/tools/, else PATH. It must
# run (`--version`; it needs Debian's libprotobuf32, tools/install-deps.sh).
# Sets TRACE_PROCESSOR and returns 0; else prints the loud optional-tool SKIP
# line for NAME and returns 1. A MMLOCK_TRACE_PROCESSOR that does not run is
# a FAIL: it was asked for. MMLOCK_TRACE_PROCESSOR=none: as if there were none.
find_trace_processor() {
	local c
	if [ -n "${TRACE_PROCESSOR:-}" ]; then return 0; fi
	if [ "${MMLOCK_TRACE_PROCESSOR:-}" = none ]; then
		skip_optional "$1: no trace processor (set MMLOCK_TRACE_PROCESSOR) — protoc/golden checks still ran"
		return 1
	fi
	if [ -n "${MMLOCK_TRACE_PROCESSOR:-}" ]; then
		if "$MMLOCK_TRACE_PROCESSOR" --version >/dev/null 2>&1; then
			TRACE_PROCESSOR=$MMLOCK_TRACE_PROCESSOR; return 0
		fi
		fail "$1: MMLOCK_TRACE_PROCESSOR=$MMLOCK_TRACE_PROCESSOR does not run ($("$MMLOCK_TRACE_PROCESSOR" --version 2>&1 | head -n 1))"
		return 1
	fi
	for c in "$TOP/../shared/tools/trace_processor_shell" /work/shared/tools/trace_processor_shell \
		 "$(command -v trace_processor_shell)"; do
		if [ -n "$c" ] && [ -x "$c" ] && "$c" --version >/dev/null 2>&1; then
			TRACE_PROCESSOR=$c; return 0
		fi
	done
	skip_optional "$1: no trace processor (set MMLOCK_TRACE_PROCESSOR) — protoc/golden checks still ran"
	return 1
}

# skip_optional WHY: a skip because an optional tool is absent (the trace
# processor is no Debian package). It ends in OPTIONAL_TOOL, which tests/run.sh
# does not turn into a failure under CI=true: the test's other checks ran.
OPTIONAL_TOOL="[optional tool absent]"
skip_optional() { echo "SKIP: $* $OPTIONAL_TOOL"; }

# tp_check NAME TRACE [ARGS...]: tests/perfetto/tp_check.py with the trace
# processor (PASS/FAIL lines), or the optional-tool SKIP line without one.
tp_check() {
	local n=$1 t=$2; shift 2
	find_trace_processor "$n" || return 0
	python3 "$TOP/tests/perfetto/tp_check.py" --tp "$TRACE_PROCESSOR" --name "$n" "$t" "$@"
	return 0
}
