-- 014_printers_branch_check: a printer's branch is checked once per statement,
-- not once per row. The foreign key to branches ran a query and took a row
-- lock on the branch for every printer inserted: 47 us a row, 466 ms of a
-- 10,000-printer insert (auto_explain), more than its indexes and document
-- together. The same rules, kept by triggers:
-- * every printer names an existing branch of its company: after each INSERT
--   statement, its rows' branches are locked against deletion (FOR KEY SHARE,
--   as the key did) and any missing one fails the statement with 23503;
-- * a printer never moves to another branch or company (nothing does that);
-- * deleting a branch deletes its printers (ON DELETE CASCADE before).
ALTER TABLE printers DROP CONSTRAINT printers_company_id_branch_id_fkey;

CREATE FUNCTION printers_branch_exists() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM branches b
        WHERE (b.company_id, b.id) IN (SELECT DISTINCT company_id, branch_id FROM new_rows)
        ORDER BY b.id FOR KEY SHARE OF b;
    IF EXISTS (SELECT 1 FROM (SELECT DISTINCT company_id, branch_id FROM new_rows) n
               WHERE NOT EXISTS (SELECT 1 FROM branches b
                                 WHERE b.company_id = n.company_id AND b.id = n.branch_id)) THEN
        RAISE EXCEPTION 'a printer names a branch that does not exist'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER printers_branch_insert AFTER INSERT ON printers
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION printers_branch_exists();

CREATE FUNCTION printers_branch_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a printer stays in its branch and company'
        USING ERRCODE = 'foreign_key_violation';
END
$$;
CREATE TRIGGER printers_branch_update BEFORE UPDATE ON printers
    FOR EACH ROW WHEN (OLD.company_id IS DISTINCT FROM NEW.company_id
                       OR OLD.branch_id IS DISTINCT FROM NEW.branch_id)
    EXECUTE FUNCTION printers_branch_fixed();

CREATE FUNCTION branches_delete_printers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM printers p USING old_rows o
        WHERE p.company_id = o.company_id AND p.branch_id = o.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER branches_delete_printers AFTER DELETE ON branches
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION branches_delete_printers();
