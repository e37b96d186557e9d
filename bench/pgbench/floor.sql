-- bench/pgbench/floor.sql: the least PostgreSQL work a small batch needs in any
-- design that keeps printmaster's guarantees, for pgbench (bench/compare.js,
-- scenario 1): in one transaction, read and lock the batch's 5 stored printers,
-- refresh their sightings, store the batch record (with its response, for an
-- Idempotency-Key replay) and the batch's two events, NOTIFY, COMMIT. Tables
-- of the real ones' shape and indexes (bench_floor_*, no triggers); no HTTP,
-- no JSON parsing, no identity matching, no event delivery.
\set b random(1, 8)
\set k1 random(0, 39)
\set k2 random(40, 79)
\set k3 random(80, 119)
\set k4 random(120, 159)
\set k5 random(160, 199)
BEGIN;
SELECT id, name, address, port, status, sources FROM bench_floor_printers WHERE n = ANY(ARRAY[:b * 1000 + :k1, :b * 1000 + :k2, :b * 1000 + :k3, :b * 1000 + :k4, :b * 1000 + :k5]) ORDER BY id FOR UPDATE;
UPDATE bench_floor_printers SET last_seen = now(), sources = jsonb_build_object('netscan', now()) WHERE n = ANY(ARRAY[:b * 1000 + :k1, :b * 1000 + :k2, :b * 1000 + :k3, :b * 1000 + :k4, :b * 1000 + :k5]);
INSERT INTO bench_floor_batches (company_id, branch_id, total, unchanged_count, response_text) SELECT company_id, branch_id, 5, 5, response FROM bench_floor_branches WHERE b = :b;
INSERT INTO bench_floor_events (company_id, branch_id, type, payload) SELECT company_id, branch_id, t, payload FROM bench_floor_branches, unnest(types) t WHERE b = :b;
NOTIFY bench_floor;
COMMIT;
