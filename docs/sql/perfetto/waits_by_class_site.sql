-- Waits by class x site, per thread, from the whole-recording histograms (they
-- count every wait, also those below the recording's --min-slice that have no
-- slice), worst total first. kind: lock (a lock wait) or dstate (a D-state
-- period: the part of a wait spent switched out).
-- Run: trace_processor_shell -q docs/sql/waits_by_class_site.sql trace.pftrace
SELECT t.name AS thread,
       EXTRACT_ARG(s.arg_set_id, 'debug.tid') AS tid,
       EXTRACT_ARG(s.arg_set_id, 'debug.kind') AS kind,
       EXTRACT_ARG(s.arg_set_id, 'debug.class') AS class,
       EXTRACT_ARG(s.arg_set_id, 'debug.site') AS site,
       EXTRACT_ARG(s.arg_set_id, 'debug.count') AS n,
       EXTRACT_ARG(s.arg_set_id, 'debug.total_ns') AS total_ns,
       EXTRACT_ARG(s.arg_set_id, 'debug.p99_ns') AS p99_ns,
       EXTRACT_ARG(s.arg_set_id, 'debug.max_ns') AS max_ns
FROM slice s
LEFT JOIN thread t ON t.tid = EXTRACT_ARG(s.arg_set_id, 'debug.tid')
WHERE s.category = 'mmlock.hist'
  AND EXTRACT_ARG(s.arg_set_id, 'debug.kind') IN ('lock', 'dstate')
ORDER BY total_ns DESC, tid, kind, class, site;
