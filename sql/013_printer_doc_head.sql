-- 013_printer_doc_head: the stored part of a printer's document is kept
-- without its closing brace (`doc_head`, text), so a reader appends sources
-- and lastSeen to it as it is: cutting the brace off with left() on every
-- read counted the characters of each document and was two thirds of what
-- printer_doc() added to a page of 50 printers (0.30 of 0.47 ms).
ALTER TABLE printers RENAME COLUMN doc TO doc_head;
ALTER TABLE printers ALTER COLUMN doc_head TYPE text USING left(doc_head::text, -1);

CREATE OR REPLACE FUNCTION printer_doc(p printers) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT p.doc_head || ', "sources" : ' || p.sources::text ||
        ', "lastSeen" : ' || to_json(p.last_seen)::text || '}'
$$;

CREATE OR REPLACE FUNCTION printers_doc() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.doc_head := left(printer_doc_static(NEW)::text, -1);
    RETURN NEW;
END
$$;
