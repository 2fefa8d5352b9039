#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Checks an mmlock trace with Perfetto's own trace processor.

Usage: tp_check.py --tp TRACE_PROCESSOR --name NAME TRACE [--json REC.json]
                   [--slices N] [--max-tracks N] [--sql-dir DIR [--stall-thread NAME]]

Loads TRACE into trace_processor_shell (the importer and SQL engine of
ui.perfetto.dev) and prints one "PASS: NAME: ..." or "FAIL: NAME: ..." line
per check (tests/run.sh counts them):

  * import: the stats table has no error or data_loss row with a value;
  * slices = events: mmlock's lock/D-state/ioctl slices number the
    recording's events (JSON "events" + counters.events_not_kept), and the
    summary's debug.slices says the same; when the JSON kept them all,
    every event is a slice with its tid, start and measured length;
  * threads: every slice is on the thread track of its tid, whose thread
    and process carry the JSON's thread name and pid;
  * nesting: depth 0 iff no parent, parent on the same track one level up,
    each child inside its parent;
  * clamped: the slices marked debug.clamped_to_parent are the summary's
    debug.slices_clamped, each shown shorter than measured;
  * histograms: one slice per non-empty JSON histogram, with its count and
    buckets summing to it (queryable args);
  * counters: each per-thread series' waits add up to its slices, its worst
    is their longest; the per-process waits add up to the JSON samples;
  * tracks: at most --max-tracks tracks per thread (its thread track and its
    "mmlock · comm tid" group), and no counter track holds a single value;
  * --sql-dir: each docs/sql/perfetto query runs, returns rows, and they agree with
    the JSON (see check_sql).
Exit status: 0 if every check passed, 1 otherwise, 2 on bad usage.
"""
import argparse
import csv
import io
import json
import os
import subprocess
import sys

CATS = ('mmlock.lock', 'mmlock.dstate', 'mmlock.ioctl')
# Track uuid types of src/output/perfetto.h: 0x6D6D <type:8> <id:40>.
T_PROCESS, T_PCOUNTER, T_GROUP, T_HIST, T_SERIES = 2, 4, 5, 6, 7

QUERIES = {
    'stats': """
        SELECT name, idx, severity, source, value FROM stats
        WHERE value > 0 AND severity IN ('error', 'data_loss')""",
    'slices': """
        SELECT s.id, s.ts, s.dur, s.category, s.name, s.depth, s.parent_id, s.track_id,
               t.tid, t.name AS tname, p.pid, tt.id AS thread_track,
               EXTRACT_ARG(s.arg_set_id, 'debug.wait_ns') AS wait_ns,
               EXTRACT_ARG(s.arg_set_id, 'debug.dur_ns') AS dur_ns,
               EXTRACT_ARG(s.arg_set_id, 'debug.clamped_to_parent') AS clamped,
               EXTRACT_ARG(s.arg_set_id, 'debug.shown_dur_ns') AS shown
        FROM slice s
        LEFT JOIN thread_track tt ON s.track_id = tt.id
        LEFT JOIN thread t ON tt.utid = t.utid
        LEFT JOIN process p ON t.upid = p.upid
        WHERE s.category IN ('mmlock.lock', 'mmlock.dstate', 'mmlock.ioctl')""",
    'summary': """
        SELECT a.key, a.int_value FROM slice s JOIN args a USING (arg_set_id)
        WHERE s.category = 'mmlock.meta'
          AND a.key IN ('debug.slices', 'debug.slices_clamped')""",
    'hists': """
        SELECT s.id, s.track_id,
               EXTRACT_ARG(s.arg_set_id, 'debug.tid') AS tid,
               EXTRACT_ARG(s.arg_set_id, 'debug.kind') AS kind,
               EXTRACT_ARG(s.arg_set_id, 'debug.class') AS class,
               EXTRACT_ARG(s.arg_set_id, 'debug.site') AS site,
               EXTRACT_ARG(s.arg_set_id, 'debug.cmd') AS cmd,
               EXTRACT_ARG(s.arg_set_id, 'debug.count') AS n,
               (SELECT SUM(a.int_value) FROM args a WHERE a.arg_set_id = s.arg_set_id
                AND a.key LIKE 'debug.buckets[%].count') AS bsum
        FROM slice s WHERE s.category = 'mmlock.hist'""",
    'tracks': """
        SELECT t.id, t.name, t.type, t.parent_id,
               EXTRACT_ARG(t.dimension_arg_set_id, 'track_uuid') AS uuid,
               EXTRACT_ARG(t.dimension_arg_set_id, 'upid') AS upid
        FROM track t""",
    'procs': "SELECT upid, pid FROM process",
    'counters': """
        SELECT ct.id, COUNT(c.id) AS n, SUM(c.value) AS total, MAX(c.value) AS mx
        FROM counter_track ct LEFT JOIN counter c ON c.track_id = ct.id GROUP BY ct.id""",
}


NUMERIC = set('-0123456789')


def parse_value(v):
    """A CSV field: None, int, float or str (names never start with a digit
    here; trying int() on every field made a big trace's check slow)."""
    if v == '[NULL]':
        return None
    if v[:1] in NUMERIC:
        try:
            return int(v)
        except ValueError:
            try:
                return float(v)
            except ValueError:
                pass
    return v


def run_tp(tp, trace, sqls):
    """Rows (lists of dicts) of each query, from one load of the trace (a big
    trace takes seconds to load); raises RuntimeError on failure."""
    text = ';\n'.join(q.strip().rstrip(';') for q in sqls) + ';\n'
    r = subprocess.run([tp, '-q', '/dev/stdin', trace], input=text.encode(),
                       capture_output=True)
    if r.returncode:
        raise RuntimeError('trace_processor_shell failed (%d): %s' % (
            r.returncode, r.stderr.decode(errors='replace').strip().splitlines()[-1:]))
    # Each result: a CSV header, its rows, a blank line.
    blocks = r.stdout.decode(errors='replace').strip('\n').split('\n\n')
    if len(blocks) != len(sqls):
        raise RuntimeError('%d results for %d queries' % (len(blocks), len(sqls)))
    out = []
    for b in blocks:
        rows = csv.reader(io.StringIO(b))
        head = next(rows)
        out.append([dict(zip(head, map(parse_value, row))) for row in rows])
    return out


class Out:
    def __init__(self, name):
        self.name, self.failed = name, 0

    def check(self, ok, what, why=''):
        if ok:
            print('PASS: %s: %s' % (self.name, what))
        else:
            self.failed += 1
            print('FAIL: %s: %s%s' % (self.name, what, ': ' + why if why else ''))


def uuid_parts(u):
    u = int(u or 0)
    if u >> 48 != 0x6D6D:
        return None, None
    return (u >> 40) & 0xFF, u & 0xFFFFFFFFFF


def measured(s):
    return s['dur_ns'] if s['category'] == 'mmlock.ioctl' else s['wait_ns']


def series_label(name):
    """The series of a slice: its name before the site."""
    return name.split(' \u00b7 ')[0]


def sql_files(sql_dir, stall_thread):
    out = []
    for f in sorted(os.listdir(sql_dir)):
        if f.endswith('.sql'):
            with open(os.path.join(sql_dir, f)) as fh:
                sql = fh.read()
            if stall_thread and f == 'worst_stalls.sql':
                sql = sql.replace("t.name = 'ui'", "t.name = '%s'" % stall_thread)
            out.append((f, sql))
    return out


def check_sql(o, files, results, rec, stall_thread, slices):
    hists = {}
    for t in (rec or {}).get('threads', []):
        for h in t['hists']:
            hists[(t['tid'], h['kind'], h.get('class') or h.get('command'),
                   h.get('site'))] = h
    for (f, _), rows in zip(files, results):
        o.check(bool(rows), 'docs/sql/perfetto/%s runs and returns %d rows' % (f, len(rows)))
        if not rows or rec is None:
            continue
        bad = []
        if f == 'worst_stalls.sql':
            name = stall_thread or 'ui'
            own = [s for s in slices if s['tname'] == name and s['depth'] == 0]
            want = max(s['dur'] for s in own) if own else None
            if rows[0]['dur_ns'] != want:
                bad.append('worst %s stall %s ns, its slices say %s' % (name, rows[0]['dur_ns'], want))
            by_id = {(s['tid'], s['ts']): s for s in own}
            for r in rows:
                s = by_id.get((r['tid'], r['ts']))
                if not s:
                    bad.append('row at %s is no outermost slice of %s' % (r['ts'], name))
                elif s['category'] == 'mmlock.ioctl':
                    total = sum(int(p.split('=')[1]) for p in (r['parts'] or '').split())
                    if total != s['dur_ns']:
                        bad.append('parts of the ioctl at %s sum to %d, not its %s ns'
                                   % (r['ts'], total, s['dur_ns']))
        elif f == 'waits_by_class_site.sql':
            want = {k: h for k, h in hists.items() if k[1] in ('lock', 'dstate') and h['count']}
            got = {(r['tid'], r['kind'], r['class'], r['site']): r for r in rows}
            if set(got) != set(want):
                bad.append('rows %d, JSON lock/dstate histograms %d' % (len(got), len(want)))
            for k in set(got) & set(want):
                g, h = got[k], want[k]
                if (g['n'], g['total_ns'], g['max_ns'], g['p99_ns']) != \
                   (h['count'], h['total_ns'], h['max_ns'], h['p99_ns']):
                    bad.append('%s: %s != JSON %s' % (k, (g['n'], g['total_ns'], g['max_ns'], g['p99_ns']),
                                                       (h['count'], h['total_ns'], h['max_ns'], h['p99_ns'])))
        elif f == 'ioctl_percentiles.sql':
            for r in rows:
                h = hists.get((r['tid'], 'ioctl', r['cmd'], None)) or next(
                    (v for k, v in hists.items() if k[:3] == (r['tid'], 'ioctl', r['cmd'])), None)
                if h is None:
                    bad.append('no JSON histogram for %s %s' % (r['tid'], r['cmd']))
                    continue
                if r['n'] != h['count']:
                    bad.append('%s %s: n %s != %s' % (r['tid'], r['cmd'], r['n'], h['count']))
                # mmlock's percentile is its bucket's midpoint (or max): inside the SQL's bucket.
                for p in ('p50', 'p90', 'p99'):
                    lo, hi, v = r[p + '_lo_ns'], r[p + '_hi_ns'], h[p + '_ns']
                    if lo is None or hi is None or not lo <= v < hi:
                        bad.append('%s %s: %s %s not in [%s, %s)' % (r['tid'], r['cmd'], p, v, lo, hi))
        o.check(not bad, 'docs/sql/perfetto/%s agrees with the recording' % f, '; '.join(bad[:3]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('trace')
    ap.add_argument('--tp', required=True, help='trace_processor_shell')
    ap.add_argument('--name', default='tp_check')
    ap.add_argument('--json', help="the recording's JSON (mmlock record --json)")
    ap.add_argument('--max-tracks', type=int, default=20)
    ap.add_argument('--slices', type=int, help='expected slices (default: from --json)')
    ap.add_argument('--sql-dir')
    ap.add_argument('--stall-thread', help='thread for worst_stalls.sql (default ui)')
    a = ap.parse_args()
    o = Out(a.name)
    rec = None
    if a.json:
        try:
            with open(a.json) as f:
                rec = json.load(f)
        except (OSError, ValueError) as e:
            o.check(False, 'read %s' % a.json, str(e))
            return 1
    files = sql_files(a.sql_dir, a.stall_thread) if a.sql_dir else []
    try:
        res = run_tp(a.tp, a.trace, list(QUERIES.values()) + [sql for _, sql in files])
        q = dict(zip(QUERIES, res))
    except RuntimeError as e:
        o.check(False, 'trace processor loads the trace', str(e))
        return 1

    o.check(not q['stats'], 'imported with no error and no data loss',
            '; '.join('%s[%s]=%s' % (r['name'], r['idx'], r['value']) for r in q['stats']))

    slices = q['slices']
    summ = {r['key']: r['int_value'] for r in q['summary']}
    if rec is not None:
        c = rec.get('counters', {})
        # Recording straight to the trace keeps the events the JSON did not
        # (events_not_kept); `mmlock perfetto` of the JSON has its events only.
        want = len(rec['events']) + c.get('events_not_kept', 0) if a.slices is None else a.slices
        o.check(len(slices) == want == summ.get('debug.slices'),
                '%d slices = %d events (summary: %s)' % (len(slices), want, summ.get('debug.slices')))
        if want == len(rec['events']):
            kind_cat = {'lock': 'mmlock.lock', 'dstate': 'mmlock.dstate', 'ioctl': 'mmlock.ioctl'}
            got = sorted((s['tid'], s['ts'], s['category'], measured(s)) for s in slices)
            exp = sorted((e['tid'], e['ts_ns'], kind_cat[e['kind']], e['dur_ns']) for e in rec['events'])
            have = set(got)
            diff = [x for x in exp if x not in have][:3] if got != exp else []
            o.check(got == exp, 'every event is a slice with its tid, start and length',
                    'missing e.g. %s' % diff)
        names = {t['tid']: (t['comm'], t['pid']) for t in rec['threads']}
        bad = []
        for s in slices:
            if s['thread_track'] is None:
                bad.append('%r at %d on no thread track' % (s['name'], s['ts']))
            elif s['tid'] in names and s['tid'] != 0 and \
                    (s['tname'], s['pid']) != names[s['tid']]:
                bad.append('tid %d: %r pid %s, JSON %r pid %s' % (
                    s['tid'], s['tname'], s['pid'], *names[s['tid']]))
        o.check(not bad, 'every slice on its thread track, thread name and pid as recorded',
                '; '.join(sorted(set(bad))[:3]))
    else:
        o.check(all(s['thread_track'] is not None for s in slices) and
                a.slices in (None, len(slices)) and summ.get('debug.slices') == len(slices),
                '%d slices (expected %s, summary %s), all on thread tracks'
                % (len(slices), a.slices, summ.get('debug.slices')))

    by_id = {s['id']: s for s in slices}
    bad = []
    for s in slices:
        p = by_id.get(s['parent_id']) if s['parent_id'] is not None else None
        if (s['depth'] == 0) != (s['parent_id'] is None):
            bad.append('slice %d: depth %d, parent %s' % (s['id'], s['depth'], s['parent_id']))
        elif p is not None and (p['track_id'] != s['track_id'] or p['depth'] != s['depth'] - 1
                                or s['ts'] < p['ts'] or s['ts'] + s['dur'] > p['ts'] + p['dur']):
            bad.append('slice %d not inside its parent %d' % (s['id'], p['id']))
        elif s['parent_id'] is not None and p is None:
            bad.append('slice %d: parent %d is not an mmlock slice' % (s['id'], s['parent_id']))
    o.check(not bad, 'nesting: depth, parent and containment consistent', '; '.join(bad[:3]))

    cl = [s for s in slices if s['clamped']]
    badc = [s['id'] for s in cl if not (s['dur'] == s['shown'] and s['dur'] < measured(s))]
    o.check(len(cl) == summ.get('debug.slices_clamped') and not badc,
            '%d clamped slices counted (summary: %s), each shown shorter than measured'
            % (len(cl), summ.get('debug.slices_clamped')), 'bad: %s' % badc[:3])

    hists = q['hists']
    badh = [h['id'] for h in hists if not h['n'] or h['n'] != h['bsum']]
    if rec is not None:
        want = sum(1 for t in rec['threads'] for h in t['hists'] if h['count'])
        ok = len(hists) == want and not badh
    else:
        want = '?'
        ok = not badh
    o.check(ok, '%d histograms queryable (JSON: %s), buckets sum to count' % (len(hists), want),
            'bad: %s' % badh[:3])

    tracks = {t['id']: t for t in q['tracks']}
    ctr = {c['id']: c for c in q['counters']}
    pid_of = {p['upid']: p['pid'] for p in q['procs']}
    # Per-thread series: waits sum to the slices, worst is the longest.
    ser = {}
    for t in tracks.values():
        typ, ident = uuid_parts(t['uuid'])
        if typ == T_SERIES and t['id'] in ctr:
            tid, si, m = ident >> 8, (ident >> 2) & 0x3F, ident & 3
            ser.setdefault((tid, si), {})[m] = (t, ctr[t['id']])
    bad = []
    by_series = {}
    for s in slices:
        by_series.setdefault((s['tid'], series_label(s['name'])), []).append(s)
    for (tid, si), ms in sorted(ser.items()):
        if set(ms) != {0, 1, 2}:
            bad.append('tid %d series %d: metrics %s' % (tid, si, sorted(ms)))
            continue
        label = ms[0][0]['name'].rsplit(': ', 1)[0]
        mine = by_series.get((tid, label), [])
        if ms[0][1]['total'] != len(mine):
            bad.append('tid %d %r: waits add up to %s, %d slices' % (tid, label, ms[0][1]['total'], len(mine)))
        if mine and ms[1][1]['mx'] != max(measured(s) for s in mine):
            bad.append('tid %d %r: worst %s, longest slice %s' % (tid, label, ms[1][1]['mx'],
                                                                 max(measured(s) for s in mine)))
        if ms[2][1]['mx'] > ms[1][1]['mx']:
            bad.append('tid %d %r: p99 above worst' % (tid, label))
    # A thread with slices has a series: none without slices, some with.
    o.check(bool(ser) == bool(slices) and not bad, '%d per-thread series: waits add up to their slices, worst the longest'
            % len(ser), '; '.join(bad[:3]))
    if rec is not None and rec.get('samples'):
        want, got = {}, {}
        for s in rec['samples']:
            want[s['pid']] = want.get(s['pid'], 0) + sum(s['waits'].values())
        for t in tracks.values():
            typ, ident = uuid_parts(t['uuid'])
            if typ == T_PCOUNTER and (ident & 0xFF) != 0xFF and t['id'] in ctr:
                got[ident >> 8] = got.get(ident >> 8, 0) + (ctr[t['id']]['total'] or 0)
        want = {k: v for k, v in want.items() if v}
        o.check(got == want, 'per-process waits/interval add up to the samples',
                'trace %s, JSON %s' % (got, want))

    # Tracks per thread: its thread track, its group and all below it.
    kids = {}
    for t in tracks.values():
        if t['parent_id'] is not None:
            kids.setdefault(t['parent_id'], []).append(t['id'])

    def below(i):
        return sum(1 + below(k) for k in kids.get(i, []))
    per = {}
    for t in tracks.values():
        typ, ident = uuid_parts(t['uuid'])
        if typ == T_GROUP:
            per[ident] = 2 + below(t['id'])
    worst = max(per.items(), key=lambda kv: kv[1]) if per else (None, 0)
    o.check(worst[1] <= a.max_tracks,
            'at most %d tracks per thread (%d threads, most: tid %s with %d)'
            % (a.max_tracks, len(per), worst[0], worst[1]))
    # perf_cpu_counter: the importer's own timebase track for the on-CPU
    # samples (PerfSample), made whatever the trace holds; not mmlock's.
    one = [tracks[c['id']]['name'] for c in ctr.values()
           if c['n'] < 2 and tracks[c['id']]['type'] != 'perf_cpu_counter']
    bucketlike = [t['name'] for t in tracks.values() if t['name'] and t['name'].startswith('[')]
    o.check(not one and not bucketlike,
            'no counter track holds a single value (%d counter tracks)' % len(ctr),
            'one value: %s; bucket-like: %s' % (one[:3], bucketlike[:3]))

    if files:
        check_sql(o, files, res[len(QUERIES):], rec, a.stall_thread, slices)
    return 1 if o.failed else 0


if __name__ == '__main__':
    sys.exit(main())
