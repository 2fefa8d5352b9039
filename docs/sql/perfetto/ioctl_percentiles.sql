-- uffd ioctl latency percentiles per thread and command, computed from the
-- buckets of the whole-recording histograms (args debug.buckets[i].lo_ns /
-- hi_ns / count: log2 buckets, 4 linear steps each). For each percentile the
-- bucket that holds it: [pNN_lo_ns, pNN_hi_ns) (nearest rank, as mmlock's
-- own p50_ns/p90_ns/p99_ns args, which read that bucket's midpoint).
-- Run: trace_processor_shell -q docs/sql/ioctl_percentiles.sql trace.pftrace
WITH h AS (
  SELECT s.arg_set_id,
         EXTRACT_ARG(s.arg_set_id, 'debug.tid') AS tid,
         EXTRACT_ARG(s.arg_set_id, 'debug.cmd') AS cmd,
         EXTRACT_ARG(s.arg_set_id, 'debug.count') AS n,
         EXTRACT_ARG(s.arg_set_id, 'debug.max_ns') AS max_ns
  FROM slice s
  WHERE s.category = 'mmlock.hist' AND EXTRACT_ARG(s.arg_set_id, 'debug.kind') = 'ioctl'
),
b AS (
  SELECT h.*,
         EXTRACT_ARG(h.arg_set_id, REPLACE(a.key, '.count', '.lo_ns')) AS lo_ns,
         EXTRACT_ARG(h.arg_set_id, REPLACE(a.key, '.count', '.hi_ns')) AS hi_ns,
         a.int_value AS cnt
  FROM h JOIN args a ON a.arg_set_id = h.arg_set_id AND a.key LIKE 'debug.buckets[%].count'
),
c AS (
  SELECT b.*, SUM(cnt) OVER (PARTITION BY arg_set_id ORDER BY lo_ns
                             ROWS UNBOUNDED PRECEDING) AS cum
  FROM b
),
-- nearest rank: the first bucket whose running count reaches ceil(pct * n)
r AS (
  SELECT arg_set_id, tid, cmd, n, max_ns,
         MIN(CASE WHEN cum >= (n * 50 + 99) / 100 THEN lo_ns END) AS p50_lo_ns,
         MIN(CASE WHEN cum >= (n * 90 + 99) / 100 THEN lo_ns END) AS p90_lo_ns,
         MIN(CASE WHEN cum >= (n * 99 + 99) / 100 THEN lo_ns END) AS p99_lo_ns
  FROM c GROUP BY arg_set_id
)
SELECT t.name AS thread, r.tid, r.cmd, r.n,
       r.p50_lo_ns, (SELECT MIN(hi_ns) FROM b WHERE b.arg_set_id = r.arg_set_id AND b.lo_ns = r.p50_lo_ns) AS p50_hi_ns,
       r.p90_lo_ns, (SELECT MIN(hi_ns) FROM b WHERE b.arg_set_id = r.arg_set_id AND b.lo_ns = r.p90_lo_ns) AS p90_hi_ns,
       r.p99_lo_ns, (SELECT MIN(hi_ns) FROM b WHERE b.arg_set_id = r.arg_set_id AND b.lo_ns = r.p99_lo_ns) AS p99_hi_ns,
       r.max_ns
FROM r LEFT JOIN thread t ON t.tid = r.tid
ORDER BY r.p99_lo_ns DESC, r.tid, r.cmd;
