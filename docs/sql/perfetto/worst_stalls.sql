-- The worst stalls of one thread (here "ui"; change the name below), longest
-- first: its outermost mmlock slices (a uffd ioctl, or a lock wait / D-state
-- period outside one), with the ioctl's breakdown (args debug.parts.*: where
-- its time went, summing to its length) and the waits measured inside it.
-- Run: trace_processor_shell -q docs/sql/worst_stalls.sql trace.pftrace
WITH stall AS (
  SELECT s.id, s.ts, s.dur, s.name, s.arg_set_id, t.tid, t.name AS thread
  FROM slice s
  JOIN thread_track tt ON s.track_id = tt.id
  JOIN thread t USING (utid)
  WHERE t.name = 'ui'
    AND s.depth = 0
    AND s.category IN ('mmlock.ioctl', 'mmlock.lock', 'mmlock.dstate')
)
SELECT st.thread, st.tid, st.ts, st.dur AS dur_ns, st.name,
       (SELECT GROUP_CONCAT(REPLACE(a.key, 'debug.parts.', '') || '=' || a.int_value, ' ')
        FROM args a
        WHERE a.arg_set_id = st.arg_set_id AND a.key GLOB 'debug.parts.*'
          AND a.int_value > 0) AS parts,
       (SELECT GROUP_CONCAT(c.name || ' ' || c.dur, '; ')
        FROM descendant_slice(st.id) c) AS waits_inside
FROM stall st
ORDER BY st.dur DESC
LIMIT 10;
