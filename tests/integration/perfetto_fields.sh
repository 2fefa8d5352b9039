#!/usr/bin/env bash
# The Perfetto field numbers have one source, src/output/perfetto_fields.h;
# each of its lines names the message field or enum value it stands for, and
# here every one must exist in tests/perfetto/mini.proto (what protoc decodes
# our traces with) with the same number. No root needed.
. "$(dirname "$0")/../lib.sh"
T=perfetto_fields
python3 - "$TOP/src/output/perfetto_fields.h" "$TOP/tests/perfetto/mini.proto" <<'PY'
import re, sys
hdr, proto = sys.argv[1], sys.argv[2]
T = "perfetto_fields"
# mini.proto: "Msg.Nested.field" and "Msg.Enum.VALUE" -> number
known, scope = {}, []
for line in open(proto):
    line = line.split("//")[0].strip()
    m = re.match(r"(message|enum)\s+(\w+)\s*\{", line)
    if m:
        scope.append(m.group(2))
        continue
    if line == "}":
        scope.pop()
        continue
    m = re.match(r"(?:(?:optional|repeated|required)\s+\S+\s+)?(\w+)\s*=\s*(\d+)\s*;", line)
    if m and scope:
        known[".".join(scope + [m.group(1)])] = int(m.group(2))
bad = checked = other = 0
for line in open(hdr):
    m = re.match(r"#define\s+(\w+)\s+(\d+)\s+/\*\s*(\S+)\s*(.*?)\*/", line)
    if not m:
        continue
    name, num, path, rest = m.group(1), int(m.group(2)), m.group(3), m.group(4)
    if rest:	# "BuiltinClock X": a value of a plain uint32 field, not in the subset
        other += 1
        continue
    checked += 1
    if path not in known:
        print(f"FAIL: {T}: {name} names {path}, which mini.proto does not have")
        bad += 1
    elif known[path] != num:
        print(f"FAIL: {T}: {name} = {num} but mini.proto has {path} = {known[path]}")
        bad += 1
if checked < 40:
    print(f"FAIL: {T}: only {checked} numbers found in the header (parser broken?)")
elif not bad:
    print(f"PASS: {T}: {checked} field numbers and enum values equal mini.proto's "
          f"({other} values of uint32 fields not spelled out there)")
PY
