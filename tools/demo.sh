#!/usr/bin/env bash
# `make demo`: record the bundled ART-style workload (gcsim) under mmlock,
# print the report, save JSON and a Perfetto trace, then run the 30 ms check.
# Usage: tools/demo.sh OUT_DIR   (results go to ./mmlock-demo/)
set -u
out=${1:?usage: tools/demo.sh OUT_DIR}
dir=${MMLOCK_DEMO_DIR:-mmlock-demo}
if [ "$(id -u)" -ne 0 ]; then
	echo "mmlock demo: needs root to load BPF programs (sudo make demo)" >&2
	exit 3
fi
mkdir -p "$dir"
echo "== mmlock record -- gcsim (4 GC threads + ui + 1 mutator, UFFDIO_MOVE, 5 s)"
"$out/mmlock" record --json "$dir/gcsim.json" --perfetto "$dir/gcsim.pftrace" -- \
	"$out/gcsim" --duration 5 --json "$dir/gcsim-truth.json"
rc=$?
[ $rc -eq 0 ] || { echo "mmlock demo: record failed (exit $rc)" >&2; exit $rc; }
echo
echo "== mmlock check --threshold 16ms -c ui (one frame at 60 Hz)"
"$out/mmlock" check --threshold 16ms -c ui "$dir/gcsim.json"
echo
echo "Saved: $dir/gcsim.json (mmlock report / check / diff), $dir/gcsim.pftrace"
echo "(open in https://ui.perfetto.dev), $dir/gcsim-truth.json (the workload's own timings)."
exit 0
