#!/usr/bin/env python3
"""Checks JSON against the JSON Schemas of docs/schema/, with no package
beyond Python's own: the keywords those schemas use (type, const, enum,
pattern, minimum, minLength, maxLength, properties, required,
additionalProperties, propertyNames, maxProperties, items, prefixItems,
minItems, maxItems). An unknown keyword is an error, so that a schema
cannot say more than is checked.
Usage: schema_check.py SCHEMA FILE.json | --ndjson SCHEMA FILE.ndjson
Prints "N checked" or the first error (exit 1).
"""
import json
import re
import sys

KNOWN = {"$schema", "$id", "title", "description", "type", "const", "enum", "pattern", "minimum",
         "minLength", "maxLength", "properties", "required", "additionalProperties",
         "propertyNames", "maxProperties", "items", "prefixItems", "minItems", "maxItems"}
TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def is_type(v, t):
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    return isinstance(v, TYPES[t])


def check(v, s, where):
    unknown = set(s) - KNOWN
    if unknown:
        raise ValueError("%s: schema keyword(s) not checked here: %s" % (where, sorted(unknown)))
    if "type" in s:
        ts = s["type"] if isinstance(s["type"], list) else [s["type"]]
        if not any(is_type(v, t) for t in ts):
            raise ValueError("%s: %r is not %s" % (where, v, "/".join(ts)))
    if "const" in s and v != s["const"]:
        raise ValueError("%s: %r is not %r" % (where, v, s["const"]))
    if "enum" in s and v not in s["enum"]:
        raise ValueError("%s: %r not in %r" % (where, v, s["enum"]))
    if isinstance(v, str):
        if "pattern" in s and not re.search(s["pattern"], v):
            raise ValueError("%s: %r does not match %s" % (where, v, s["pattern"]))
        if len(v) < s.get("minLength", 0) or len(v) > s.get("maxLength", len(v)):
            raise ValueError("%s: length of %r" % (where, v))
    if is_type(v, "integer") and v < s.get("minimum", v):
        raise ValueError("%s: %r < %r" % (where, v, s["minimum"]))
    if isinstance(v, dict):
        for k in s.get("required", []):
            if k not in v:
                raise ValueError("%s: no %r" % (where, k))
        if len(v) > s.get("maxProperties", len(v)):
            raise ValueError("%s: more than %d members" % (where, s["maxProperties"]))
        props = s.get("properties", {})
        for k, x in v.items():
            if "propertyNames" in s:
                check(k, s["propertyNames"], "%s key %r" % (where, k))
            if k in props:
                check(x, props[k], "%s.%s" % (where, k))
            elif s.get("additionalProperties") is False:
                raise ValueError("%s: %r is not in the schema" % (where, k))
            elif isinstance(s.get("additionalProperties"), dict):
                check(x, s["additionalProperties"], "%s.%s" % (where, k))
    if isinstance(v, list):
        if len(v) < s.get("minItems", 0) or len(v) > s.get("maxItems", len(v)):
            raise ValueError("%s: %d items" % (where, len(v)))
        pre = s.get("prefixItems", [])
        for i, x in enumerate(v):
            if i < len(pre):
                check(x, pre[i], "%s[%d]" % (where, i))
            elif "items" in s:
                check(x, s["items"], "%s[%d]" % (where, i))


def main():
    a = sys.argv[1:]
    nd = a[0] == "--ndjson"
    if nd:
        a = a[1:]
    schema = json.load(open(a[0]))
    n = 0
    try:
        with open(a[1]) as f:
            docs = ((i + 1, json.loads(l)) for i, l in enumerate(f)) if nd else [(0, json.load(f))]
            for line, doc in docs:
                check(doc, schema, "%s:%d" % (a[1], line) if nd else a[1])
                n += 1
    except ValueError as e:
        print(e)
        sys.exit(1)
    print("%d checked" % n)


if __name__ == "__main__":
    main()
