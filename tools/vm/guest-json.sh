#!/usr/bin/env bash
# Prints a recording (JSON) a VM-lab guest made in its last `vmtest.sh` run:
# NAME auto (the default) is the guest test's first recording; tp and both are
# the two side-by-side recorders, kept only when their comparison failed.
# Usage: tools/vm/guest-json.sh ID [NAME] > rec.json
set -euo pipefail
# shellcheck source=tools/vm/lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"
id=${1:?usage: tools/vm/guest-json.sh ID [NAME]}
name=${2:-auto}
f=$VM_LOGS/$id.guest
[ -r "$f" ] || vm_die "no guest output for $id ($f): run tools/vm/vmtest.sh $id first"
out=$(sed -n "/^MMLOCK-JSON-BEGIN $name\$/,/^MMLOCK-JSON-END/p" "$f" | sed '1d;$d')
[ -n "$out" ] || vm_die "$f holds no recording named $name"
printf '%s\n' "$out"
