-- 002_auth: companies and branches can be revoked by the admin CLI; a revoked
-- company or branch takes every credential bound to it out of service.
ALTER TABLE companies ADD COLUMN revoked_at timestamptz;
ALTER TABLE branches ADD COLUMN revoked_at timestamptz;
