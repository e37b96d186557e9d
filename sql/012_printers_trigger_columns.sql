-- 012: the printers triggers that watch columns name them (UPDATE OF).
--
-- A row trigger's WHEN is parsed from its stored text and compiled anew for
-- every statement that may fire it: the document trigger's comparison of 26
-- columns cost each sighting (UPDATE of sources and last_seen) more than the
-- update itself. With UPDATE OF, PostgreSQL skips a trigger whose columns
-- the statement does not assign before it looks at the WHEN; the WHEN still
-- tells a real change from a value written again.
DROP TRIGGER printers_doc_update ON printers;
CREATE TRIGGER printers_doc_update BEFORE UPDATE OF id, company_id, branch_id, device_key,
        name, display_name, role, connection_type, protocol, address, port, uri,
        manufacturer, model, make_and_model, serial_number, mac_address, uuid, status,
        state_reasons, capabilities, location, enabled, first_seen, created_at, updated_at
    ON printers
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

DROP TRIGGER printers_branch_update ON printers;
CREATE TRIGGER printers_branch_update BEFORE UPDATE OF company_id, branch_id ON printers
    FOR EACH ROW WHEN (OLD.company_id IS DISTINCT FROM NEW.company_id
                       OR OLD.branch_id IS DISTINCT FROM NEW.branch_id)
    EXECUTE FUNCTION printers_branch_fixed();
