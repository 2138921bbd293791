-- Fills a kspm store on PostgreSQL (schema already migrated by kspm) with a generated fleet, for
-- bench/serve.sh: :clusters clusters of :per_cluster findings each, five events per finding on
-- average (opened, resolved, reopened, suppressed, ...: :clusters * :per_cluster * 5 events),
-- and 90 days of daily summaries per cluster and severity. Deterministic (no random()): the same
-- parameters make the same data.
--   psql -v clusters=10 -v per_cluster=20000 -f bench/gen_store.sql URL
\set ON_ERROR_STOP on
BEGIN;
-- Now, as the store keeps times: seconds since the epoch.
CREATE TEMP TABLE bench_now AS SELECT CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) AS t;

INSERT INTO findings (cluster, rule, object_key, path, slug, severity, category, api_version, kind,
    namespace, name, uid, location, message, value, status, suppressed_by, suppressed_reason,
    suppressed_until, first_seen, last_seen, opened_at, resolved_at, resolved_reason, reopen_count)
SELECT
    'cluster-' || c,
    r.code,
    'uid:' || c || '-' || (i / 4),
    'spec.template.spec.containers[' || (i % 4) || '].securityContext',
    r.slug,
    r.severity,
    r.category,
    'apps/v1',
    CASE i % 3 WHEN 0 THEN 'Deployment' WHEN 1 THEN 'StatefulSet' ELSE 'DaemonSet' END,
    'team-' || ((i / 4) % 50),
    'workload-' || (i / 4),
    c || '-' || (i / 4),
    'cluster',
    r.slug || ' on workload-' || (i / 4),
    CASE WHEN i % 2 = 0 THEN 'true' END,
    CASE WHEN i % 10 < 6 THEN 'open' WHEN i % 10 = 6 THEN 'suppressed' ELSE 'resolved' END,
    CASE WHEN i % 10 = 6 THEN 'kspm.yaml' END,
    CASE WHEN i % 10 = 6 THEN 'accepted risk' END,
    CASE WHEN i % 10 = 6 AND i % 20 = 6 THEN n.t + 86400 * 30 END,
    n.t - 86400 * (1 + i % 89),
    n.t - 3600 * (i % 24),
    n.t - 86400 * (i % 89) - 3600,
    CASE WHEN i % 10 >= 7 THEN n.t - 3600 * (i % 48) END,
    CASE WHEN i % 10 >= 7 THEN 'fixed' END,
    i % 3
FROM generate_series(0, :clusters - 1) AS c,
     generate_series(0, :per_cluster - 1) AS i,
     bench_now AS n,
     (VALUES
        (0, 'PS001', 'host-pid', 'high', 'pod-security'),
        (1, 'PS004', 'privileged-container', 'critical', 'pod-security'),
        (2, 'WL007', 'image-latest-tag', 'medium', 'workload'),
        (3, 'WL003', 'missing-cpu-limit', 'low', 'workload'),
        (4, 'PS021', 'run-as-root-user', 'high', 'pod-security'),
        (5, 'WL001', 'missing-cpu-request', 'low', 'workload'),
        (6, 'NW001', 'namespace-without-network-policy', 'medium', 'network')
     ) AS r(k, code, slug, severity, category)
WHERE r.k = (i * 7 + i / 4) % 7;

-- Five events per finding on average: opened, then resolved/reopened cycles.
INSERT INTO finding_events (finding_id, cluster, at, kind, detail)
SELECT f.id, f.cluster, f.first_seen + 3600 * e,
    CASE WHEN e = 0 THEN 'opened' WHEN e % 2 = 1 THEN 'resolved' ELSE 'reopened' END,
    CASE WHEN e % 2 = 1 THEN 'fixed' END
FROM findings f, generate_series(0, 4) AS e;

INSERT INTO daily_summaries (cluster, day, severity, open, suppressed, opened, resolved, resolve_seconds)
SELECT 'cluster-' || c, n.t / 86400 - d, s.severity,
    (:per_cluster / 10) * s.w + (d * 7 + c * 13) % 50,
    (:per_cluster / 100) * s.w,
    (d * 11 + c) % 40, (d * 7 + c) % 35, ((d * 7 + c) % 35) * 86400
FROM generate_series(0, :clusters - 1) AS c, generate_series(0, 89) AS d, bench_now AS n,
     (VALUES ('critical', 1), ('high', 2), ('medium', 2), ('low', 1), ('info', 0)) AS s(severity, w);
COMMIT;
ANALYZE;
SELECT (SELECT count(*) FROM findings) AS findings, (SELECT count(*) FROM finding_events) AS events,
       (SELECT count(*) FROM daily_summaries) AS summaries;
