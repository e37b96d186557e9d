-- 003_gateway: agent presence across server instances. An agent is online when
-- some instance holds its websocket (online_instance) and that instance has
-- refreshed last_seen recently (heartbeat every 30 s), so a crashed instance's
-- agents turn offline by themselves.
ALTER TABLE agents ADD COLUMN online_instance text,
                   ADD COLUMN connected_at timestamptz;
CREATE INDEX agents_online_idx ON agents (company_id, branch_id) WHERE online_instance IS NOT NULL;
