-- 013_sync_alert_index: the sync-alert evaluation finds a branch's swept
-- agents by an index of their own (issue 10).
--
-- Its agents were looked up by (company_id, id), the only index that starts
-- with the company: every branch's lookup read all of its company's agents,
-- so judging a company of 10,000 branches read its agents 10,000 times. The
-- swept ones are few; between judgements the evaluation also starts from
-- them (server/store_alerts.c).
CREATE INDEX agents_swept_branch_idx ON agents (company_id, branch_id)
    WHERE swept_at IS NOT NULL AND revoked_at IS NULL;
