-- 008_sync_alerts: a branch's sync alert (printer:sync:alert): set while its
-- success rate over 15 minutes is below alert_success_rate or an agent of it
-- is offline past its lease; the reason names which. Written by the sweeper.
ALTER TABLE branches ADD COLUMN alert_reason text
                         CHECK (alert_reason IN ('agent-offline', 'success-rate')),
                     ADD COLUMN alert_at timestamptz;
CREATE INDEX branches_alert_idx ON branches (company_id) WHERE alert_reason IS NOT NULL;
-- The recent batches of a branch (statistics and alerts read 5 and 15 minutes;
-- the prune reads each branch's oldest).
CREATE INDEX sync_batches_branch_recent_idx ON sync_batches (company_id, branch_id, created_at);
