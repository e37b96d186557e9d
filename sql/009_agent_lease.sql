-- 007_agent_lease: agent leases. offline_at: when agent:offline was written
-- for the agent (its websocket closed, or its lease ran out), NULL while it is
-- taken for online; swept_at: when the sweeper marked the printers only it saw
-- `unknown` / `agent-offline`, NULL until its lease runs out again. A bulk
-- request is contact too: its sync_batches row is looked up by agent and time.
ALTER TABLE agents ADD COLUMN offline_at timestamptz,
                   ADD COLUMN swept_at timestamptz;
CREATE INDEX agents_lease_idx ON agents (last_seen) WHERE swept_at IS NULL AND revoked_at IS NULL;
CREATE INDEX agents_swept_idx ON agents (swept_at) WHERE swept_at IS NOT NULL;
CREATE INDEX sync_batches_agent_idx ON sync_batches (agent_id, created_at) WHERE agent_id IS NOT NULL;
