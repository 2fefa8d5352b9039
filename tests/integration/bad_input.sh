#!/usr/bin/env bash
# The bad-input matrix: every reader command (report, perfetto, check, diff)
# given every broken recording, and outputs pointed at places they must not
# replace. Each case: the documented exit code, exactly one line on stderr
# ("mmlock: ..." naming the file, and the field for a bad field), nothing
# left behind. Runs without BPF except the record cases at the end.
. "$(dirname "$0")/../lib.sh"

# expect NAME CODE GREP CMD...: exit CODE, one stderr line "mmlock: ...GREP...".
expect() {
	local name=$1 code=$2 want=$3; shift 3
	"$@" >"$TMP/stdout" 2>"$TMP/stderr"
	local rc=$? lines
	lines=$(grep -c '' "$TMP/stderr")
	if [ $rc -ne "$code" ] || [ "$lines" -ne 1 ] || ! grep -q '^mmlock: ' "$TMP/stderr"; then
		fail "$name: exit $rc (want $code), stderr: $(head -c 300 "$TMP/stderr")"
	elif ! grep -qF -- "$want" "$TMP/stderr"; then
		fail "$name: stderr lacks '$want': $(head -c 300 "$TMP/stderr")"
	elif [ -n "$(ls -A "$TMP/out")" ]; then
		fail "$name: left $(ls -A "$TMP/out" | tr '\n' ' ')"
	else
		pass "$name"
	fi
}
mkdir -p "$TMP/out" "$TMP/exp"
good=$TMP/good.json
echo '{"tool":"mmlock","format":1,"start_ns":1,"end_ns":2,"threads":[{"tid":7,"comm":"t",
 "hists":[{"kind":"lock","class":"anon_vma_write","site":"uffd_move","count":1,"max_ns":1500,
 "hist":[[1280,1536,1]]}]}]}' >"$good"
for cmd in report check; do
	expect "$cmd of a good file" 0 "" sh -c "\"$MMLOCK\" $cmd \"$good\" && echo 'mmlock: ok' >&2"
done

# case NAME FIELD JSON: FIELD is what the one line must name.
cases=()
case_() { cases+=("$1"$'\t'"$2"$'\t'"$3"); }
T='"tool":"mmlock","format":1'
case_ "duplicate tid (heap overflow)" "thread 1 is listed twice" \
	"{$T,\"threads\":[{\"tid\":1,\"stacks\":[{\"kind\":\"lock\",\"class\":\"spin\",\"site\":\"other\"}]},{\"tid\":1,\"stacks\":[{\"kind\":\"lock\",\"class\":\"spin\",\"site\":\"other\"}]}]}"
case_ "the issue's 89 bytes" "threads[0].stacks[0].kind" \
	"{$T,\"threads\":[{\"tid\":1,\"stacks\":[{}]},{\"tid\":1,\"stacks\":[{}]}]}"
case_ "tid a string" "threads[0].tid" "{$T,\"threads\":[{\"tid\":\"abc\"}]}"
case_ "threads of numbers" "threads[0]: not an object" "{$T,\"threads\":[1,\"a\"]}"
case_ "tid 1e30" "threads[0].tid" "{$T,\"threads\":[{\"tid\":1e30}]}"
case_ "tid 2^64-1" "threads[0].tid" "{$T,\"threads\":[{\"tid\":18446744073709551615}]}"
case_ "tid negative" "threads[0].tid" "{$T,\"threads\":[{\"tid\":-1}]}"
case_ "tid fractional" "threads[0].tid" "{$T,\"threads\":[{\"tid\":1.5}]}"
case_ "start after end" "end_ns" "{$T,\"start_ns\":5,\"end_ns\":4,\"threads\":[]}"
case_ "threads an object" "threads: not an array" "{$T,\"threads\":{}}"
case_ "threads missing" "threads: missing" "{$T}"
case_ "unknown ioctl name" "hists[0].command: unknown name 'UFFDIO_FOO'" \
	"{$T,\"threads\":[{\"tid\":1,\"hists\":[{\"kind\":\"ioctl\",\"command\":\"UFFDIO_FOO\",\"site\":\"other\"}]}]}"
case_ "ioctl name with junk" "hists[0].command" \
	"{$T,\"threads\":[{\"tid\":1,\"hists\":[{\"kind\":\"ioctl\",\"command\":\"UFFDIO_0x1zz\",\"site\":\"other\"}]}]}"
case_ "unknown class" "hists[0].class: unknown name 'nope'" \
	"{$T,\"threads\":[{\"tid\":1,\"hists\":[{\"kind\":\"lock\",\"class\":\"nope\",\"site\":\"other\"}]}]}"
case_ "a histogram twice" "a second histogram" \
	"{$T,\"threads\":[{\"tid\":1,\"hists\":[{\"kind\":\"lock\",\"class\":\"spin\",\"site\":\"other\"},{\"kind\":\"lock\",\"class\":\"spin\",\"site\":\"other\"}]}]}"
case_ "bucket count over 2^32" "hists[0].hist[0]" \
	"{$T,\"threads\":[{\"tid\":1,\"hists\":[{\"kind\":\"lock\",\"class\":\"spin\",\"site\":\"other\",\"hist\":[[1408,1536,4294967296]]}]}]}"
case_ "bucket hi wrong" "hists[0].hist[0]" \
	"{$T,\"threads\":[{\"tid\":1,\"hists\":[{\"kind\":\"lock\",\"class\":\"spin\",\"site\":\"other\",\"hist\":[[1408,9,1]]}]}]}"
case_ "count a string" "hists[0].count" \
	"{$T,\"threads\":[{\"tid\":1,\"hists\":[{\"kind\":\"lock\",\"class\":\"spin\",\"site\":\"other\",\"count\":\"1\"}]}]}"
case_ "frame not a string" "stacks[0].frames[1]" \
	"{$T,\"threads\":[{\"tid\":1,\"stacks\":[{\"kind\":\"lock\",\"class\":\"spin\",\"site\":\"other\",\"frames\":[\"a\",2]}]}]}"
case_ "comm too long" "threads[0].comm" "{$T,\"threads\":[{\"tid\":1,\"comm\":\"0123456789abcdef\"}]}"
case_ "event kind unknown" "events[0].kind" "{$T,\"threads\":[],\"events\":[{\"kind\":\"x\",\"site\":\"other\"}]}"
case_ "event ret out of range" "events[0].ret" \
	"{$T,\"threads\":[],\"events\":[{\"kind\":\"ioctl\",\"command\":\"UFFDIO_MOVE\",\"site\":\"uffd_move\",\"ret\":4294967296}]}"
case_ "event ts+dur overflow" "events[0].dur_ns" \
	"{$T,\"threads\":[],\"events\":[{\"kind\":\"lock\",\"class\":\"spin\",\"site\":\"other\",\"ts_ns\":18446744073709551615,\"dur_ns\":1}]}"
case_ "sample of unknown class" "samples[0].waits" "{$T,\"threads\":[],\"samples\":[{\"pid\":1,\"waits\":{\"nope\":1}}]}"
case_ "probes not objects" "probes[0]" "{$T,\"threads\":[],\"probes\":[true]}"
case_ "clock a number" "clock: not an object" "{$T,\"threads\":[],\"clock\":5}"
case_ "counter negative" "counters.ringbuf_drop" "{$T,\"threads\":[],\"counters\":{\"ringbuf_drop\":-3}}"
case_ "not an object" "not an mmlock recording" "[1,2,3]"
case_ "too deep" "nesting deeper than 64" "$(printf '[%.0s' $(seq 70))"
# The fleet identity (record --label/--device, docs/fleet.md): absent is fine, wrong is not.
case_ "id not a UUID" "id: not a UUID" "{$T,\"id\":\"1234\",\"threads\":[]}"
case_ "another histogram layout" "hist_layout: 'log2x8-v2'" "{$T,\"hist_layout\":\"log2x8-v2\",\"threads\":[]}"
case_ "label key starts with a digit" "labels.9x: a key starts" "{$T,\"labels\":{\"9x\":\"v\"},\"threads\":[]}"
case_ "label value not a string" "labels.arm: not a string" "{$T,\"labels\":{\"arm\":1},\"threads\":[]}"
case_ "labels not an object" "labels: not an object" "{$T,\"labels\":[\"arm=x\"],\"threads\":[]}"
case_ "label given twice" "labels.arm: given twice" "{$T,\"labels\":{\"arm\":\"a\",\"arm\":\"b\"},\"threads\":[]}"
case_ "device with a control character" "device: a device id has no control" "{$T,\"device\":\"a\\u0001b\",\"threads\":[]}"

n=0
for c in "${cases[@]}"; do
	IFS=$'\t' read -r name field json <<<"$c"
	f=$TMP/case$((n++)).json
	printf '%s' "$json" >"$f"
	expect "report: $name" 2 "$f: " "$MMLOCK" report "$f"
	expect "report: $name names the field" 2 "$field" "$MMLOCK" report "$f"
	expect "perfetto: $name" 2 "$f: " "$MMLOCK" perfetto "$f" -o "$TMP/out/x.pftrace"
	expect "check: $name" 2 "$f: " "$MMLOCK" check "$f"
	expect "diff (second file): $name" 2 "$f: " "$MMLOCK" diff "$good" "$f"
	expect "diff (first file): $name" 2 "$f: " "$MMLOCK" diff "$f" "$good"
	expect "export (second file): $name" 2 "$f: " "$MMLOCK" export --ndjson "$TMP/exp" "$good" "$f"
done
check "export wrote nothing for any bad file" [ -z "$(ls -A "$TMP/exp")" ]

# Files that are not recordings at all: bounded, refused before reading.
expect "report /dev/zero" 2 "/dev/zero: not a regular file" timeout 10 "$MMLOCK" report /dev/zero
expect "report a directory" 2 "Is a directory" "$MMLOCK" report "$TMP"
truncate -s 300M "$TMP/huge.json"
expect "report a 300 MB file" 2 "larger than 256 MiB" timeout 10 "$MMLOCK" report "$TMP/huge.json"
rm -f "$TMP/huge.json"
expect "report from a pipe of zeros (bounded)" 2 "larger than 256 MiB" \
	timeout 20 sh -c "head -c 300M /dev/zero | \"$MMLOCK\" report /dev/stdin"

# Outputs that must not be replaced, and output paths that cannot work.
cp "$good" "$TMP/in.json"
expect "perfetto -o the input itself" 2 "would overwrite" "$MMLOCK" perfetto "$TMP/in.json" -o "$TMP/in.json"
check "perfetto -o the input leaves it intact" cmp -s "$good" "$TMP/in.json"
ln -s "$TMP" "$TMP/out/../dirlink"
expect "perfetto -o a symlink to a directory" 2 "symbolic link" "$MMLOCK" perfetto "$good" -o "$TMP/dirlink"
check "the symlink is still there" [ -L "$TMP/dirlink" ]
expect "perfetto -o a directory" 2 "Is a directory" "$MMLOCK" perfetto "$good" -o "$TMP/out"
expect "perfetto -o ''" 2 "empty output file name" "$MMLOCK" perfetto "$good" -o ''
expect "perfetto -o in a missing directory" 2 "No such file or directory" \
	"$MMLOCK" perfetto "$good" -o "$TMP/out/missing/x.pftrace"
mkfifo "$TMP/fifo"
expect "perfetto -o a fifo" 2 "not a regular file" "$MMLOCK" perfetto "$good" -o "$TMP/fifo"
if [ "$(id -u)" -eq 0 ]; then
	# As root the rename would succeed: the node would become a regular file.
	# (A private node: a regression must not turn the machine's /dev/null into a file.)
	mknod "$TMP/null" c 1 3
	expect "perfetto -o a device node" 2 "not a regular file" "$MMLOCK" perfetto "$good" -o "$TMP/null"
	check "the device node is intact" [ -c "$TMP/null" ]
else
	skip "device node outputs: need root (mknod)"
fi

# Usage errors: one line starting with "mmlock:".
expect "getopt: unknown option of record" 2 "mmlock: record:" "$MMLOCK" record -x
expect "getopt: unknown long option of report" 2 "mmlock: report:" "$MMLOCK" report --frobnicate
expect "getopt: missing argument of diff" 2 "mmlock: diff:" "$MMLOCK" diff -c
expect "getopt: unknown option of check" 2 "mmlock: check:" "$MMLOCK" check -Z x
expect "getopt: unknown option of perfetto" 2 "mmlock: perfetto:" "$MMLOCK" perfetto -Z
expect "getopt: unknown option of export" 2 "mmlock: export:" "$MMLOCK" export -Z
expect "export without --ndjson" 2 "needs --ndjson" "$MMLOCK" export "$good"
expect "export without recordings" 2 "one or more recording" "$MMLOCK" export --ndjson "$TMP/exp"
expect "export --ndjson a file" 2 "not a directory" "$MMLOCK" export --ndjson "$good" "$good"
expect "export the same recording twice" 2 "the same recording" \
	"$MMLOCK" export --ndjson "$TMP/exp" "$good" "$good"
check "export wrote nothing for a repeated recording" [ -z "$(ls -A "$TMP/exp")" ]
# record --label / --device: refused at the option, before anything is loaded.
long=$(printf 'k%.0s' $(seq 64))
for bad in noequals =v 9a=1 'a b=1' "$long=1" $'arm=a\tb' "v=$(printf 'x%.0s' $(seq 256))"; do
	expect "record --label '${bad:0:20}'" 2 "bad label" "$MMLOCK" record -d 1 --label "$bad"
done
expect "record --label given twice" 2 "label 'arm' given twice" \
	"$MMLOCK" record -d 1 --label arm=a --label arm=b
expect "record with 33 labels" 2 "more than 32 labels" \
	"$MMLOCK" record -d 1 $(for i in $(seq 33); do printf -- '--label k%d=v ' "$i"; done)
expect "record --device ''" 2 "bad --device" "$MMLOCK" record -d 1 --device ''
expect "record --device of 128 bytes" 2 "bad --device" "$MMLOCK" record -d 1 --device "$(printf 'd%.0s' $(seq 128))"
"$MMLOCK" diff --help >"$TMP/help"
check "diff --help prints PCT% (not PCT%%)" sh -c "grep -q 'PCT%\$' '$TMP/help' && ! grep -q 'PCT%%' '$TMP/help'"
expect "record --json F --perfetto F" 2 "same file" "$MMLOCK" record -d 1 --json "$TMP/out/r" --perfetto "$TMP/out/r"
expect "record --json F --perfetto ./F" 2 "same file" \
	"$MMLOCK" record -d 1 --json "$TMP/out/r" --perfetto "$TMP/out/./r"

need_bpf bad_input || exit 0
# Refused before recording starts (the record would otherwise run its 30 s).
expect "record --json ''" 2 "empty output file name" timeout 10 "$MMLOCK" record -q -d 30 --json ''
expect "record --json in a missing directory" 2 "No such file or directory" \
	timeout 10 "$MMLOCK" record -q -d 30 --json "$TMP/out/missing/r.json"
[ -c "$TMP/null" ] || mknod "$TMP/null" c 1 3
expect "record --perfetto a device node" 2 "not a regular file" \
	timeout 10 "$MMLOCK" record -q -d 30 --perfetto "$TMP/null"
check "the device node is intact after record" [ -c "$TMP/null" ]
expect "record --btf DIR" 2 "not a regular file" timeout 10 "$MMLOCK" record -q -d 30 --btf "$TMP"

# A full disk is named as such, and leaves no temp file.
mkdir -p "$TMP/full"
trap 'umount "$TMP/full" 2>/dev/null; tmp_done' EXIT
if mount -t tmpfs -o size=64k mmlock-full "$TMP/full" 2>/dev/null; then
	cat /dev/zero >"$TMP/full/filler" 2>/dev/null
	rm -rf "$TMP/out" && mkdir -p "$TMP/out"
	expect "record --json on a full disk" 2 "No space left on device" \
		"$MMLOCK" record -q -d 1 --json "$TMP/full/r.json" -- sh -c 'for i in $(seq 200); do :; done'
	check "nothing but the filler on the full disk" [ "$(ls -A "$TMP/full")" = filler ]
	rm -f "$TMP/full/filler"
	expect "perfetto on a full disk" 2 "No space left on device" \
		sh -c "cat /dev/zero >'$TMP/full/filler2' 2>/dev/null; \"$MMLOCK\" perfetto '$good' -o '$TMP/full/x.pftrace'"
	check "no temp file on the full disk" [ "$(ls -A "$TMP/full")" = filler2 ]
	rm -f "$TMP/full/filler2"
	expect "export on a full disk" 2 "No space left on device" \
		sh -c "cat /dev/zero >'$TMP/full/filler3' 2>/dev/null; \"$MMLOCK\" export --ndjson '$TMP/full' '$good'"
	check "no table and no temp file on the full disk" [ "$(ls -A "$TMP/full")" = filler3 ]
	umount "$TMP/full"
else
	skip "full disk: cannot mount a tmpfs"
fi

# mmlock reads its own recordings: an ioctl of type 0xAA with nr >= 64 (any
# fd will do: the hook looks at the command) used to be written as
# UFFDIO_UNKNOWN, which the reader refused.
"$MMLOCK" record -q --min-slice 0 --json "$TMP/out/io.json" -- python3 -c '
import fcntl, os
fd = os.open("/dev/null", os.O_RDONLY)
for nr in (0x50, 0xff):
    try:
        fcntl.ioctl(fd, 0xAA00 | nr, 0)
    except OSError:
        pass
' 2>"$TMP/stderr"
if ! grep -q '"UFFDIO_0x50"' "$TMP/out/io.json" || ! grep -q '"UFFDIO_0xff"' "$TMP/out/io.json"; then
	fail "ioctl nr >= 64: not recorded as UFFDIO_0x50 / UFFDIO_0xff: $(grep -o '"UFFDIO_[A-Z0-9x_]*"' "$TMP/out/io.json" | sort -u | tr '\n' ' ')"
elif "$MMLOCK" report "$TMP/out/io.json" >/dev/null 2>"$TMP/stderr" &&
     "$MMLOCK" perfetto "$TMP/out/io.json" -o "$TMP/io.pftrace" 2>>"$TMP/stderr"; then
	pass "ioctl nr >= 64: recorded, read back by report and perfetto"
	tp_check "ioctl nr >= 64 trace" "$TMP/io.pftrace" --json "$TMP/out/io.json"
else
	fail "ioctl nr >= 64: mmlock refuses its own recording: $(head -c 300 "$TMP/stderr")"
fi
