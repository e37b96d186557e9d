-- 012_printers_triggers: what the printers triggers cost, measured and cut
-- (issue 10; each figure is from this machine).
--
-- 1. The triggers that watch columns name them (UPDATE OF). A row trigger's
--    WHEN is parsed from its stored text and compiled anew for every
--    statement that may fire it: the document trigger's comparison of 26
--    columns cost each sighting (UPDATE of sources and last_seen) more than
--    the update itself. With UPDATE OF, PostgreSQL skips a trigger whose
--    columns the statement does not assign, before any WHEN. The document
--    trigger needs no WHEN then: every statement that assigns one of its
--    columns changes the printer (the bulk's update of changed rows; a PATCH
--    and the sweep also set updated_at); one that wrote a value again would
--    only rebuild the same document.
--
-- 2. An INSERT may bring the stored document itself. The row trigger that
--    built it cost 40-50 us a row (its plpgsql call; half of a 1,000-printer
--    INSERT); the bulk's INSERT computes it in the statement with the same
--    function (printer_doc_head_of, inlined): 1,000 rows from psql 67 ms
--    instead of 91 (medians of ten); the server's 1,000-printer INSERT 46-49
--    ms instead of 52-58 (pg_stat_statements, four bulks each). The trigger
--    now fills it only for a row that comes without it, so no writer can
--    leave it out.

-- 1.
DROP TRIGGER printers_doc_update ON printers;
CREATE TRIGGER printers_doc_update BEFORE UPDATE OF id, company_id, branch_id, device_key,
        name, display_name, role, connection_type, protocol, address, port, uri,
        manufacturer, model, make_and_model, serial_number, mac_address, uuid, status,
        state_reasons, capabilities, location, enabled, first_seen, created_at, updated_at
    ON printers
    FOR EACH ROW EXECUTE FUNCTION printers_doc();

DROP TRIGGER printers_branch_update ON printers;
CREATE TRIGGER printers_branch_update BEFORE UPDATE OF company_id, branch_id ON printers
    FOR EACH ROW WHEN (OLD.company_id IS DISTINCT FROM NEW.company_id
                       OR OLD.branch_id IS DISTINCT FROM NEW.branch_id)
    EXECUTE FUNCTION printers_branch_fixed();

-- 2. One definition of the stored part, from the columns: printer_doc_head(p)
-- and the bulk's INSERT both use it.
CREATE FUNCTION printer_doc_head_of(id uuid, company_id uuid, branch_id uuid,
        device_key text, name text, display_name text, role text, connection_type text,
        protocol text, address text, port integer, uri text, manufacturer text,
        model text, make_and_model text, serial_number text, mac_address text,
        uuid text, status text, state_reasons text[], capabilities jsonb, location text,
        enabled boolean, first_seen timestamptz, created_at timestamptz,
        updated_at timestamptz)
    RETURNS text LANGUAGE sql STABLE AS $$
    SELECT '{"id" : "' || id || '", "companyId" : "' || company_id ||
        '", "branchId" : "' || branch_id ||
        '", "deviceKey" : ' || coalesce(to_json(device_key)::text, 'null') ||
        ', "name" : ' || coalesce(to_json(name)::text, 'null') ||
        ', "displayName" : ' || coalesce(to_json(display_name)::text, 'null') ||
        ', "role" : ' || coalesce(to_json(role)::text, 'null') ||
        ', "connectionType" : ' || coalesce(to_json(connection_type)::text, 'null') ||
        ', "protocol" : ' || coalesce(to_json(protocol)::text, 'null') ||
        ', "address" : ' || coalesce(to_json(address)::text, 'null') ||
        ', "port" : ' || coalesce(port::text, 'null') ||
        ', "uri" : ' || coalesce(to_json(uri)::text, 'null') ||
        ', "manufacturer" : ' || coalesce(to_json(manufacturer)::text, 'null') ||
        ', "model" : ' || coalesce(to_json(model)::text, 'null') ||
        ', "makeAndModel" : ' || coalesce(to_json(make_and_model)::text, 'null') ||
        ', "serialNumber" : ' || coalesce(to_json(serial_number)::text, 'null') ||
        ', "macAddress" : ' || coalesce(to_json(mac_address)::text, 'null') ||
        ', "uuid" : ' || coalesce(to_json(uuid)::text, 'null') ||
        ', "status" : ' || to_json(status)::text ||
        ', "stateReasons" : ' || to_json(state_reasons)::text ||
        ', "capabilities" : ' || capabilities::text ||
        ', "location" : ' || coalesce(to_json(location)::text, 'null') ||
        ', "enabled" : ' || enabled::text ||
        ', "firstSeen" : ' || to_json(first_seen)::text ||
        ', "createdAt" : ' || to_json(created_at)::text ||
        ', "updatedAt" : ' || to_json(updated_at)::text
$$;

CREATE OR REPLACE FUNCTION printer_doc_head(p printers) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT printer_doc_head_of(p.id, p.company_id, p.branch_id, p.device_key, p.name,
        p.display_name, p.role, p.connection_type, p.protocol, p.address, p.port, p.uri,
        p.manufacturer, p.model, p.make_and_model, p.serial_number, p.mac_address, p.uuid,
        p.status, p.state_reasons, p.capabilities, p.location, p.enabled, p.first_seen,
        p.created_at, p.updated_at)
$$;

DROP TRIGGER printers_doc_insert ON printers;
CREATE TRIGGER printers_doc_insert BEFORE INSERT ON printers
    FOR EACH ROW WHEN (NEW.doc_head IS NULL) EXECUTE FUNCTION printers_doc();
