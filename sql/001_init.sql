-- 001_init: tenants, credentials, printers, the durable event log and sync batches.
-- Every tenant table carries company_id and every unique key includes it.

CREATE TABLE companies (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE branches (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    company_id  uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (company_id, id)
);

CREATE TABLE users (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    company_id     uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    branch_id      uuid,
    email          text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('admin', 'viewer')),
    token_version  integer NOT NULL DEFAULT 1,
    revoked_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (company_id, branch_id) REFERENCES branches(company_id, id) ON DELETE CASCADE
);
-- Email is the login name, so it is unique across companies.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_company_id_key ON users (company_id, id);

CREATE TABLE agents (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    company_id  uuid NOT NULL,
    branch_id   uuid NOT NULL,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    key_hash    bytea NOT NULL,
    hostname    text,
    version     text,
    stats       jsonb NOT NULL DEFAULT '{}'::jsonb,
    last_seen   timestamptz,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (company_id, branch_id) REFERENCES branches(company_id, id) ON DELETE CASCADE,
    UNIQUE (company_id, id)
);
CREATE UNIQUE INDEX agents_key_hash_key ON agents (key_hash);

CREATE TABLE printers (
    id               uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    company_id       uuid NOT NULL,
    branch_id        uuid NOT NULL,
    device_key       text NOT NULL,
    name             text NOT NULL,
    display_name     text,
    role             text,
    connection_type  text,
    protocol         text,
    address          text,
    port             integer,
    uri              text,
    manufacturer     text,
    model            text,
    make_and_model   text,
    serial_number    text,
    mac_address      text,
    uuid             text,
    status           text NOT NULL DEFAULT 'unknown'
                     CHECK (status IN ('online', 'offline', 'error', 'unknown')),
    state_reasons    text[] NOT NULL DEFAULT '{}',
    capabilities     jsonb NOT NULL DEFAULT '{}'::jsonb,
    location         text,
    sources          jsonb NOT NULL DEFAULT '{}'::jsonb,
    enabled          boolean NOT NULL DEFAULT true,
    first_seen       timestamptz NOT NULL DEFAULT now(),
    last_seen        timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (company_id, branch_id) REFERENCES branches(company_id, id) ON DELETE CASCADE,
    UNIQUE (company_id, branch_id, device_key),
    UNIQUE (company_id, id)
);
CREATE INDEX printers_branch_name_idx ON printers (company_id, branch_id, lower(btrim(name)));
CREATE INDEX printers_branch_uuid_idx ON printers (company_id, branch_id, uuid) WHERE uuid IS NOT NULL;
CREATE INDEX printers_branch_mac_idx ON printers (company_id, branch_id, mac_address) WHERE mac_address IS NOT NULL;
CREATE INDEX printers_branch_addr_idx ON printers (company_id, branch_id, address, port) WHERE address IS NOT NULL;
CREATE INDEX printers_branch_serial_idx ON printers (company_id, branch_id, serial_number) WHERE serial_number IS NOT NULL;

CREATE TABLE printer_events (
    id          bigserial PRIMARY KEY,
    company_id  uuid NOT NULL,
    branch_id   uuid,
    printer_id  uuid,
    type        text NOT NULL,
    payload     jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX printer_events_company_idx ON printer_events (company_id, id);
CREATE INDEX printer_events_created_idx ON printer_events (created_at);

CREATE TABLE sync_batches (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    company_id       uuid NOT NULL,
    branch_id        uuid NOT NULL,
    agent_id         uuid,
    idempotency_key  text,
    request_hash     text,
    total            integer NOT NULL,
    new_count        integer NOT NULL DEFAULT 0,
    updated_count    integer NOT NULL DEFAULT 0,
    unchanged_count  integer NOT NULL DEFAULT 0,
    skipped_count    integer NOT NULL DEFAULT 0,
    duplicate_count  integer NOT NULL DEFAULT 0,
    failed_count     integer NOT NULL DEFAULT 0,
    duration_ms      double precision,
    response         jsonb,
    created_at       timestamptz NOT NULL DEFAULT now()
);
-- One stored response per (tenant, sender, key); a missing agent (a person's
-- request) still dedupes within the branch.
CREATE UNIQUE INDEX sync_batches_idem_key ON sync_batches
    (company_id, branch_id, coalesce(agent_id, '00000000-0000-0000-0000-000000000000'::uuid), idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- The one public representation of a printer, used by the API and by events.
CREATE FUNCTION printer_json(p printers) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', p.id, 'companyId', p.company_id, 'branchId', p.branch_id,
        'deviceKey', p.device_key, 'name', p.name, 'displayName', p.display_name,
        'role', p.role, 'connectionType', p.connection_type, 'protocol', p.protocol,
        'address', p.address, 'port', p.port, 'uri', p.uri,
        'manufacturer', p.manufacturer, 'model', p.model,
        'makeAndModel', p.make_and_model, 'serialNumber', p.serial_number,
        'macAddress', p.mac_address, 'uuid', p.uuid, 'status', p.status,
        'stateReasons', to_jsonb(p.state_reasons), 'capabilities', p.capabilities,
        'location', p.location, 'sources', p.sources, 'enabled', p.enabled,
        'firstSeen', p.first_seen, 'lastSeen', p.last_seen,
        'createdAt', p.created_at, 'updatedAt', p.updated_at)
$$;
