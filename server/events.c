/*
 * events.c: writing to printer_events. One INSERT ... SELECT FROM
 * jsonb_to_recordset for the whole list, after the ordering lock, followed in
 * the same statement by one pg_notify carrying the highest new id.
 */
#include <stdlib.h>

#include "log.h"
#include "server/db.h"
#include "server/events.h"

int
events_append(PGconn *c, const char *company_id, const json_t *events)
{
	static const char sql[] =
	    "WITH lk AS (SELECT pg_advisory_xact_lock(" EVENTS_ORDER_LOCK ")), "
	    "ins AS (INSERT INTO printer_events (company_id, branch_id, printer_id, type, payload) "
	    "  SELECT $1::uuid, e.\"branchId\", e.\"printerId\", e.type, coalesce(e.payload, '{}') "
	    "  FROM lk, jsonb_to_recordset($2::jsonb) "
	    "    AS e(type text, \"branchId\" uuid, \"printerId\" uuid, payload jsonb) "
	    "  RETURNING id) "
	    "SELECT pg_notify('" EVENTS_CHANNEL "', max(id)::text), count(*) FROM ins";
	const char *params[2];
	PGresult *res;
	char *s;

	if (json_array_size(events) == 0)
		return 0;
	if ((s = json_dumps(events, JSON_COMPACT)) == NULL)
		return -1;
	params[0] = company_id;
	params[1] = s;
	res = db_exec(c, PGRES_TUPLES_OK, sql, 2, params);
	free(s);
	if (!res)
		return -1;
	PQclear(res);
	return 0;
}
