-- 008_print_jobs: print jobs delivered by the branch's agents. A job's every
-- state change is a row update here plus a job:<state> event in
-- printer_events, in one transaction (store_jobs.c).
CREATE TABLE print_jobs (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    company_id       uuid NOT NULL,
    branch_id        uuid NOT NULL,
    printer_id       uuid NOT NULL,
    title            text NOT NULL,
    content_type     text NOT NULL CHECK (content_type IN ('raw', 'text', 'pdf')),
    content          bytea NOT NULL,
    copies           integer NOT NULL CHECK (copies BETWEEN 1 AND 10),
    state            text NOT NULL DEFAULT 'queued' CHECK (state IN
                     ('queued', 'sent', 'printed', 'failed', 'cancelled', 'expired')),
    reason           text,
    agent_id         uuid,
    created_by       uuid,
    idempotency_key  text,
    request_hash     text,
    attempts         integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    sent_at          timestamptz,
    offered_at       timestamptz,
    accepted_at      timestamptz,
    finished_at      timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (company_id, printer_id) REFERENCES printers(company_id, id) ON DELETE CASCADE,
    UNIQUE (company_id, id)
);
-- A retried create (same sender, same key) finds the first job.
CREATE UNIQUE INDEX print_jobs_idem_key ON print_jobs
    (company_id, coalesce(created_by, '00000000-0000-0000-0000-000000000000'::uuid), idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- The list in id order, per company and per printer.
CREATE INDEX print_jobs_company_idx ON print_jobs (company_id, id);
CREATE INDEX print_jobs_printer_idx ON print_jobs (company_id, printer_id, id);
-- What the dispatcher looks at: only jobs still on their way (a small set).
CREATE INDEX print_jobs_open_idx ON print_jobs (created_at) WHERE state IN ('queued', 'sent');

-- The one public representation of a job (API and events); no content.
CREATE FUNCTION print_job_json(j print_jobs) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', j.id, 'companyId', j.company_id, 'branchId', j.branch_id,
        'printerId', j.printer_id, 'title', j.title, 'contentType', j.content_type,
        'size', octet_length(j.content), 'copies', j.copies, 'status', j.state,
        'reason', j.reason, 'agentId', j.agent_id, 'createdAt', j.created_at,
        'expiresAt', j.expires_at, 'sentAt', j.sent_at, 'acceptedAt', j.accepted_at,
        'finishedAt', j.finished_at, 'updatedAt', j.updated_at)
$$;
