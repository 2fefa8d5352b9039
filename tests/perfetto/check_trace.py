#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Semantic checks of a Perfetto trace written by mmlock.

Decodes the trace with `protoc --decode=perfetto.protos.Trace mini.proto`
(mini.proto next to this script) and parses protoc's text output with the
standard library only. Always checked:

  * the trace decodes and has packets; a ClockSnapshot has BOOTTIME (id 6);
  * per trusted_packet_sequence_id: timestamps never go back;
    first_packet_on_sequence only on the first packet; a sequence that uses
    interning (interned_data, *_iid, SEQ_NEEDS_INCREMENTAL_STATE) has
    SEQ_INCREMENTAL_STATE_CLEARED first;
  * every TrackDescriptor has a uuid, a parent_uuid declared before it, and
    thread tracks have pid and tid; a uuid is not redeclared differently;
  * every TrackEvent's track_uuid was declared in an earlier packet; counter
    values only on counter tracks, slices and instants only on others;
  * SLICE_BEGIN/SLICE_END balance per track, END never before its BEGIN,
    nothing left open at the end.

Options add expectations:
  --slices N              number of slices on thread tracks (the events) is N
  --thread TID=NAME       a thread track with this tid and thread_name (repeat)
  --worst-wait TID=TEXT   the longest lock-wait/D-state slice on thread TID
                          has TEXT in its name (repeat)
  --worst-wait-ns TID=NS  ... and lasts NS nanoseconds (repeat)
  --summary               print counts as JSON on stdout
Exit status 0 when everything holds; each problem is one "error:" line.
"""
import argparse
import codecs
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BOOTTIME = 6
SEQ_INCREMENTAL_STATE_CLEARED = 1
SEQ_NEEDS_INCREMENTAL_STATE = 2


def unescape(s):
    """Decode a protoc text-format string body (C escapes, octal bytes)."""
    if '\\' not in s:
        return s
    return codecs.escape_decode(s.encode('ascii', 'backslashreplace'))[0].decode(
        'utf-8', errors='replace')


def scalar(v):
    if v.startswith('"'):
        if not v.endswith('"') or len(v) < 2:
            raise ValueError('unterminated string: %s' % v)
        return unescape(v[1:-1])
    if v in ('true', 'false'):
        return v == 'true'
    try:
        return int(v)
    except ValueError:
        pass
    try:
        return float(v)
    except ValueError:
        return v  # enum name


def parse_text(text):
    """protoc text output -> nested dicts of field -> [values]."""
    root = {}
    stack = [root]
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line == '}':
            if len(stack) == 1:
                raise ValueError('line %d: unbalanced }' % n)
            stack.pop()
        elif line.endswith('{'):
            name = line[:-1].strip()
            msg = {}
            stack[-1].setdefault(name, []).append(msg)
            stack.append(msg)
        elif ': ' in line:
            name, v = line.split(': ', 1)
            stack[-1].setdefault(name, []).append(scalar(v))
        else:
            raise ValueError('line %d: cannot parse: %s' % (n, line))
    if len(stack) != 1:
        raise ValueError('unterminated message at end of input')
    return root


def one(msg, field, default=None):
    v = msg.get(field)
    return v[0] if v else default


class Checker:
    def __init__(self):
        self.errors = []
        self.tracks = {}       # uuid -> descriptor dict
        self.slices = []       # (track, ts, dur, name, categories)
        self.counts = {'packets': 0, 'begin': 0, 'end': 0, 'instant': 0,
                       'counter': 0, 'descriptors': 0}

    def err(self, msg):
        if len(self.errors) < 50:
            self.errors.append(msg)

    def run(self, trace):
        packets = trace.get('packet', [])
        self.counts['packets'] = len(packets)
        if not packets:
            self.err('no packets')
        seqs = {}              # seq id -> {'last', 'n', 'cleared'}
        open_ = {}             # track uuid -> [(ts, name, cats)]
        boottime = False
        for i, p in enumerate(packets):
            where = 'packet %d' % i
            seq = one(p, 'trusted_packet_sequence_id', 0)
            ts = one(p, 'timestamp')
            flags = one(p, 'sequence_flags', 0)
            st = seqs.setdefault(seq, {'last': None, 'n': 0, 'cleared': False})
            if one(p, 'first_packet_on_sequence', False) and st['n']:
                self.err('%s: first_packet_on_sequence on packet %d of sequence %d'
                         % (where, st['n'] + 1, seq))
            if flags & SEQ_INCREMENTAL_STATE_CLEARED:
                st['cleared'] = True
            te = one(p, 'track_event')
            interned = ('interned_data' in p or flags & SEQ_NEEDS_INCREMENTAL_STATE or
                        (te and ('name_iid' in te or 'category_iids' in te)))
            if interned and not st['cleared']:
                self.err('%s: sequence %d uses incremental state before '
                         'SEQ_INCREMENTAL_STATE_CLEARED' % (where, seq))
            st['n'] += 1
            if ts is not None:
                if st['last'] is not None and ts < st['last']:
                    self.err('%s: timestamp %d before %d on sequence %d'
                             % (where, ts, st['last'], seq))
                st['last'] = ts
            cs = one(p, 'clock_snapshot')
            if cs:
                ids = [one(c, 'clock_id') for c in cs.get('clocks', [])]
                boottime = boottime or BOOTTIME in ids
            td = one(p, 'track_descriptor')
            if td:
                self.descriptor(td, where)
            if te:
                self.event(te, ts, where, open_)
        if not boottime:
            self.err('no ClockSnapshot with BOOTTIME (clock_id 6)')
        for uuid, stk in open_.items():
            if stk:
                self.err('track %d: %d slice(s) never closed (first %r)'
                         % (uuid, len(stk), stk[0][1]))

    def descriptor(self, td, where):
        self.counts['descriptors'] += 1
        uuid = one(td, 'uuid')
        if uuid is None:
            self.err('%s: TrackDescriptor without uuid' % where)
            return
        parent = one(td, 'parent_uuid')
        if parent is not None and parent not in self.tracks:
            self.err('%s: track %d: parent %d not declared before' % (where, uuid, parent))
        th = one(td, 'thread')
        if th is not None and (one(th, 'pid') is None or one(th, 'tid') is None):
            self.err('%s: thread track %d without pid or tid' % (where, uuid))
        pr = one(td, 'process')
        if pr is not None and one(pr, 'pid') is None:
            self.err('%s: process track %d without pid' % (where, uuid))
        old = self.tracks.get(uuid)
        if old is not None and old != td:
            self.err('%s: track %d redeclared differently' % (where, uuid))
        self.tracks[uuid] = td

    def event(self, te, ts, where, open_):
        typ = one(te, 'type', 'TYPE_UNSPECIFIED')
        uuid = one(te, 'track_uuid')
        if ts is None:
            self.err('%s: TrackEvent without timestamp' % where)
            return
        if uuid is None or uuid not in self.tracks:
            self.err('%s: track_uuid %s not declared before use' % (where, uuid))
            return
        is_counter = 'counter' in self.tracks[uuid]
        if typ == 'TYPE_COUNTER':
            self.counts['counter'] += 1
            if not is_counter:
                self.err('%s: counter value on non-counter track %d' % (where, uuid))
            if 'counter_value' not in te and 'double_counter_value' not in te:
                self.err('%s: counter event without value' % where)
            return
        if is_counter:
            self.err('%s: %s on counter track %d' % (where, typ, uuid))
        stk = open_.setdefault(uuid, [])
        if typ == 'TYPE_SLICE_BEGIN':
            self.counts['begin'] += 1
            if not one(te, 'name'):
                self.err('%s: SLICE_BEGIN without name' % where)
            stk.append((ts, one(te, 'name', ''), te.get('categories', [])))
        elif typ == 'TYPE_SLICE_END':
            self.counts['end'] += 1
            if not stk:
                self.err('%s: SLICE_END without open slice on track %d' % (where, uuid))
                return
            b_ts, name, cats = stk.pop()
            if ts < b_ts:
                self.err('%s: slice %r ends before it begins' % (where, name))
            self.slices.append((uuid, b_ts, ts - b_ts, name, cats))
        elif typ == 'TYPE_INSTANT':
            self.counts['instant'] += 1
        else:
            self.err('%s: TrackEvent of type %s' % (where, typ))

    def thread_tracks(self, tid):
        return [u for u, td in self.tracks.items()
                if one(one(td, 'thread', {}) or {}, 'tid') == tid]


def decode(path, proto):
    with open(path, 'rb') as f:
        r = subprocess.run(['protoc', '--proto_path=' + os.path.dirname(proto),
                            '--decode=perfetto.protos.Trace', os.path.basename(proto)],
                           stdin=f, capture_output=True)
    if r.returncode:
        raise ValueError('protoc --decode failed: %s' % r.stderr.decode(errors='replace').strip())
    return r.stdout.decode('utf-8', errors='replace')


def kv(s):
    k, sep, v = s.partition('=')
    if not sep:
        raise argparse.ArgumentTypeError('expected TID=VALUE, got %r' % s)
    return int(k), v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('trace', help='trace file (or protoc text with --text)')
    ap.add_argument('--text', action='store_true', help='input is protoc --decode output')
    ap.add_argument('--proto', default=os.path.join(HERE, 'mini.proto'))
    ap.add_argument('--slices', type=int)
    ap.add_argument('--thread', type=kv, action='append', default=[])
    ap.add_argument('--worst-wait', type=kv, action='append', default=[])
    ap.add_argument('--worst-wait-ns', type=kv, action='append', default=[])
    ap.add_argument('--summary', action='store_true')
    a = ap.parse_args()

    try:
        if a.text:
            with open(a.trace, encoding='utf-8') as f:
                text = f.read()
        else:
            text = decode(a.trace, a.proto)
        trace = parse_text(text)
    except (OSError, ValueError) as e:
        print('error: %s: %s' % (a.trace, e))
        return 1

    c = Checker()
    c.run(trace)
    # The whole histograms are slices too, on their own (non-thread) tracks.
    on_threads = sum(1 for s in c.slices if 'thread' in c.tracks[s[0]])
    if a.slices is not None and on_threads != a.slices:
        c.err('%d slices on thread tracks, expected %d' % (on_threads, a.slices))
    for tid, name in a.thread:
        names = [one(one(c.tracks[u], 'thread'), 'thread_name') for u in c.thread_tracks(tid)]
        if not names:
            c.err('no thread track for tid %d' % tid)
        elif name not in names:
            c.err('thread track for tid %d is named %r, expected %r' % (tid, names, name))
    for tid, text in a.worst_wait + [(t, int(ns)) for t, ns in a.worst_wait_ns]:
        tracks = set(c.thread_tracks(tid))
        waits = [s for s in c.slices if s[0] in tracks and
                 any(x in ('mmlock.lock', 'mmlock.dstate') for x in s[4])]
        if not waits:
            c.err('no lock-wait or D-state slice on tid %d' % tid)
            continue
        worst = max(waits, key=lambda s: (s[2], -s[1]))
        if isinstance(text, int):
            if worst[2] != text:
                c.err('worst wait on tid %d is %r (%d ns), expected one of %d ns'
                      % (tid, worst[3], worst[2], text))
        elif text not in worst[3]:
            c.err('worst wait on tid %d is %r (%d ns), expected %r in its name'
                  % (tid, worst[3], worst[2], text))
    if a.summary:
        out = dict(c.counts)
        out['tracks'] = len(c.tracks)
        out['threads'] = sorted(
            [one(one(td, 'thread'), 'tid'), one(one(td, 'thread'), 'thread_name')]
            for td in c.tracks.values() if 'thread' in td)
        print(json.dumps(out, sort_keys=True))
    for e in c.errors:
        print('error: %s' % e)
    if not c.errors:
        print('ok: %s: %d packets, %d slices, %d tracks'
              % (a.trace, c.counts['packets'], c.counts['begin'], len(c.tracks)))
    return 1 if c.errors else 0


if __name__ == '__main__':
    sys.exit(main())
