-- 011_printers_write_path: what writing a printer costs, measured and cut
-- (issue 10; each figure is from this machine).
--
-- 1. A sighting rewrites no document. An agent's report of a printer it saw
--    before (the everyday heartbeat) changes only last_seen and the sightings
--    (sources); rebuilding the whole stored document for it was ~40 us a row.
--    The row now keeps the rest of its document (`doc_head`), rebuilt by a
--    trigger only when one of its columns changes, and printer_doc() is the
--    document readers send: that part with sources and lastSeen added. It is
--    kept without its closing brace (cutting one off with left() on every read
--    counted each document's characters: +0.47 ms a page of 50, now +0.19) and
--    written by concatenation (json_build_object looks up how to write each of
--    its 54 arguments on every call: 1,000 inserts 61 ms against 76). Same
--    fields and values as printer_json(), which stays the reference
--    (tests/integration/bulk.test.js holds them equal); only the order differs.
-- 2. Most printers have no uuid, MAC or serial number (a network scan finds an
--    address), yet every insert put a NULL entry into each of those three
--    indexes (6 ms of a 1,000-printer insert's 57). They index only values now;
--    the candidate lookup (server/store_printers.c) says IS NOT NULL in so many
--    words, which is what lets a generic plan use a partial index.
-- 3. A printer's branch is checked once per statement, not once per row: the
--    foreign key ran a query and locked the branch row for every printer
--    inserted (47 us a row, 466 ms of a 10,000-printer insert). Triggers keep
--    its rules: each INSERT statement's rows name existing branches of their
--    company (locked FOR KEY SHARE, as the key did; else 23503); a printer
--    never changes branch or company; deleting a branch deletes its printers.

-- 1. The document.
DROP TRIGGER printers_doc ON printers;
ALTER TABLE printers RENAME COLUMN doc TO doc_head;
ALTER TABLE printers ALTER COLUMN doc_head TYPE text;

-- Text goes through to_json (its escaping), NULL becomes null; the rest
-- cannot need escaping.
CREATE FUNCTION printer_doc_head(p printers) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT '{"id" : "' || p.id || '", "companyId" : "' || p.company_id ||
        '", "branchId" : "' || p.branch_id ||
        '", "deviceKey" : ' || coalesce(to_json(p.device_key)::text, 'null') ||
        ', "name" : ' || coalesce(to_json(p.name)::text, 'null') ||
        ', "displayName" : ' || coalesce(to_json(p.display_name)::text, 'null') ||
        ', "role" : ' || coalesce(to_json(p.role)::text, 'null') ||
        ', "connectionType" : ' || coalesce(to_json(p.connection_type)::text, 'null') ||
        ', "protocol" : ' || coalesce(to_json(p.protocol)::text, 'null') ||
        ', "address" : ' || coalesce(to_json(p.address)::text, 'null') ||
        ', "port" : ' || coalesce(p.port::text, 'null') ||
        ', "uri" : ' || coalesce(to_json(p.uri)::text, 'null') ||
        ', "manufacturer" : ' || coalesce(to_json(p.manufacturer)::text, 'null') ||
        ', "model" : ' || coalesce(to_json(p.model)::text, 'null') ||
        ', "makeAndModel" : ' || coalesce(to_json(p.make_and_model)::text, 'null') ||
        ', "serialNumber" : ' || coalesce(to_json(p.serial_number)::text, 'null') ||
        ', "macAddress" : ' || coalesce(to_json(p.mac_address)::text, 'null') ||
        ', "uuid" : ' || coalesce(to_json(p.uuid)::text, 'null') ||
        ', "status" : ' || to_json(p.status)::text ||
        ', "stateReasons" : ' || to_json(p.state_reasons)::text ||
        ', "capabilities" : ' || p.capabilities::text ||
        ', "location" : ' || coalesce(to_json(p.location)::text, 'null') ||
        ', "enabled" : ' || p.enabled::text ||
        ', "firstSeen" : ' || to_json(p.first_seen)::text ||
        ', "createdAt" : ' || to_json(p.created_at)::text ||
        ', "updatedAt" : ' || to_json(p.updated_at)::text
$$;

CREATE FUNCTION printer_doc(p printers) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT p.doc_head || ', "sources" : ' || p.sources::text ||
        ', "lastSeen" : ' || to_json(p.last_seen)::text || '}'
$$;

CREATE OR REPLACE FUNCTION printers_doc() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.doc_head := printer_doc_head(NEW);
    RETURN NEW;
END
$$;

CREATE TRIGGER printers_doc_insert BEFORE INSERT ON printers
    FOR EACH ROW EXECUTE FUNCTION printers_doc();
CREATE TRIGGER printers_doc_update BEFORE UPDATE ON printers
    FOR EACH ROW WHEN ((OLD.id, OLD.company_id, OLD.branch_id, OLD.device_key, OLD.name,
        OLD.display_name, OLD.role, OLD.connection_type, OLD.protocol, OLD.address,
        OLD.port, OLD.uri, OLD.manufacturer, OLD.model, OLD.make_and_model,
        OLD.serial_number, OLD.mac_address, OLD.uuid, OLD.status, OLD.state_reasons,
        OLD.capabilities, OLD.location, OLD.enabled, OLD.first_seen, OLD.created_at,
        OLD.updated_at)
      IS DISTINCT FROM (NEW.id, NEW.company_id, NEW.branch_id, NEW.device_key, NEW.name,
        NEW.display_name, NEW.role, NEW.connection_type, NEW.protocol, NEW.address,
        NEW.port, NEW.uri, NEW.manufacturer, NEW.model, NEW.make_and_model,
        NEW.serial_number, NEW.mac_address, NEW.uuid, NEW.status, NEW.state_reasons,
        NEW.capabilities, NEW.location, NEW.enabled, NEW.first_seen, NEW.created_at,
        NEW.updated_at))
    EXECUTE FUNCTION printers_doc();
-- No column of the trigger's changes here: it does not fire.
UPDATE printers SET doc_head = printer_doc_head(printers);

-- 2. Partial identity indexes.
DROP INDEX printers_branch_uuid_idx;
DROP INDEX printers_branch_mac_idx;
DROP INDEX printers_branch_serial_idx;
CREATE INDEX printers_branch_uuid_idx ON printers (company_id, branch_id, uuid)
    WHERE uuid IS NOT NULL;
CREATE INDEX printers_branch_mac_idx ON printers (company_id, branch_id, mac_address)
    WHERE mac_address IS NOT NULL;
CREATE INDEX printers_branch_serial_idx ON printers (company_id, branch_id, serial_number)
    WHERE serial_number IS NOT NULL;

-- 3. The branch, checked per statement.
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
