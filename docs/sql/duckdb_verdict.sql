-- The fleet verdict (DuckDB 1.x, after duckdb_tables.sql).
-- 1. Per kernel x thread: anon_vma write waits at uffd_move, buckets merged exactly, the p99 by
--    nearest rank read at the bucket's midpoint and at most the merged max (mmlock's own rule).
WITH merged AS (
    SELECT kernel, thread, lo_ns, hi_ns, sum(count) AS n
    FROM buckets
    WHERE kind = 'lock' AND class_or_command = 'anon_vma_write' AND site = 'uffd_move'
    GROUP BY ALL
), ranked AS (
    SELECT *,
        sum(n) OVER (PARTITION BY kernel, thread ORDER BY lo_ns) AS below,
        sum(n) OVER (PARTITION BY kernel, thread) AS total
    FROM merged
), maxes AS (
    SELECT kernel, thread, max(max_ns) AS max_ns
    FROM hists
    WHERE kind = 'lock' AND class_or_command = 'anon_vma_write' AND site = 'uffd_move'
    GROUP BY ALL
)
SELECT 'p99' AS verdict, kernel, thread, total,
    CASE WHEN max_ns > 0 AND (lo_ns + hi_ns) // 2 > max_ns THEN max_ns ELSE (lo_ns + hi_ns) // 2 END AS p99_ns,
    max_ns
FROM ranked JOIN maxes USING (kernel, thread)
WHERE below >= (99 * total + 99) // 100
QUALIFY row_number() OVER (PARTITION BY kernel, thread ORDER BY lo_ns) = 1
ORDER BY kernel, thread;
-- 2. Per kernel: of the devices with a recording, how many had a ui thread that stalled
--    (a lock wait or D-state period) for 30 ms or more.
SELECT 'share' AS verdict, r.kernel, count(DISTINCT s.device) AS stalled, count(DISTINCT r.device) AS devices,
    round(count(DISTINCT s.device) / count(DISTINCT r.device), 3) AS share
FROM recordings r
LEFT JOIN (
    SELECT DISTINCT kernel, device
    FROM hists
    WHERE thread = 'ui' AND kind IN ('lock', 'dstate') AND max_ns >= 30000000
) s ON s.kernel = r.kernel AND s.device = r.device
GROUP BY r.kernel
ORDER BY r.kernel;
