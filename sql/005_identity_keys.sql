-- 005_identity_keys: matching by index. The folded forms of name and address
-- that identity.c compares are computed in C and stored, so the bulk's
-- candidate lookup is an index probe per value (its cost follows the request,
-- not the branch). Existing rows get the same folding here, once: white space
-- runs to one space, trimmed, ASCII-only lower case.
ALTER TABLE printers ADD COLUMN name_key text, ADD COLUMN addr_key text;
UPDATE printers SET
    name_key = lower(regexp_replace(btrim(name), '\s+', ' ', 'g') COLLATE "C"),
    addr_key = lower(regexp_replace(btrim(address), '\s+', ' ', 'g') COLLATE "C");
ALTER TABLE printers ALTER COLUMN name_key SET NOT NULL;
DROP INDEX printers_branch_name_idx;
DROP INDEX printers_branch_addr_idx;
DROP INDEX printers_branch_uuid_idx;
DROP INDEX printers_branch_mac_idx;
DROP INDEX printers_branch_serial_idx;
-- Whole (not partial) indexes: a prepared statement's generic plan cannot
-- prove "col = ANY($n)" implies "col IS NOT NULL".
CREATE INDEX printers_branch_name_key_idx ON printers (company_id, branch_id, name_key);
CREATE INDEX printers_branch_addr_key_idx ON printers (company_id, branch_id, addr_key);
CREATE INDEX printers_branch_uuid_idx ON printers (company_id, branch_id, uuid);
CREATE INDEX printers_branch_mac_idx ON printers (company_id, branch_id, mac_address);
CREATE INDEX printers_branch_serial_idx ON printers (company_id, branch_id, serial_number);
-- A branch's list in id order, one page at a time.
CREATE INDEX printers_branch_id_idx ON printers (company_id, branch_id, id);
