/*
 * events.h: the durable event log. Events are rows of printer_events written in
 * the caller's transaction and announced with NOTIFY on EVENTS_CHANNEL, so none
 * is seen for a rolled-back write. Ids are handed out under a transaction-level
 * advisory lock taken just before the insert, so they commit in id order and a
 * listener that reads "id > last seen" never skips one.
 */
#ifndef PM_EVENTS_H
#define PM_EVENTS_H

#include <jansson.h>
#include <libpq-fe.h>

#define EVENTS_CHANNEL "printmaster_events"
#define EVENTS_ORDER_LOCK "7412002"

/*
 * Append events inside the caller's open transaction. `events` is an array of
 * {"type": "...", "branchId": uuid|null, "printerId": uuid|null, "payload": {...}}.
 * One statement whatever the count. Returns 0 or -1 (the caller rolls back).
 */
int events_append(PGconn *c, const char *company_id, const json_t *events);

#endif
