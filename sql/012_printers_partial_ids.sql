-- 012_printers_partial_ids: most printers have no uuid, MAC or serial number
-- (a network scan finds an address; only IPP and USB report more), yet every
-- insert put a NULL entry into each of those three indexes (measured: 6 ms of
-- a 1,000-printer insert's 57). They index only the values now; the candidate
-- lookup (server/store_printers.c) says "IS NOT NULL" in so many words, which
-- is what lets a prepared statement's generic plan use a partial index.
DROP INDEX printers_branch_uuid_idx;
DROP INDEX printers_branch_mac_idx;
DROP INDEX printers_branch_serial_idx;
CREATE INDEX printers_branch_uuid_idx ON printers (company_id, branch_id, uuid)
    WHERE uuid IS NOT NULL;
CREATE INDEX printers_branch_mac_idx ON printers (company_id, branch_id, mac_address)
    WHERE mac_address IS NOT NULL;
CREATE INDEX printers_branch_serial_idx ON printers (company_id, branch_id, serial_number)
    WHERE serial_number IS NOT NULL;
