#!/usr/bin/env bash
# Prints the recording (JSON) a VM-lab guest made in its last `vmtest.sh` run.
# Usage: tools/vm/guest-json.sh ID > rec.json
set -euo pipefail
# shellcheck source=tools/vm/lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"
id=${1:?usage: tools/vm/guest-json.sh ID}
f=$VM_CACHE/logs/$id.guest
[ -r "$f" ] || vm_die "no guest output for $id ($f): run tools/vm/vmtest.sh $id first"
out=$(sed -n '/^MMLOCK-JSON-BEGIN/,/^MMLOCK-JSON-END/p' "$f" | sed '1d;$d')
[ -n "$out" ] || vm_die "$f holds no recording"
printf '%s\n' "$out"
