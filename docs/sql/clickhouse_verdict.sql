-- The fleet verdict over the Distributed tables (ClickHouse 18.16 or later; no window functions).
-- 1. Per kernel x thread: anon_vma write waits at uffd_move, buckets merged exactly, the p99 by
--    nearest rank read at the bucket's midpoint and at most the merged max (mmlock's own rule).
SELECT 'p99' AS verdict, kernel, thread, total, toUInt64(if(max_ns > 0 AND mid > max_ns, max_ns, mid)) AS p99_ns, max_ns
FROM
(
    SELECT kernel, thread, max_ns,
        arraySort(groupArray((lo_ns, hi_ns, n))) AS b,
        arraySum(arrayMap(x -> x.3, b)) AS total,
        arrayFirstIndex(c -> c >= intDiv(99 * total + 99, 100), arrayCumSum(arrayMap(x -> x.3, b))) AS i,
        intDiv(b[i].1 + b[i].2, 2) AS mid
    FROM
    (
        SELECT kernel, thread, lo_ns, hi_ns, sum(count) AS n
        FROM buckets
        WHERE kind = 'lock' AND class_or_command = 'anon_vma_write' AND site = 'uffd_move'
        GROUP BY kernel, thread, lo_ns, hi_ns
    )
    ANY INNER JOIN
    (
        SELECT kernel, thread, max(max_ns) AS max_ns
        FROM hists
        WHERE kind = 'lock' AND class_or_command = 'anon_vma_write' AND site = 'uffd_move'
        GROUP BY kernel, thread
    ) USING (kernel, thread)
    GROUP BY kernel, thread, max_ns
)
ORDER BY kernel, thread
FORMAT TabSeparated;
-- 2. Per kernel: of the devices with a recording, how many had a ui thread that stalled
--    (a lock wait or D-state period) for 30 ms or more.
SELECT 'share' AS verdict, kernel, ifNull(stalled, 0) AS stalled, devices,
    round(ifNull(stalled, 0) / devices, 3) AS share
FROM
(
    SELECT kernel, uniqExact(device) AS devices FROM recordings GROUP BY kernel
)
ANY LEFT JOIN
(
    SELECT kernel, uniqExact(device) AS stalled
    FROM hists
    WHERE thread = 'ui' AND kind IN ('lock', 'dstate') AND max_ns >= 30000000
    GROUP BY kernel
) USING kernel
ORDER BY kernel
FORMAT TabSeparated;
