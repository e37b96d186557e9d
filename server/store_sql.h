/*
 * store_sql.h: SQL text that more than one store file writes the same way,
 * named once (pasted into statements; no statement of its own). The rules
 * behind them are in docs/operations.md ("generic plans").
 */
#ifndef PM_STORE_SQL_H
#define PM_STORE_SQL_H

/* The nil uuid: what a NULL uuid is compared as (the idempotency indexes of
 * sql/001 and sql/008 are on coalesce(x, it)), and the start of a cursor. */
#define STORE_UUID_NIL "'00000000-0000-0000-0000-000000000000'::uuid"

/*
 * A list's cursor: rows after `param` (a uuid, NULL for the first page) as a
 * range of the index ordered by `col`. Written `param IS NULL OR col >
 * param`, it is a filter, and each page read every row before it.
 */
#define STORE_AFTER(col, param) col " > coalesce(" param "::uuid, " STORE_UUID_NIL ")"

/*
 * `col` equal to `v`, written as a range: `col >= v AND col <= v`. With `col
 * = v` a generic plan takes the value for a constant, and any index ordered
 * by the next column will do: where a few companies share a database, the
 * plan for a company's events walked the events' primary key from the cursor
 * and filtered by company (a quiet company's next event read every other
 * company's events since its last one). As a range, only the index that
 * leads with `col` gives the order asked for, and the scan starts at (v,
 * cursor). (Row comparisons instead do not position the scan: each read went
 * through the company's every event.)
 */
#define STORE_RANGE_OF(col, v) col " >= " v " AND " col " <= " v

#endif
