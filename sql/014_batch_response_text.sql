-- 014_batch_response_text: a batch's stored response (what an
-- Idempotency-Key replays) is kept as the text that was sent, compressed with
-- lz4 where PostgreSQL has it (issue 10).
--
-- It was jsonb: every bulk parsed its own response back into jsonb and
-- compressed it with pglz, only for a replay to print it as text again. A
-- 10,000-printer response (1.3 MB): 56-59 ms to store as jsonb with pglz,
-- 17-19 ms as text with pglz, 7-12 ms as text with lz4; a heartbeat's (under
-- 1 KB) is not compressed either way. A new column, so the upgrade rewrites
-- nothing: rows written before it keep their jsonb until batch_retention
-- prunes them, and the replay reads whichever is set (server/store_batches.c).
ALTER TABLE sync_batches ADD COLUMN response_text text;

-- lz4 is PostgreSQL 14's, and only in a build with it (Debian's has it);
-- elsewhere the column keeps the default compression.
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 140000 THEN
        BEGIN
            EXECUTE 'ALTER TABLE sync_batches ALTER COLUMN response_text SET COMPRESSION lz4';
        EXCEPTION WHEN feature_not_supported THEN
            NULL;
        END;
    END IF;
END
$$;
